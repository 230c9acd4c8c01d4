"""The cost model: what each resource type costs idle and at full scale, and what it refuses to guess."""

from __future__ import annotations

import pytest

from cost.model import Resource, estimate, quantity_gib
from cost.prices import PriceTable, UnknownPrice, settings_from_config

M = 730


def r(typ: str, name: str, props: dict) -> Resource:
    return Resource(typ, name, f"urn:{name}", props)


def one(resources: list[Resource], **kw):
    report = estimate(resources, **kw)
    assert not report.problems, report.problems
    (item,) = report.items
    return item


def test_eks_node_group_spot_and_region_factor() -> None:
    group = r(
        "aws:eks/nodeGroup:NodeGroup",
        "gpu",
        {
            "instanceTypes": ["g5.xlarge"],
            "capacityType": "SPOT",
            "diskSize": 100,
            "scalingConfig": {"minSize": 1, "maxSize": 3},
        },
    )
    item = one([group], region="us-east-1")
    node = 0.402 * M + 100 * 0.08
    assert (item.monthly_idle, item.monthly_full) == pytest.approx((node, 3 * node))
    assert item.what == "1..3 x g5.xlarge spot + 100 GiB gp3 each"
    assert one([group], region="eu-west-1").monthly_full == pytest.approx(3 * node * 1.11)


def test_gke_regional_pool_counts_every_zone_and_n1_accelerators() -> None:
    pool = r(
        "gcp:container/nodePool:NodePool",
        "t4",
        {
            "location": "us-central1",
            "autoscaling": {"minNodeCount": 0, "maxNodeCount": 1},
            "nodeConfig": {
                "machineType": "n1-standard-8",
                "diskSizeGb": 100,
                "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 2}],
            },
        },
    )
    item = one([pool])
    assert item.monthly_full == pytest.approx(3 * ((0.38 + 2 * 0.35) * M + 100 * 0.10))
    assert item.monthly_idle == 0


def test_databases_multi_az_and_storage_autoscaling() -> None:
    db = r(
        "aws:rds/instance:Instance",
        "db",
        {"instanceClass": "db.t4g.small", "multiAz": True, "allocatedStorage": 20, "maxAllocatedStorage": 100},
    )
    item = one([db])
    assert item.monthly_idle == pytest.approx(2 * (0.032 * M + 20 * 0.115))
    assert item.monthly_full == pytest.approx(2 * (0.032 * M + 100 * 0.115))
    sql = r(
        "gcp:sql/databaseInstance:DatabaseInstance",
        "sql",
        {"settings": {"tier": "db-custom-1-3840", "availabilityType": "REGIONAL", "diskSize": 10}},
    )
    assert one([sql]).monthly_full == pytest.approx(2 * (0.05 * M + 10 * 0.17))


def test_kubernetes_load_balancers_and_volumes_on_a_cloud_only() -> None:
    lb = r("kubernetes:core/v1:Service", "gw", {"spec": {"type": "LoadBalancer"}})
    pvc = r(
        "kubernetes:core/v1:PersistentVolumeClaim", "data", {"spec": {"resources": {"requests": {"storage": "50Gi"}}}}
    )
    report = estimate([lb, pvc], cloud="aws")
    assert [round(i.monthly_full, 2) for i in report.items] == [round(0.0225 * M, 2), 4.0]
    assert estimate([lb, pvc]).items == []  # an existing cluster: its owner pays
    # a claim pre-bound to a named volume (the node model cache's local volume) provisions no disk of its own
    bound = r(
        "kubernetes:core/v1:PersistentVolumeClaim",
        "model-cache-batch",
        {"spec": {"volumeName": "ml-serving-model-cache-batch", "resources": {"requests": {"storage": "20Gi"}}}},
    )
    assert estimate([bound], cloud="aws").items == []


def test_unknown_prices_are_reported_not_zero() -> None:
    report = estimate([r("aws:rds/instance:Instance", "db", {"instanceClass": "db.x9.mega"})])
    assert report.items == []
    assert report.problems == [
        "aws:rds/instance:Instance db: no aws price for database class 'db.x9.mega' in cost/prices.yaml"
    ]
    with pytest.raises(UnknownPrice):
        PriceTable().instance_hourly("gcp", None, "z9-standard-1")


def test_overrides_and_settings() -> None:
    settings = settings_from_config(
        {
            "monthly_budget_usd": 900,
            "bucket_storage_gib": 1000,
            "price_overrides": {"aws": {"services": {"nat_gateway": 0.05}}},
        }
    )
    assert settings.monthly_budget_usd == 900
    assert settings.prices.service_hourly("aws", None, "nat_gateway") == 0.05
    bucket = r("aws:s3/bucket:Bucket", "b", {})
    assert one([bucket], prices=settings.prices).monthly_full == pytest.approx(1000 * 0.023)
    assert settings.prices.gpu_model("aws", "g5.xlarge") == "nvidia-a10g"


def test_quantities() -> None:
    assert quantity_gib("50Gi") == 50
    assert quantity_gib("1Ti") == 1024
    assert quantity_gib("nonsense") is None


def test_shipped_prod_stack_cost(stack_run) -> None:
    run = stack_run("prod")
    report = estimate([Resource(x.type, x.name, x.urn, x.inputs) for x in run.registrations], region="us-east-1")
    assert report.problems == []
    system = 3 * (0.192 * M + 50 * 0.08), 6 * (0.192 * M + 50 * 0.08)
    inference = 1 * (1.212 * M + 200 * 0.08), 4 * (1.212 * M + 200 * 0.08)
    batch = 0, 4 * (0.322 * M + (100 + 20) * 0.08)  # + the node model cache's 20 GiB per node
    fixed = 0.10 * M + 3 * (0.045 + 0.005) * M + 0.0014 * M  # EKS, 3 NAT gateways and their IPs, KMS key
    fixed += 0.0225 * M  # the serving platform's Gateway (its Envoy Service is a load balancer)
    fixed += 100 * 0.023  # MLflow's artifact bucket (priced at the model's default 100 GiB)
    mlflow_db = 2 * (0.152 * M + 20 * 0.115), 2 * (0.152 * M + 100 * 0.115)  # Multi-AZ db.m6g.large, 20..100 GiB gp3
    # embeddings keeps 2 replicas warm 10 h on weekdays (50 h/week) over its 1: one extra half of a spot g6.xlarge.
    warm = 1 * 0.322 / 2 * M * 50 / (7 * 24)
    assert report.monthly_idle == pytest.approx(
        system[0] + inference[0] + batch[0] + fixed + mlflow_db[0] + warm, abs=0.01
    )
    assert report.monthly_full == pytest.approx(system[1] + inference[1] + batch[1] + fixed + mlflow_db[1], abs=0.01)
