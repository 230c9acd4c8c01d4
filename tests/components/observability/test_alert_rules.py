"""The platform's rules, proven with the real promtool on the exact text the ``PrometheusRule`` carries.

Every alert has at least one case where it fires on series that should trigger it and one where it stays silent on
healthy series (steady traffic, a canary within 30%, errors at 0.5%...). The series imitate what the exporters
really expose (label sets included), so a rule that reads a label the exporter does not have fails here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.common import ArgsError
from components.observability import AlertRules, AlertRulesArgs, alerts, rule_file
from tests.conftest import one

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian's prometheus package; `make system` installs it)"
)

ARGS = AlertRulesArgs(
    mlflow_job="mlflow",
    pool_hourly_prices_usd={"inference": 1.006, "batch": 0.322},
    latency_slo_ms_by_model={"ranker": 500},
)

POD = {"namespace": "models", "endpoint": "fraud", "model": "fraud"}
INFER = "/v2/models/{model_name}/infer"


def labels(**kv: str) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def server(
    version: str,
    rate_per_min: int,
    buckets: dict[str, int],
    failures_per_min: int = 0,
    model: str = "fraud",
    endpoint: str = "fraud",
) -> list[dict[str, str]]:
    """The series one MLServer pod exposes after relabelling: counters and the REST latency histogram.

    ``buckets`` maps ``le`` to how many of each minute's requests fall at or under it (cumulative).
    """
    base = dict(namespace="models", pod=f"{model}-{version}-0", model=model, model_version=version, endpoint=endpoint)
    series = [
        {
            "series": "model_infer_request_success_total" + labels(**base, version="None"),
            "values": f"0+{rate_per_min - failures_per_min}x120",
        }
    ]
    if failures_per_min:
        series.append(
            {
                "series": "model_infer_request_failure_total" + labels(**base, version="None"),
                "values": f"0+{failures_per_min}x120",
            }
        )
    for le, count in {**buckets, "+Inf": rate_per_min}.items():
        series.append(
            {
                "series": "rest_server_request_duration_seconds_bucket"
                + labels(**base, app_name="mlserver", method="POST", path=INFER, status_code="200", le=le),
                "values": f"0+{count}x120",
            }
        )
    return series


FAST = {"0.1": 600, "0.25": 600}  # every request under 100 ms: p95 = 95 ms


def run_promtool(
    tmp_path: Path,
    series: list[dict[str, str]],
    alert_tests: list[dict[str, Any]],
    expr_tests: list[dict[str, Any]] | None = None,
    args: AlertRulesArgs = ARGS,
) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule_file(args), sort_keys=False))
    test = {"interval": "1m", "input_series": series, "alert_rule_test": alert_tests}
    if expr_tests:
        test["promql_expr_test"] = expr_tests
    (tmp_path / "test.yaml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [test]}, sort_keys=False)
    )
    result = subprocess.run([PROMTOOL, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def silent(alertname: str, at: str = "30m") -> dict[str, Any]:
    return {"eval_time": at, "alertname": alertname, "exp_alerts": []}


def fires(alertname: str, at: str, labels_: dict[str, str], summary: str) -> dict[str, Any]:
    rule = next(a for a in alerts(ARGS) if a.name == alertname)
    return {
        "eval_time": at,
        "alertname": alertname,
        "exp_alerts": [
            {
                "exp_labels": labels_,
                "exp_annotations": {"summary": summary, "runbook": rule.runbook},
            }
        ],
    }


# --- the rule file itself ----------------------------------------------------------------------------------------


@pytest.mark.integration
@needs_promtool
def test_rendered_rule_file_passes_promtool_check(tmp_path: Path) -> None:
    for i, args in enumerate([ARGS, AlertRulesArgs()]):
        path = tmp_path / f"rules-{i}.yaml"
        path.write_text(yaml.safe_dump(rule_file(args), sort_keys=False))
        result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_platform_alerts_exist() -> None:
    names = {a.name for a in alerts(ARGS)}
    assert names == {
        "ModelLatencyHigh",
        "ModelHighErrorRate",
        "CanaryLatencyRegression",
        "GpuMemoryHigh",
        "GpuIdleWhileAllocated",
        "ScaleFromZeroSlow",
        "ModelInputDrift",
        "MlflowDown",
        "DriftCheckFailing",
        "ReleaseStuck",
    }
    assert "MlflowDown" not in {a.name for a in alerts(AlertRulesArgs())}  # no MLflow, no alert on it


def test_thresholds_reach_the_rule_text() -> None:
    text = yaml.safe_dump(
        rule_file(
            AlertRulesArgs(
                latency_slo_ms=350,
                error_rate_percent=2,
                canary_latency_margin_percent=50,
                gpu_memory_percent=90,
                scale_from_zero_budget_seconds=240,
            )
        )
    )
    for fragment in ("p95 > 0.35", "rate5m > 0.02", "p95 * 1.5", "ratio > 0.9", "> 240"):
        assert fragment in text


def test_invalid_thresholds_are_reported_together() -> None:
    with pytest.raises(ArgsError) as err:
        AlertRules(
            "r",
            AlertRulesArgs(error_rate_percent=150, canary_latency_margin_percent=-10, latency_slo_ms_by_model={"m": 0}),
        )
    assert err.value.problems == [
        "r.latency_slo_ms_by_model.m: must be > 0, got 0",
        "r.error_rate_percent: must be between 0 and 100, got 150",
        "r.canary_latency_margin_percent: must be > 0, got -10",
    ]


def test_component_deploys_the_same_text_as_a_prometheus_rule(mocked) -> None:
    regs = mocked.run(
        lambda: AlertRules(
            "ml-platform", AlertRulesArgs(**{**ARGS.__dict__, "selector_labels": {"release": "kube-prometheus-stack"}})
        )
    )
    rule = one(regs, "kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    assert rule.inputs["spec"] == rule_file(ARGS)
    assert rule.inputs["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule.parent == one(regs, "ml-platform:alert_rules:AlertRules").urn


# --- serving ------------------------------------------------------------------------------------------------------


@pytest.mark.integration
@needs_promtool
def test_latency_slo(tmp_path: Path) -> None:
    slow = {"0.1": 300, "0.25": 300, "0.5": 600}  # half under 100 ms, the rest under 500 ms: p95 = 475 ms
    series = server("v1", 600, FAST) + server("v2", 600, slow, endpoint="fraud-b")
    series += server("v1", 600, slow, model="ranker", endpoint="ranker")  # 475 ms is within ranker's own 500 ms SLO
    run_promtool(
        tmp_path,
        series,
        [
            silent("ModelLatencyHigh", "5m"),  # slow, but not yet for 10 minutes
            fires(
                "ModelLatencyHigh",
                "20m",
                {
                    "severity": "critical",
                    "slo_ms": "200",
                    "namespace": "models",
                    "model": "fraud",
                    "model_version": "v2",
                    "endpoint": "fraud-b",
                },
                "p95 latency of fraud v2 is 475ms (SLO 200 ms)",
            ),
        ],
    )


@pytest.mark.integration
@needs_promtool
def test_error_rate(tmp_path: Path) -> None:
    series = server("v1", 600, FAST, failures_per_min=3)  # 0.5%: healthy
    run_promtool(tmp_path, series, [silent("ModelHighErrorRate")])
    series = server("v1", 600, FAST, failures_per_min=12)  # 2%
    run_promtool(
        tmp_path,
        series,
        [
            fires(
                "ModelHighErrorRate",
                "20m",
                {"severity": "critical", **POD, "model_version": "v1"},
                "fraud v1 fails 2% of requests (limit 1%)",
            )
        ],
    )


@pytest.mark.integration
@needs_promtool
def test_canary_within_30_percent_is_silent(tmp_path: Path) -> None:
    # stable v1 takes 90% of traffic; the canary's p95 is 121.4 ms against the stable's 95 ms (+27.8%)
    series = server("v1", 5400, {"0.1": 5400}) + server("v2", 600, {"0.1": 565, "0.25": 600})
    run_promtool(
        tmp_path,
        series,
        [silent("CanaryLatencyRegression")],
        [
            {
                "expr": "round(ml_platform:model_latency_seconds:p95, 0.0001)",
                "eval_time": "30m",
                "exp_samples": [
                    {"labels": f"{{{k}}}", "value": v}
                    for k, v in (
                        ('namespace="models", model="fraud", model_version="v1", endpoint="fraud"', 0.095),
                        ('namespace="models", model="fraud", model_version="v2", endpoint="fraud"', 0.1214),
                    )
                ],
            }
        ],
    )


@pytest.mark.integration
@needs_promtool
def test_slow_canary_fires_and_a_single_version_never_does(tmp_path: Path) -> None:
    series = server("v1", 540, {"0.1": 540}) + server("v2", 60, {"0.1": 30, "0.25": 60})  # canary p95 = 235 ms
    series += server(
        "v1", 600, {"0.1": 0, "0.25": 600}, model="solo", endpoint="solo"
    )  # one version, slow: not a canary
    run_promtool(
        tmp_path,
        series,
        [
            fires(
                "CanaryLatencyRegression",
                "20m",
                {"severity": "critical", **POD, "model_version": "v2"},
                "canary v2 of fraud is more than 30% slower (p95) than the stable version",
            )
        ],
    )


def pod_state(pod: str, created_s: int, ready_s: int | None, critical: str = "false") -> list[dict[str, str]]:
    ksm = dict(job="kube-state-metrics", namespace="models", pod=pod, uid=f"uid-{pod}")
    series = [
        {"series": "kube_pod_created" + labels(**ksm), "values": f"{created_s}x60"},
        {
            "series": "kube_pod_labels"
            + labels(
                **ksm,
                label_ml_platform_io_model="fraud",
                label_ml_platform_io_model_version="v1",
                label_ml_platform_io_endpoint="fraud",
                label_ml_platform_io_critical=critical,
            ),
            "values": "1x60",
        },
    ]
    if ready_s is not None:
        series.append({"series": "kube_pod_status_ready_time" + labels(**ksm), "values": f"{ready_s}x60"})
    return series


@pytest.mark.integration
@needs_promtool
def test_scale_from_zero_within_budget_is_silent(tmp_path: Path) -> None:
    series = pod_state("fast", 60, 180) + pod_state("critical-slow", 60, 900, critical="true")
    run_promtool(tmp_path, series, [silent("ScaleFromZeroSlow", "20m")])


@pytest.mark.integration
@needs_promtool
def test_scale_from_zero_over_budget_fires_ready_or_not(tmp_path: Path) -> None:
    series = pod_state("slow", 60, 460) + pod_state("stuck", 60, None)
    base = {
        "severity": "warning",
        "namespace": "models",
        "model": "fraud",
        "model_version": "v1",
        "endpoint": "fraud",
        "job": "kube-state-metrics",
        "uid": "",
    }
    run_promtool(
        tmp_path,
        series,
        [
            {
                "eval_time": "10m",
                "alertname": "ScaleFromZeroSlow",
                "exp_alerts": [
                    {
                        "exp_labels": {**base, "pod": "slow", "uid": "uid-slow"},
                        "exp_annotations": {
                            "summary": "fraud v1 took 6m 40s to become ready (budget 300s)",
                            "runbook": _runbook("ScaleFromZeroSlow"),
                        },
                    },
                    {
                        "exp_labels": {**base, "pod": "stuck", "uid": "uid-stuck"},
                        "exp_annotations": {
                            "summary": "fraud v1 took 9m 0s to become ready (budget 300s)",
                            "runbook": _runbook("ScaleFromZeroSlow"),
                        },
                    },
                ],
            }
        ],
    )


def _runbook(name: str) -> str:
    return next(a for a in alerts(ARGS) if a.name == name).runbook


# --- GPUs ---------------------------------------------------------------------------------------------------------

GPU = dict(
    gpu="0",
    UUID="GPU-8f1c",
    device="nvidia0",
    modelName="NVIDIA A10G",
    Hostname="ip-10-20-1-7",
    DCGM_FI_DRIVER_VERSION="580.95.05",
    container="kserve-container",
    namespace="models",
    pod="fraud-v1-0",
)


@pytest.mark.integration
@needs_promtool
def test_gpu_memory(tmp_path: Path) -> None:
    ok = [
        {"series": "DCGM_FI_DEV_FB_USED" + labels(**GPU), "values": "12000x60"},
        {"series": "DCGM_FI_DEV_FB_FREE" + labels(**GPU), "values": "10000x60"},
    ]
    run_promtool(tmp_path, ok, [silent("GpuMemoryHigh")])
    full = [
        {"series": "DCGM_FI_DEV_FB_USED" + labels(**GPU), "values": "20000x60"},
        {"series": "DCGM_FI_DEV_FB_FREE" + labels(**GPU), "values": "2000x60"},
    ]
    run_promtool(
        tmp_path,
        full,
        [
            fires(
                "GpuMemoryHigh",
                "20m",
                {"severity": "warning", **GPU},
                "GPU 0 on ip-10-20-1-7 (fraud-v1-0) uses 90.91% of its memory",
            )
        ],
    )


@pytest.mark.integration
@needs_promtool
def test_gpu_idle_while_allocated(tmp_path: Path) -> None:
    busy = [
        {"series": "DCGM_FI_DEV_GPU_UTIL" + labels(**GPU), "values": "40x90"},
        {
            "series": "DCGM_FI_DEV_GPU_UTIL"
            + labels(**{**GPU, "gpu": "1", "pod": "", "namespace": "", "container": ""}),
            "values": "0x90",
        },
    ]  # idle but free: fine
    run_promtool(tmp_path, busy, [silent("GpuIdleWhileAllocated", "60m")])
    idle = [{"series": "DCGM_FI_DEV_GPU_UTIL" + labels(**GPU), "values": "1x90"}]
    run_promtool(
        tmp_path,
        idle,
        [
            silent("GpuIdleWhileAllocated", "25m"),  # idle, but not for 30 minutes yet
            fires(
                "GpuIdleWhileAllocated",
                "60m",
                {"severity": "warning", **GPU},
                "fraud-v1-0 holds GPU 0 on ip-10-20-1-7 but uses 1% of it",
            ),
        ],
    )


# --- drift and MLflow ---------------------------------------------------------------------------------------------


@pytest.mark.integration
@needs_promtool
def test_drift_above_threshold(tmp_path: Path) -> None:
    pushed = dict(job="ml-drift", instance="", model="fraud")
    series = [
        {"series": "ml_drift_threshold" + labels(**pushed), "values": "0.3x30"},
        {"series": "ml_drift_share" + labels(**pushed), "values": "0.1x10 0.6x20"},
    ]
    run_promtool(
        tmp_path,
        series,
        [
            silent("ModelInputDrift", "5m"),
            fires(
                "ModelInputDrift",
                "20m",
                {"severity": "warning", "model": "fraud"},
                "60% of the input columns of fraud drifted",
            ),
        ],
    )


@pytest.mark.integration
@needs_promtool
def test_drift_check_failing(tmp_path: Path) -> None:
    ksm = dict(job="kube-state-metrics", namespace="monitoring")
    # hourly check: runs at 0 and 60 min succeed; then it fails from the run at 120 min on
    ok = [
        {
            "series": "kube_cronjob_status_last_schedule_time" + labels(**ksm, cronjob="drift-fraud"),
            "values": "0x59 3600x60 7200x120",
        },
        {
            "series": "kube_cronjob_status_last_successful_time" + labels(**ksm, cronjob="drift-fraud"),
            "values": "60x59 3660x180",
        },
        {"series": "kube_cronjob_status_last_schedule_time" + labels(**ksm, cronjob="other-job"), "values": "0x240"},
    ]
    base = {"severity": "warning", "namespace": "monitoring", "cronjob": "drift-fraud"}
    summary = "the drift check monitoring/drift-fraud has not succeeded since its last schedule"
    run_promtool(
        tmp_path,
        ok,
        [
            silent("DriftCheckFailing", "110m"),
            fires("DriftCheckFailing", "200m", base, summary),
        ],
    )
    never = [
        {"series": "kube_cronjob_status_last_schedule_time" + labels(**ksm, cronjob="drift-fraud"), "values": "0x120"}
    ]
    run_promtool(
        tmp_path, never, [silent("DriftCheckFailing", "50m"), fires("DriftCheckFailing", "90m", base, summary)]
    )


@pytest.mark.integration
@needs_promtool
def test_mlflow_down(tmp_path: Path) -> None:
    target = dict(job="mlflow", namespace="mlflow", pod="mlflow-0", instance="10.0.0.5:5000")
    run_promtool(tmp_path, [{"series": "up" + labels(**target), "values": "1x30"}], [silent("MlflowDown")])
    summary = "MLflow tracking server and model registry are unreachable"
    run_promtool(
        tmp_path,
        [{"series": "up" + labels(**target), "values": "1x5 0x30"}],
        [fires("MlflowDown", "20m", {"severity": "critical"}, summary)],
    )
    run_promtool(
        tmp_path,
        [{"series": "up" + labels(job="other"), "values": "1x30"}],
        [  # never scraped at all
            fires("MlflowDown", "20m", {"severity": "critical", "job": "mlflow"}, summary)
        ],
    )


# --- recording rules: cost and GPU hours ----------------------------------------------------------------------------


COST_ARGS = AlertRulesArgs(pool_hourly_prices_usd={"system": 0.096, "inference": 0.402})
"""An m6i.large system pool and a spot g5.xlarge pool time-sliced four ways."""

KSM = dict(job="kube-state-metrics")


def node(name: str, pool: str, cpus: int, gpus: int = 0) -> list[dict[str, str]]:
    """A node as kube-state-metrics describes it: its pool label, allocatable vCPUs and GPUs, GPU capacity."""
    series = [
        {"series": "kube_node_labels" + labels(**KSM, node=name, label_ml_platform_io_pool=pool), "values": "1x150"},
        {
            "series": "kube_node_status_allocatable" + labels(**KSM, node=name, resource="cpu", unit="core"),
            "values": f"{cpus}x150",
        },
    ]
    if gpus:
        for metric in ("kube_node_status_allocatable", "kube_node_status_capacity"):
            series.append(
                {
                    "series": metric + labels(**KSM, node=name, resource="nvidia_com_gpu", unit="integer"),
                    "values": f"{gpus}x150",
                }
            )
    return series


def pod(name: str, on: str, cpu: float, gpus: int = 0, model: str | None = None) -> list[dict[str, str]]:
    """A pod's requests (one container) and, for a model server, its ``ml-platform.io/*`` labels."""
    where = dict(**KSM, namespace="models", pod=name)
    series = [
        {
            "series": "kube_pod_container_resource_requests"
            + labels(**where, container="kserve-container", node=on, resource=resource, unit=unit),
            "values": f"{value:g}x150",
        }
        for resource, unit, value in (("cpu", "core", cpu), ("nvidia_com_gpu", "integer", gpus))
        if value
    ]
    if model:
        series.append(
            {
                "series": "kube_pod_labels"
                + labels(
                    **where,
                    uid=f"uid-{name}",
                    label_ml_platform_io_model=model,
                    label_ml_platform_io_model_version="v1",
                    label_ml_platform_io_endpoint=model,
                    label_ml_platform_io_critical="false",
                ),
                "values": "1x150",
            }
        )
    return series


def sample(expr: str, value: float, **label_set: str) -> dict[str, Any]:
    return {
        "expr": f"round({expr}, 0.000001)",
        "eval_time": "2h",
        "exp_samples": [{"labels": labels(**label_set) if label_set else "{}", "value": value}],
    }


@pytest.mark.integration
@needs_promtool
def test_cost_per_thousand_inferences_per_model_version_and_hardware(tmp_path: Path) -> None:
    # A CPU endpoint (churn: 1 of the system node's 2 vCPUs, 600 inferences a minute) and a GPU endpoint
    # (embeddings: 1 of the GPU node's 4 time-sliced GPUs, 60 a minute) side by side; Prometheus also runs on the
    # system node and belongs to no model.
    series = node("sys-1", "system", cpus=2) + node("gpu-1", "inference", cpus=4, gpus=4)
    series += pod("churn-v1-0", "sys-1", cpu=1, model="churn") + pod("prometheus-0", "sys-1", cpu=0.5)
    series += pod("embeddings-v1-0", "gpu-1", cpu=1, gpus=1, model="embeddings")
    series += server("v1", 600, FAST, model="churn", endpoint="churn")
    series += server("v1", 60, FAST, model="embeddings", endpoint="embeddings")
    churn = dict(namespace="models", model="churn", model_version="v1", endpoint="churn", hardware="cpu")
    embeddings = dict(namespace="models", model="embeddings", model_version="v1", endpoint="embeddings", hardware="gpu")
    run_promtool(
        tmp_path,
        series,
        [],
        [
            # churn holds half the m6i.large (0.096 $/h): 0.048 $/h; its GPU-less pod is never charged GPU.
            {
                "expr": "round(ml_platform:model_version_cost_usd_per_hour, 0.000001)",
                "eval_time": "2h",
                "exp_samples": [
                    {"labels": labels(**churn), "value": 0.048},
                    # embeddings holds a quarter of the g5.xlarge (0.402 $/h), not a share of its vCPUs.
                    {"labels": labels(**embeddings), "value": 0.1005},
                ],
            },
            # 0.048 $ for 36,000 inferences and 0.1005 $ for 3,600 in the last hour.
            {
                "expr": "round(ml_platform:cost_per_1k_inferences_usd, 0.000001)",
                "eval_time": "2h",
                "exp_samples": [
                    {"labels": labels(**churn), "value": 0.001333},
                    {"labels": labels(**embeddings), "value": 0.027917},
                ],
            },
            sample('ml_platform:cost_per_1k_inferences_usd:by_hardware{hardware="gpu"}', 0.027917, hardware="gpu"),
            sample('ml_platform:cost_per_1k_inferences_usd:by_hardware{hardware="cpu"}', 0.001333, hardware="cpu"),
            # 0.498 $/h of nodes, 0.1485 $/h held by model versions: the rest (Prometheus, idle capacity) is not.
            sample("ml_platform:unattributed_cost_usd_per_hour", 0.3495),
            sample(
                'ml_platform:model_version_inferences:1h{model="churn"}',
                36000,
                **{k: churn[k] for k in churn if k != "hardware"},
            ),
            sample(
                'ml_platform:node_pool_cost_usd_per_hour{pool="inference"}',
                0.402,
                pool="inference",
            ),
            sample("ml_platform:gpu_hours_provisioned:1h", 4, pool="inference"),
            sample("ml_platform:gpu_hours:1h", 1, namespace="models", model="embeddings"),
        ],
        args=COST_ARGS,
    )


@pytest.mark.integration
@needs_promtool
def test_a_version_that_scaled_to_zero_pays_only_for_the_time_it_ran(tmp_path: Path) -> None:
    series = node("sys-1", "system", cpus=2)
    # churn's pod runs for the first 90 minutes, then the version scales to zero. At 2 h its series were seen
    # from minute 60 to 94 (Prometheus keeps a vanished series for 5 minutes): 35 of the hour's 60 evaluations.
    churn = pod("churn-v1-0", "sys-1", cpu=1, model="churn")
    for s in churn:
        s["values"] = s["values"].split("x")[0] + "x89 _x60"
    series += churn
    series += server("v1", 600, FAST, model="churn", endpoint="churn")
    run_promtool(
        tmp_path,
        series,
        [],
        [
            sample(
                "ml_platform:model_version_cost_usd:1h",
                0.028,
                namespace="models",
                model="churn",
                model_version="v1",
                endpoint="churn",
                hardware="cpu",
            )
        ],
        args=COST_ARGS,
    )


def test_docs_list_every_alert_with_its_runbook_line() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "monitoring.md").read_text()
    for alert in alerts(ARGS):
        assert f"| `{alert.name}` | {alert.severity.value} |" in docs
        assert alert.runbook in docs, alert.name


# --- releases -----------------------------------------------------------------------------------------------------


@needs_promtool
def test_a_release_without_decision_past_its_deadline_is_stuck(tmp_path: Path) -> None:
    def release(endpoint: str, active: int, deadline_s: int) -> list[dict[str, str]]:
        lab = {"job": "release-controller", "namespace": "ml-serving", "endpoint": endpoint}
        return [
            {"series": "ml_platform_release_active" + labels(**lab), "values": f"{active}x40"},
            {"series": "ml_platform_release_deadline_timestamp_seconds" + labels(**lab), "values": f"{deadline_s}x40"},
        ]

    # iris must decide by t=600 s and has not; churn has no open release (deadline exported as 0).
    series = release("iris", 1, 600) + release("churn", 0, 0)
    lab = {"severity": "warning", "job": "release-controller", "namespace": "ml-serving", "endpoint": "iris"}
    summary = "the release on iris has no decision past its analysis time and margin"
    run_promtool(tmp_path, series, [silent("ReleaseStuck", "5m"), fires("ReleaseStuck", "15m", lab, summary)])
    run_promtool(tmp_path, release("iris", 0, 0), [silent("ReleaseStuck", "15m")])
