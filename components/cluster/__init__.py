"""Clusters and GPU capacity: EKS and GKE clusters, GPU node pools that scale from zero, the NVIDIA device
plugin and the Cluster Autoscaler. Everything a GPU pod needs before it can be scheduled.

This module is the domain's public surface; the underscored modules beside it are internals.
"""

from ._autoscaler import (
    ClusterAutoscaler,
    ClusterAutoscalerArgs,
    iam_policy,
)
from ._device_plugin import (
    NvidiaDevicePlugin,
    NvidiaDevicePluginArgs,
    SharingMode,
)
from ._eks import (
    EksCluster,
    EksClusterArgs,
    subnet_cidrs,
)
from ._gke import (
    GkeCluster,
    GkeClusterArgs,
    ReleaseChannel,
)
from ._gpu_catalog import (
    MachineType,
)
from ._gpu_catalog import (
    lookup as lookup_machine,
)
from ._gpu_node_pool import (
    GpuNodePool,
    GpuNodePoolArgs,
    NodeImage,
    check_pool_name,
)

__all__ = [
    "ClusterAutoscaler",
    "ClusterAutoscalerArgs",
    "EksCluster",
    "EksClusterArgs",
    "GkeCluster",
    "GkeClusterArgs",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "MachineType",
    "NodeImage",
    "NvidiaDevicePlugin",
    "NvidiaDevicePluginArgs",
    "ReleaseChannel",
    "SharingMode",
    "check_pool_name",
    "iam_policy",
    "lookup_machine",
    "subnet_cidrs",
]
