"""An EKS cluster ready for ML workloads: private nodes, IRSA, encrypted secrets, and a Kubernetes provider.

Why build it from ``pulumi_aws`` resources rather than a higher-level EKS package: every object is visible in a
preview and to the policy pack (a multi-language component is one opaque resource until its plugin runs), and
the pieces an ML platform needs are explicit: the OIDC provider that lets MLflow reach its bucket without keys,
the node role that GPU pools share, and the EBS CSI driver that gives Prometheus and PostgreSQL their volumes.

Nodes live in private subnets behind NAT; the public subnets hold only load balancers and the NAT gateways.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from ..common import POOL_LABEL, PlatformComponent, Problems, aws, irsa_trust_policy, merge_labels
from ._eks_access import ADDON_VERSIONS, admin_access, default_storage_class


@dataclass(kw_only=True)
class EksClusterArgs:
    """Arguments of :class:`EksCluster`."""

    kubernetes_version: str = "1.35"
    """Kubernetes minor version of the control plane and nodes. Default ``1.35``."""
    vpc_cidr: str = "10.0.0.0/16"
    """CIDR of the new VPC; /16 to /20. Default ``10.0.0.0/16``."""
    availability_zone_count: int = 3
    """Availability zones to spread subnets and nodes over, 2 to 3. Default 3."""
    single_nat_gateway: bool = False
    """One NAT gateway for all zones (cheaper, not zone-redundant) instead of one per zone. Default False."""
    system_nodes_instance_type: str = "m6i.large"
    """Instance type of the system node group (controllers, gateway, monitoring). Default ``m6i.large``."""
    system_nodes_min_size: int = 2
    """Fewest system nodes, at least 1. Default 2."""
    system_nodes_max_size: int = 4
    """Most system nodes, >= ``system_nodes_min_size``. Default 4."""
    system_nodes_disk_size_gib: int = 50
    """Root disk of each system node in GiB. Default 50."""
    endpoint_public_access: bool = True
    """Whether the API server has a public endpoint (always also private). Default True."""
    public_access_cidrs: list[str] = field(default_factory=lambda: ["0.0.0.0/0"])
    """CIDRs allowed to reach the public endpoint. Default everywhere; narrow it in production."""
    log_types: list[str] = field(default_factory=lambda: ["api", "audit", "authenticator"])
    """Control plane log types sent to CloudWatch. Default api, audit, authenticator."""
    admin_principal_arns: list[str] = field(default_factory=list)
    """IAM users or roles (ARNs) given cluster-admin through EKS access entries, beside the identity that creates
    the cluster. Default none."""
    addon_versions: dict[str, str] = field(default_factory=lambda: dict(ADDON_VERSIONS))
    """Pinned version of each EKS add-on (``vpc-cni``, ``kube-proxy``, ``coredns``, ``eks-pod-identity-agent``,
    ``aws-ebs-csi-driver``); an add-on left out gets EKS's default for the cluster version. Default
    :data:`ADDON_VERSIONS`."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags on every AWS resource. Default none."""

    def validate(self, problems: Problems) -> None:
        p = problems
        try:
            net = ipaddress.ip_network(self.vpc_cidr)
            p.check(16 <= net.prefixlen <= 20, "vpc_cidr", "must be a /16 to /20 network", self.vpc_cidr)
        except ValueError:
            p.add("vpc_cidr", "must be an IPv4 network in CIDR form", self.vpc_cidr)
        p.check(
            2 <= self.availability_zone_count <= 3,
            "availability_zone_count",
            "must be 2 or 3",
            self.availability_zone_count,
        )
        p.check(self.system_nodes_min_size >= 1, "system_nodes_min_size", "must be >= 1", self.system_nodes_min_size)
        p.check(
            self.system_nodes_max_size >= self.system_nodes_min_size,
            "system_nodes_max_size",
            f"must be >= min_size ({self.system_nodes_min_size})",
            self.system_nodes_max_size,
        )
        p.check(
            _is_version(self.kubernetes_version), "kubernetes_version", "must look like 1.35", self.kubernetes_version
        )
        for i, arn in enumerate(self.admin_principal_arns):
            p.check(
                arn.startswith("arn:aws") and (":role/" in arn or ":user/" in arn),
                f"admin_principal_arns[{i}]",
                "must be the ARN of an IAM role or user",
                arn,
            )


def _is_version(v: str) -> bool:
    parts = v.split(".")
    return len(parts) == 2 and all(x.isdigit() for x in parts) and parts[0] == "1"


def _assume_role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def subnet_cidrs(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Private and public subnet CIDRs: the VPC cut in 16, private subnets first, public ones from the 9th."""
    net = ipaddress.ip_network(vpc_cidr)
    blocks = list(net.subnets(new_prefix=net.prefixlen + 4))
    return [str(b) for b in blocks[:zones]], [str(b) for b in blocks[8 : 8 + zones]]


def kubeconfig_for(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (no long-lived credentials inside)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
                        }
                    },
                }
            ],
        }
    )


class EksCluster(PlatformComponent):
    """VPC, EKS control plane, system node group, OIDC provider for IRSA, core add-ons, kubeconfig and provider."""

    cluster_name: pulumi.Output[str]
    """Name of the EKS cluster."""
    endpoint: pulumi.Output[str]
    """API server URL."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (JSON) using ``aws eks get-token``; a secret output."""
    provider: k8s.Provider
    """Kubernetes provider for this cluster; pass it to every Kubernetes resource."""
    vpc_id: pulumi.Output[str]
    """The VPC's id."""
    private_subnet_ids: list[pulumi.Output[str]]
    """Private subnets (nodes, databases)."""
    node_role_arn: pulumi.Output[str]
    """IAM role shared by the system and GPU node groups."""
    oidc_provider_arn: pulumi.Output[str]
    """ARN of the IAM OIDC provider (the ``Federated`` principal of IRSA roles)."""
    oidc_issuer: pulumi.Output[str]
    """OIDC issuer host and path, without ``https://`` (the prefix of IRSA condition keys)."""
    cluster_security_group_id: pulumi.Output[str]
    """Security group EKS attaches to the control plane and managed nodes."""
    region: pulumi.Output[str]
    """AWS region of the cluster."""
    vpc_cidr: str
    """CIDR of the VPC (for security group rules of services the cluster reaches)."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:eks_cluster:EksCluster", name, args, opts)
        tags = merge_labels({"ml-platform.io/cluster": name}, args.tags)
        network = self._network(name, args, tags)
        cluster = self._control_plane(name, args, tags, network)
        system_nodes = self._nodes(name, args, tags, network, cluster)
        self._identity(name, tags, cluster)
        ebs_driver = self._addons(name, args, tags, cluster, system_nodes)
        self._access(name, cluster, system_nodes)
        admin_access(name, args.admin_principal_arns, cluster, parent=self)
        default_storage_class(name, ebs_driver, provider=self.provider, parent=self)
        self.vpc_id = network.vpc.id
        self.private_subnet_ids = [s.id for s in network.private_subnets]
        self.cluster_security_group_id = cluster.vpc_config.cluster_security_group_id
        self.vpc_cidr = args.vpc_cidr
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "vpc_id": self.vpc_id,
                "oidc_provider_arn": self.oidc_provider_arn,
            }
        )

    def _child(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=depends_on)

    def _network(self, name: str, args: EksClusterArgs, tags: dict[str, str]) -> _Network:
        """VPC, internet gateway and, per zone, a public and a private subnet with their routes and NAT."""
        child = self._child()
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        private_cidrs, public_cidrs = subnet_cidrs(args.vpc_cidr, args.availability_zone_count)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=merge_labels(tags, {"Name": f"{name}-vpc"}),
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=tags,
            opts=child,
        )
        network = _Network(vpc=vpc)
        for i in range(args.availability_zone_count):
            zone = _Zone(index=i, name=zones.names[i], public_cidr=public_cidrs[i], private_cidr=private_cidrs[i])
            self._zone(name, args, tags, network, zone, public_rt)
        return network

    def _zone(
        self,
        name: str,
        args: EksClusterArgs,
        tags: dict[str, str],
        network: _Network,
        zone: _Zone,
        public_rt: aws.ec2.RouteTable,
    ) -> None:
        """One zone: a public subnet (load balancers, NAT), a NAT gateway unless shared, a private subnet."""
        child, i, vpc = self._child(), zone.index, network.vpc
        pub = aws.ec2.Subnet(
            f"{name}-public-{i}",
            vpc_id=vpc.id,
            cidr_block=zone.public_cidr,
            availability_zone=zone.name,
            map_public_ip_on_launch=False,
            tags=merge_labels(tags, {"kubernetes.io/role/elb": "1", "Name": f"{name}-public-{i}"}),
            opts=child,
        )
        aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=pub.id, route_table_id=public_rt.id, opts=child)
        network.public_subnets.append(pub)
        if i == 0 or not args.single_nat_gateway:
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tags, opts=child)
            network.nats.append(
                aws.ec2.NatGateway(f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=pub.id, tags=tags, opts=child)
            )
        priv = aws.ec2.Subnet(
            f"{name}-private-{i}",
            vpc_id=vpc.id,
            cidr_block=zone.private_cidr,
            availability_zone=zone.name,
            tags=merge_labels(tags, {"kubernetes.io/role/internal-elb": "1", "Name": f"{name}-private-{i}"}),
            opts=child,
        )
        rt = aws.ec2.RouteTable(
            f"{name}-private-{i}",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=network.nats[-1].id)],
            tags=tags,
            opts=child,
        )
        aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=priv.id, route_table_id=rt.id, opts=child)
        network.private_subnets.append(priv)

    def _control_plane(
        self, name: str, args: EksClusterArgs, tags: dict[str, str], network: _Network
    ) -> aws.eks.Cluster:
        """The EKS control plane with its role and the KMS key that encrypts Kubernetes secrets."""
        child = self._child()
        cluster_role = aws.iam.Role(
            f"{name}-cluster", assume_role_policy=_assume_role("eks.amazonaws.com"), tags=tags, opts=child
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=cluster_role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of Kubernetes secrets in {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        return aws.eks.Cluster(
            f"{name}-eks",
            name=name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[s.id for s in network.private_subnets + network.public_subnets],
                endpoint_private_access=True,
                endpoint_public_access=args.endpoint_public_access,
                public_access_cidrs=args.public_access_cidrs if args.endpoint_public_access else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"], provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn)
            ),
            enabled_cluster_log_types=args.log_types,
            tags=tags,
            opts=child,
        )

    def _nodes(
        self, name: str, args: EksClusterArgs, tags: dict[str, str], network: _Network, cluster: aws.eks.Cluster
    ) -> aws.eks.NodeGroup:
        """The node role every node group shares (GPU pools too) and the on-demand system node group."""
        child = self._child()
        node_role = aws.iam.Role(
            f"{name}-node", assume_role_policy=_assume_role("ec2.amazonaws.com"), tags=tags, opts=child
        )
        for policy in (
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
            "AmazonEC2ContainerRegistryReadOnly",
            "AmazonSSMManagedInstanceCore",
        ):
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}", role=node_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}", opts=child
            )
        self.node_role_arn = node_role.arn
        return aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            # A generated name (``system-<suffix>``) lets a replacement start the new group before the old one
            # drains: a fixed name would clash with the old group's, or make Pulumi delete the old group first.
            node_group_name_prefix="system-",
            node_role_arn=node_role.arn,
            subnet_ids=[s.id for s in network.private_subnets],
            instance_types=[args.system_nodes_instance_type],
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            disk_size=args.system_nodes_disk_size_gib,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=args.system_nodes_min_size,
                max_size=args.system_nodes_max_size,
                desired_size=args.system_nodes_min_size,
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels={POOL_LABEL: "system"},
            tags=tags,
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(ignore_changes=["scalingConfig.desiredSize"])
            ),
        )

    def _identity(self, name: str, tags: dict[str, str], cluster: aws.eks.Cluster) -> None:
        """The IAM OIDC provider that lets service accounts assume roles (IRSA)."""
        issuer_url = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc", url=issuer_url, client_id_lists=["sts.amazonaws.com"], tags=tags, opts=self._child()
        )
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer = issuer_url.apply(lambda u: u.removeprefix("https://"))

    def _addons(
        self,
        name: str,
        args: EksClusterArgs,
        tags: dict[str, str],
        cluster: aws.eks.Cluster,
        system_nodes: aws.eks.NodeGroup,
    ) -> aws.eks.Addon:
        """The core add-ons, and the EBS CSI driver (with its IRSA role) that gives workloads their volumes."""
        child = self._child()
        on_nodes = self._child(depends_on=[system_nodes])
        for addon in ("vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"):
            aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=cluster.name,
                addon_name=addon,
                addon_version=args.addon_versions.get(addon),
                resolve_conflicts_on_update="OVERWRITE",
                opts=on_nodes,
            )
        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi",
            assume_role_policy=pulumi.Output.all(self.oidc_provider_arn, self.oidc_issuer).apply(
                lambda a: irsa_trust_policy(a[0], a[1], "kube-system", "ebs-csi-controller-sa")
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi",
            role=ebs_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
            opts=child,
        )
        return aws.eks.Addon(
            f"{name}-aws-ebs-csi-driver",
            cluster_name=cluster.name,
            addon_name="aws-ebs-csi-driver",
            addon_version=args.addon_versions.get("aws-ebs-csi-driver"),
            service_account_role_arn=ebs_role.arn,
            resolve_conflicts_on_update="OVERWRITE",
            opts=on_nodes,
        )

    def _access(self, name: str, cluster: aws.eks.Cluster, system_nodes: aws.eks.NodeGroup) -> None:
        """The kubeconfig (a secret) and the Kubernetes provider every in-cluster resource uses."""
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.region = region
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data, region).apply(
                lambda a: kubeconfig_for(*a)
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=self._child(depends_on=[system_nodes]),
        )


@dataclass
class _Zone:
    index: int
    name: pulumi.Output[str]
    public_cidr: str
    private_cidr: str


@dataclass
class _Network:
    """What the network builder made, for the control plane and the node groups."""

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet] = field(default_factory=list)
    private_subnets: list[aws.ec2.Subnet] = field(default_factory=list)
    nats: list[aws.ec2.NatGateway] = field(default_factory=list)
