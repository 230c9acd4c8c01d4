"""The price of scheduled warm standby: replicas a KEDA cron trigger keeps running inside an endpoint's windows.

Why it is priced apart from node pools: a pool is priced at its minimum (idle) and its maximum (full scale), but a
warm window raises the minimum for some hours of the week only. Those hours cost the share of a GPU node each
extra replica takes (its GPUs over the node's schedulable GPUs, time-slices included), for the window's hours
each month. They add to the idle cost only: full scale already counts every pool at ``max_size``. Replicas
without GPUs run on the system nodes, which are priced as they are, so they add nothing here.

Everything is read from resources, like the rest of the model: the ScaledObject's cron triggers, the
InferenceService it scales (its GPUs and ``ml-platform.io/pool``), and the pool's node group or node pool.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
ASG_TAG = "aws:autoscaling/tag:Tag"
POOL_LABEL = "ml-platform.io/pool"
GPU = "nvidia.com/gpu"
TEMPLATE = "k8s.io/cluster-autoscaler/node-template/"

_CRON = re.compile(r"^(\d{1,2}) (\d{1,2}) \* \* ([0-9,\-]+)$")


@dataclass(frozen=True)
class PoolNode:
    """What one node of a GPU pool costs and how many GPU slots it offers."""

    cloud: str
    region: str | None
    instance: str
    spot: bool
    slots: int


def _d(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any, default: int) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def days_of(field: str) -> set[int] | None:
    """Cron day-of-week numbers (``1-5``, ``0,6``) as a set, Sunday 0 (7 too), or None when unreadable."""
    out: set[int] = set()
    for part in field.split(","):
        lo, _, hi = part.partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            return None
        out.update(d % 7 for d in range(int(lo), int(hi or lo) + 1))
    return out


def window_hours_per_week(start: object, end: object) -> float | None:
    """Hours a week between a cron start and end of the form ``M H * * DAYS`` on the same days, or None (also when
    either is missing or not a string, as a resource's metadata may give)."""
    a, b = _CRON.match(str(start).strip()), _CRON.match(str(end).strip())
    if not a or not b or days_of(a.group(3)) != days_of(b.group(3)) or days_of(a.group(3)) is None:
        return None
    minutes = (int(b.group(2)) * 60 + int(b.group(1))) - (int(a.group(2)) * 60 + int(a.group(1)))
    return len(days_of(a.group(3)) or ()) * minutes / 60 if minutes > 0 else None


def pool_nodes(resources: list[Any], region: str | None) -> dict[str, PoolNode]:
    """GPU pools by their ``ml-platform.io/pool`` label: instance, capacity and GPU slots per node."""
    asg: dict[str, dict[str, str]] = {}
    for r in resources:
        if r.type == ASG_TAG:
            tag = _d(r.props.get("tag"))
            asg.setdefault(str(r.props.get("autoscalingGroupName")), {})[str(tag.get("key"))] = str(tag.get("value"))
    slots_by_pool = {
        tags[f"{TEMPLATE}label/{POOL_LABEL}"]: _int(tags.get(f"{TEMPLATE}resources/{GPU}"), 1)
        for tags in asg.values()
        if f"{TEMPLATE}label/{POOL_LABEL}" in tags
    }
    out: dict[str, PoolNode] = {}
    for r in resources:
        if r.type == "aws:eks/nodeGroup:NodeGroup":
            labels = _d(r.props.get("labels"))
            pool = labels.get(POOL_LABEL)
            if pool:
                shared = re.match(r"time-slicing-(\d+)$", str(labels.get("nvidia.com/device-plugin.config", "")))
                slots = slots_by_pool.get(pool) or (int(shared.group(1)) if shared else 1)
                types = r.props.get("instanceTypes") or ["?"]
                spot = str(r.props.get("capacityType", "")).upper() == "SPOT"
                out[pool] = PoolNode("aws", region, str(types[0]), spot, slots)
        elif r.type == "gcp:container/nodePool:NodePool":
            nc = _d(r.props.get("nodeConfig"))
            pool = _d(nc.get("labels")).get(POOL_LABEL)
            accelerators = [_d(a) for a in nc.get("guestAccelerators") or []]
            if pool and accelerators:
                sharing = _d(accelerators[0].get("gpuSharingConfig"))
                slots = _int(accelerators[0].get("count"), 1) * _int(sharing.get("maxSharedClientsPerGpu"), 1)
                spot = bool(nc.get("spot") or nc.get("preemptible"))
                out[pool] = PoolNode("gcp", region, str(nc.get("machineType")), spot, max(1, slots))
    return out


def _gpus(isvc: Mapping[str, Any]) -> tuple[float, str | None]:
    predictor = _d(_d(isvc.get("spec")).get("predictor"))
    limits = _d(_d(_d(predictor.get("model")).get("resources")).get("limits"))
    return float(_int(limits.get(GPU), 0)), _d(predictor.get("nodeSelector")).get(POOL_LABEL)


def warm_standby(resources: list[Any], pricer: Any) -> None:
    """Add an item per ScaledObject with cron triggers on a GPU pool (idle cost only) to ``pricer``'s report."""
    isvcs = {
        f"{_d(r.props.get('metadata')).get('name')}-predictor": r for r in resources if r.type == INFERENCE_SERVICE
    }
    pools: dict[str, PoolNode] | None = None
    for r in resources:
        if r.type != SCALED_OBJECT:
            continue
        spec = _d(r.props.get("spec"))
        crons = [_d(t) for t in spec.get("triggers") or [] if _d(t).get("type") == "cron"]
        target = isvcs.get(str(_d(spec.get("scaleTargetRef")).get("name")))
        if not crons or target is None:
            continue
        gpus, pool = _gpus(target.props)
        if gpus <= 0:
            continue  # runs on the system nodes, priced with them
        pools = pools if pools is not None else pool_nodes(resources, pricer.region)
        node = pools.get(str(pool))
        if node is None:
            pricer.report.problems.append(f"{r.type} {r.name}: warm windows on GPU pool {pool!r}, which is not found")
            continue
        hourly = pricer.p.instance_hourly(node.cloud, node.region, node.instance, node.spot) * gpus / node.slots
        floor = _int(spec.get("minReplicaCount"), 0)
        monthly, hours, extra_max = 0.0, 0.0, 0
        for t in crons:
            meta = _d(t.get("metadata"))
            week = window_hours_per_week(meta.get("start"), meta.get("end"))
            if week is None:
                pricer.report.problems.append(f"{r.type} {r.name}: cannot read warm window {meta}")
                continue
            extra = max(0, _int(meta.get("desiredReplicas"), 0) - floor)
            monthly += extra * hourly * pricer.month * week / (7 * 24)
            hours, extra_max = hours + week, max(extra_max, extra)
        capacity = "spot" if node.spot else "on-demand"
        what = (
            f"warm windows {hours:g} h/week: up to {extra_max} extra x {gpus:g}/{node.slots} of a {node.instance} "
            f"{capacity} (idle cost only)"
        )
        pricer.add(r, what, monthly, 0.0)
