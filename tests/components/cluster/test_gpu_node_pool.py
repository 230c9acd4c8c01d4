"""GpuNodePool: the taint, labels, scale-from-zero hints and sharing settings it promises, on both clouds."""

from __future__ import annotations

import pytest

from components.cluster import GpuNodePool, GpuNodePoolArgs, NodeImage
from components.common import ArgsError, Capacity, Cloud, GpuSharing, Problems
from tests.conftest import by_type, one


def aws_args(**kw) -> GpuNodePoolArgs:
    base = dict(
        cloud=Cloud.AWS, cluster_name="c", instance_type="g5.xlarge", node_role_arn="arn:role", subnet_ids=["s1"]
    )
    base.update(kw)
    return GpuNodePoolArgs(**base)


def gcp_args(**kw) -> GpuNodePoolArgs:
    base = dict(cloud=Cloud.GCP, cluster_name="c", instance_type="g2-standard-8", location="us-central1")
    base.update(kw)
    return GpuNodePoolArgs(**base)


def problems_of(args: GpuNodePoolArgs) -> list[str]:
    p = Problems(prefix="gpu_pools.inference")
    args.validate(p)
    return p.items


def test_defaults_scale_from_zero_on_demand_one_node() -> None:
    args = aws_args()
    assert (args.min_size, args.max_size, args.capacity, args.disk_size_gib) == (0, 1, Capacity.ON_DEMAND, 100)
    assert args.sharing_mode == GpuSharing.NONE and args.node_image == NodeImage.AL2023_NVIDIA
    assert problems_of(args) == []


def test_eks_node_group_is_tainted_labelled_and_scales_from_zero(mocked) -> None:
    regs = mocked.run(lambda: GpuNodePool("inference", aws_args(capacity=Capacity.SPOT, max_size=3)))
    group = one(regs, "aws:eks/nodeGroup:NodeGroup").inputs
    assert group["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert group["labels"]["nvidia.com/gpu.present"] == "true"
    assert group["labels"]["ml-platform.io/accelerator"] == "nvidia-a10g"
    assert group["labels"]["ml-platform.io/pool"] == "inference"
    assert group["scalingConfig"] == {"minSize": 0, "maxSize": 3, "desiredSize": 0}
    assert group["capacityType"] == "SPOT"
    assert group["amiType"] == "AL2023_x86_64_NVIDIA"
    assert group["instanceTypes"] == ["g5.xlarge"]


def test_eks_pool_tags_its_asg_with_the_node_template_for_scale_from_zero(mocked) -> None:
    regs = mocked.run(
        lambda: GpuNodePool("inference", aws_args(sharing_mode=GpuSharing.TIME_SLICING, sharing_replicas=4))
    )
    tags = {r.inputs["tag"]["key"]: r.inputs["tag"]["value"] for r in by_type(regs, "aws:autoscaling/tag:Tag")}
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert tags[f"{prefix}/taint/nvidia.com/gpu"] == "present:NoSchedule"
    assert tags[f"{prefix}/label/nvidia.com/gpu.present"] == "true"
    assert tags[f"{prefix}/resources/nvidia.com/gpu"] == "4"  # one A10G, four time-sliced replicas
    assert tags[f"{prefix}/label/nvidia.com/device-plugin.config"] == "time-slicing-4"
    asg = {r.inputs["autoscalingGroupName"] for r in by_type(regs, "aws:autoscaling/tag:Tag")}
    assert len(asg) == 1 and asg != {""}


def test_every_child_has_the_pool_as_parent(mocked) -> None:
    regs = mocked.run(lambda: GpuNodePool("inference", aws_args()))
    pool = one(regs, "ml-platform:gpu_node_pool:GpuNodePool")
    assert all(r.parent == pool.urn for r in regs if r is not pool)


def test_gke_pool_time_sharing(mocked) -> None:
    regs = mocked.run(
        lambda: GpuNodePool(
            "shared", gcp_args(sharing_mode=GpuSharing.TIME_SLICING, sharing_replicas=4, capacity=Capacity.SPOT)
        )
    )
    pool = one(regs, "gcp:container/nodePool:NodePool").inputs
    node = pool["nodeConfig"]
    acc = node["guestAccelerators"][0]
    assert acc["type"] == "nvidia-l4" and acc["count"] == 1
    assert acc["gpuSharingConfig"] == {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": 4}
    assert acc["gpuDriverInstallationConfig"] == {"gpuDriverVersion": "LATEST"}
    assert node["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert node["spot"] is True
    assert pool["autoscaling"]["totalMinNodeCount"] == 0


def test_gke_pool_mig_partition(mocked) -> None:
    regs = mocked.run(
        lambda: GpuNodePool(
            "mig", gcp_args(instance_type="a2-highgpu-1g", sharing_mode=GpuSharing.MIG, sharing_profile="1g.5gb")
        )
    )
    acc = one(regs, "gcp:container/nodePool:NodePool").inputs["nodeConfig"]["guestAccelerators"][0]
    assert acc["type"] == "nvidia-tesla-a100"
    assert acc["gpuPartitionSize"] == "1g.5gb"
    assert "gpuSharingConfig" not in acc


def test_gke_n1_needs_an_accelerator() -> None:
    assert problems_of(gcp_args(instance_type="n1-standard-8")) == [
        "gpu_pools.inference.accelerator: N1 machines need one of nvidia-tesla-t4, got None"
    ]
    assert problems_of(gcp_args(instance_type="n1-standard-8", accelerator="nvidia-tesla-t4")) == []


def test_max_below_min_is_reported_with_path_and_value() -> None:
    assert problems_of(aws_args(min_size=2, max_size=1)) == [
        "gpu_pools.inference.max_size: must be >= min_size (2), got 1"
    ]


def test_unknown_instance_type_names_the_value() -> None:
    [message] = problems_of(aws_args(instance_type="g5.xlarg"))
    assert message.startswith("gpu_pools.inference.instance_type: unknown GPU instance type (known: g4dn.12xlarge, ")
    assert message.endswith(", got 'g5.xlarg'")


def test_mig_on_a_gpu_without_mig_is_refused() -> None:
    assert problems_of(gcp_args(sharing_mode=GpuSharing.MIG, sharing_profile="1g.5gb")) == [
        "gpu_pools.inference.sharing_mode: MIG needs an A100 or H100; g2-standard-8 has nvidia-l4, got 'mig'"
    ]


def test_wrong_mig_profile_for_the_gpu() -> None:
    assert problems_of(
        gcp_args(instance_type="a2-highgpu-1g", sharing_mode=GpuSharing.MIG, sharing_profile="1g.10gb")
    ) == [
        "gpu_pools.inference.sharing_profile: must be one of 1g.5gb, 2g.10gb, 3g.20gb, 4g.20gb, 7g.40gb "
        "for nvidia-tesla-a100, got '1g.10gb'"
    ]


def test_mig_on_eks_is_refused_until_a_mig_manager_applies_it() -> None:
    for instance in ("p4d.24xlarge", "g5.xlarge"):
        assert problems_of(aws_args(instance_type=instance, sharing_mode=GpuSharing.MIG, sharing_profile="1g.5gb")) == [
            "gpu_pools.inference.sharing_mode: MIG on EKS needs NVIDIA's MIG manager to partition the GPUs, which the "
            "platform does not install; use time-slicing, or a GKE pool (GKE partitions MIG GPUs itself), got 'mig'"
        ]


def test_bottlerocket_with_sharing_is_refused() -> None:
    assert problems_of(aws_args(node_image=NodeImage.BOTTLEROCKET_NVIDIA, sharing_mode=GpuSharing.TIME_SLICING)) == [
        "gpu_pools.inference.sharing_mode: is only supported with node_image al2023-nvidia on EKS, got 'time-slicing'"
    ]


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(aws_args(min_size=-1, max_size=0, disk_size_gib=20, instance_type="m5.large"))
    assert len(problems) == 4, problems
    with pytest.raises(ArgsError) as err:
        GpuNodePool("bad", aws_args(min_size=3, max_size=1, disk_size_gib=20))
    assert err.value.problems == [
        "bad.max_size: must be >= min_size (3), got 1",
        "bad.disk_size_gib: must be >= 50 (GPU images are large), got 20",
    ]


def test_the_model_cache_disk_adds_to_the_node_disk_on_both_clouds(mocked) -> None:
    eks = mocked.run(lambda: GpuNodePool("inference", aws_args(disk_size_gib=100, model_cache_gib=150)))
    assert one(eks, "aws:eks/nodeGroup:NodeGroup").inputs["diskSize"] == 250
    gke = mocked.run(lambda: GpuNodePool("inference", gcp_args(disk_size_gib=100, model_cache_gib=150)))
    assert one(gke, "gcp:container/nodePool:NodePool").inputs["nodeConfig"]["diskSizeGb"] == 250
    assert problems_of(aws_args(model_cache_gib=-1)) == ["gpu_pools.inference.model_cache_gib: must be >= 0, got -1"]


def test_eks_gpu_nodes_carry_the_label_the_cluster_autoscaler_knows_gpus_by(mocked) -> None:
    regs = mocked.run(lambda: GpuNodePool("inference", aws_args()))
    assert one(regs, "aws:eks/nodeGroup:NodeGroup").inputs["labels"]["k8s.amazonaws.com/accelerator"] == "nvidia-a10g"
    tags = {t.inputs["tag"]["key"]: t.inputs["tag"]["value"] for t in by_type(regs, "aws:autoscaling/tag:Tag")}
    assert tags["k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator"] == "nvidia-a10g"


def test_gke_gpu_nodes_do_not_get_the_aws_label(mocked) -> None:
    regs = mocked.run(lambda: GpuNodePool("l4", gcp_args()))
    assert (
        "k8s.amazonaws.com/accelerator"
        not in one(regs, "gcp:container/nodePool:NodePool").inputs["nodeConfig"]["labels"]
    )


# --- replacement: the new pool is created before the old one is deleted -------------------------------------------


def test_a_disk_resize_replaces_an_eks_group_under_a_new_generated_name(mocked) -> None:
    """Disk size is fixed at creation (the provider replaces the group), and the cache grows the disk: the group
    carries only a name prefix, so the replacement gets a name of its own and can exist beside the old group."""
    before = one(mocked.run(lambda: GpuNodePool("inference", aws_args())), "aws:eks/nodeGroup:NodeGroup")
    after = one(
        mocked.run(lambda: GpuNodePool("inference", aws_args(model_cache_gib=20))), "aws:eks/nodeGroup:NodeGroup"
    )
    changed = {k for k in before.inputs.keys() | after.inputs.keys() if before.inputs.get(k) != after.inputs.get(k)}
    assert changed == {"diskSize"} and (before.inputs["diskSize"], after.inputs["diskSize"]) == (100, 120)
    for group in (before, after):
        assert group.inputs["nodeGroupNamePrefix"] == "inference-"
        assert "nodeGroupName" not in group.inputs  # a fixed name would clash with the old group's
        assert group.delete_before_replace is False
        name = group.outputs["nodeGroupName"]  # what the provider makes of the prefix (see offline/mocks.py)
        assert name.startswith("inference-") and len(name) == len("inference-") + 26 <= 63


def test_a_disk_resize_replaces_a_gke_pool_under_a_new_generated_name(mocked) -> None:
    before = one(mocked.run(lambda: GpuNodePool("l4", gcp_args())), "gcp:container/nodePool:NodePool")
    after = one(mocked.run(lambda: GpuNodePool("l4", gcp_args(disk_size_gib=150))), "gcp:container/nodePool:NodePool")
    assert (before.inputs["nodeConfig"]["diskSizeGb"], after.inputs["nodeConfig"]["diskSizeGb"]) == (100, 150)
    for pool in (before, after):
        assert pool.inputs["namePrefix"] == "l4-" and "name" not in pool.inputs
        assert pool.delete_before_replace is False
        name = pool.outputs["name"]
        assert name.startswith("l4-") and name != "l4" and len(name) <= 40


def test_delete_before_replace_is_an_explicit_choice_of_the_pool_only(mocked) -> None:
    assert aws_args().delete_before_replace is False
    regs = mocked.run(lambda: GpuNodePool("inference", aws_args(delete_before_replace=True)))
    assert one(regs, "aws:eks/nodeGroup:NodeGroup").delete_before_replace is True
    assert not any(t.delete_before_replace for t in by_type(regs, "aws:autoscaling/tag:Tag"))
    regs = mocked.run(lambda: GpuNodePool("l4", gcp_args(delete_before_replace=True)))
    pool = one(regs, "gcp:container/nodePool:NodePool")
    assert pool.delete_before_replace is True and pool.to_json()["deleteBeforeReplace"] is True
    assert pool.to_json()["ignoreChanges"] == ["initialNodeCount"]  # merged with, not instead of, the other option


def test_a_pool_name_that_cannot_prefix_the_cloud_name_is_refused(mocked) -> None:
    with pytest.raises(ArgsError) as err:
        GpuNodePool("Inference_GPUs", gcp_args(min_size=2, max_size=1))
    assert err.value.problems == [
        "Inference_GPUs: a GPU pool name on gcp must be lowercase letters, digits and dashes, starting with a letter "
        "and ending with a letter or digit, at most 30 characters (the cloud generates the pool's name from "
        "'<pool>-'), got 'Inference_GPUs'",
        "Inference_GPUs.max_size: must be >= min_size (2), got 1",
    ]
    for bad in ("a" * 37, "gpus-"):
        with pytest.raises(ArgsError) as err:
            GpuNodePool(bad, aws_args())
        assert err.value.problems == [
            f"{bad}: a GPU pool name on aws must be letters, digits, dashes and underscores, starting and ending with "
            f"a letter or digit, at most 36 characters (the cloud generates the pool's name from '<pool>-'), "
            f"got '{bad}'"
        ]
    for good in ("a" * 36, "GPU_pool-2"):
        group = one(mocked.run(lambda good=good: GpuNodePool(good, aws_args())), "aws:eks/nodeGroup:NodeGroup")
        assert len(group.outputs["nodeGroupName"]) <= 63
