"""Stack config for the cluster, its GPU node pools and the NVIDIA device plugin.

Shape and types are checked here; rules that depend on the hardware (known instance types, MIG profiles per GPU)
are the components' own validation, which the program runs with these key paths as prefixes, so a stack file
and a direct user of a component get the same message.
"""

from __future__ import annotations

import enum

import pydantic

from components.cluster import NodeImage, ReleaseChannel
from components.common import Capacity, GpuSharing

from .base import Model


class SystemNodes(Model):
    """The node pool for platform services (controllers, gateway, monitoring)."""

    instance_type: str | None = None
    """Instance or machine type. Default ``m6i.large`` on AWS, ``e2-standard-4`` on GCP."""
    min_size: int = 2
    """Fewest nodes (per zone on GCP). Default 2."""
    max_size: int = 4
    """Most nodes (per zone on GCP). Default 4."""


class AutoscalerConfig(Model):
    """AWS: the Cluster Autoscaler that scales node groups, GPU pools from zero included (GKE has its own)."""

    enabled: bool = True
    """Install it on EKS. Default True."""
    chart_version: str = "9.59.0"
    """Pinned cluster-autoscaler chart version. Default ``9.59.0``."""
    image_tag: str = "v1.35.2"
    """Image tag; its minor version must match ``cluster.kubernetes_version``. Default ``v1.35.2``."""
    scale_down_unneeded_minutes: int = 10
    """Minutes a node must be unneeded before it is removed. Default 10."""


class ClusterConfig(Model):
    """``ml-platform:cluster``: the Kubernetes cluster."""

    name: str | None = pydantic.Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
    """Cluster name; lowercase letters, digits and dashes. Default ``mlp-<stack>``."""
    kubernetes_version: str = "1.35"
    """Kubernetes minor version (AWS; GKE follows its release channel). Default ``1.35``."""
    vpc_cidr: str = "10.0.0.0/16"
    """AWS: VPC CIDR. Default ``10.0.0.0/16``."""
    availability_zone_count: int = 3
    """AWS: zones to spread over, 2 or 3. Default 3."""
    single_nat_gateway: bool = False
    """AWS: one NAT gateway for all zones (cheaper, not zone-redundant). Default False."""
    endpoint_public_access: bool = True
    """AWS: public API endpoint. Default True."""
    public_access_cidrs: list[str] = pydantic.Field(default_factory=lambda: ["0.0.0.0/0"])
    """CIDRs allowed to reach the API endpoint (AWS public endpoint, GKE authorized networks). Default everywhere."""
    admin_principal_arns: list[str] = pydantic.Field(default_factory=list)
    """AWS: IAM roles or users given cluster-admin through EKS access entries (the platform team's SSO role, the
    deploy role), beside the identity that creates the cluster. Default none."""
    release_channel: ReleaseChannel = ReleaseChannel.REGULAR
    """GCP: GKE release channel. Default ``REGULAR``."""
    deletion_protection: bool | None = None
    """GCP: refuse to delete the cluster. Default True in prod, False elsewhere."""
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

    mode: GpuSharing = GpuSharing.NONE
    """Sharing mode; ``mig`` is refused on EKS (no MIG manager partitions the GPUs). Default ``none``."""
    replicas: int = 4
    """Pods per GPU with time-slicing. Default 4."""
    profile: str | None = None
    """MIG profile with mig (e.g. ``1g.5gb``). Required for mig."""

    @pydantic.model_validator(mode="after")
    def _profile_for_mig(self) -> SharingConfig:
        if self.mode == GpuSharing.MIG and not self.profile:
            raise ValueError("profile: is required with mode mig, got None")
        if self.mode != GpuSharing.MIG and self.profile:
            raise ValueError(f"profile: is only used with mode mig, got {self.profile!r}")
        return self


class GpuPoolConfig(Model):
    """``ml-platform:gpu_pools.<name>``: one GPU node pool."""

    instance_type: str
    """EC2 instance type or GCE machine type with GPUs. Required."""
    min_size: int = 0
    """Fewest nodes; 0 scales from zero. Default 0."""
    max_size: int = 1
    """Most nodes. Default 1."""
    capacity: Capacity = Capacity.ON_DEMAND
    """``spot`` or ``on-demand``. Default on-demand."""
    disk_size_gib: int = 100
    """Root disk per node, GiB. Default 100."""
    model_cache_gib: int | None = None
    """Extra disk per node for the node-level model cache of endpoints on this pool, GiB. Default 0 (no cache)."""
    node_image: NodeImage = NodeImage.AL2023_NVIDIA
    """AWS: ``al2023-nvidia`` or ``bottlerocket-nvidia``. Default al2023-nvidia."""
    accelerator: str | None = None
    """GCP N1 machines: accelerator to attach. Default none."""
    accelerator_count: int | None = None
    """GCP N1 machines: GPUs per node. Default 1."""
    sharing: SharingConfig = pydantic.Field(default_factory=SharingConfig)
    """GPU sharing. Default none."""
    labels: dict[str, str] = pydantic.Field(default_factory=dict)
    """Extra node labels. Default none."""


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

    install: DevicePluginInstall = DevicePluginInstall.AUTO
    """When to install it. Default ``auto``."""
    chart_version: str = "0.20.0"
    """Pinned chart version. Default ``0.20.0``."""
