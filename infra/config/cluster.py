"""Stack config for the cluster, its GPU node pools and the NVIDIA device plugin.

Shape and types are checked here; rules that depend on the hardware (known instance types, MIG profiles per GPU)
are the components' own validation, which the program runs with these key paths as prefixes, so a stack file
and a direct user of a component get the same message. Keys that feed a component argument are None unless set:
the component's default applies (see :mod:`.base`).
"""

from __future__ import annotations

import enum
from typing import ClassVar

import pydantic

from components.cluster import (
    ClusterAutoscalerArgs,
    EksClusterArgs,
    GkeClusterArgs,
    GpuNodePoolArgs,
    NodeImage,
    NvidiaDevicePluginArgs,
    ReleaseChannel,
)
from components.common import Capacity, GpuSharing

from .base import Environment, EnvironmentDefaults, Feeds, Model


class SystemNodes(Model):
    """The node pool for platform services (controllers, gateway, monitoring)."""

    feeds: ClassVar[Feeds] = {
        EksClusterArgs: {k: f"system_nodes_{k}" for k in ("instance_type", "min_size", "max_size")},
        GkeClusterArgs: {k: f"system_nodes_{k}" for k in ("instance_type", "min_size", "max_size")},
    }

    instance_type: str | None = None
    """Instance type (AWS) or machine type (GCP)."""
    min_size: int | None = None
    """Fewest nodes (per zone on GCP)."""
    max_size: int | None = None
    """Most nodes (per zone on GCP)."""


class AutoscalerConfig(Model):
    """AWS: the Cluster Autoscaler that scales node groups, GPU pools from zero included (GKE has its own)."""

    feeds: ClassVar[Feeds] = {
        ClusterAutoscalerArgs: {k: k for k in ("chart_version", "image_tag", "scale_down_unneeded_minutes")}
    }

    enabled: bool = True
    """Install it on EKS. Default True."""
    chart_version: str | None = None
    """Pinned cluster-autoscaler chart version."""
    image_tag: str | None = None
    """Image tag; its minor version must match ``cluster.kubernetes_version``."""
    scale_down_unneeded_minutes: int | None = None
    """Minutes a node must be unneeded before it is removed."""


_EKS_KEYS = (
    "kubernetes_version",
    "vpc_cidr",
    "availability_zone_count",
    "single_nat_gateway",
    "endpoint_public_access",
    "public_access_cidrs",
    "admin_principal_arns",
)


class ClusterConfig(Model):
    """``ml-platform:cluster``: the Kubernetes cluster."""

    feeds: ClassVar[Feeds] = {
        EksClusterArgs: {k: k for k in _EKS_KEYS},
        ClusterAutoscalerArgs: {"kubernetes_version": "kubernetes_version"},
        GkeClusterArgs: {k: k for k in ("release_channel", "deletion_protection", "public_access_cidrs")},
    }
    environment_defaults: ClassVar[EnvironmentDefaults] = {Environment.PROD: {"deletion_protection": True}}

    name: str | None = pydantic.Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
    """Cluster name; lowercase letters, digits and dashes. Default ``mlp-<stack>``."""
    kubernetes_version: str | None = None
    """Kubernetes minor version (AWS; GKE follows its release channel)."""
    vpc_cidr: str | None = None
    """AWS: VPC CIDR."""
    availability_zone_count: int | None = None
    """AWS: zones to spread over, 2 or 3."""
    single_nat_gateway: bool | None = None
    """AWS: one NAT gateway for all zones (cheaper, not zone-redundant)."""
    endpoint_public_access: bool | None = None
    """AWS: public API endpoint."""
    public_access_cidrs: list[str] | None = None
    """CIDRs allowed to reach the API endpoint (AWS public endpoint, GKE authorized networks)."""
    admin_principal_arns: list[str] | None = None
    """AWS: IAM roles or users given cluster-admin through EKS access entries (the platform team's SSO role, the
    deploy role), beside the identity that creates the cluster."""
    release_channel: ReleaseChannel | None = None
    """GCP: GKE release channel."""
    deletion_protection: bool | None = None
    """GCP: refuse to delete the cluster."""
    system_nodes: SystemNodes = pydantic.Field(default_factory=SystemNodes)
    """The system node pool."""
    autoscaler: AutoscalerConfig = pydantic.Field(default_factory=AutoscalerConfig)
    """AWS: the Cluster Autoscaler."""
    kubeconfig_context: str | None = None
    """Existing clusters: kubeconfig context to use. Default the current context."""
    kubeconfig_path: str | None = None
    """Existing clusters: kubeconfig file. Default ``$KUBECONFIG`` or ``~/.kube/config``."""


class SharingConfig(Model):
    """How pods share a GPU: ``mode`` none, time-slicing (``replicas`` per GPU) or mig (``profile``; GKE only)."""

    feeds: ClassVar[Feeds] = {GpuNodePoolArgs: {k: f"sharing_{k}" for k in ("mode", "replicas", "profile")}}

    mode: GpuSharing | None = None
    """Sharing mode; ``mig`` is refused on EKS (no MIG manager partitions the GPUs)."""
    replicas: int | None = None
    """Pods per GPU with time-slicing."""
    profile: str | None = None
    """MIG profile with mig (e.g. ``1g.5gb``). Required for mig."""

    @pydantic.model_validator(mode="after")
    def _profile_for_mig(self) -> SharingConfig:
        if self.mode == GpuSharing.MIG and not self.profile:
            raise ValueError("profile: is required with mode mig, got None")
        if self.mode != GpuSharing.MIG and self.profile:
            raise ValueError(f"profile: is only used with mode mig, got {self.profile!r}")
        return self


_POOL_KEYS = (
    "instance_type",
    "min_size",
    "max_size",
    "capacity",
    "disk_size_gib",
    "model_cache_gib",
    "node_image",
    "accelerator",
    "accelerator_count",
    "labels",
    "delete_before_replace",
)


class GpuPoolConfig(Model):
    """``ml-platform:gpu_pools.<name>``: one GPU node pool."""

    feeds: ClassVar[Feeds] = {GpuNodePoolArgs: {k: k for k in _POOL_KEYS}}

    instance_type: str
    """EC2 instance type or GCE machine type with GPUs. Required."""
    min_size: int | None = None
    """Fewest nodes; 0 scales from zero."""
    max_size: int | None = None
    """Most nodes."""
    capacity: Capacity | None = None
    """``spot`` or ``on-demand``."""
    disk_size_gib: int | None = None
    """Root disk per node, GiB."""
    model_cache_gib: int | None = None
    """Extra disk per node for the node-level model cache of endpoints on this pool, GiB."""
    node_image: NodeImage | None = None
    """AWS: ``al2023-nvidia`` or ``bottlerocket-nvidia``."""
    accelerator: str | None = None
    """GCP N1 machines: accelerator to attach."""
    accelerator_count: int | None = None
    """GCP N1 machines: GPUs per node."""
    sharing: SharingConfig = pydantic.Field(default_factory=SharingConfig)
    """GPU sharing."""
    labels: dict[str, str] | None = None
    """Extra node labels."""
    delete_before_replace: bool | None = None
    """When a change replaces the pool, delete the old pool first instead of last (for a GPU quota too small to
    hold both; the pool's capacity is gone until the new one is up)."""


class DevicePluginInstall(str, enum.Enum):
    """Whether to install the NVIDIA device plugin."""

    AUTO = "auto"
    """Install where no other plugin runs: EKS pools on AL2023 NVIDIA; never on GKE or Bottlerocket."""
    ALWAYS = "always"
    """Install (e.g. an existing cluster whose GPU nodes have drivers but no plugin)."""
    NEVER = "never"
    """Do not install."""


class DevicePluginConfig(Model):
    """``ml-platform:device_plugin``: the NVIDIA device plugin."""

    feeds: ClassVar[Feeds] = {NvidiaDevicePluginArgs: {"chart_version": "chart_version"}}

    install: DevicePluginInstall = DevicePluginInstall.AUTO
    """When to install it. Default ``auto``."""
    chart_version: str | None = None
    """Pinned chart version."""
