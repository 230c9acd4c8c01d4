"""EksCluster: private nodes across zones, IRSA, encrypted secrets, and the defaults it documents."""

from __future__ import annotations

import json

from components.cluster import EksCluster, EksClusterArgs, subnet_cidrs
from components.common import Problems
from tests.conftest import by_type, one


def test_defaults() -> None:
    a = EksClusterArgs()
    assert (a.kubernetes_version, a.vpc_cidr, a.availability_zone_count, a.single_nat_gateway) == (
        "1.35",
        "10.0.0.0/16",
        3,
        False,
    )
    assert (a.system_nodes_instance_type, a.system_nodes_min_size, a.system_nodes_max_size) == ("m6i.large", 2, 4)


def test_subnets_do_not_overlap() -> None:
    private, public = subnet_cidrs("10.20.0.0/16", 3)
    assert private == ["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20"]
    assert public == ["10.20.128.0/20", "10.20.144.0/20", "10.20.160.0/20"]


def test_cluster_resources(mocked) -> None:
    regs = mocked.run(lambda: EksCluster("c1", EksClusterArgs(availability_zone_count=2, single_nat_gateway=True)))
    cluster = one(regs, "aws:eks/cluster:Cluster").inputs
    assert cluster["version"] == "1.35"
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["vpcConfig"]["endpointPrivateAccess"] is True
    subnets = by_type(regs, "aws:ec2/subnet:Subnet")
    assert len(subnets) == 4
    assert {s.inputs["availabilityZone"] for s in subnets} == {"us-west-2a", "us-west-2b"}
    assert len(by_type(regs, "aws:ec2/natGateway:NatGateway")) == 1
    system = one(regs, "aws:eks/nodeGroup:NodeGroup").inputs
    assert "taints" not in system and system["labels"] == {"ml-platform.io/pool": "system"}
    assert system["nodeGroupNamePrefix"] == "system-" and "nodeGroupName" not in system  # replaced without a gap
    oidc = one(regs, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
    assert oidc["clientIdLists"] == ["sts.amazonaws.com"]
    addons = {r.inputs["addonName"] for r in by_type(regs, "aws:eks/addon:Addon")}
    assert addons == {"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent", "aws-ebs-csi-driver"}


def test_nat_gateway_per_zone_by_default(mocked) -> None:
    regs = mocked.run(lambda: EksCluster("c2", EksClusterArgs()))
    assert len(by_type(regs, "aws:ec2/natGateway:NatGateway")) == 3


def test_ebs_csi_role_trusts_only_its_service_account(mocked) -> None:
    regs = mocked.run(lambda: EksCluster("c3", EksClusterArgs()))
    role = one(regs, "aws:iam/role:Role", "c3-ebs-csi").inputs
    statement = json.loads(role["assumeRolePolicy"])["Statement"][0]
    conditions = statement["Condition"]["StringEquals"]
    assert any(
        k.endswith(":sub") and v == "system:serviceaccount:kube-system:ebs-csi-controller-sa"
        for k, v in conditions.items()
    )
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"


def test_kubeconfig_and_provider_carry_no_plain_credentials(mocked) -> None:
    regs = mocked.run(lambda: EksCluster("c4", EksClusterArgs()))
    provider = one(regs, "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "[secret]"
    kubeconfig = json.loads(provider.raw_inputs["kubeconfig"])
    assert kubeconfig["users"][0]["user"]["exec"]["args"][:2] == ["eks", "get-token"]


def test_validation_messages() -> None:
    p = Problems(prefix="cluster")
    EksClusterArgs(
        vpc_cidr="10.0.0.0/8",
        availability_zone_count=5,
        system_nodes_min_size=3,
        system_nodes_max_size=2,
        kubernetes_version="latest",
    ).validate(p)
    assert p.items == [
        "cluster.vpc_cidr: must be a /16 to /20 network, got '10.0.0.0/8'",
        "cluster.availability_zone_count: must be 2 or 3, got 5",
        "cluster.system_nodes_max_size: must be >= min_size (3), got 2",
        "cluster.kubernetes_version: must look like 1.35, got 'latest'",
    ]


def test_eks_gets_a_default_storage_class_pinned_add_ons_and_admin_access_entries(mocked) -> None:
    admin = "arn:aws:iam::123456789012:role/platform-admins"
    regs = mocked.run(lambda: EksCluster("c1", EksClusterArgs(admin_principal_arns=[admin])))
    sc = one(regs, "kubernetes:storage.k8s.io/v1:StorageClass").inputs
    # EKS 1.30+ marks no class as default: claims without a class (Prometheus, CloudNativePG) would stay Pending.
    assert sc["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert (sc["provisioner"], sc["parameters"], sc["volumeBindingMode"]) == (
        "ebs.csi.aws.com",
        {"type": "gp3", "encrypted": "true"},
        "WaitForFirstConsumer",
    )
    versions = {a.inputs["addonName"]: a.inputs.get("addonVersion") for a in by_type(regs, "aws:eks/addon:Addon")}
    assert versions == {
        "vpc-cni": "v1.20.4-eksbuild.1",
        "kube-proxy": "v1.35.0-eksbuild.2",
        "coredns": "v1.12.4-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.9-eksbuild.3",
        "aws-ebs-csi-driver": "v1.51.1-eksbuild.1",
    }
    assert one(regs, "aws:eks/accessEntry:AccessEntry").inputs["principalArn"] == admin
    association = one(regs, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs
    assert association["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association["accessScope"] == {"type": "cluster"}


def test_an_admin_principal_must_be_a_role_or_user_arn() -> None:
    p = Problems(prefix="cluster")
    EksClusterArgs(admin_principal_arns=["platform-admins"]).validate(p)
    assert p.items == ["cluster.admin_principal_arns[0]: must be the ARN of an IAM role or user, got 'platform-admins'"]
