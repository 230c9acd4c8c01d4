"""Reusable Pulumi components of the ml-platform.

Installed on its own (``pip install git+<this repository>``) this package is importable as
``ml_platform_components``; inside the repository it is the ``components`` package. Import a component from its
module (``from ml_platform_components.gpu_node_pool import GpuNodePool, GpuNodePoolArgs``) or from here.
"""

from .common import ArgsError, Capacity, Cloud, GpuSharing
from .eks_cluster import EksCluster, EksClusterArgs
from .gke_cluster import GkeCluster, GkeClusterArgs, ReleaseChannel
from .gpu_node_pool import GpuNodePool, GpuNodePoolArgs, NodeImage
from .nvidia_device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs, SharingMode
from .model_endpoint import AuthMode, ModelEndpoint, ModelEndpointArgs, ModelVersion, RateLimitUnit, ScalingMetric
from .serving_platform import ServingPlatform, ServingPlatformArgs

__all__ = [
    "ArgsError",
    "Capacity",
    "Cloud",
    "GpuSharing",
    "EksCluster",
    "EksClusterArgs",
    "GkeCluster",
    "GkeClusterArgs",
    "ReleaseChannel",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "NodeImage",
    "NvidiaDevicePlugin",
    "NvidiaDevicePluginArgs",
    "SharingMode",
    "AuthMode",
    "ModelEndpoint",
    "ModelEndpointArgs",
    "ModelVersion",
    "RateLimitUnit",
    "ScalingMetric",
    "ServingPlatform",
    "ServingPlatformArgs",
]
