"""The shared validation collector and the GPU scheduling contract."""

from __future__ import annotations

import pytest

from components.common import (
    ArgsError,
    GpuSharing,
    Problems,
    device_plugin_config_name,
    gpu_node_selector,
    gpu_toleration,
)


def test_problems_collect_under_nested_paths_and_raise_together() -> None:
    p = Problems(prefix="gpu_pools")
    inner = p.at("inference")
    inner.add("max_size", "must be >= min_size (2)", 1)
    inner.check(False, "sharing.mode", "must be one of none, time-slicing, mig", GpuSharing.MIG)
    p.check(True, "never", "not added", 0)
    assert p.items == [
        "gpu_pools.inference.max_size: must be >= min_size (2), got 1",
        "gpu_pools.inference.sharing.mode: must be one of none, time-slicing, mig, got 'mig'",
    ]
    with pytest.raises(ArgsError) as err:
        p.raise_if_any("GpuNodePool 'inference'")
    assert str(err.value).splitlines()[0] == "GpuNodePool 'inference':"


def test_problems_speak_the_callers_key_paths() -> None:
    p = Problems()
    at = p.at("gpu_pools.inference", names={"sharing_replicas": "sharing.replicas", "versions": "versions"})
    at.add("sharing_replicas", "must be between 2 and 48", 1)
    at.add("max_size", "must be >= 1", 0)  # not renamed: the caller spells it the same
    at.at("versions.v1").add("weight", "must be between 0 and 100", 120)  # renames apply to one level only
    at.at("sharing_replicas_extra").add("x", "is a different name", 0)
    assert p.items == [
        "gpu_pools.inference.sharing.replicas: must be between 2 and 48, got 1",
        "gpu_pools.inference.max_size: must be >= 1, got 0",
        "gpu_pools.inference.versions.v1.weight: must be between 0 and 100, got 120",
        "gpu_pools.inference.sharing_replicas_extra.x: is a different name, got 0",
    ]


def test_gpu_contract() -> None:
    assert gpu_toleration() == {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert gpu_node_selector() == {"nvidia.com/gpu.present": "true"}
    assert device_plugin_config_name(GpuSharing.TIME_SLICING, 4) == "time-slicing-4"
    assert device_plugin_config_name(GpuSharing.NONE) == "exclusive"
