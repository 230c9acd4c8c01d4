"""Rules over node pools (EKS managed node groups, GKE node pools): GPU taint, spot outside prod, size caps.

Why judge the cloud resources and not our GpuNodePool component: a user's own program may create node groups
directly, and the policy must hold for them too. A pool is a GPU pool when its image is an NVIDIA one, it attaches
accelerators, or the price table knows a GPU in its instance type (``cost/prices.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cost.prices import PriceTable

from .base import ADVISORY, MANDATORY, UNKNOWN, Facts, Res, Rule, schema
from .base import mapping as _dict

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
ZONES_PER_REGION = 3


def instance_type(res: Res) -> str | None:
    if res.type == EKS_NODE_GROUP:
        types = res.props.get("instanceTypes")
        return str(types[0]) if isinstance(types, list) and types else None
    if res.type == GKE_NODE_POOL:
        machine = _dict(res.props.get("nodeConfig")).get("machineType")
        return str(machine) if machine else None
    return None


def is_gpu_pool(res: Res) -> bool:
    if res.type == EKS_NODE_GROUP:
        ami = str(res.props.get("amiType") or "")
        if "NVIDIA" in ami or "GPU" in ami:
            return True
        kind = instance_type(res)
        return kind is not None and PriceTable().gpu_model("aws", kind) is not None
    if res.type == GKE_NODE_POOL:
        if _dict(res.props.get("nodeConfig")).get("guestAccelerators"):
            return True
        kind = instance_type(res)
        return kind is not None and PriceTable().gpu_model("gcp", kind) is not None
    return False


def max_nodes(res: Res) -> int | None:
    """A pool's most nodes in total (GKE per-zone counts times the zones), or None when unknown."""
    try:
        if res.type == EKS_NODE_GROUP:
            return int(_dict(res.props.get("scalingConfig"))["maxSize"])
        auto = _dict(res.props.get("autoscaling"))
        if "totalMaxNodeCount" in auto:
            return int(auto["totalMaxNodeCount"])
        location = str(res.props.get("location") or "")
        zones = len(res.props.get("nodeLocations") or []) or (ZONES_PER_REGION if location.count("-") == 1 else 1)
        per_zone = auto.get("maxNodeCount", res.props.get("nodeCount", res.props.get("initialNodeCount", 1)))
        return int(per_zone) * zones
    except (KeyError, TypeError, ValueError):
        return None


def _taints(res: Res) -> list[Mapping[str, Any]]:
    if res.type == EKS_NODE_GROUP:
        return [_dict(t) for t in res.props.get("taints") or []]
    return [_dict(t) for t in _dict(res.props.get("nodeConfig")).get("taints") or []]


# --- gpu-pool-taint -------------------------------------------------------------------------------------------


def check_taint(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    if res.type not in (EKS_NODE_GROUP, GKE_NODE_POOL) or not is_gpu_pool(res):
        return
    taints = _taints(res)
    if any(t.get("key") == cfg["taintKey"] and t.get("effect") in ("NO_SCHEDULE", "NoSchedule") for t in taints):
        return
    if res.props.get("taints") == UNKNOWN:
        return
    yield (
        f"{res.label}: GPU node pool ({instance_type(res)}) has no {cfg['taintKey']}:NoSchedule taint, so any pod "
        f"could take its GPUs' nodes"
    )


GPU_POOL_TAINT = Rule(
    name="gpu-pool-taint",
    description=(
        "Every GPU node pool carries the GPU taint (nvidia.com/gpu, NoSchedule) so only GPU workloads land there."
    ),
    enforcement_level=MANDATORY,
    config_schema={"taintKey": schema("string", "nvidia.com/gpu", "Key of the GPU taint.")},
    check=check_taint,
)


# --- gpu-spot-nonprod -----------------------------------------------------------------------------------------


def _is_spot(res: Res) -> bool:
    if res.type == EKS_NODE_GROUP:
        return str(res.props.get("capacityType") or "ON_DEMAND").upper() == "SPOT"
    nc = _dict(res.props.get("nodeConfig"))
    return bool(nc.get("spot") or nc.get("preemptible"))


def check_spot(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    env = cfg.get("environment") or facts.environment
    if env is None or env not in cfg["environments"]:
        return
    if res.type in (EKS_NODE_GROUP, GKE_NODE_POOL) and is_gpu_pool(res) and not _is_spot(res):
        yield (
            f"{res.label}: GPU node pool ({instance_type(res)}) uses on-demand capacity in the {env} environment; "
            f"spot costs about a third as much"
        )


GPU_SPOT_NONPROD = Rule(
    name="gpu-spot-nonprod",
    description="GPU node pools outside production use spot capacity.",
    enforcement_level=ADVISORY,
    config_schema={
        "environments": schema(
            "array",
            ["local", "dev", "staging"],
            "Environments where GPU pools should be spot.",
            items={"type": "string"},
        ),
        "environment": schema("string", "", "This stack's environment; default ml-platform:environment."),
    },
    check=check_spot,
)


# --- node-pool-max-size ---------------------------------------------------------------------------------------


def check_max_size(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    if res.type not in (EKS_NODE_GROUP, GKE_NODE_POOL):
        return
    most = max_nodes(res)
    if most is None:
        return
    gpu = is_gpu_pool(res)
    cap = cfg["maxGpuNodes"] if gpu else cfg["maxNodes"]
    if most > cap:
        key = "maxGpuNodes" if gpu else "maxNodes"
        yield f"{res.label}: max_size {most} is above the cap of {cap} nodes per {'GPU ' if gpu else ''}pool ({key})"


NODE_POOL_MAX_SIZE = Rule(
    name="node-pool-max-size",
    description="A node pool's max_size stays within the configured cap (separate caps for GPU and other pools).",
    enforcement_level=MANDATORY,
    config_schema={
        "maxNodes": schema("integer", 20, "Most nodes in a non-GPU pool.", minimum=1),
        "maxGpuNodes": schema("integer", 8, "Most nodes in a GPU pool.", minimum=1),
    },
    check=check_max_size,
)

RULES = [GPU_POOL_TAINT, GPU_SPOT_NONPROD, NODE_POOL_MAX_SIZE]
