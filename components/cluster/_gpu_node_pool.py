"""A GPU node pool with one argument shape for EKS and GKE.

Why one component for two clouds: the platform team thinks in "a pool of A10G nodes, 0 to 4, spot, shared
four ways", not in managed node groups versus node pools. Each cloud realises the same promise its own way:

* every node carries the taint ``nvidia.com/gpu=present:NoSchedule`` and the label
  ``nvidia.com/gpu.present=true`` (see :mod:`..common`), so only GPU workloads land there and they can find it;
* ``min_size`` may be 0: the pool scales from zero. On EKS the Cluster Autoscaler cannot see a node that does
  not exist yet, so the pool tags its Auto Scaling group with the node template (labels, taint, GPU count);
* GPU sharing is one setting. On EKS the node is labelled with the device plugin configuration that
  time-slices it; on GKE the node pool's ``guest_accelerator`` carries ``gpu_sharing_config`` or
  ``gpu_partition_size`` and GKE's own device plugin applies it. MIG is refused on EKS: partitioning needs
  NVIDIA's MIG manager, which the platform does not install (see ``EKS_MIG_REFUSED``);
* a change that the cloud cannot make in place (disk size, instance type, image, capacity type) replaces the pool
  without a gap: the cloud names the pool from the prefix ``<pool>-``, so the new pool can be created beside the
  old one, and only then is the old one drained and deleted. A fixed name would clash with the old pool's (names
  are unique in a cluster), leaving Pulumi the choice of failing or deleting the old pool first. Nothing keys off
  the generated name: selectors, rules and costs read the ``ml-platform.io/pool`` label, the Cluster Autoscaler
  finds the groups by tag. ``delete_before_replace`` is the explicit opt-out for a GPU quota too small for both.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

import pulumi

from ..common import (
    ACCELERATOR_LABEL,
    DEVICE_PLUGIN_CONFIG_LABEL,
    GPU_NODE_LABEL,
    GPU_RESOURCE,
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    POOL_LABEL,
    Capacity,
    Cloud,
    GpuSharing,
    PlatformComponent,
    Problems,
    SelfValidating,
    aws,
    device_plugin_config_name,
    gcp,
    merge_labels,
)
from . import _gpu_catalog as gpu_catalog


class NodeImage(str, enum.Enum):
    """The EKS node image family of a GPU pool (GKE always uses Container-Optimized OS with GKE's drivers)."""

    AL2023_NVIDIA = "al2023-nvidia"
    """Amazon Linux 2023 with NVIDIA drivers; the platform installs the NVIDIA device plugin for it."""
    BOTTLEROCKET_NVIDIA = "bottlerocket-nvidia"
    """Bottlerocket with NVIDIA drivers and its own device plugin; the platform must not install another."""


EKS_MIG_REFUSED = (
    "MIG on EKS needs NVIDIA's MIG manager to partition the GPUs, which the platform does not install; "
    "use time-slicing, or a GKE pool (GKE partitions MIG GPUs itself)"
)
"""Why ``sharing.mode: mig`` is refused on EKS: a MIG profile that nothing applies would leave the GPU whole while
the device plugin's ``mig-single`` configuration finds no MIG devices, so pods asking for a GPU would never start."""

EKS_AMI_TYPES = {
    NodeImage.AL2023_NVIDIA: "AL2023_x86_64_NVIDIA",
    NodeImage.BOTTLEROCKET_NVIDIA: "BOTTLEROCKET_x86_64_NVIDIA",
}


EKS_NAME_PREFIX_MAX = 37
"""Longest node group name prefix the AWS provider accepts: it appends a 26-character unique suffix, and EKS takes
node group names of at most 63 characters."""
GKE_NAME_PREFIX_MAX = 31
"""Longest node pool name prefix the GKE provider accepts (it appends a timestamp and counter, or 9 random
characters, within GKE's 40-character limit)."""
# The pool name is also the value of the pool label on every node, so it ends with a letter or digit as well.
_EKS_POOL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$")
_GKE_POOL_NAME = re.compile(r"^[a-z]([a-z0-9-]*[a-z0-9])?$")


def name_prefix(pool: str) -> str:
    """The prefix the cloud's generated node group / node pool name starts with: ``<pool>-``."""
    return f"{pool}-"


def check_pool_name(cloud: Cloud, pool: str, problems: Problems) -> None:
    """Report ``pool`` when it cannot start a generated node group (EKS) or node pool (GKE) name.

    ``problems`` is at the level of the pool itself (``gpu_pools.<pool>``)."""
    if cloud == Cloud.AWS:
        longest, pattern = EKS_NAME_PREFIX_MAX - 1, _EKS_POOL_NAME
        rule = "letters, digits, dashes and underscores, starting and ending with a letter or digit"
    elif cloud == Cloud.GCP:
        longest, pattern = GKE_NAME_PREFIX_MAX - 1, _GKE_POOL_NAME
        rule = "lowercase letters, digits and dashes, starting with a letter and ending with a letter or digit"
    else:
        return
    problems.check(
        bool(pattern.match(pool)) and len(pool) <= longest,
        "",
        f"a GPU pool name on {cloud.value} must be {rule}, at most {longest} characters "
        f"(the cloud generates the pool's name from '<pool>-')",
        pool,
    )


AWS_GPU_LABEL = "k8s.amazonaws.com/accelerator"
"""Node label the Cluster Autoscaler's AWS provider reads to know a node carries GPUs (its ``GPULabel``)."""


@dataclass(kw_only=True)
class GpuNodePoolArgs:
    """Arguments of :class:`GpuNodePool`. Fields marked AWS or GCP are read only on that cloud."""

    cloud: Cloud
    """Which cloud the pool is created in (``aws`` or ``gcp``). Required."""
    cluster_name: pulumi.Input[str]
    """Name of the cluster the pool joins. Required."""
    instance_type: str
    """EC2 instance type or GCE machine type; must be a GPU type the platform knows. Required."""
    min_size: int = 0
    """Fewest nodes; 0 lets the pool scale from zero. Default 0."""
    max_size: int = 1
    """Most nodes; must be >= ``min_size`` and >= 1. Default 1."""
    capacity: Capacity = Capacity.ON_DEMAND
    """Spot or on-demand capacity. Default on-demand."""
    disk_size_gib: int = 100
    """Root disk per node in GiB; model images are large. Default 100, at least 50."""
    model_cache_gib: int = 0
    """Disk per node kept for the node-level model cache (the serving layer's prefetcher keeps cached models in a
    host folder), in GiB, added to ``disk_size_gib``. Default 0 (no cache)."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra node labels; the GPU, pool and accelerator labels are always added. Default none."""
    sharing_mode: GpuSharing = GpuSharing.NONE
    """How pods share a GPU. Default ``none`` (one pod per GPU)."""
    sharing_replicas: int = 4
    """Pods per GPU with ``sharing_mode=time-slicing``, 2 to 48. Default 4."""
    sharing_profile: str | None = None
    """MIG partition profile with ``sharing_mode=mig`` (``1g.5gb``...); must suit the GPU model. Default none."""
    node_role_arn: pulumi.Input[str] | None = None
    """AWS: IAM role of the nodes. Required on AWS."""
    subnet_ids: pulumi.Input[list[str]] | None = None
    """AWS: private subnets of the nodes. Required on AWS."""
    node_image: NodeImage = NodeImage.AL2023_NVIDIA
    """AWS: node image family. Default ``al2023-nvidia``."""
    location: pulumi.Input[str] | None = None
    """GCP: region or zone of the cluster. Required on GCP."""
    accelerator: str | None = None
    """GCP N1 machines only: the accelerator to attach (``nvidia-tesla-t4``). Default none."""
    accelerator_count: int | None = None
    """GCP N1 machines only: GPUs per node. Default the machine type's count (1)."""
    gpu_driver_version: str = "LATEST"
    """GCP: driver GKE installs (``DEFAULT``, ``LATEST``). Default ``LATEST``."""
    service_account: pulumi.Input[str] | None = None
    """GCP: node service account email. Default the cluster's default."""
    tags: dict[str, str] = field(default_factory=dict)
    """Cloud tags (AWS) or resource labels (GCP) on the pool. Default none."""
    delete_before_replace: bool = False
    """When a change replaces the pool (disk size, instance type, node image, capacity), delete the old pool before
    creating the new one instead of after. Only for a GPU quota too small to hold both pools at once: the pool's
    nodes, and every pod on them, are gone until the new pool's nodes are up. Default False (the new pool is created
    first; the old one is drained and deleted once it exists)."""

    def validate(self, problems: Problems) -> None:
        """Append every problem with these arguments to ``problems``."""
        p = problems
        if self.cloud not in (Cloud.AWS, Cloud.GCP):
            p.add("cloud", "must be aws or gcp for a GPU node pool", self.cloud)
            return
        machine = gpu_catalog.lookup(self.cloud.value, self.instance_type)
        if machine is None:
            p.add(
                "instance_type",
                f"unknown GPU {'instance' if self.cloud == Cloud.AWS else 'machine'} type "
                f"(known: {', '.join(gpu_catalog.known_types(self.cloud.value))})",
                self.instance_type,
            )
        p.check(self.min_size >= 0, "min_size", "must be >= 0", self.min_size)
        p.check(self.max_size >= 1, "max_size", "must be >= 1", self.max_size)
        p.check(self.max_size >= self.min_size, "max_size", f"must be >= min_size ({self.min_size})", self.max_size)
        p.check(self.disk_size_gib >= 50, "disk_size_gib", "must be >= 50 (GPU images are large)", self.disk_size_gib)
        p.check(self.model_cache_gib >= 0, "model_cache_gib", "must be >= 0", self.model_cache_gib)
        gpu = self.gpu_model(machine)
        if self.sharing_mode == GpuSharing.TIME_SLICING:
            p.check(
                2 <= self.sharing_replicas <= 48,
                "sharing_replicas",
                "must be between 2 and 48",
                self.sharing_replicas,
            )
        if self.sharing_mode == GpuSharing.MIG and self.cloud == Cloud.GCP:
            if gpu is not None and not gpu.mig_profiles:
                p.add("sharing_mode", f"MIG needs an A100 or H100; {self.instance_type} has {gpu.name}", "mig")
            elif gpu is not None and self.sharing_profile not in gpu.mig_profiles:
                p.add(
                    "sharing_profile",
                    f"must be one of {', '.join(gpu.mig_profiles)} for {gpu.name}",
                    self.sharing_profile,
                )
        if self.cloud == Cloud.AWS:
            if self.sharing_mode == GpuSharing.MIG:
                p.add("sharing_mode", EKS_MIG_REFUSED, self.sharing_mode)
            elif self.node_image == NodeImage.BOTTLEROCKET_NVIDIA and self.sharing_mode != GpuSharing.NONE:
                p.add("sharing_mode", "is only supported with node_image al2023-nvidia on EKS", self.sharing_mode)
        else:
            if machine is not None and machine.gpu is None:
                p.check(
                    self.accelerator in gpu_catalog.GCP_N1_ACCELERATORS,
                    "accelerator",
                    f"N1 machines need one of {', '.join(gpu_catalog.GCP_N1_ACCELERATORS)}",
                    self.accelerator,
                )
            elif self.accelerator is not None:
                p.add(
                    "accelerator",
                    f"{self.instance_type} has its GPU built in; leave accelerator unset",
                    self.accelerator,
                )
            p.check(
                self.gpu_driver_version in ("DEFAULT", "LATEST"),
                "gpu_driver_version",
                "must be DEFAULT or LATEST",
                self.gpu_driver_version,
            )

    def gpu_model(self, machine: gpu_catalog.MachineType | None = None) -> gpu_catalog.GpuModel | None:
        machine = machine or gpu_catalog.lookup(self.cloud.value, self.instance_type)
        if machine is None:
            return None
        if machine.gpu is not None:
            return machine.gpu
        return gpu_catalog.GPU_MODELS.get(self.accelerator or "")

    def gpus_per_node(self) -> int:
        machine = gpu_catalog.lookup(self.cloud.value, self.instance_type)
        if machine is None:
            return 0
        return self.accelerator_count or machine.gpus


class GpuNodePool(PlatformComponent):
    """A pool of GPU nodes, tainted for GPU workloads only, scaling from ``min_size`` (0 allowed) to ``max_size``."""

    name: pulumi.Output[str]
    """The node group / node pool name as the cloud knows it: generated from the prefix ``<pool>-``, new with each
    replacement."""
    node_labels: dict[str, str]
    """Labels every node of the pool carries (known at preview)."""
    node_taints: list[dict[str, str]]
    """Taints every node of the pool carries, Kubernetes form (known at preview)."""
    gpus_per_node: int
    """GPUs one node exposes before sharing."""
    schedulable_gpus_per_node: int
    """``nvidia.com/gpu`` units one node advertises after sharing (time-slicing multiplies them)."""

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:gpu_node_pool:GpuNodePool", name, args, opts)

        gpu = args.gpu_model()
        self.gpus_per_node = args.gpus_per_node()
        self.schedulable_gpus_per_node = self.gpus_per_node * (
            args.sharing_replicas if args.sharing_mode == GpuSharing.TIME_SLICING else 1
        )
        self.node_labels = merge_labels(
            args.labels,
            {
                GPU_NODE_LABEL: "true",
                POOL_LABEL: name,
                ACCELERATOR_LABEL: gpu.name if gpu else "unknown",
                DEVICE_PLUGIN_CONFIG_LABEL: device_plugin_config_name(args.sharing_mode, args.sharing_replicas),
            },
        )
        if args.cloud == Cloud.AWS:
            # The Cluster Autoscaler's AWS provider knows a GPU node by this label: without it a node whose driver is
            # still loading counts as ready without GPUs and scale-up from zero stalls.
            self.node_labels[AWS_GPU_LABEL] = gpu.name if gpu else "unknown"
        self.node_taints = [{"key": GPU_TAINT_KEY, "value": GPU_TAINT_VALUE, "effect": GPU_TAINT_EFFECT}]

        child = pulumi.ResourceOptions(parent=self)
        if args.cloud == Cloud.AWS:
            self.name = self._eks(name, args, child)
        else:
            self.name = self._gke(name, args, child)

        self.register_outputs({"name": self.name, "node_labels": self.node_labels, "node_taints": self.node_taints})

    @staticmethod
    def _replacement(args: GpuNodePoolArgs, ignore_changes: list[str]) -> pulumi.ResourceOptions:
        """Options of the node group / node pool: the field the autoscaler owns, and the order of a replacement
        (create the new pool first unless the user chose otherwise; explicit, so it also overrides a provider that
        would recommend deleting first)."""
        return pulumi.ResourceOptions(ignore_changes=ignore_changes, delete_before_replace=args.delete_before_replace)

    def _validate_name(self, name: str, args: SelfValidating, problems: Problems) -> None:
        """The pool's name starts the cloud's name for it and is its pool label: see :func:`check_pool_name`."""
        if isinstance(args, GpuNodePoolArgs):
            check_pool_name(args.cloud, name, problems)

    def _eks(self, name: str, args: GpuNodePoolArgs, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        group = aws.eks.NodeGroup(
            f"{name}-nodegroup",
            cluster_name=args.cluster_name,
            node_group_name_prefix=name_prefix(name),
            node_role_arn=args.node_role_arn,
            subnet_ids=args.subnet_ids,
            instance_types=[args.instance_type],
            ami_type=EKS_AMI_TYPES[args.node_image],
            capacity_type="SPOT" if args.capacity == Capacity.SPOT else "ON_DEMAND",
            disk_size=args.disk_size_gib + args.model_cache_gib,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.min_size, max_size=args.max_size, desired_size=args.min_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=self.node_labels,
            taints=[
                aws.eks.NodeGroupTaintArgs(key=t["key"], value=t["value"], effect="NO_SCHEDULE")
                for t in self.node_taints
            ],
            tags=merge_labels(args.tags, {"k8s.io/cluster-autoscaler/enabled": "true"}),
            # The autoscaler owns the node count once the pool exists.
            opts=pulumi.ResourceOptions.merge(child, self._replacement(args, ["scalingConfig.desiredSize"])),
        )
        # Scale from zero: with no node to inspect, the Cluster Autoscaler reads the node template from ASG tags.
        prefix = "k8s.io/cluster-autoscaler/node-template"
        template = [("label", k, v) for k, v in sorted(self.node_labels.items())]
        template.append(("taint", GPU_TAINT_KEY, f"{GPU_TAINT_VALUE}:{GPU_TAINT_EFFECT}"))
        template.append(("resources", GPU_RESOURCE, str(self.schedulable_gpus_per_node)))
        asg_name = group.resources.apply(lambda r: r[0].autoscaling_groups[0].name)
        for kind, key, value in template:
            aws.autoscaling.Tag(
                f"{name}-asg-{kind}-{key.replace('/', '-').replace('.', '-')}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=f"{prefix}/{kind}/{key}", value=value, propagate_at_launch=False),
                opts=child,
            )
        return group.node_group_name

    def _gke(self, name: str, args: GpuNodePoolArgs, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        machine = gpu_catalog.lookup("gcp", args.instance_type)
        assert machine is not None  # validated
        sharing_config = None
        partition = None
        if args.sharing_mode == GpuSharing.TIME_SLICING:
            sharing_config = gcp.container.NodePoolNodeConfigGuestAcceleratorGpuSharingConfigArgs(
                gpu_sharing_strategy="TIME_SHARING", max_shared_clients_per_gpu=args.sharing_replicas
            )
        elif args.sharing_mode == GpuSharing.MIG:
            partition = args.sharing_profile
        accelerator = gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
            type=(machine.gpu.name if machine.gpu else args.accelerator),
            count=self.gpus_per_node,
            gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                gpu_driver_version=args.gpu_driver_version
            ),
            gpu_sharing_config=sharing_config,
            gpu_partition_size=partition,
        )
        pool = gcp.container.NodePool(
            f"{name}-nodepool",
            name_prefix=name_prefix(name),
            cluster=args.cluster_name,
            location=args.location,
            initial_node_count=args.min_size,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=args.min_size, total_max_node_count=args.max_size, location_policy="ANY"
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=args.instance_type,
                spot=args.capacity == Capacity.SPOT,
                disk_size_gb=args.disk_size_gib + args.model_cache_gib,
                disk_type="pd-balanced",
                labels=self.node_labels,
                resource_labels=args.tags or None,
                taints=[
                    gcp.container.NodePoolNodeConfigTaintArgs(key=t["key"], value=t["value"], effect="NO_SCHEDULE")
                    for t in self.node_taints
                ],
                guest_accelerators=[accelerator],
                service_account=args.service_account,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
            ),
            opts=pulumi.ResourceOptions.merge(child, self._replacement(args, ["initialNodeCount"])),
        )
        return pool.name
