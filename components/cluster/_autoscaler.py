"""The Kubernetes Cluster Autoscaler for EKS managed node groups, with its own least-privilege IAM role.

Why it is part of the platform: a GPU pool with ``min_size: 0`` has no node until something asks the cloud for
one. The autoscaler sees a pending pod that requests ``nvidia.com/gpu``, finds the pool whose node template (the
ASG tags :class:`GpuNodePool` writes) fits it, and raises that pool's desired size; when GPU nodes sit idle it
removes them. It discovers pools by the tags EKS puts on every managed node group's Auto Scaling group, and may
change the size only of groups tagged for its own cluster. Its minor version must match the cluster's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from ..common import (
    POOL_LABEL,
    ContainerSecurity,
    PlatformComponent,
    PodSecurity,
    Problems,
    aws,
    chart_release,
    irsa_trust_policy,
)

CHART = "cluster-autoscaler"
CHART_REPOSITORY = "https://kubernetes.github.io/autoscaler"
CHART_VERSION = "9.59.0"
IMAGE_TAG = "v1.35.2"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"


@dataclass(kw_only=True)
class ClusterAutoscalerArgs:
    """Arguments of :class:`ClusterAutoscaler`."""

    cluster_name: pulumi.Input[str]
    """EKS cluster whose node groups it scales. Required."""
    region: pulumi.Input[str]
    """AWS region of the cluster. Required."""
    oidc_provider_arn: pulumi.Input[str]
    """The cluster's IAM OIDC provider (for IRSA). Required."""
    oidc_issuer: pulumi.Input[str]
    """The cluster's OIDC issuer without ``https://``. Required."""
    kubernetes_version: str = "1.35"
    """Minor version of the cluster; the image's minor version must match it. Default ``1.35``."""
    chart_version: str = CHART_VERSION
    """Pinned chart version. Default ``9.59.0``."""
    image_tag: str = IMAGE_TAG
    """Pinned image tag, same minor as the cluster. Default ``v1.35.2``."""
    scale_down_unneeded_minutes: int = 10
    """How long a node must be unneeded before removal, 1 to 120. Default 10."""
    expander: str = "least-waste"
    """How to choose among pools that fit (``least-waste``, ``priority``, ``random``, ``most-pods``).
    Default least-waste."""

    def validate(self, problems: Problems) -> None:
        p = problems
        minor = self.image_tag.lstrip("v").rsplit(".", 1)[0]
        p.check(
            minor == self.kubernetes_version,
            "image_tag",
            f"must have the cluster's minor version {self.kubernetes_version}",
            self.image_tag,
        )
        p.check(
            1 <= self.scale_down_unneeded_minutes <= 120,
            "scale_down_unneeded_minutes",
            "must be between 1 and 120",
            self.scale_down_unneeded_minutes,
        )
        p.check(
            self.expander in ("least-waste", "priority", "random", "most-pods"),
            "expander",
            "must be least-waste, priority, random or most-pods",
            self.expander,
        )


def iam_policy(cluster_name: str) -> str:
    """Read everything it needs to plan; change sizes only of this cluster's groups."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Discover",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                        "eks:DescribeNodegroup",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "ScaleOwnGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
                    },
                },
            ],
        }
    )


def chart_values(args: ClusterAutoscalerArgs, cluster_name: str, region: str, role_arn: str) -> dict[str, Any]:
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"tag": args.image_tag},
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": SERVICE_ACCOUNT,
                "annotations": {"eks.amazonaws.com/role-arn": role_arn},
            }
        },
        "extraArgs": {
            "balance-similar-node-groups": True,
            "skip-nodes-with-system-pods": False,
            "expander": args.expander,
            "scale-down-unneeded-time": f"{args.scale_down_unneeded_minutes}m",
        },
        "nodeSelector": {POOL_LABEL: "system"},
        "priorityClassName": "system-cluster-critical",
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "500m", "memory": "600Mi"}},
        "podDisruptionBudget": {"maxUnavailable": 1},
        "containerSecurityContext": ContainerSecurity().render(),
        "securityContext": PodSecurity(run_as_user=65534, run_as_group=65534).render(),
    }


class ClusterAutoscaler(PlatformComponent):
    """IAM role (IRSA) and the pinned cluster-autoscaler chart, auto-discovering the cluster's node groups."""

    role_arn: pulumi.Output[str]
    """IAM role the autoscaler's service account assumes."""
    release_name: pulumi.Output[str]
    """Name of the Helm release."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:cluster_autoscaler:ClusterAutoscaler", name, args, opts)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda a: irsa_trust_policy(a[0], a[1], NAMESPACE, SERVICE_ACCOUNT)
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.from_input(args.cluster_name).apply(iam_policy),
            opts=child,
        )
        release = chart_release(
            name,
            release_name=name,
            chart=CHART,
            version=args.chart_version,
            repo=CHART_REPOSITORY,
            namespace=NAMESPACE,
            values=pulumi.Output.all(args.cluster_name, args.region, role.arn).apply(
                lambda a: chart_values(args, a[0], a[1], a[2])
            ),
            opts=child,
        )
        self.role_arn = role.arn
        self.release_name = release.name
        self.register_outputs({"role_arn": self.role_arn, "release_name": self.release_name})
