"""The typed stack config: defaults, and the exact messages a bad stack file gets."""

from __future__ import annotations

import json

import pytest

from components.cluster import EksClusterArgs, NvidiaDevicePluginArgs
from components.common import Capacity, Cloud, GpuSharing
from infra.cluster import device_plugin_args, eks_args, pool_args
from infra.config import ConfigError, Environment, inputs, parse, parse_partial

BASE = {"ml-platform:environment": "dev", "ml-platform:cloud": "aws", "aws:region": "us-west-2"}


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse("s", {**BASE, **raw})
    return err.value.problems


def test_minimal_config_leaves_the_components_defaults() -> None:
    cfg = parse("s", BASE)
    assert cfg.environment == Environment.DEV and cfg.cloud == Cloud.AWS and cfg.region == "us-west-2"
    assert cfg.cluster_name == "mlp-s"
    assert cfg.cluster.kubernetes_version is None and cfg.cluster.system_nodes.min_size is None
    assert eks_args(cfg) == EksClusterArgs()  # every cluster setting is the component's default
    assert cfg.gpu_pools == {}
    assert cfg.device_plugin.install.value == "auto"
    assert device_plugin_args(cfg, cfg.device_plugin) == NvidiaDevicePluginArgs()


def test_structured_values_arrive_as_json_text_like_the_cli_passes_them() -> None:
    cfg = parse(
        "s", {**BASE, "ml-platform:gpu_pools": json.dumps({"a": {"instance_type": "g5.xlarge", "capacity": "spot"}})}
    )
    pool = cfg.gpu_pools["a"]
    assert (pool.instance_type, pool.capacity, pool.min_size) == ("g5.xlarge", Capacity.SPOT, None)
    args = pool_args(cfg, pool, cluster_name="c")
    assert (args.min_size, args.max_size, args.capacity, args.disk_size_gib) == (0, 1, Capacity.SPOT, 100)
    assert args.sharing_mode == GpuSharing.NONE and args.sharing_replicas == 4


def test_unknown_keys_at_every_level() -> None:
    assert problems({"ml-platform:gpu_pool": "{}", "ml-platform:cluster": {"nmae": "x"}}) == [
        "gpu_pool: is not a known key (check its spelling), got 'ml-platform:gpu_pool'",
        "cluster.nmae: is not a known key (check its spelling), got 'x'",
    ]


def test_unknown_sharing_mode() -> None:
    assert problems({"ml-platform:gpu_pools": {"p": {"instance_type": "g5.xlarge", "sharing": {"mode": "mps"}}}}) == [
        "gpu_pools.p.sharing.mode: must be one of 'none', 'time-slicing' or 'mig', got 'mps'"
    ]


def test_mig_needs_a_profile_and_only_mig_takes_one() -> None:
    assert problems(
        {
            "ml-platform:gpu_pools": {
                "a": {"instance_type": "p4d.24xlarge", "sharing": {"mode": "mig"}},
                "b": {"instance_type": "g5.xlarge", "sharing": {"profile": "1g.5gb"}},
            }
        }
    ) == [
        "gpu_pools.a.sharing.profile: is required with mode mig, got None",
        "gpu_pools.b.sharing.profile: is only used with mode mig, got '1g.5gb'",
    ]


def test_missing_required_pool_key_and_bad_types() -> None:
    assert problems({"ml-platform:gpu_pools": {"p": {"max_size": "two", "capacity": "reserved"}}}) == [
        "gpu_pools.p.instance_type: is required but not set",
        "gpu_pools.p.max_size: must be a valid integer, unable to parse string as an integer, got 'two'",
        "gpu_pools.p.capacity: must be one of 'on-demand' or 'spot', got 'reserved'",
    ]


def test_missing_environment_and_cloud() -> None:
    with pytest.raises(ConfigError) as err:
        parse("s", {})
    assert err.value.problems == [
        "environment: is required but not set (pulumi config set ml-platform:environment <value>)",
        "cloud: is required but not set (pulumi config set ml-platform:cloud <value>)",
    ]
    assert str(err.value).startswith("stack 's' has 2 configuration problems:\n  - environment: ")


def test_unknown_environment() -> None:
    assert problems({"ml-platform:environment": "qa"}) == [
        "environment: must be one of 'local', 'dev', 'staging' or 'prod', got 'qa'"
    ]


def test_region_required_per_cloud() -> None:
    with pytest.raises(ConfigError) as err:
        parse("s", {"ml-platform:environment": "dev", "ml-platform:cloud": "gcp", "gcp:region": "us-central1"})
    assert err.value.problems == ["project: is required on gcp (set gcp:project), got None"]


def test_existing_cluster_takes_no_gpu_pools() -> None:
    assert problems(
        {"ml-platform:cloud": "existing", "ml-platform:gpu_pools": {"p": {"instance_type": "g5.xlarge"}}}
    ) == ["gpu_pools: an existing cluster brings its own nodes; declare no GPU pools, got ['p']"]


def test_pool_names_are_dns_friendly() -> None:
    cfg = parse("s", {**BASE, "ml-platform:gpu_pools": {"Big_Pool": {"instance_type": "g5.xlarge"}}})
    assert inputs.problems(cfg) == [
        "gpu_pools.Big_Pool: pool names are 1-30 lowercase letters, digits and dashes, starting with a letter and "
        "ending with a letter or digit, got 'Big_Pool'"
    ]


def test_partial_parse_keeps_the_valid_parts() -> None:
    cfg, found = parse_partial(
        "s",
        {
            **BASE,
            "ml-platform:gpu_pools": {
                "good": {"instance_type": "g5.xlarge"},
                "bad": {"instance_type": 3.5, "min_size": "x"},
            },
        },
    )
    assert cfg is not None and set(cfg.gpu_pools) == {"good"}
    assert found == [
        "gpu_pools.bad.instance_type: must be a valid string, got 3.5",
        "gpu_pools.bad.min_size: must be a valid integer, unable to parse string as an integer, got 'x'",
    ]
