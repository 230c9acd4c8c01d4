"""The cluster layer of the program: the cluster itself, its GPU pools and the NVIDIA device plugin.

Everything later layers need from it (the Kubernetes provider, the cloud identity hooks, the pools' labels) is
returned as a :class:`ClusterLayer`, so that no later layer reaches into a component's children.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.cluster import (
    ClusterAutoscaler,
    ClusterAutoscalerArgs,
    EksCluster,
    EksClusterArgs,
    GkeCluster,
    GkeClusterArgs,
    GpuNodePool,
    GpuNodePoolArgs,
    NodeImage,
    NvidiaDevicePlugin,
    NvidiaDevicePluginArgs,
    SharingMode,
)
from components.common import Cloud, GpuSharing, Problems

from .config import ClusterConfig, DevicePluginConfig, GpuPoolConfig, StackConfig, args_kwargs, key_paths
from .config.cluster import DevicePluginInstall


@dataclass
class ClusterLayer:
    """What the rest of the program builds on."""

    cloud: Cloud
    provider: k8s.Provider
    """Kubernetes provider of the cluster; every in-cluster resource of later layers uses it."""
    cluster_name: pulumi.Input[str]
    eks: EksCluster | None = None
    gke: GkeCluster | None = None
    gpu_pools: dict[str, GpuNodePool] = field(default_factory=dict)
    device_plugin: NvidiaDevicePlugin | None = None
    autoscaler: ClusterAutoscaler | None = None


def eks_args(cfg: StackConfig) -> EksClusterArgs:
    return EksClusterArgs(**args_kwargs(cfg, EksClusterArgs, nested=False), **args_kwargs(cfg.cluster, EksClusterArgs))


def autoscaler_args(cfg: StackConfig, eks: EksCluster | None = None) -> ClusterAutoscalerArgs:
    return ClusterAutoscalerArgs(
        cluster_name=eks.cluster_name if eks else "-",
        region=eks.region if eks else "-",
        oidc_provider_arn=eks.oidc_provider_arn if eks else "-",
        oidc_issuer=eks.oidc_issuer if eks else "-",
        **args_kwargs(cfg.cluster, ClusterAutoscalerArgs),
    )


def gke_args(cfg: StackConfig) -> GkeClusterArgs:
    return GkeClusterArgs(
        **{"project": "", "region": "", **args_kwargs(cfg, GkeClusterArgs, nested=False)},
        **args_kwargs(cfg.cluster.for_environment(cfg.environment), GkeClusterArgs),
    )


def pool_args(cfg: StackConfig, pool: GpuPoolConfig, **cloud_inputs: Any) -> GpuNodePoolArgs:
    return GpuNodePoolArgs(
        **args_kwargs(cfg, GpuNodePoolArgs, nested=False),
        **args_kwargs(pool, GpuNodePoolArgs),
        **cloud_inputs,
    )


def device_plugin_wanted(cfg: StackConfig) -> bool:
    """Whether the platform installs the NVIDIA device plugin (see :class:`DevicePluginInstall`)."""
    mode = cfg.device_plugin.install
    if mode != DevicePluginInstall.AUTO:
        return mode == DevicePluginInstall.ALWAYS
    if cfg.cloud != Cloud.AWS:
        return False  # GKE runs its own; an existing cluster's owner decides with `always`.
    return any(
        pool_args(cfg, p, cluster_name="-").node_image == NodeImage.AL2023_NVIDIA for p in cfg.gpu_pools.values()
    )


def device_plugin_args(cfg: StackConfig, plugin: DevicePluginConfig) -> NvidiaDevicePluginArgs:
    pools = [pool_args(cfg, p, cluster_name="-") for p in cfg.gpu_pools.values()]
    modes = sorted(
        {
            SharingMode(p.sharing_mode, p.sharing_replicas if p.sharing_mode == GpuSharing.TIME_SLICING else 1)
            for p in pools
        },
        key=lambda m: (m.sharing.value, m.replicas),
    )
    return NvidiaDevicePluginArgs(sharing_modes=modes, **args_kwargs(plugin, NvidiaDevicePluginArgs))


def validate(cfg: StackConfig, problems: Problems) -> None:
    """Run every component's own validation with the stack file's key paths, before anything is created."""
    if cfg.cloud == Cloud.AWS:
        eks_args(cfg).validate(problems.at("cluster", key_paths(ClusterConfig, EksClusterArgs)))
        if cfg.cluster.autoscaler.enabled:
            autoscaler_args(cfg).validate(problems.at("cluster", key_paths(ClusterConfig, ClusterAutoscalerArgs)))
        cloud_inputs: dict[str, Any] = {"cluster_name": "-", "node_role_arn": "-", "subnet_ids": []}
    elif cfg.cloud == Cloud.GCP:
        gke_args(cfg).validate(problems.at("cluster", key_paths(ClusterConfig, GkeClusterArgs)))
        cloud_inputs = {"cluster_name": "-", "location": cfg.region}
    else:
        cloud_inputs = {}
    for name, pool in cfg.gpu_pools.items():
        names = key_paths(GpuPoolConfig, GpuNodePoolArgs)
        pool_args(cfg, pool, **cloud_inputs).validate(problems.at(f"gpu_pools.{name}", names))
    if device_plugin_wanted(cfg):
        names = key_paths(DevicePluginConfig, NvidiaDevicePluginArgs)
        device_plugin_args(cfg, cfg.device_plugin).validate(problems.at("device_plugin", names))


def existing_provider(cfg: StackConfig) -> k8s.Provider:
    """A provider for a cluster someone else runs (kind, k3d, minikube, or a shared cluster)."""
    path = cfg.cluster.kubeconfig_path
    # A path that does not exist was refused by validation: it never falls back to the default cluster.
    kubeconfig = Path(os.path.expanduser(path)).read_text() if path else None
    return k8s.Provider(
        "existing-cluster",
        kubeconfig=kubeconfig,
        context=cfg.cluster.kubeconfig_context,
        enable_server_side_apply=True,
    )


def deploy(cfg: StackConfig) -> ClusterLayer:
    name = cfg.cluster_name
    pool_inputs: dict[str, Any] = {}
    parent: pulumi.Resource | None = None
    if cfg.cloud == Cloud.AWS:
        eks = EksCluster(name, eks_args(cfg))
        layer = ClusterLayer(cloud=cfg.cloud, provider=eks.provider, cluster_name=eks.cluster_name, eks=eks)
        pool_inputs = dict(
            cluster_name=eks.cluster_name, node_role_arn=eks.node_role_arn, subnet_ids=eks.private_subnet_ids
        )
        parent = eks
        if cfg.cluster.autoscaler.enabled:
            layer.autoscaler = ClusterAutoscaler(
                "cluster-autoscaler",
                autoscaler_args(cfg, eks),
                opts=pulumi.ResourceOptions(parent=eks, provider=eks.provider),
            )
    elif cfg.cloud == Cloud.GCP:
        gke = GkeCluster(name, gke_args(cfg))
        layer = ClusterLayer(cloud=cfg.cloud, provider=gke.provider, cluster_name=gke.cluster_name, gke=gke)
        pool_inputs = dict(
            cluster_name=gke.cluster_name, location=gke.location, service_account=gke.node_service_account
        )
        parent = gke
    else:
        layer = ClusterLayer(cloud=cfg.cloud, provider=existing_provider(cfg), cluster_name=name)

    for pool_name, pool in cfg.gpu_pools.items():
        layer.gpu_pools[pool_name] = GpuNodePool(
            pool_name, pool_args(cfg, pool, **pool_inputs), opts=pulumi.ResourceOptions(parent=parent)
        )

    if device_plugin_wanted(cfg):
        layer.device_plugin = NvidiaDevicePlugin(
            "nvidia-device-plugin",
            device_plugin_args(cfg, cfg.device_plugin),
            opts=pulumi.ResourceOptions(provider=layer.provider, depends_on=list(layer.gpu_pools.values())),
        )
    return layer
