"""ScrapeTargets: PodMonitors that validate against the upstream CRD, selected by the chart's Prometheus."""

from __future__ import annotations

import pytest

from components.common import ArgsError
from components.observability import ScrapeTargets, ScrapeTargetsArgs, pod_monitors
from tests import k8s_schemas
from tests.conftest import by_type

ALL = ScrapeTargetsArgs(
    selector_labels={"release": "kube-prometheus-stack"},
    mlflow_namespace="mlflow",
    mlflow_pod_labels={"app.kubernetes.io/name": "mlflow"},
    mlflow_port=5000,
    gateway_namespace="envoy-gateway-system",
    keda_namespace="keda",
    interceptor_namespace="ml-serving",
)


def test_model_servers_get_the_platform_labels() -> None:
    spec = pod_monitors(ScrapeTargetsArgs())["model-servers"]
    assert spec["selector"] == {"matchExpressions": [{"key": "ml-platform.io/model", "operator": "Exists"}]}
    assert spec["namespaceSelector"] == {"any": True}
    [endpoint] = spec["podMetricsEndpoints"]
    assert endpoint["portNumber"] == 8082 and endpoint["path"] == "/metrics"
    assert [(r["sourceLabels"], r["targetLabel"]) for r in endpoint["relabelings"]] == [
        (["__meta_kubernetes_pod_label_ml_platform_io_model"], "model"),
        (["__meta_kubernetes_pod_label_ml_platform_io_model_version"], "model_version"),
        (["__meta_kubernetes_pod_label_ml_platform_io_endpoint"], "endpoint"),
    ]


def test_only_what_exists_is_scraped() -> None:
    assert set(pod_monitors(ScrapeTargetsArgs())) == {"model-servers"}
    assert set(pod_monitors(ALL)) == {
        "model-servers",
        "mlflow",
        "envoy-gateway-proxies",
        "keda-operator",
        "keda-http-interceptor",
    }
    mlflow = pod_monitors(ALL)["mlflow"]["podMetricsEndpoints"][0]
    assert {"targetLabel": "job", "replacement": "mlflow", "action": "replace"} in mlflow["relabelings"]
    assert "model-servers" not in pod_monitors(ScrapeTargetsArgs(model_servers=False))


def test_the_interceptor_is_scraped_where_it_runs_on_its_undeclared_metrics_port() -> None:
    # The chart declares only the admin and proxy ports: the target is the admin port's, readdressed to 2223.
    spec = pod_monitors(ALL)["keda-http-interceptor"]
    assert spec["namespaceSelector"] == {"matchNames": ["ml-serving"]}
    [endpoint] = spec["podMetricsEndpoints"]
    assert endpoint["port"] == "admin"
    assert endpoint["relabelings"] == [
        {
            "sourceLabels": ["__meta_kubernetes_pod_ip"],
            "regex": "(.+)",
            "targetLabel": "__address__",
            "replacement": "$1:2223",
            "action": "replace",
        }
    ]


def test_pod_monitors_validate_and_carry_the_selector_label(mocked) -> None:
    regs = mocked.run(lambda: ScrapeTargets("scrape", ALL))
    monitors = by_type(regs, "kubernetes:monitoring.coreos.com/v1:PodMonitor")
    assert len(monitors) == 5
    for reg in monitors:
        assert reg.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        assert k8s_schemas.validate_object(reg.inputs, "1.35") == []


def test_mlflow_needs_pod_labels() -> None:
    with pytest.raises(ArgsError) as err:
        ScrapeTargets("s", ScrapeTargetsArgs(mlflow_namespace="mlflow", interval_seconds=1))
    assert err.value.problems == [
        "s.interval_seconds: must be 5 to 300, got 1",
        "s.mlflow_pod_labels: must select the MLflow pods, got {}",
    ]


def test_mlflow_with_basic_auth_is_scraped_with_its_credentials_from_its_own_namespace() -> None:
    from components.observability import ScrapeTargetsArgs, monitor_namespace, pod_monitors

    args = ScrapeTargetsArgs(
        mlflow_namespace="mlflow",
        mlflow_pod_labels={"app.kubernetes.io/name": "mlflow"},
        mlflow_basic_auth_secret="mlflow-secrets",
    )
    endpoint = pod_monitors(args)["mlflow"]["podMetricsEndpoints"][0]
    assert endpoint["basicAuth"] == {
        "username": {"name": "mlflow-secrets", "key": "admin-username"},
        "password": {"name": "mlflow-secrets", "key": "admin-password"},
    }
    assert monitor_namespace(args, "mlflow") == "mlflow"  # a PodMonitor reads Secrets of its own namespace
    assert monitor_namespace(args, "model-servers") == "monitoring"
    no_auth = ScrapeTargetsArgs(mlflow_namespace="mlflow", mlflow_pod_labels={"app.kubernetes.io/name": "mlflow"})
    assert "basicAuth" not in pod_monitors(no_auth)["mlflow"]["podMetricsEndpoints"][0]
    assert monitor_namespace(no_auth, "mlflow") == "monitoring"
