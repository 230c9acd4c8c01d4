"""GkeCluster: VPC-native, private nodes, Workload Identity, release channel, no default pool."""

from __future__ import annotations

import pulumi

from components.cluster import GkeCluster, GkeClusterArgs, ReleaseChannel
from components.common import Problems
from tests.conftest import by_type, one


def test_defaults() -> None:
    a = GkeClusterArgs(project="p", region="us-central1")
    assert a.release_channel == ReleaseChannel.REGULAR and a.deletion_protection is False
    assert (a.system_nodes_instance_type, a.system_nodes_min_size, a.system_nodes_max_size) == ("e2-standard-4", 1, 3)


def test_cluster(mocked) -> None:
    regs = mocked.run(
        lambda: GkeCluster("g1", GkeClusterArgs(project="p1", region="us-central1", deletion_protection=True))
    )
    c = one(regs, "gcp:container/cluster:Cluster").inputs
    assert c["workloadIdentityConfig"] == {"workloadPool": "p1.svc.id.goog"}
    assert c["releaseChannel"] == {"channel": "REGULAR"}
    assert c["networkingMode"] == "VPC_NATIVE"
    assert c["removeDefaultNodePool"] is True
    assert c["privateClusterConfig"]["enablePrivateNodes"] is True
    assert c["deletionProtection"] is True
    system = one(regs, "gcp:container/nodePool:NodePool").inputs
    assert system["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert system["namePrefix"] == "system-" and "name" not in system  # replaced without a gap
    roles = {r.inputs["role"] for r in by_type(regs, "gcp:projects/iAMMember:IAMMember")}
    assert roles == {
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
        "roles/monitoring.viewer",
        "roles/artifactregistry.reader",
    }
    assert one(regs, "pulumi:providers:kubernetes").inputs["kubeconfig"] == "[secret]"


def test_validation_messages() -> None:
    p = Problems(prefix="cluster")
    GkeClusterArgs(project="", region="r", master_cidr="172.16.0.0/24", system_nodes_min_size=0).validate(p)
    assert p.items == [
        "cluster.project: is required (set gcp:project), got ''",
        "cluster.master_cidr: must be a /28, got '172.16.0.0/24'",
        "cluster.system_nodes_min_size: must be >= 1, got 0",
    ]


def test_the_control_plane_reaches_the_webhooks_and_bindings_wait_for_the_pool(mocked) -> None:
    out = {}
    regs = mocked.run(lambda: out.setdefault("c", GkeCluster("g1", GkeClusterArgs(project="p1", region="us-central1"))))
    fw = one(regs, "gcp:compute/firewall:Firewall").inputs
    assert fw["sourceRanges"] == ["172.16.0.0/28"] and fw["direction"] == "INGRESS"
    assert fw["allows"] == [{"protocol": "tcp", "ports": ["6443", "9443"]}]
    assert fw["network"] == one(regs, "gcp:container/cluster:Cluster").inputs["network"]
    assert isinstance(out["c"].workload_pool, pulumi.Output)  # the cluster's output: a binding waits for the pool


def test_webhook_ports_are_port_numbers() -> None:
    p = Problems(prefix="cluster")
    GkeClusterArgs(project="p", region="r", webhook_ports=[9443, 70000]).validate(p)
    assert p.items == ["cluster.webhook_ports[1]: must be a port number (1-65535), got 70000"]
