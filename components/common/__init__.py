"""Shared vocabulary of every component: argument errors, the closed enums, labels and the GPU taint,
the pinned Helm release helper, the locked-down security contexts. Small on purpose: whatever only one domain
needs lives in that domain.

This module is the domain's public surface; the underscored modules beside it are internals.
"""

from ._base import (
    ACCELERATOR_LABEL,
    CRITICAL_LABEL,
    DEVICE_PLUGIN_CONFIG_LABEL,
    ENDPOINT_LABEL,
    GPU_NODE_LABEL,
    GPU_RESOURCE,
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    MANAGED_BY_LABELS,
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    POOL_LABEL,
    ArgsError,
    Capacity,
    Cloud,
    GpuSharing,
    Problems,
    chart_release,
    device_plugin_config,
    device_plugin_config_name,
    gpu_node_affinity,
    gpu_node_selector,
    gpu_toleration,
    irsa_trust_policy,
    merge_labels,
)
from ._component import PlatformComponent, SelfValidating
from ._providers import aws, gcp
from ._security import ContainerSecurity, PodSecurity, ScratchDir

__all__ = [
    "ACCELERATOR_LABEL",
    "CRITICAL_LABEL",
    "DEVICE_PLUGIN_CONFIG_LABEL",
    "ENDPOINT_LABEL",
    "GPU_NODE_LABEL",
    "GPU_RESOURCE",
    "GPU_TAINT_EFFECT",
    "GPU_TAINT_KEY",
    "GPU_TAINT_VALUE",
    "MANAGED_BY_LABELS",
    "MODEL_LABEL",
    "MODEL_VERSION_LABEL",
    "POOL_LABEL",
    "ArgsError",
    "Capacity",
    "Cloud",
    "ContainerSecurity",
    "GpuSharing",
    "PlatformComponent",
    "PodSecurity",
    "Problems",
    "ScratchDir",
    "SelfValidating",
    "aws",
    "chart_release",
    "device_plugin_config",
    "device_plugin_config_name",
    "gcp",
    "gpu_node_affinity",
    "gpu_node_selector",
    "gpu_toleration",
    "irsa_trust_policy",
    "merge_labels",
]
