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


def test_gpu_contract() -> None:
    assert gpu_toleration() == {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert gpu_node_selector() == {"nvidia.com/gpu.present": "true"}
    assert device_plugin_config_name(GpuSharing.TIME_SLICING, 4) == "time-slicing-4"
    assert device_plugin_config_name(GpuSharing.NONE) == "exclusive"
