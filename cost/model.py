"""A stack's monthly cost, computed from the resources it registers: one function for the policy and the preview.

Why from resources and not from the stack config: the policy pack sees only what the engine sends it (types and
inputs), and the budget must judge exactly what would be deployed, whatever layer or user program created it.
The offline preview calls the same :func:`estimate` on its registrations, so its cost lines and the policy's
verdict cannot drift apart.

Two numbers per item:

* ``monthly_idle``: everything at its minimum (node pools at ``min_size``, storage at its initial size);
* ``monthly_full``: everything at full scale (node pools at ``max_size``, storage at its autoscaling limit).

Scheduled warm standby (KEDA cron windows of model endpoints) raises the idle cost by the GPU share the warm
replicas hold during their hours (:mod:`.schedule`).

What is priced: managed clusters, node pools (instances, attached GPUs, root disks), NAT gateways and their
public IPv4 addresses, load balancers
(cloud ones, Kubernetes Services of type LoadBalancer and Gateways, each of which gets one), databases
(instance, HA standby, storage), buckets (at an assumed size, see ``assumptions`` in the table), persistent
volume claims and KMS keys. Usage charges (traffic, requests, LCUs) are not. Anything the table cannot price is
reported in :attr:`CostReport.problems` rather than priced at zero: a budget check that waves through an unknown
instance type would miss exactly the change it exists to stop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .prices import PriceTable, UnknownPrice
from .schedule import warm_standby

# Resource types the model prices, by what they are.
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
NAT_AWS = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
LB_AWS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer")
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
KMS_KEY = "aws:kms/key:Key"
GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
NAT_GCP = "gcp:compute/routerNat:RouterNat"
LB_GCP = ("gcp:compute/forwardingRule:ForwardingRule", "gcp:compute/globalForwardingRule:GlobalForwardingRule")
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_PVC = "kubernetes:core/v1:PersistentVolumeClaim"
K8S_STATEFULSET = "kubernetes:apps/v1:StatefulSet"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"

ZONES_PER_REGION = 3
"""Zones GKE spreads a regional node pool over when ``node_locations`` is not set."""


@dataclass(frozen=True)
class Resource:
    """What the model needs of a resource: the engine's view (type token, name, URN, inputs in camelCase)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]


@dataclass
class CostItem:
    urn: str
    name: str
    what: str
    """What was priced, e.g. ``2..4 x g5.xlarge spot + 100 GiB gp3 each``."""
    monthly_idle: float
    monthly_full: float

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "name": self.name,
            "what": self.what,
            "monthly_idle": round(self.monthly_idle, 2),
            "monthly_full": round(self.monthly_full, 2),
        }


@dataclass
class CostReport:
    """The stack's monthly cost in USD, item by item."""

    items: list[CostItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What could not be priced (unknown instance types, unreadable sizes), each naming the resource."""
    currency: str = "USD"

    @property
    def monthly_idle(self) -> float:
        return round(sum(i.monthly_idle for i in self.items), 2)

    @property
    def monthly_full(self) -> float:
        return round(sum(i.monthly_full for i in self.items), 2)

    def to_json(self, budget: float | None = None) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "monthly_idle": self.monthly_idle,
            "monthly_full": self.monthly_full,
            "budget": budget,
            "items": [i.to_json() for i in sorted(self.items, key=lambda i: (-i.monthly_full, i.urn))],
            "problems": list(self.problems),
        }


def infer_cloud(resources: Iterable[Resource]) -> str | None:
    """``aws`` or ``gcp`` from the resources' packages, or None (an existing cluster: nothing the table prices)."""
    packages = {r.type.split(":", 1)[0] for r in resources}
    for cloud in ("aws", "gcp"):
        if cloud in packages:
            return cloud
    return None


_QUANTITY = re.compile(r"^([0-9.]+)([KMGTPE]i?)?$")
_UNITS = {
    None: 1 / 2**30,
    "Ki": 2**10 / 2**30,
    "Mi": 2**20 / 2**30,
    "Gi": 1.0,
    "Ti": 2.0**10,
    "Pi": 2.0**20,
    "K": 1e3 / 2**30,
    "M": 1e6 / 2**30,
    "G": 1e9 / 2**30,
    "T": 1e12 / 2**30,
    "P": 1e15 / 2**30,
}


def quantity_gib(value: Any) -> float | None:
    """A Kubernetes storage quantity (``20Gi``, ``500G``) in GiB, or None when unreadable."""
    match = _QUANTITY.match(str(value or "").strip())
    if not match or match.group(2) not in _UNITS:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def _num(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class _Pricer:
    def __init__(self, prices: PriceTable, cloud: str | None, region: str | None) -> None:
        self.p = prices
        self.cloud = cloud
        self.region = region
        self.month = prices.hours_per_month
        self.report = CostReport()

    def add(self, r: Resource, what: str, idle: float, full: float) -> None:
        self.report.items.append(CostItem(r.urn, r.name, what, idle, full))

    def flat(
        self, r: Resource, cloud: str, service: str, what: str, count: float = 1.0, region: str | None = None
    ) -> None:
        monthly = self.p.service_hourly(cloud, region or self.region, service) * self.month * count
        self.add(r, what, monthly, monthly)

    # --- node pools -------------------------------------------------------------------------------------------

    def eks_node_group(self, r: Resource) -> None:
        i = r.props
        types = i.get("instanceTypes") or []
        instance = str(types[0]) if types else "t3.medium"
        spot = str(i.get("capacityType", "ON_DEMAND")).upper() == "SPOT"
        scaling = i.get("scalingConfig") or {}
        lo, hi = int(_num(scaling.get("minSize"))), int(_num(scaling.get("maxSize"), 1))
        disk = _num(i.get("diskSize"), 20)
        node = self.p.instance_hourly("aws", self.region, instance, spot) * self.month
        node += disk * self.p.storage_gib_month("aws", self.region, "gp3")
        self.add(
            r,
            f"{lo}..{hi} x {instance} {'spot' if spot else 'on-demand'} + {disk:g} GiB gp3 each",
            lo * node,
            hi * node,
        )

    def gke_node_pool(self, r: Resource) -> None:
        i = r.props
        nc = i.get("nodeConfig") or {}
        machine = str(nc.get("machineType") or "e2-medium")
        spot = bool(nc.get("spot") or nc.get("preemptible"))
        region = _gcp_region(i.get("location")) or self.region
        auto = i.get("autoscaling") or {}
        if "totalMinNodeCount" in auto or "totalMaxNodeCount" in auto:
            lo, hi = int(_num(auto.get("totalMinNodeCount"))), int(_num(auto.get("totalMaxNodeCount"), 1))
            per = ""
        else:
            zones = len(i.get("nodeLocations") or []) or (ZONES_PER_REGION if _is_region(i.get("location")) else 1)
            if auto:
                lo, hi = int(_num(auto.get("minNodeCount"))) * zones, int(_num(auto.get("maxNodeCount"), 1)) * zones
            else:
                lo = hi = int(_num(i.get("nodeCount", i.get("initialNodeCount")), 1)) * zones
            per = f" ({zones} zones)"
        node = self.p.instance_hourly("gcp", region, machine, spot) * self.month
        extras = ""
        for acc in nc.get("guestAccelerators") or []:
            kind = str(acc.get("type"))
            if kind in self.p.accelerators("gcp"):  # built into a2/a3/g2 prices otherwise
                node += self.p.accelerator_hourly("gcp", region, kind, spot) * self.month * _num(acc.get("count"), 1)
                extras += f" + {int(_num(acc.get('count'), 1))} x {kind}"
        disk = _num(nc.get("diskSizeGb"), 100)
        kind = str(nc.get("diskType") or "pd-balanced")
        node += disk * self.p.storage_gib_month(
            "gcp", region, kind if kind in self.p.storage_kinds("gcp") else "pd-balanced"
        )
        self.add(
            r,
            f"{lo}..{hi}{per} x {machine}{extras} {'spot' if spot else 'on-demand'} + {disk:g} GiB each",
            lo * node,
            hi * node,
        )

    # --- databases --------------------------------------------------------------------------------------------

    def rds(self, r: Resource) -> None:
        i = r.props
        klass = str(i.get("instanceClass"))
        copies = 2 if i.get("multiAz") else 1
        size = _num(i.get("allocatedStorage"), 20)
        top = max(size, _num(i.get("maxAllocatedStorage"), size))
        instance = self.p.database_hourly("aws", self.region, klass) * self.month * copies
        gib = self.p.storage_gib_month("aws", self.region, "rds_gp3") * copies
        self.add(
            r,
            f"{klass}{' multi-AZ' if copies == 2 else ''} + {size:g}..{top:g} GiB",
            instance + size * gib,
            instance + top * gib,
        )

    def rds_cluster_instance(self, r: Resource) -> None:
        klass = str(r.props.get("instanceClass"))
        monthly = self.p.database_hourly("aws", self.region, klass) * self.month
        self.add(r, klass, monthly, monthly)

    def cloud_sql(self, r: Resource) -> None:
        s = r.props.get("settings") or {}
        tier = str(s.get("tier"))
        region = r.props.get("region") or self.region
        copies = 2 if str(s.get("availabilityType", "ZONAL")).upper() == "REGIONAL" else 1
        size = _num(s.get("diskSize"), 10)
        limit = _num(s.get("diskAutoresizeLimit"), 0)
        top = max(size, limit) if s.get("diskAutoresize", True) and limit else size
        instance = self.p.database_hourly("gcp", region, tier) * self.month * copies
        gib = self.p.storage_gib_month("gcp", region, "cloudsql_ssd") * copies
        self.add(
            r,
            f"{tier}{' regional' if copies == 2 else ''} + {size:g}..{top:g} GiB",
            instance + size * gib,
            instance + top * gib,
        )

    # --- storage ----------------------------------------------------------------------------------------------

    def bucket(self, r: Resource, cloud: str, kind: str) -> None:
        gib = self.p.assumption("bucket_storage_gib")
        monthly = gib * self.p.storage_gib_month(cloud, self.region, kind)
        self.add(r, f"bucket, assumed {gib:g} GiB {kind}", monthly, monthly)

    def volume(self, r: Resource, spec: Mapping[str, Any], copies: int = 1, what: str = "volume") -> None:
        if self.cloud is None:
            return
        gib = quantity_gib(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
        if gib is None:
            self.report.problems.append(f"{r.type} {r.name}: cannot read the size of {what}")
            return
        kind = "gp3" if self.cloud == "aws" else "pd-balanced"
        monthly = gib * copies * self.p.storage_gib_month(self.cloud, self.region, kind)
        self.add(r, f"{copies} x {gib:g} GiB {kind} ({what})", monthly, monthly)

    def kubernetes(self, r: Resource) -> None:
        if self.cloud is None:
            return  # an existing cluster: its owner pays for nodes and load balancers
        service = "load_balancer"
        if r.type == K8S_SERVICE and (r.props.get("spec") or {}).get("type") == "LoadBalancer":
            self.flat(r, self.cloud, service, "load balancer (Service type LoadBalancer)")
        elif r.type == GATEWAY:
            self.flat(r, self.cloud, service, "load balancer (Gateway)")
        elif r.type == K8S_PVC and not (r.props.get("spec") or {}).get("volumeName"):
            # A claim pre-bound to a named volume provisions no disk (the node model cache's claim names a local
            # volume on the nodes' own disks, priced with the node pool).
            self.volume(r, r.props.get("spec") or {}, what="persistent volume claim")
        elif r.type == K8S_STATEFULSET:
            spec = r.props.get("spec") or {}
            for claim in spec.get("volumeClaimTemplates") or []:
                name = (claim.get("metadata") or {}).get("name", "?")
                self.volume(r, claim.get("spec") or {}, int(_num(spec.get("replicas"), 1)), f"volume claim {name}")


def _is_region(location: Any) -> bool:
    return bool(location) and not re.search(r"-[a-z]$", str(location))


def _gcp_region(location: Any) -> str | None:
    if not location or not isinstance(location, str) or location.startswith("["):
        return None
    return location if _is_region(location) else location.rsplit("-", 1)[0]


def estimate(
    resources: Iterable[Resource],
    prices: PriceTable | None = None,
    region: str | None = None,
    cloud: str | None = None,
) -> CostReport:
    """The monthly cost of ``resources`` (idle and at full scale), with what could not be priced."""
    resources = list(resources)
    prices = prices or PriceTable()
    pricer = _Pricer(prices, cloud or infer_cloud(resources), region)
    for r in resources:
        try:
            if r.type == EKS_CLUSTER:
                pricer.flat(r, "aws", "eks_cluster", "EKS control plane")
            elif r.type == EKS_NODE_GROUP:
                pricer.eks_node_group(r)
            elif r.type == NAT_AWS:
                pricer.flat(r, "aws", "nat_gateway", "NAT gateway")
            elif r.type == EIP:
                pricer.flat(r, "aws", "public_ipv4", "Elastic IP (public IPv4)")
            elif r.type in LB_AWS:
                pricer.flat(r, "aws", "load_balancer", "load balancer")
            elif r.type == RDS_INSTANCE:
                pricer.rds(r)
            elif r.type == RDS_CLUSTER_INSTANCE:
                pricer.rds_cluster_instance(r)
            elif r.type in S3_BUCKETS:
                pricer.bucket(r, "aws", "s3_standard")
            elif r.type == KMS_KEY:
                pricer.flat(r, "aws", "kms_key", "KMS key")
            elif r.type == GKE_CLUSTER:
                pricer.flat(r, "gcp", "gke_cluster", "GKE control plane", region=_gcp_region(r.props.get("location")))
            elif r.type == GKE_NODE_POOL:
                pricer.gke_node_pool(r)
            elif r.type == NAT_GCP:
                pricer.flat(r, "gcp", "cloud_nat", "Cloud NAT gateway")
            elif r.type in LB_GCP:
                pricer.flat(r, "gcp", "load_balancer", "load balancer")
            elif r.type == CLOUD_SQL:
                pricer.cloud_sql(r)
            elif r.type == GCS_BUCKET:
                pricer.bucket(r, "gcp", "gcs_standard")
            elif r.type in (K8S_SERVICE, K8S_PVC, K8S_STATEFULSET, GATEWAY):
                pricer.kubernetes(r)
        except UnknownPrice as exc:
            pricer.report.problems.append(f"{r.type} {r.name}: {exc}")
    try:
        warm_standby(resources, pricer)
    except UnknownPrice as exc:
        pricer.report.problems.append(f"warm windows: {exc}")
    return pricer.report
