"""The cluster layer: where the device plugin goes, and validation under the stack file's key paths."""

from __future__ import annotations

from components.cluster import check_pool_name
from components.common import Cloud, Problems
from infra import cluster
from infra.config import inputs, parse
from offline import runner

BASE = {"ml-platform:environment": "dev", "ml-platform:cloud": "aws", "aws:region": "us-west-2"}


def cfg(**raw):
    return parse("s", {**BASE, **{f"ml-platform:{k}": v for k, v in raw.items()}})


def test_device_plugin_installed_for_al2023_pools_only() -> None:
    assert cluster.device_plugin_wanted(cfg(gpu_pools={"a": {"instance_type": "g5.xlarge"}}))
    assert not cluster.device_plugin_wanted(
        cfg(gpu_pools={"a": {"instance_type": "g5.xlarge", "node_image": "bottlerocket-nvidia"}})
    )
    assert not cluster.device_plugin_wanted(cfg())  # no GPU pool, nothing to plug in


def test_device_plugin_never_on_gke_unless_forced() -> None:
    gke = {"ml-platform:environment": "dev", "ml-platform:cloud": "gcp", "gcp:region": "r", "gcp:project": "p"}
    assert not cluster.device_plugin_wanted(
        parse("s", {**gke, "ml-platform:gpu_pools": {"a": {"instance_type": "g2-standard-4"}}})
    )
    assert cluster.device_plugin_wanted(parse("s", {**gke, "ml-platform:device_plugin": {"install": "always"}}))


def test_device_plugin_gets_one_config_per_sharing_mode_in_use() -> None:
    c = cfg(
        gpu_pools={
            "a": {"instance_type": "g5.xlarge", "sharing": {"mode": "time-slicing", "replicas": 4}},
            "b": {"instance_type": "g5.xlarge", "sharing": {"mode": "time-slicing", "replicas": 4}},
            "c": {"instance_type": "p4d.24xlarge", "sharing": {"mode": "mig", "profile": "1g.5gb"}},
        }
    )
    modes = [(m.sharing.value, m.replicas) for m in cluster.device_plugin_args(c, c.device_plugin).sharing_modes]
    assert modes == [("mig", 1), ("time-slicing", 4)]


def test_semantic_validation_uses_stack_key_paths() -> None:
    p = Problems()
    cluster.validate(
        cfg(cluster={"availability_zone_count": 4}, gpu_pools={"x": {"instance_type": "g5.xlarge", "max_size": 0}}), p
    )
    assert p.items == [
        "cluster.availability_zone_count: must be 2 or 3, got 4",
        "gpu_pools.x.max_size: must be >= 1, got 0",
    ]


def test_an_existing_kubeconfig_file_is_what_the_provider_gets(tmp_path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    result = runner.run(
        "local", overrides={"ml-platform:cluster": {"name": "mlp-local", "kubeconfig_path": str(kubeconfig)}}
    )
    assert result.error is None
    provider = next(r for r in result.registrations if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == kubeconfig.read_text()


def test_mig_on_eks_is_refused_with_the_pool_key_path() -> None:
    p = Problems()
    cluster.validate(
        cfg(gpu_pools={"a100": {"instance_type": "p4d.24xlarge", "sharing": {"mode": "mig", "profile": "1g.5gb"}}}), p
    )
    assert p.items == [
        "gpu_pools.a100.sharing.mode: MIG on EKS needs NVIDIA's MIG manager to partition the GPUs, which the platform "
        "does not install; use time-slicing, or a GKE pool (GKE partitions MIG GPUs itself), got 'mig'"
    ]


def test_every_pool_name_a_stack_file_accepts_can_start_both_clouds_generated_names() -> None:
    """The stack file's rule for pool names (``inputs.POOL_NAME``) is the stricter one: a name it accepts never
    fails the component's own check, so a stack file's user sees one message for a bad name, not two."""
    for name in ("a", "a" * 30, "l4-shared", "a100-mig", "inference"):
        assert inputs.POOL_NAME.match(name)
        for cloud in (Cloud.AWS, Cloud.GCP):
            p = Problems(prefix=f"gpu_pools.{name}")
            check_pool_name(cloud, name, p)
            assert p.items == [], (cloud, p.items)
    assert not inputs.POOL_NAME.match("a" * 31)


def test_delete_before_replace_reaches_the_pool_only_when_set() -> None:
    c = cfg(
        gpu_pools={
            "a": {"instance_type": "g5.xlarge"},
            "b": {"instance_type": "g5.xlarge", "delete_before_replace": True},
        }
    )
    assert cluster.pool_args(c, c.gpu_pools["a"], cluster_name="-").delete_before_replace is False
    assert cluster.pool_args(c, c.gpu_pools["b"], cluster_name="-").delete_before_replace is True
