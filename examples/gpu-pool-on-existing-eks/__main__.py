"""Another team's Pulumi program: add a time-sliced GPU pool and the device plugin to an EKS cluster it already has.

Install the components with ``pip install "ml-platform-components @ git+https://<your-git-host>/<org>/ml-platform"``
and run it like any Pulumi program. The README shows this file; a test runs it under mocks.
"""

import pulumi
import pulumi_kubernetes as k8s
from ml_platform_components import (
    Capacity,
    Cloud,
    GpuNodePool,
    GpuNodePoolArgs,
    GpuSharing,
    NvidiaDevicePlugin,
    NvidiaDevicePluginArgs,
    SharingMode,
)

config = pulumi.Config()
cluster_name = config.get("clusterName") or "team-cluster"

pool = GpuNodePool(
    "inference",
    GpuNodePoolArgs(
        cloud=Cloud.AWS,
        cluster_name=cluster_name,
        instance_type="g5.xlarge",
        min_size=0,
        max_size=3,
        capacity=Capacity.SPOT,
        sharing_mode=GpuSharing.TIME_SLICING,
        sharing_replicas=4,
        node_role_arn=config.get("nodeRoleArn") or "arn:aws:iam::123456789012:role/team-nodes",
        subnet_ids=config.get_object("subnetIds") or ["subnet-0a", "subnet-0b"],
    ),
)

provider = k8s.Provider("team-cluster", kubeconfig=config.get_secret("kubeconfig"))
NvidiaDevicePlugin(
    "nvidia-device-plugin",
    NvidiaDevicePluginArgs(sharing_modes=[SharingMode(GpuSharing.TIME_SLICING, 4)]),
    opts=pulumi.ResourceOptions(provider=provider),
)

pulumi.export("gpu_pool", pool.name)
pulumi.export("gpu_units_per_node", pool.schedulable_gpus_per_node)
