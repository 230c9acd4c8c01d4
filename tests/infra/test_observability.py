"""The observability layer: config, validation with stack key paths, what each shipped stack gets, and the one
place that reads the MLflow and serving layers (given as those layers hand themselves over)."""

from __future__ import annotations

import pytest

from components.common import Problems
from components.observability import rule_file
from components.serving import VersionInfo
from cost.prices import PriceTable
from infra import observability
from infra.config import parse
from infra.serving import ServingEndpoint
from offline import runner
from tests import k8s_schemas
from tests.conftest import by_type, one
from tests.infra.layers import mlflow_layer, serving_layer

BASE = {"ml-platform:environment": "dev", "ml-platform:cloud": "aws", "aws:region": "us-west-2"}
RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
RELEASE = "kubernetes:helm.sh/v3:Release"


def cfg(observability_: dict, **raw):
    return parse(
        "s",
        {
            **BASE,
            "ml-platform:observability": {"enabled": True, **observability_},
            **{f"ml-platform:{k}": v for k, v in raw.items()},
        },
    )


def problems_of(c) -> list[str]:
    p = Problems()
    observability.validate(c, p)
    return p.items


def endpoint(name: str, *version_labels: dict[str, str]) -> ServingEndpoint:
    versions = [
        VersionInfo(
            name=f"v{i}",
            inference_service=f"{name}-v{i}",
            deployment=f"{name}-v{i}-predictor",
            service=f"{name}-v{i}-predictor",
            labels=labels,
            weight=100 // len(version_labels),
            scale_to_zero=False,
        )
        for i, labels in enumerate(version_labels, 1)
    ]
    return ServingEndpoint(
        name=name,
        model_name=name,
        namespace="models",
        critical=False,
        gpu_count=1,
        gpu_pool=None,
        route_name=name,
        path_prefix=f"/models/{name}",
        versions=versions,
    )


def test_models_named_in_config_but_not_served_are_found() -> None:
    serving = serving_layer(endpoint("fraud", {"ml-platform.io/model": "fraud-detector"}, {}))
    p = observability.peers(None, serving)
    assert p.models == {"fraud-detector", "fraud"}
    c = cfg({"latency_slo_ms_by_model": {"fraud-detector": 300, "ranker": 500}})
    assert observability.unserved(c, p) == ["ranker"]
    assert observability.unserved(c, observability.peers(None, None)) == []  # no serving layer: nothing to check


def test_peers_reads_the_other_layers_or_nothing() -> None:
    assert observability.peers(None, None) == observability.Peers()
    p = observability.peers(mlflow_layer(metrics_port=9090), serving_layer())
    assert (p.mlflow_namespace, p.mlflow_port, p.mlflow_pod_labels) == (
        "mlflow",
        9090,
        {"app.kubernetes.io/name": "mlflow"},
    )
    assert (p.gateway_namespace, p.keda_namespace) == ("envoy-gateway-system", "keda")
    args = observability.rules_args(cfg({}), p, {}, {})
    assert args.mlflow_job == "mlflow"
    assert observability.rules_args(cfg({}), observability.Peers(), {}, {}).mlflow_job is None


def test_sizes_follow_the_environment() -> None:
    dev = observability.stack_args(cfg({}))
    assert (dev.retention_days, dev.storage_gib, dev.prometheus_replicas) == (7, 20, 1)  # the component's
    prod = parse("s", {**BASE, "ml-platform:environment": "prod", "ml-platform:observability": {"enabled": True}})
    args = observability.stack_args(prod)
    assert (args.retention_days, args.storage_gib, args.prometheus_replicas) == (30, 200, 2)
    assert observability.stack_args(cfg({"retention_days": 3, "storage_gib": 0})).storage_gib == 0


def test_thresholds_from_config_reach_the_rules() -> None:
    c = cfg(
        {
            "latency_slo_ms": 150,
            "latency_slo_ms_by_model": {"ranker": 400},
            "error_rate_percent": 2,
            "canary_latency_margin_percent": 20,
            "scale_from_zero_budget_seconds": 240,
        }
    )
    args = observability.rules_args(c, observability.Peers(), {}, {})
    assert (
        args.latency_slo_seconds,
        args.latency_slo_seconds_by_model,
        args.error_ratio,
        args.canary_latency_ratio,
        args.scale_from_zero_budget_seconds,
    ) == (0.15, {"ranker": 0.4}, 0.02, 1.2, 240)


def test_pool_prices_come_from_the_cost_model() -> None:
    c = cfg(
        {},
        gpu_pools={
            "inference": {"instance_type": "g5.xlarge", "capacity": "spot"},
            "big": {"instance_type": "g5.12xlarge"},
        },
    )
    table = PriceTable()
    assert observability.pool_prices(c) == {
        "system": table.instance_hourly("aws", "us-west-2", "m6i.large"),  # where CPU model pods run
        "inference": table.instance_hourly("aws", "us-west-2", "g5.xlarge", spot=True),
        "big": table.instance_hourly("aws", "us-west-2", "g5.12xlarge"),
    }


def test_stack_price_overrides_reach_the_cost_rules() -> None:
    c = cfg(
        {},
        gpu_pools={"inference": {"instance_type": "g5.xlarge"}},
        cost={"price_overrides": {"aws": {"instances": {"g5.xlarge": [2.0, 0.8]}}}},
    )
    assert observability.pool_prices(c)["inference"] == 2.0


def test_dcgm_exporter_where_the_cloud_does_not_export_dcgm() -> None:
    pools = {"inference": {"instance_type": "g5.xlarge"}}
    assert observability.dcgm_wanted(cfg({}, gpu_pools=pools))
    assert not observability.dcgm_wanted(cfg({}))  # no GPU pool
    assert not observability.dcgm_wanted(cfg({"dcgm_exporter": "never"}, gpu_pools=pools))
    gke = parse(
        "s",
        {
            "ml-platform:environment": "dev",
            "ml-platform:cloud": "gcp",
            "gcp:region": "r",
            "gcp:project": "p",
            "ml-platform:gpu_pools": {"l4": {"instance_type": "g2-standard-8"}},
            "ml-platform:observability": {"enabled": True},
        },
    )
    assert not observability.dcgm_wanted(gke)  # GKE's managed DCGM package exports them


def test_validation_names_stack_keys_and_values() -> None:
    c = cfg(
        {"drift": {"models": {"fraud": {"reference_uri": "s3://r", "current_uri": "s3://c"}}}},
        gpu_pools={"odd": {"instance_type": "g9.huge"}},
    )
    assert problems_of(c) == [
        "gpu_pools.odd.instance_type: has no price for the cost rules (no aws price for instance type 'g9.huge' in "
        "cost/prices.yaml), got 'g9.huge'",
        "observability.drift.image: is required when drift.models is set (build drift/Dockerfile), got None",
    ]
    c = cfg(
        {
            "drift": {
                "image": "drift:latest",
                "models": {"fraud": {"reference_uri": "s3://r", "current_uri": "s3://c", "schedule": "daily"}},
            }
        }
    )
    assert problems_of(c) == [
        "observability.drift.models.fraud.schedule: must be a 5-field cron expression, got 'daily'",
        "observability.drift.models.fraud.image: must be pinned with a tag or digest (not latest), got 'drift:latest'",
    ]


def test_shape_errors_use_stack_key_paths() -> None:
    with pytest.raises(Exception) as err:
        cfg({"error_rate_percent": 0, "dcgm_exporter": "sometimes", "retention": 3})
    text = str(err.value)
    assert "observability.error_rate_percent: must be > 0.0, got 0" in text
    assert "observability.retention: is not a known key (check its spelling), got 3" in text
    assert "observability.dcgm_exporter: must be one of 'auto', 'always' or 'never', got 'sometimes'" in text


# --- the shipped stacks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "gke-dev", "local"])
def test_every_environment_has_monitoring(stack_run, stack: str) -> None:
    regs = stack_run(stack).registrations
    charts = {r.inputs["chart"] for r in by_type(regs, RELEASE)}
    assert {"kube-prometheus-stack", "prometheus-pushgateway"} <= charts
    assert ("dcgm-exporter" in charts) == (stack in ("dev", "staging", "prod"))  # not on GKE, not on a laptop
    assert len(by_type(regs, "kubernetes:core/v1:ConfigMap")) >= 4
    rule = one(regs, RULE)
    assert rule.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_prod_rules_price_its_pools_and_keep_its_model_slo(stack_run) -> None:
    spec = one(stack_run("prod").registrations, RULE).inputs["spec"]
    rules = {r.get("record") or r.get("alert"): r for g in spec["groups"] for r in g["rules"]}
    prices = [
        r for g in spec["groups"] for r in g["rules"] if r.get("record") == "ml_platform:node_pool_hourly_price_usd"
    ]
    assert [(r["labels"]["pool"], r["expr"]) for r in prices] == [
        ("batch", "vector(0.322)"),
        ("inference", "vector(1.212)"),
        ("system", "vector(0.192)"),  # m6i.xlarge, where prod's CPU endpoints run
    ]
    latency = [r for g in spec["groups"] for r in g["rules"] if r.get("alert") == "ModelLatencyHigh"]
    assert [r["labels"]["slo_ms"] for r in latency] == ["200", "500"]
    assert "ModelHighErrorRate" in rules


def test_deployed_rules_are_the_tested_text(stack_run) -> None:
    c = runner.read_stack_file("dev")[0]
    parsed = parse("dev", c)
    mlflow_peer = observability.Peers(
        mlflow_namespace="mlflow",
        mlflow_pod_labels={  # dev runs MLflow
            "app.kubernetes.io/name": "mlflow",
            "app.kubernetes.io/instance": "mlflow",
        },
    )
    expected = rule_file(
        observability.rules_args(
            parsed, mlflow_peer, {"release": "kube-prometheus-stack"}, observability.pool_prices(parsed)
        )
    )
    assert one(stack_run("dev").registrations, RULE).inputs["spec"] == expected


def test_custom_resources_validate_against_their_crds(stack_run) -> None:
    for reg in stack_run("dev").registrations:
        if reg.type.startswith("kubernetes:monitoring.coreos.com/"):
            assert k8s_schemas.validate_object(reg.inputs, "1.35") == [], reg.name


def test_a_secret_password_is_used_and_a_plaintext_one_refused() -> None:
    secret = runner.run("local", {"ml-platform:grafana_admin_password": {"secure": "v1:abc"}})
    assert secret.error is None, secret.error
    regs = secret.registrations
    assert not [r for r in by_type(regs, "random:index/randomPassword:RandomPassword") if "grafana" in r.name]
    admin = one(regs, "kubernetes:core/v1:Secret", "monitoring-grafana-admin")
    assert admin.inputs["stringData"] == "[secret]"
    assert admin.raw_inputs["stringData"]["admin-password"] == "[secret ml-platform:grafana_admin_password]"
    assert secret.outputs["grafana_admin_password"] == "[secret]"
    plain = runner.run("local", {"ml-platform:grafana_admin_password": "hunter2"})
    assert (
        plain.error
        and "grafana_admin_password: must be a secret (pulumi config set --secret "
        "ml-platform:grafana_admin_password <password>), got a plaintext value"
        in plain.error
    )


def test_a_model_with_drift_gets_its_cronjob_pushing_to_the_stack_pushgateway() -> None:
    drift = {
        "enabled": True,
        "drift": {
            "image": "registry.example.com/drift-job:0.1.0",
            "models": {
                "fraud": {"reference_uri": "s3://b/ref.parquet", "current_uri": "s3://b/cur/", "timestamp_column": "ts"}
            },
        },
    }
    result = runner.run("dev", {"ml-platform:observability": drift})
    assert result.error is None, result.error
    job = one(result.registrations, "kubernetes:batch/v1:CronJob").inputs
    assert job["metadata"] == {**job["metadata"], "name": "drift-fraud", "namespace": "monitoring"}
    command = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--pushgateway") + 1] == "http://prometheus-pushgateway.monitoring.svc:9091"
