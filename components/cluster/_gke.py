"""A GKE cluster ready for ML workloads: VPC-native, private nodes, Workload Identity, a release channel.

Why these choices: VPC-native (alias IP) networking is what Cloud SQL private IP and internal load balancers
need; Workload Identity is how MLflow reaches its bucket with no key in the cluster; a release channel keeps
the control plane and nodes patched without the platform team chasing versions. The default node pool is
removed so that every pool, system and GPU alike, is declared and visible in a preview. GKE installs its own
NVIDIA device plugin and drivers on GPU nodes, so the platform installs none here.
"""

from __future__ import annotations

import enum
import ipaddress
import json
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from ..common import POOL_LABEL, PlatformComponent, Problems, gcp


class ReleaseChannel(str, enum.Enum):
    """GKE release channel."""

    RAPID = "RAPID"
    """Newest versions first, soon after their upstream release."""
    REGULAR = "REGULAR"
    """Versions qualified on RAPID first: the balance of new features and stability."""
    STABLE = "STABLE"
    """Versions qualified on REGULAR first: the fewest changes."""


@dataclass(kw_only=True)
class GkeClusterArgs:
    """Arguments of :class:`GkeCluster`."""

    project: str
    """GCP project id. Required."""
    region: str
    """Region of the (regional) cluster. Required."""
    release_channel: ReleaseChannel = ReleaseChannel.REGULAR
    """Release channel. Default ``REGULAR``."""
    node_cidr: str = "10.10.0.0/20"
    """Primary range of the subnetwork (nodes). Default ``10.10.0.0/20``."""
    pods_cidr: str = "10.16.0.0/14"
    """Secondary range for pods. Default ``10.16.0.0/14``."""
    services_cidr: str = "10.20.0.0/20"
    """Secondary range for services. Default ``10.20.0.0/20``."""
    master_cidr: str = "172.16.0.0/28"
    """/28 range of the private control plane. Default ``172.16.0.0/28``."""
    system_nodes_instance_type: str = "e2-standard-4"
    """Machine type of the system pool (controllers, gateway, monitoring). Default ``e2-standard-4``."""
    system_nodes_min_size: int = 1
    """Fewest system nodes per zone, at least 1. Default 1."""
    system_nodes_max_size: int = 3
    """Most system nodes per zone, >= ``system_nodes_min_size``. Default 3."""
    deletion_protection: bool = False
    """Refuse to delete the cluster. Default False; set it in production."""
    public_access_cidrs: list[str] = field(default_factory=lambda: ["0.0.0.0/0"])
    """CIDRs allowed to reach the control plane endpoint. Default everywhere; narrow it in production."""
    webhook_ports: list[int] = field(default_factory=lambda: [6443, 9443])
    """Node ports the private control plane must reach beyond GKE's own 443 and 10250: admission webhooks and
    aggregated APIs (KServe, KEDA and Envoy Gateway webhooks on 9443, KEDA's metrics API on 6443). Default
    ``[6443, 9443]``."""
    tags: dict[str, str] = field(default_factory=dict)
    """Resource labels on the cluster (GCP calls tags labels). Default none."""

    def validate(self, problems: Problems) -> None:
        p = problems
        p.check(bool(self.project), "project", "is required (set gcp:project)", self.project)
        p.check(bool(self.region), "region", "is required (set gcp:region)", self.region)
        for key in ("node_cidr", "pods_cidr", "services_cidr", "master_cidr"):
            value = getattr(self, key)
            try:
                ipaddress.ip_network(value)
            except ValueError:
                p.add(key, "must be an IPv4 network in CIDR form", value)
        p.check(self.master_cidr.endswith("/28"), "master_cidr", "must be a /28", self.master_cidr)
        for i, port in enumerate(self.webhook_ports):
            p.check(1 <= port <= 65535, f"webhook_ports[{i}]", "must be a port number (1-65535)", port)
        p.check(self.system_nodes_min_size >= 1, "system_nodes_min_size", "must be >= 1", self.system_nodes_min_size)
        p.check(
            self.system_nodes_max_size >= self.system_nodes_min_size,
            "system_nodes_max_size",
            f"must be >= min_size ({self.system_nodes_min_size})",
            self.system_nodes_max_size,
        )


def kubeconfig_for(name: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig that authenticates with ``gke-gcloud-auth-plugin`` (no long-lived credentials inside)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": name, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                            "installHint": "Install gke-gcloud-auth-plugin "
                            "(gcloud components install gke-gcloud-auth-plugin).",
                        }
                    },
                }
            ],
        }
    )


class GkeCluster(PlatformComponent):
    """VPC, subnetwork with secondary ranges, Cloud NAT, a private regional GKE cluster, a system pool, kubeconfig and
    provider."""

    cluster_name: pulumi.Output[str]
    """Name of the GKE cluster."""
    location: pulumi.Output[str]
    """Region of the cluster (node pools join it there)."""
    endpoint: pulumi.Output[str]
    """Control plane IP address."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (JSON) using ``gke-gcloud-auth-plugin``; a secret output."""
    provider: k8s.Provider
    """Kubernetes provider for this cluster."""
    network_id: pulumi.Output[str]
    """Self link of the VPC network (Cloud SQL private IP peers with it)."""
    workload_pool: pulumi.Output[str]
    """Workload Identity pool, ``<project>.svc.id.goog``, as the cluster's output: a binding that names it waits
    for the cluster that creates the pool."""
    node_service_account: pulumi.Output[str]
    """Email of the least-privilege node service account shared by all pools."""

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:gke_cluster:GkeCluster", name, args, opts)
        network, subnet = self._network(name, args)
        node_sa = self._node_identity(name, args)
        cluster = self._control_plane(name, args, network, subnet)
        system_pool = self._nodes(name, args, cluster, node_sa)
        self._control_plane_firewall(name, args, network)
        self._access(name, cluster, system_pool)
        self.network_id = network.id
        self.node_service_account = node_sa.email
        self.register_outputs(
            {"cluster_name": self.cluster_name, "endpoint": self.endpoint, "kubeconfig": self.kubeconfig}
        )

    def _network(self, name: str, args: GkeClusterArgs) -> tuple[gcp.compute.Network, gcp.compute.Subnetwork]:
        """VPC, the node subnetwork with its pod and service ranges, and Cloud NAT for the private nodes."""
        child = pulumi.ResourceOptions(parent=self)
        network = gcp.compute.Network(f"{name}-vpc", project=args.project, auto_create_subnetworks=False, opts=child)
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            project=args.project,
            region=args.region,
            network=network.id,
            ip_cidr_range=args.node_cidr,
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="pods", ip_cidr_range=args.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name="services", ip_cidr_range=args.services_cidr),
            ],
            opts=child,
        )
        router = gcp.compute.Router(
            f"{name}-router", project=args.project, region=args.region, network=network.id, opts=child
        )
        gcp.compute.RouterNat(
            f"{name}-nat",
            project=args.project,
            region=args.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            opts=child,
        )
        return network, subnet

    def _node_identity(self, name: str, args: GkeClusterArgs) -> gcp.serviceaccount.Account:
        """The least-privilege service account every node pool runs as (logs, metrics, image pulls only)."""
        child = pulumi.ResourceOptions(parent=self)
        node_sa = gcp.serviceaccount.Account(
            f"{name}-nodes",
            project=args.project,
            account_id=f"{name[:20]}-nodes",
            display_name=f"GKE nodes of {name}",
            opts=child,
        )
        for role in (
            "roles/logging.logWriter",
            "roles/monitoring.metricWriter",
            "roles/monitoring.viewer",
            "roles/artifactregistry.reader",
        ):
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[1]}",
                project=args.project,
                role=role,
                member=node_sa.email.apply(lambda e: f"serviceAccount:{e}"),
                opts=child,
            )
        return node_sa

    def _control_plane(
        self, name: str, args: GkeClusterArgs, network: gcp.compute.Network, subnet: gcp.compute.Subnetwork
    ) -> gcp.container.Cluster:
        """The private, VPC-native regional cluster with Workload Identity; its default pool removed."""
        workload_pool = f"{args.project}.svc.id.goog"
        pd_csi = gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(enabled=True)
        cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=name,
            project=args.project,
            location=args.region,
            network=network.id,
            subnetwork=subnet.id,
            remove_default_node_pool=True,
            initial_node_count=1,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name="pods", services_secondary_range_name="services"
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True, enable_private_endpoint=False, master_ipv4_cidr_block=args.master_cidr
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=c, display_name=c)
                    for c in args.public_access_cidrs
                ]
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=workload_pool),
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.release_channel.value),
            addons_config=gcp.container.ClusterAddonsConfigArgs(gce_persistent_disk_csi_driver_config=pd_csi),
            deletion_protection=args.deletion_protection,
            resource_labels=args.tags or None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_name = cluster.name
        self.location = cluster.location
        self.endpoint = cluster.endpoint
        # The cluster's output: a Workload Identity binding that names the pool waits for the cluster creating it.
        self.workload_pool = cluster.workload_identity_config.apply(
            lambda c: (c.workload_pool if c is not None else None) or workload_pool
        )
        return cluster

    def _control_plane_firewall(self, name: str, args: GkeClusterArgs, network: gcp.compute.Network) -> None:
        """The private control plane reaches nodes only on 443 and 10250 by default: open the ports of the
        admission webhooks and aggregated APIs the platform's charts run (KServe, KEDA, Envoy Gateway)."""
        gcp.compute.Firewall(
            f"{name}-control-plane-webhooks",
            project=args.project,
            network=network.id,
            direction="INGRESS",
            source_ranges=[args.master_cidr],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(p) for p in args.webhook_ports])],
            description="GKE control plane to admission webhooks and aggregated APIs on the nodes",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _nodes(
        self, name: str, args: GkeClusterArgs, cluster: gcp.container.Cluster, node_sa: gcp.serviceaccount.Account
    ) -> gcp.container.NodePool:
        """The autoscaled system pool (controllers, gateway, monitoring) on shielded nodes with GKE's metadata
        server."""
        return gcp.container.NodePool(
            f"{name}-system",
            # A generated name (``system-<suffix>``) lets a replacement start the new pool before the old one
            # drains: a fixed name would clash with the old pool's, or make Pulumi delete the old pool first.
            name_prefix="system-",
            project=args.project,
            cluster=cluster.name,
            location=args.region,
            initial_node_count=args.system_nodes_min_size,
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                min_node_count=args.system_nodes_min_size, max_node_count=args.system_nodes_max_size
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                machine_type=args.system_nodes_instance_type,
                disk_size_gb=50,
                labels={POOL_LABEL: "system"},
                service_account=node_sa.email,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(
                    mode="GKE_METADATA"
                ),
                shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"]),
        )

    def _access(self, name: str, cluster: gcp.container.Cluster, system_pool: gcp.container.NodePool) -> None:
        """The kubeconfig (a secret) and the Kubernetes provider every in-cluster resource uses."""
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, cluster.master_auth.cluster_ca_certificate).apply(
                lambda a: kubeconfig_for(*a)
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[system_pool]),
        )
