"""What the shipped stacks promise for GPUs: tainted pools, sharing per cloud, one device plugin where needed."""

from __future__ import annotations

import pytest

from tests.conftest import by_type

GPU_TAINT_EKS = {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}
POOL = "ml-platform.io/pool"
"""Pools are found by their label: their cloud names are generated from a prefix (see docs/gpu-infrastructure.md)."""


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_eks_gpu_pools_carry_the_taint(stack_run, stack: str) -> None:
    groups = [
        r
        for r in by_type(stack_run(stack).registrations, "aws:eks/nodeGroup:NodeGroup")
        if r.name != f"mlp-{stack}-system"
    ]
    assert groups
    for group in groups:
        assert group.inputs["taints"] == [GPU_TAINT_EKS]
        assert group.inputs["amiType"] == "AL2023_x86_64_NVIDIA"


def test_prod_pools(stack_run) -> None:
    groups = {
        r.inputs["labels"][POOL]: r.inputs
        for r in by_type(stack_run("prod").registrations, "aws:eks/nodeGroup:NodeGroup")
    }
    assert {name: group["nodeGroupNamePrefix"] for name, group in groups.items()} == {
        "inference": "inference-",
        "batch": "batch-",
        "system": "system-",
    }
    assert groups["inference"]["capacityType"] == "ON_DEMAND" and groups["inference"]["scalingConfig"]["minSize"] == 1
    assert groups["batch"]["capacityType"] == "SPOT" and groups["batch"]["scalingConfig"]["minSize"] == 0
    assert groups["system"].get("taints") is None


def test_gke_dev_accelerators_with_sharing(stack_run) -> None:
    pools = {
        r.inputs["nodeConfig"]["labels"][POOL]: r.inputs
        for r in by_type(stack_run("gke-dev").registrations, "gcp:container/nodePool:NodePool")
    }
    assert {name: pool["namePrefix"] for name, pool in pools.items()} == {
        "l4-shared": "l4-shared-",
        "a100-mig": "a100-mig-",
        "system": "system-",
    }
    shared = pools["l4-shared"]["nodeConfig"]["guestAccelerators"][0]
    assert shared["gpuSharingConfig"] == {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 4}
    mig = pools["a100-mig"]["nodeConfig"]["guestAccelerators"][0]
    assert mig["gpuPartitionSize"] == "1g.5gb"
    for name in ("l4-shared", "a100-mig"):
        assert pools[name]["nodeConfig"]["taints"] == [GPU_TAINT_EKS]


def test_gke_installs_no_device_plugin(stack_run) -> None:
    assert by_type(stack_run("gke-dev").registrations, "ml-platform:nvidia_device_plugin:NvidiaDevicePlugin") == []


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_eks_device_plugin_tolerates_the_taint_and_targets_gpu_nodes_only(stack_run, stack: str) -> None:
    [release] = [
        r
        for r in by_type(stack_run(stack).registrations, "kubernetes:helm.sh/v3:Release")
        if r.inputs["chart"] == "nvidia-device-plugin"
    ]
    values = release.inputs["values"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]
    [term] = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert term == {"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}]}


def test_prod_time_slicing_config_matches_the_batch_pool(stack_run) -> None:
    regs = stack_run("prod").registrations
    releases = [
        r for r in by_type(regs, "kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "nvidia-device-plugin"
    ]
    assert set(releases[0].inputs["values"]["config"]["map"]) == {"exclusive", "time-slicing-2"}
    labels = {r.inputs["labels"][POOL]: r.inputs["labels"] for r in by_type(regs, "aws:eks/nodeGroup:NodeGroup")}
    assert labels["batch"]["nvidia.com/device-plugin.config"] == "time-slicing-2"
    assert labels["inference"]["nvidia.com/device-plugin.config"] == "exclusive"
