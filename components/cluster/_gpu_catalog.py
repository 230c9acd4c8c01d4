"""The GPU hardware the platform knows how to schedule, per cloud.

Node pools validate their instance type against this table so that a typo (``g5.xlarg``) or a CPU-only
type fails at preview instead of creating a pool whose pods never schedule. It also tells the node pool
which accelerator a machine carries (for labels and GKE's ``guest_accelerator``), how many GPUs a node
exposes (for autoscaler hints) and which MIG profiles the GPU model accepts.

Prices are not here: they change far more often than hardware and live in the cost model's price table.
"""

from __future__ import annotations

from dataclasses import dataclass

A100_40_MIG = ("1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb")
A100_80_MIG = ("1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
H100_80_MIG = ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")


@dataclass(frozen=True)
class GpuModel:
    """One GPU model."""

    name: str
    """Accelerator name as GKE spells it (``nvidia-l4``); used as the node label value on both clouds."""
    memory_gib: int
    """Memory of one GPU."""
    mig_profiles: tuple[str, ...] = ()
    """MIG partition profiles the model supports; empty when it has no MIG."""


T4 = GpuModel("nvidia-tesla-t4", 16)
A10G = GpuModel("nvidia-a10g", 24)
L4 = GpuModel("nvidia-l4", 24)
L40S = GpuModel("nvidia-l40s", 48)
A100_40 = GpuModel("nvidia-tesla-a100", 40, A100_40_MIG)
A100_80 = GpuModel("nvidia-a100-80gb", 80, A100_80_MIG)
H100_80 = GpuModel("nvidia-h100-80gb", 80, H100_80_MIG)

GPU_MODELS = {m.name: m for m in (T4, A10G, L4, L40S, A100_40, A100_80, H100_80)}


@dataclass(frozen=True)
class MachineType:
    """A machine type with GPUs attached."""

    name: str
    gpu: GpuModel | None
    """The GPU model; None for GCP N1 machines, which take any attachable accelerator."""
    gpus: int
    """GPUs per node (for N1, the default count when none is given)."""
    vcpus: int
    memory_gib: int


def _m(name: str, gpu: GpuModel | None, gpus: int, vcpus: int, mem: int) -> MachineType:
    return MachineType(name, gpu, gpus, vcpus, mem)


AWS_GPU_INSTANCES: dict[str, MachineType] = {
    m.name: m
    for m in (
        _m("g4dn.xlarge", T4, 1, 4, 16),
        _m("g4dn.2xlarge", T4, 1, 8, 32),
        _m("g4dn.4xlarge", T4, 1, 16, 64),
        _m("g4dn.12xlarge", T4, 4, 48, 192),
        _m("g5.xlarge", A10G, 1, 4, 16),
        _m("g5.2xlarge", A10G, 1, 8, 32),
        _m("g5.4xlarge", A10G, 1, 16, 64),
        _m("g5.12xlarge", A10G, 4, 48, 192),
        _m("g5.48xlarge", A10G, 8, 192, 768),
        _m("g6.xlarge", L4, 1, 4, 16),
        _m("g6.2xlarge", L4, 1, 8, 32),
        _m("g6.12xlarge", L4, 4, 48, 192),
        _m("g6e.xlarge", L40S, 1, 4, 32),
        _m("g6e.12xlarge", L40S, 4, 48, 384),
        _m("p4d.24xlarge", A100_40, 8, 96, 1152),
        _m("p4de.24xlarge", A100_80, 8, 96, 1152),
        _m("p5.48xlarge", H100_80, 8, 192, 2048),
    )
}

GCP_GPU_MACHINES: dict[str, MachineType] = {
    m.name: m
    for m in (
        _m("n1-standard-4", None, 1, 4, 15),
        _m("n1-standard-8", None, 1, 8, 30),
        _m("n1-standard-16", None, 1, 16, 60),
        _m("g2-standard-4", L4, 1, 4, 16),
        _m("g2-standard-8", L4, 1, 8, 32),
        _m("g2-standard-24", L4, 2, 24, 96),
        _m("a2-highgpu-1g", A100_40, 1, 12, 85),
        _m("a2-highgpu-2g", A100_40, 2, 24, 170),
        _m("a2-ultragpu-1g", A100_80, 1, 12, 170),
        _m("a3-highgpu-8g", H100_80, 8, 208, 1872),
    )
}

GCP_N1_ACCELERATORS = ("nvidia-tesla-t4",)
"""Accelerators that can be attached to N1 machines (the others come built into their machine family)."""


def lookup(cloud: str, machine_type: str) -> MachineType | None:
    """The machine type on that cloud, or None when the platform does not know it."""
    table = AWS_GPU_INSTANCES if cloud == "aws" else GCP_GPU_MACHINES
    return table.get(machine_type)


def known_types(cloud: str) -> list[str]:
    return sorted(AWS_GPU_INSTANCES if cloud == "aws" else GCP_GPU_MACHINES)
