"""What the stacks run: the CPU node types model pods land on, the GPU pools, and the endpoints that scale to
zero, read from ``stacks/Pulumi.<stack>.yaml`` through the program's own configuration model.

Why through the configuration model: the report prices exactly the node types and endpoints the stacks declare,
with the same defaults the program applies, so it cannot drift from the stack files.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.cluster import lookup_machine
from components.common import Capacity, GpuSharing
from components.serving import ModelEndpointArgs
from cost.prices import PriceTable
from infra.config import parse
from infra.config.base import effective
from offline.runner import read_stack_file, stack_names

CPU_VCPUS = {
    "m6i.large": 2,
    "m6i.xlarge": 4,
    "m6i.2xlarge": 8,
    "e2-standard-2": 2,
    "e2-standard-4": 4,
    "e2-standard-8": 8,
}
"""vCPUs of the CPU node types the stacks use for system nodes (where CPU model pods run)."""

DEFAULT_SYSTEM = {"aws": "m6i.large", "gcp": "e2-standard-4"}
"""The cluster components' default system node types."""


@dataclass(frozen=True)
class NodeType:
    cloud: str
    region: str
    instance_type: str
    vcpus: int
    gpu: str | None
    """GPU model for GPU types (``nvidia-a10g``), None for CPU types."""
    gpus: int
    on_demand_usd: float
    spot_usd: float
    stacks: tuple[str, ...]

    def price(self, spot: bool) -> float:
        return self.spot_usd if spot else self.on_demand_usd


@dataclass(frozen=True)
class Endpoint:
    stack: str
    name: str
    versions: int
    min_replicas: int
    critical: bool
    cpu_request: float
    gpu_count: int
    node: str
    """Instance type the replicas run on."""
    spot: bool
    gpu_share: float
    """Share of a node's GPUs one replica holds (time-slicing divides a GPU)."""


def _cpu(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _add(
    nodes: dict[tuple[str, str], dict],
    where: tuple[str, str, str],
    instance: str,
    gpu: str | None,
    gpus: int,
    vcpus: int,
) -> None:
    cloud, region, stack = where
    entry = nodes.setdefault(
        (cloud, instance),
        dict(cloud=cloud, region=region, instance_type=instance, vcpus=vcpus, gpu=gpu, gpus=gpus, stacks=[]),
    )
    entry["stacks"].append(stack)


def inventory(prices: PriceTable | None = None) -> tuple[list[NodeType], list[Endpoint]]:
    """Every node type model pods can run on, and every endpoint, across the stacks with a cloud."""
    prices = prices or PriceTable()
    nodes: dict[tuple[str, str], dict] = {}
    endpoints: list[Endpoint] = []
    default_cpu = _cpu(ModelEndpointArgs(model_name="x", versions=[]).cpu_request)
    for stack in stack_names():
        raw, _ = read_stack_file(stack)
        cfg = parse(stack, raw)
        cloud = cfg.cloud.value
        if cloud not in ("aws", "gcp"):
            continue
        region = cfg.region or ""

        system = cfg.cluster.system_nodes.instance_type or DEFAULT_SYSTEM[cloud]
        _add(nodes, (cloud, region, stack), system, None, 0, CPU_VCPUS[system])
        for gpu_pool in cfg.gpu_pools.values():
            machine = lookup_machine(cloud, gpu_pool.instance_type)
            assert machine is not None and machine.gpu is not None
            _add(nodes, (cloud, region, stack), gpu_pool.instance_type, machine.gpu.name, machine.gpus, machine.vcpus)
        for name, ep in cfg.serving.endpoints.items() if cfg.serving.enabled else ():
            gpu_count = effective(ep, "gpu_count")
            pool = cfg.gpu_pools.get(ep.gpu_pool or "") if gpu_count else None
            if gpu_count and pool is None and cfg.gpu_pools:
                pool = next(iter(cfg.gpu_pools.values()))
            share, node, spot = 0.0, system, False
            if pool is not None:
                machine = lookup_machine(cloud, pool.instance_type)
                assert machine is not None
                time_sliced = effective(pool.sharing, "mode") == GpuSharing.TIME_SLICING
                slices = effective(pool.sharing, "replicas") if time_sliced else 1
                share = gpu_count / (machine.gpus * slices)
                node, spot = pool.instance_type, effective(pool, "capacity") == Capacity.SPOT
            endpoints.append(
                Endpoint(
                    stack=stack,
                    name=name,
                    # a released endpoint serves from two slots (champion and candidate), each its own version
                    versions=len(ep.versions) or (2 if ep.release is not None else 0),
                    min_replicas=effective(ep, "min_replicas"),
                    critical=effective(ep, "critical"),
                    cpu_request=_cpu(ep.cpu_request) if ep.cpu_request else default_cpu,
                    gpu_count=gpu_count,
                    node=node,
                    spot=spot,
                    gpu_share=share,
                )
            )
    out = []
    for (cloud, instance), e in sorted(nodes.items()):
        out.append(
            NodeType(
                **{**e, "stacks": tuple(sorted(set(e["stacks"])))},
                on_demand_usd=prices.instance_hourly(cloud, e["region"], instance, spot=False),
                spot_usd=prices.instance_hourly(cloud, e["region"], instance, spot=True),
            )
        )
    return out, endpoints
