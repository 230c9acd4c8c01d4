"""From measurements, prices and published figures to the report's tables. Pure: no I/O, no clock.

Two assumptions, both stated in the report: a node keeps ``RESERVED_VCPUS`` for the kubelet and the daemon sets,
and on a GPU node the HTTP serving path (request parsing, decoding, encoding) still runs on the node's vCPUs at
the best rate per vCPU any model reached here (:func:`serving_rps_per_vcpu`; the path alone is at least that
fast), while the model's own arithmetic moves to the GPU at ``GPU_EFFICIENCY`` of its published peak. Both favour
the GPU: the estimate is an upper bound of what a GPU node serves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .arithmetic import (
    HOURS_PER_MONTH,
    LoadPoint,
    best_under_slo,
    break_even_rps,
    cost_per_1k,
    gpu_node_capacity_rps,
    node_capacity_rps,
    replica_hourly_usd,
    scale_to_zero_savings,
)
from .stacks import Endpoint, NodeType

RESERVED_VCPUS = 0.5
"""vCPUs a node keeps for the kubelet, the container runtime and the daemon sets."""

GPU_EFFICIENCY = 0.1
"""Share of a GPU's published FP32 peak a small batched MLP reaches (an assumption, not a measurement)."""

WORKING_HOURS_PER_MONTH = 8 * 22
"""Hours a business-hours endpoint is busy in a month: outside them it idles."""


@dataclass(frozen=True)
class Measured:
    """One model as measured on CPU."""

    key: str
    flops_per_request: float
    points: Sequence[LoadPoint]
    cold_start_s: float


def capacity_cpu(m: Measured, node: NodeType, replica_vcpus: float, slo_ms: float) -> float:
    best = best_under_slo(m.points, slo_ms)
    if best is None:
        return 0.0
    return node_capacity_rps(best.rps_per_vcpu, node.vcpus, replica_vcpus, RESERVED_VCPUS)


def serving_rps_per_vcpu(models: Sequence[Measured], slo_ms: float) -> float:
    """The serving path's rate per vCPU: the best requests per vCPU any model reached within the SLO."""
    bests = [best_under_slo(m.points, slo_ms) for m in models]
    return max((b.rps_per_vcpu for b in bests if b is not None), default=0.0)


def capacity_gpu(m: Measured, serving_rate: float, node: NodeType, gpu: Mapping[str, Any]) -> float:
    """Requests per second a GPU node sustains: its vCPUs run the serving path at ``serving_rate`` per vCPU, its
    GPU runs the model at ``GPU_EFFICIENCY`` of its published FP32 peak."""
    compute = None
    if m.flops_per_request > 0:
        compute = float(gpu["fp32_tflops"]) * 1e12 * GPU_EFFICIENCY * node.gpus / m.flops_per_request
    return gpu_node_capacity_rps(node.vcpus - RESERVED_VCPUS, serving_rate, compute)


def cost_rows(
    models: Sequence[Measured],
    serving_rate: float,
    nodes: Sequence[NodeType],
    gpus: Mapping[str, Mapping[str, Any]],
    replica_vcpus: float,
    slo_ms: float,
) -> list[dict[str, Any]]:
    """Per model and node type: the node's capacity at the SLO and the cost per 1,000 inferences at full use."""
    rows = []
    for m in models:
        for node in nodes:
            if node.gpu is None:
                rps = capacity_cpu(m, node, replica_vcpus, slo_ms)
            else:
                rps = capacity_gpu(m, serving_rate, node, gpus[node.gpu])
            rows.append(
                {
                    "model": m.key,
                    "node": node.instance_type,
                    "hardware": "gpu" if node.gpu else "cpu",
                    "capacity_rps": rps,
                    "on_demand_per_1k": cost_per_1k(node.on_demand_usd, rps),
                    "spot_per_1k": cost_per_1k(node.spot_usd, rps),
                }
            )
    return rows


def break_even_rows(rows: Sequence[Mapping[str, Any]], nodes: Sequence[NodeType]) -> list[dict[str, Any]]:
    """For each model, GPU node type and the CPU node type of the same stack: the rate above which one GPU node costs
    less than the CPU nodes for the same rate (None: never, the GPU node saturates first), and how many times one
    CPU node's throughput a GPU node must reach to pay for itself."""
    by = {(r["model"], r["node"]): r for r in rows}
    out = []
    for gpu in (n for n in nodes if n.gpu):
        for cpu in (n for n in nodes if not n.gpu and set(n.stacks) & set(gpu.stacks)):
            for model in sorted({r["model"] for r in rows}):
                c, g = by[(model, cpu.instance_type)], by[(model, gpu.instance_type)]
                for spot in (False, True):
                    if c["capacity_rps"] <= 0:
                        continue
                    out.append(
                        {
                            "model": model,
                            "gpu_node": gpu.instance_type,
                            "cpu_node": cpu.instance_type,
                            "spot": spot,
                            "break_even_rps": break_even_rps(
                                c["capacity_rps"], cpu.price(spot), g["capacity_rps"], gpu.price(spot)
                            ),
                            "gpu_capacity_rps": g["capacity_rps"],
                            "speedup_needed": gpu.price(spot) / cpu.price(spot),
                            "speedup_estimated": g["capacity_rps"] / c["capacity_rps"],
                        }
                    )
    return out


def scale_to_zero_rows(
    endpoints: Sequence[Endpoint], nodes: Sequence[NodeType], cold_start_s: float
) -> list[dict[str, Any]]:
    """Per endpoint that scales to zero: what one warm replica per version would cost, and what scaling to zero
    saves a month when idle all month and when busy only in working hours."""
    by = {n.instance_type: n for n in nodes}
    out = []
    for e in endpoints:
        if e.min_replicas != 0:
            continue
        node = by[e.node]
        share = e.gpu_share if e.gpu_count else min(1.0, e.cpu_request / node.vcpus)
        hourly = replica_hourly_usd(node.price(e.spot), share) * e.versions
        out.append(
            {
                "stack": e.stack,
                "endpoint": e.name,
                "versions": e.versions,
                "node": e.node,
                "warm_monthly_usd": hourly * HOURS_PER_MONTH,
                "saved_idle_month_usd": scale_to_zero_savings(hourly, HOURS_PER_MONTH),
                "saved_business_hours_usd": scale_to_zero_savings(hourly, HOURS_PER_MONTH - WORKING_HOURS_PER_MONTH),
                "cold_start_s": cold_start_s,
            }
        )
    return out
