"""MonitoringStack: pinned charts, values the charts really have, selectors that pick up the platform's objects,
dcgm-exporter only on GPU nodes, and the Grafana password kept out of the Helm values."""

from __future__ import annotations

import pytest

from components.common import ArgsError
from components.observability import (
    DASHBOARD_LABEL,
    MonitoringStack,
    MonitoringStackArgs,
    dcgm_values,
    kps_values,
)
from tests import k8s_schemas
from tests.conftest import by_type, one

RELEASE = "kubernetes:helm.sh/v3:Release"


def releases(regs):
    return {r.inputs["chart"]: r.inputs for r in by_type(regs, RELEASE)}


def test_defaults_install_pinned_charts_without_dcgm(mocked) -> None:
    regs = mocked.run(lambda: MonitoringStack("mon", MonitoringStackArgs()))
    charts = releases(regs)
    assert {c: v["version"] for c, v in charts.items()} == {
        "kube-prometheus-stack": "88.5.3",
        "prometheus-pushgateway": "3.2.0",
    }
    kps = charts["kube-prometheus-stack"]
    assert kps["name"] == "kube-prometheus-stack" and kps["namespace"] == "monitoring"
    assert kps["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    spec = kps["values"]["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "7d" and spec["retentionSize"] == "17GB" and spec["replicas"] == 1
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "20Gi"
    for kind in ("serviceMonitor", "podMonitor", "rule"):
        assert spec[f"{kind}Selector"] == {"matchLabels": {"release": "kube-prometheus-stack"}}
        assert spec[f"{kind}NamespaceSelector"] == {}  # every namespace


def test_grafana_password_goes_to_a_secret_not_to_the_values(mocked) -> None:
    regs = mocked.run(lambda: MonitoringStack("mon", MonitoringStackArgs(grafana_admin_password="s3cr3t-value")))
    secret = one(regs, "kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == "[secret]"  # the whole map is secret in state and in the preview
    assert secret.raw_inputs["stringData"] == {"admin-user": "admin", "admin-password": "s3cr3t-value"}
    grafana = releases(regs)["kube-prometheus-stack"]["values"]["grafana"]
    assert grafana["admin"] == {
        "existingSecret": "mon-grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert "s3cr3t-value" not in str(releases(regs))
    assert not by_type(regs, "random:index/randomPassword:RandomPassword")


def test_without_a_password_one_is_generated(mocked) -> None:
    regs = mocked.run(lambda: MonitoringStack("mon", MonitoringStackArgs()))
    one(regs, "random:index/randomPassword:RandomPassword")
    assert (
        one(regs, "kubernetes:core/v1:Secret").raw_inputs["stringData"]["admin-password"]
        == "[random mon-grafana-admin]"
    )


def test_dcgm_exporter_lands_only_on_gpu_nodes_and_is_scraped(mocked) -> None:
    regs = mocked.run(lambda: MonitoringStack("mon", MonitoringStackArgs(dcgm_exporter=True)))
    dcgm = releases(regs)["dcgm-exporter"]
    assert (
        dcgm["version"] == "4.8.2"
        and dcgm["repositoryOpts"]["repo"] == "https://nvidia.github.io/dcgm-exporter/helm-charts"
    )
    values = dcgm["values"]
    assert values["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}]}]
    assert values["serviceMonitor"]["additionalLabels"] == {"release": "kube-prometheus-stack"}
    assert values["serviceMonitor"]["honorLabels"] is True  # keeps the pod/namespace of the GPU's workload
    kps = one(regs, RELEASE, "kube-prometheus-stack")
    assert kps.urn in one(regs, RELEASE, "mon-dcgm-exporter").depends_on  # ServiceMonitor CRD first


def test_kube_state_metrics_exports_the_platform_labels() -> None:
    allow = kps_values(MonitoringStackArgs(), "s")["kube-state-metrics"]["metricLabelsAllowlist"]
    assert allow == [
        "pods=[ml-platform.io/model,ml-platform.io/model-version,ml-platform.io/endpoint,ml-platform.io/critical]",
        "nodes=[ml-platform.io/pool,ml-platform.io/accelerator,nvidia.com/gpu.present]",
    ]


def test_empty_dir_when_no_storage() -> None:
    spec = kps_values(MonitoringStackArgs(storage_gib=0), "s")["prometheus"]["prometheusSpec"]
    assert "storageSpec" not in spec and "retentionSize" not in spec


def test_values_keys_exist_in_the_charts() -> None:
    kps = kps_values(MonitoringStackArgs(storage_class="gp3"), "s")
    unknown = k8s_schemas.unknown_values_keys(kps, k8s_schemas.chart_values("kube-prometheus-stack"))
    assert unknown == []  # subchart keys (grafana, kube-state-metrics) are listed in tests/k8s_schemas.py
    assert (
        k8s_schemas.unknown_values_keys(dcgm_values(MonitoringStackArgs()), k8s_schemas.chart_values("dcgm-exporter"))
        == []
    )


def test_dashboard_label_is_the_one_the_chart_sidecar_watches() -> None:
    sidecar = k8s_schemas.chart_values("kube-prometheus-stack")["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["label"], sidecar["labelValue"]) == DASHBOARD_LABEL
    assert sidecar["searchNamespace"] == "ALL"


def test_problems_are_reported_together() -> None:
    with pytest.raises(ArgsError) as err:
        MonitoringStack("mon", MonitoringStackArgs(retention_days=0, storage_gib=-1, prometheus_replicas=9))
    assert err.value.problems == [
        "mon.retention_days: must be >= 1, got 0",
        "mon.storage_gib: must be >= 0, got -1",
        "mon.prometheus_replicas: must be 1 to 5, got 9",
    ]


def test_what_managed_control_planes_hide_is_neither_scraped_nor_alerted_on() -> None:
    from components.observability import ClusterDns, MonitoringStackArgs, kps_values

    values = kps_values(MonitoringStackArgs(), "admin")
    for key in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[key] == {"enabled": False}
    assert values["defaultRules"]["rules"] == {
        "etcd": False,
        "kubeControllerManager": False,
        "kubeSchedulerAlerting": False,
        "kubeSchedulerRecording": False,
        "kubeProxy": False,
    }
    assert (values["coreDns"], values["kubeDns"]) == ({"enabled": True}, {"enabled": False})
    gke = kps_values(MonitoringStackArgs(cluster_dns=ClusterDns.KUBE_DNS), "admin")
    assert (gke["coreDns"], gke["kubeDns"]) == ({"enabled": False}, {"enabled": True})  # GKE runs kube-dns
