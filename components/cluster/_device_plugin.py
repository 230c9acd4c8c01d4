"""The NVIDIA device plugin, which makes a node's GPUs schedulable as ``nvidia.com/gpu``.

Why a component around a chart: the chart alone lands on the wrong nodes or none. Its default node affinity
wants Node Feature Discovery labels, and setting ``tolerations`` replaces its defaults, so the platform sets
both from the one GPU scheduling contract in :mod:`..common`. GPU sharing is per node pool: the plugin gets one
named configuration per sharing mode in use, and each node picks its configuration through the
``nvidia.com/device-plugin.config`` label its pool sets (the chart's config-manager sidecar reads it).

Install it only where nothing else runs a device plugin: GKE and Bottlerocket NVIDIA nodes bring their own, and
two plugins on one node fight over the same devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from ..common import (
    GpuSharing,
    PlatformComponent,
    Problems,
    chart_release,
    device_plugin_config,
    device_plugin_config_name,
    gpu_node_affinity,
    gpu_toleration,
)

CHART = "nvidia-device-plugin"
CHART_REPOSITORY = "https://nvidia.github.io/k8s-device-plugin"
CHART_VERSION = "0.20.0"


@dataclass(frozen=True)
class SharingMode:
    """One sharing configuration the plugin must offer."""

    sharing: GpuSharing
    """How pods share a GPU on the nodes that pick this configuration."""
    replicas: int = 1
    """Pods per GPU with time-slicing (ignored otherwise). Default 1."""


@dataclass(kw_only=True)
class NvidiaDevicePluginArgs:
    """Arguments of :class:`NvidiaDevicePlugin`."""

    sharing_modes: list[SharingMode] = field(default_factory=list)
    """Sharing modes used by the cluster's GPU pools; ``none`` is always offered and is the default.
    Default none extra."""
    namespace: str = "nvidia-device-plugin"
    """Namespace of the plugin. Default ``nvidia-device-plugin``."""
    chart_version: str = CHART_VERSION
    """Pinned chart version. Default ``0.20.0``."""
    create_namespace: bool = True
    """Create the namespace (set False when it exists). Default True."""

    def validate(self, problems: Problems) -> None:
        for i, mode in enumerate(self.sharing_modes):
            if mode.sharing == GpuSharing.TIME_SLICING:
                problems.check(mode.replicas >= 2, f"sharing_modes[{i}].replicas", "must be >= 2", mode.replicas)


def chart_values(args: NvidiaDevicePluginArgs) -> dict[str, Any]:
    """The Helm values the plugin is installed with (exposed for tests and previews)."""
    modes = {SharingMode(GpuSharing.NONE)} | set(args.sharing_modes)
    config_map = {
        device_plugin_config_name(m.sharing, m.replicas): yaml.safe_dump(
            device_plugin_config(m.sharing, m.replicas), sort_keys=False
        )
        for m in sorted(modes, key=lambda m: (m.sharing.value, m.replicas))
    }
    return {
        "config": {"map": config_map, "default": device_plugin_config_name(GpuSharing.NONE)},
        # No top-level migStrategy: it would override the per-node configuration's own ``flags.migStrategy``.
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}, gpu_toleration()],
        "affinity": gpu_node_affinity(),
        "priorityClassName": "system-node-critical",
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
        "updateStrategy": {"type": "RollingUpdate"},
    }


class NvidiaDevicePlugin(PlatformComponent):
    """The NVIDIA device plugin chart, pinned, tolerating the GPU taint and placed only on GPU nodes."""

    release_name: pulumi.Output[str]
    """Name of the Helm release."""
    namespace: str
    """Namespace the plugin runs in."""
    values: dict[str, Any]
    """Helm values the release is installed with."""

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:nvidia_device_plugin:NvidiaDevicePlugin", name, args, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = args.namespace
        self.values = chart_values(args)

        depends: list[pulumi.Resource] = []
        if args.create_namespace:
            ns = k8s.core.v1.Namespace(
                f"{name}-ns",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=args.namespace,
                    # The plugin mounts host paths; the namespace is exempt from the restricted profile.
                    labels={"pod-security.kubernetes.io/enforce": "privileged"},
                ),
                opts=child,
            )
            depends.append(ns)
        release = chart_release(
            name,
            release_name=name,
            chart=CHART,
            version=args.chart_version,
            repo=CHART_REPOSITORY,
            namespace=args.namespace,
            values=self.values,
            timeout_seconds=600,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=depends)),
        )
        self.release_name = release.name
        self.register_outputs({"release_name": self.release_name, "namespace": self.namespace})
