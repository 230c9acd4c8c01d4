"""Node pool rules: GPU taint, spot GPUs outside prod, size caps (EKS node groups and GKE node pools)."""

from __future__ import annotations

import copy
from typing import Any

from policies.rules.base import Facts
from policies.rules.nodes import GPU_POOL_TAINT, GPU_SPOT_NONPROD, NODE_POOL_MAX_SIZE, is_gpu_pool, max_nodes
from tests.policies.builders import DEV, PROD, res, violations

TAINT = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]


def eks_group(
    name: str = "inference",
    instance: str = "g5.xlarge",
    ami: str = "AL2023_x86_64_NVIDIA",
    capacity: str = "SPOT",
    max_size: int = 2,
    **extra: Any,
):
    props: dict[str, Any] = {
        "instanceTypes": [instance],
        "amiType": ami,
        "capacityType": capacity,
        "scalingConfig": {"minSize": 0, "maxSize": max_size, "desiredSize": 0},
        "taints": TAINT,
    }
    props.update(extra)
    return res("aws:eks/nodeGroup:NodeGroup", f"{name}-nodegroup", props)


def gke_pool(name: str = "l4", machine: str = "g2-standard-8", spot: bool = True, **autoscaling: Any):
    props = {
        "location": "us-central1",
        "autoscaling": autoscaling or {"totalMinNodeCount": 0, "totalMaxNodeCount": 2},
        "nodeConfig": {"machineType": machine, "spot": spot, "taints": copy.deepcopy(TAINT)},
    }
    return res("gcp:container/nodePool:NodePool", f"{name}-nodepool", props)


def test_gpu_pools_are_recognised() -> None:
    assert is_gpu_pool(eks_group())
    assert is_gpu_pool(eks_group(instance="g6.xlarge", ami="BOTTLEROCKET_x86_64_NVIDIA"))
    assert is_gpu_pool(eks_group(instance="p5.48xlarge", ami="AL2023_x86_64_STANDARD"))  # from the price table
    assert not is_gpu_pool(eks_group(instance="m6i.large", ami="AL2023_x86_64_STANDARD"))
    assert is_gpu_pool(gke_pool())
    n1 = gke_pool(machine="n1-standard-8")
    assert not is_gpu_pool(n1)
    n1.props["nodeConfig"]["guestAccelerators"] = [{"type": "nvidia-tesla-t4", "count": 1}]
    assert is_gpu_pool(n1)


def test_gke_per_zone_sizes_count_every_zone() -> None:
    assert max_nodes(gke_pool(minNodeCount=1, maxNodeCount=2)) == 6
    zonal = gke_pool(minNodeCount=1, maxNodeCount=2)
    zonal.props["location"] = "us-central1-a"
    assert max_nodes(zonal) == 2


# --- gpu-pool-taint -------------------------------------------------------------------------------------------


def test_taint_compliant() -> None:
    assert violations(GPU_POOL_TAINT, eks_group()) == []
    assert violations(GPU_POOL_TAINT, gke_pool()) == []


def test_taint_missing_on_eks_and_gke() -> None:
    assert violations(GPU_POOL_TAINT, eks_group(taints=[])) == [
        "[mandatory] gpu-pool-taint: aws:eks/nodeGroup:NodeGroup inference-nodegroup: GPU node pool (g5.xlarge) has "
        "no nvidia.com/gpu:NoSchedule taint, so any pod could take its GPUs' nodes"
    ]
    pool = gke_pool()
    del pool.props["nodeConfig"]["taints"]
    (message,) = violations(GPU_POOL_TAINT, pool)
    assert "gcp:container/nodePool:NodePool l4-nodepool: GPU node pool (g2-standard-8) has no" in message


def test_taint_with_wrong_effect_and_non_gpu_pool() -> None:
    soft = [{"key": "nvidia.com/gpu", "value": "present", "effect": "PREFER_NO_SCHEDULE"}]
    assert violations(GPU_POOL_TAINT, eks_group(taints=soft))
    assert violations(GPU_POOL_TAINT, eks_group(instance="m6i.large", ami="AL2023_x86_64_STANDARD", taints=[])) == []


def test_taint_config_override_changes_the_key() -> None:
    custom = [{"key": "gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert violations(GPU_POOL_TAINT, eks_group(taints=custom))
    assert violations(GPU_POOL_TAINT, eks_group(taints=custom), {"taintKey": "gpu"}) == []


# --- gpu-spot-nonprod -----------------------------------------------------------------------------------------


def test_spot_compliant_and_prod_exempt() -> None:
    assert violations(GPU_SPOT_NONPROD, eks_group()) == []
    assert violations(GPU_SPOT_NONPROD, eks_group(capacity="ON_DEMAND"), facts=PROD) == []


def test_on_demand_gpus_in_dev_are_flagged() -> None:
    assert violations(GPU_SPOT_NONPROD, eks_group(capacity="ON_DEMAND"), facts=DEV) == [
        "[advisory] gpu-spot-nonprod: aws:eks/nodeGroup:NodeGroup inference-nodegroup: GPU node pool (g5.xlarge) uses "
        "on-demand capacity in the dev environment; spot costs about a third as much"
    ]
    (message,) = violations(GPU_SPOT_NONPROD, gke_pool(spot=False), facts=DEV)
    assert "l4-nodepool" in message


def test_spot_missing_capacity_means_on_demand() -> None:
    group = eks_group()
    del group.props["capacityType"]
    assert violations(GPU_SPOT_NONPROD, group, facts=DEV)
    assert violations(GPU_SPOT_NONPROD, group, facts=Facts()) == []  # environment unknown: not applicable


def test_spot_config_override_names_the_environment() -> None:
    group = eks_group(capacity="ON_DEMAND")
    assert violations(GPU_SPOT_NONPROD, group, {"environment": "staging"}, facts=Facts())
    assert violations(GPU_SPOT_NONPROD, group, {"environments": ["dev"]}, facts=Facts(environment="staging")) == []


# --- node-pool-max-size ---------------------------------------------------------------------------------------


def test_max_size_compliant() -> None:
    assert violations(NODE_POOL_MAX_SIZE, eks_group(max_size=8)) == []


def test_max_size_over_the_gpu_cap() -> None:
    assert violations(NODE_POOL_MAX_SIZE, eks_group(max_size=9)) == [
        "[mandatory] node-pool-max-size: aws:eks/nodeGroup:NodeGroup inference-nodegroup: max_size 9 is above the cap "
        "of 8 nodes per GPU pool (maxGpuNodes)"
    ]
    (message,) = violations(NODE_POOL_MAX_SIZE, gke_pool(minNodeCount=0, maxNodeCount=3))  # 3 zones x 3
    assert "max_size 9 is above the cap of 8 nodes per GPU pool" in message


def test_max_size_missing_scaling_config() -> None:
    group = eks_group()
    del group.props["scalingConfig"]
    assert violations(NODE_POOL_MAX_SIZE, group) == []  # nothing to judge; the provider requires it anyway


def test_max_size_config_override() -> None:
    system = eks_group("system", instance="m6i.large", ami="AL2023_x86_64_STANDARD", max_size=12)
    assert violations(NODE_POOL_MAX_SIZE, system) == []
    assert violations(NODE_POOL_MAX_SIZE, system, {"maxNodes": 10}) == [
        "[mandatory] node-pool-max-size: aws:eks/nodeGroup:NodeGroup system-nodegroup: max_size 12 is above the cap "
        "of 10 nodes per pool (maxNodes)"
    ]
