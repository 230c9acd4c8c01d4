"""What an EKS cluster needs beyond its control plane and nodes to be usable and stay as declared: who may
administer it, pinned add-on versions, and a default StorageClass.

Why each: only the cluster's creator gets access by default, so a team loses the cluster when that identity goes;
unpinned add-ons follow EKS's default for the version and move under the team; EKS 1.30 and later mark no
StorageClass as default, so every claim without a class (Prometheus, CloudNativePG) stays Pending.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ..common import aws

ADDON_VERSIONS = {
    "vpc-cni": "v1.20.4-eksbuild.1",
    "kube-proxy": "v1.35.0-eksbuild.2",
    "coredns": "v1.12.4-eksbuild.1",
    "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
    "aws-ebs-csi-driver": "v1.51.1-eksbuild.1",
}
"""Add-on versions for Kubernetes 1.35, pinned so that a re-run never upgrades an add-on behind the team's back
(``aws eks describe-addon-versions --kubernetes-version 1.35 --addon-name <name>`` lists the others)."""

DEFAULT_STORAGE_CLASS = "gp3"
"""Default StorageClass the cluster gets: EKS 1.30 and later mark none as default, so a claim without a class
(Prometheus, CloudNativePG) would stay Pending."""


def admin_access(name: str, principals: list[str], cluster: aws.eks.Cluster, parent: pulumi.Resource) -> None:
    """Cluster-admin access entries for the configured principals (beside the cluster's creator)."""
    for i, principal in enumerate(principals):
        entry = aws.eks.AccessEntry(
            f"{name}-admin-{i}",
            cluster_name=cluster.name,
            principal_arn=principal,
            type="STANDARD",
            opts=pulumi.ResourceOptions(parent=parent),
        )
        aws.eks.AccessPolicyAssociation(
            f"{name}-admin-{i}",
            cluster_name=cluster.name,
            principal_arn=principal,
            policy_arn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[entry]),
        )


def default_storage_class(
    name: str, ebs_driver: aws.eks.Addon, provider: k8s.Provider, parent: pulumi.Resource
) -> k8s.storage.v1.StorageClass:
    """An encrypted gp3 class on the EBS CSI driver, marked default."""
    return k8s.storage.v1.StorageClass(
        f"{name}-{DEFAULT_STORAGE_CLASS}",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=DEFAULT_STORAGE_CLASS,
            annotations={"storageclass.kubernetes.io/is-default-class": "true"},
        ),
        provisioner="ebs.csi.aws.com",
        parameters={"type": "gp3", "encrypted": "true"},
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        reclaim_policy="Delete",
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[ebs_driver]),
    )
