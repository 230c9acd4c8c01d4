"""NvidiaDevicePlugin: pinned chart, tolerates the GPU taint, lands only on GPU nodes, one config per sharing mode."""

from __future__ import annotations

import yaml

from components.cluster import NvidiaDevicePlugin, NvidiaDevicePluginArgs, SharingMode
from components.cluster._device_plugin import CHART_VERSION, chart_values
from components.common import GpuSharing
from tests import k8s_schemas
from tests.conftest import one


def test_release_is_pinned_and_scheduled_on_gpu_nodes_only(mocked) -> None:
    regs = mocked.run(lambda: NvidiaDevicePlugin("dp", NvidiaDevicePluginArgs()))
    release = one(regs, "kubernetes:helm.sh/v3:Release").inputs
    assert release["chart"] == "nvidia-device-plugin" and release["version"] == CHART_VERSION == "0.20.0"
    assert release["repositoryOpts"]["repo"] == "https://nvidia.github.io/k8s-device-plugin"
    values = release["values"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}]}]
    ns = one(regs, "kubernetes:core/v1:Namespace").inputs
    assert ns["metadata"]["name"] == "nvidia-device-plugin"


def test_one_named_config_per_sharing_mode() -> None:
    values = chart_values(
        NvidiaDevicePluginArgs(sharing_modes=[SharingMode(GpuSharing.TIME_SLICING, 4), SharingMode(GpuSharing.MIG)])
    )
    configs = {name: yaml.safe_load(text) for name, text in values["config"]["map"].items()}
    assert values["config"]["default"] == "exclusive"
    assert configs["exclusive"] == {"version": "v1", "flags": {"migStrategy": "none"}}
    assert configs["time-slicing-4"]["sharing"]["timeSlicing"]["resources"] == [
        {"name": "nvidia.com/gpu", "replicas": 4}
    ]
    assert configs["mig-single"]["flags"]["migStrategy"] == "single"
    assert "migStrategy" not in values  # a top-level strategy would override each node's configuration


def test_every_values_key_exists_in_the_chart() -> None:
    values = chart_values(NvidiaDevicePluginArgs(sharing_modes=[SharingMode(GpuSharing.TIME_SLICING, 4)]))
    assert k8s_schemas.unknown_values_keys(values, k8s_schemas.chart_values("nvidia-device-plugin")) == []


def test_unknown_values_key_is_caught() -> None:
    assert k8s_schemas.unknown_values_keys({"tolerationz": []}, {"tolerations": []}) == ["tolerationz"]
