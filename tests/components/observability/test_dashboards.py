"""Dashboards: built from code to valid JSON, shipped for the sidecar, and querying only metrics that exist."""

from __future__ import annotations

import json
import re

import pytest

from components.observability import (
    AlertRulesArgs,
    Dashboards,
    DashboardsArgs,
    all_dashboards,
    queries,
    recorded_names,
    rule_file,
)
from tests.conftest import by_type
from tests.metric_catalog import EXPORTED

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (strings, matchers, ranges, grouping labels and functions removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", text.strip())  # its second argument is a label
    names = set()
    for match in re.finditer(r"(?<![\w$:.])[A-Za-z_:][\w:]*", text):
        if not text[match.end() :].lstrip().startswith("("):  # a function call, not a metric
            names.add(match.group())
    return names - KEYWORDS


def test_metric_name_extraction() -> None:
    assert metric_names('sum by (a) (rate(x_total{b="c{d}"}[5m])) / on (e) group_left y') == {"x_total", "y"}
    assert metric_names("label_values(ml_drift_share, model)") == {"ml_drift_share"}
    assert metric_names('label_values(m{namespace=~"$namespace"}, model)') == {"m"}


def test_the_four_dashboards_render_to_json() -> None:
    boards = all_dashboards()
    assert set(boards) == {"ml-platform-serving", "ml-platform-gpu", "ml-platform-cost", "ml-platform-drift"}
    for uid, model in boards.items():
        again = json.loads(json.dumps(model))
        assert again["uid"] == uid and again["panels"] and again["schemaVersion"] >= 39
        ids = [p["id"] for p in again["panels"]]
        assert len(ids) == len(set(ids))
        for panel in again["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
                assert all(t["refId"] for t in panel["targets"])


def test_every_query_reads_only_metrics_that_exist() -> None:
    known = set(EXPORTED) | recorded_names(AlertRulesArgs(mlflow_job="mlflow", pool_hourly_prices_usd={"p": 1.0}))
    for uid, model in all_dashboards().items():
        for expr in queries(model):
            names = metric_names(expr)
            assert names <= known, f"{uid}: {expr} reads unknown {names - known}"


def test_every_rule_reads_only_metrics_that_exist() -> None:
    args = AlertRulesArgs(mlflow_job="mlflow", pool_hourly_prices_usd={"p": 1.0})
    known = set(EXPORTED) | recorded_names(args)
    for group in rule_file(args)["groups"]:
        for rule in group["rules"]:
            names = metric_names(rule["expr"])
            assert names <= known, f"{rule.get('alert') or rule.get('record')} reads unknown {names - known}"


def test_the_main_views_are_there() -> None:
    titles = {uid: {p["title"] for p in m["panels"]} for uid, m in all_dashboards().items()}
    assert {
        "Requests per second",
        "Latency p50 / p95 / p99",
        "Error rate",
        "Ready replicas",
        "Average batch size",
        "Batch fill: requests queued when each request arrived (adaptive batching)",
        "CPU used (cores)",
        "Memory working set",
        "GPU utilisation",
        "GPU memory used",
    } <= titles["ml-platform-serving"]
    assert {"Utilisation", "Memory used", "Temperature"} <= titles["ml-platform-gpu"]
    assert {
        "Per hardware: production against the FinOps report",
        "Per model version",
        "Cost per hour by model version",
    } <= titles["ml-platform-cost"]
    assert {"Drifted share of columns", "Per-column drift score"} <= titles["ml-platform-drift"]


def test_config_maps_carry_the_sidecar_label(mocked) -> None:
    regs = mocked.run(lambda: Dashboards("dashboards", DashboardsArgs()))
    maps = by_type(regs, "kubernetes:core/v1:ConfigMap")
    assert sorted(m.name for m in maps) == [
        "dashboards-cost",
        "dashboards-drift",
        "dashboards-gpu",
        "dashboards-serving",
    ]
    for m in maps:
        assert m.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
        [(key, text)] = m.inputs["data"].items()
        assert key == f"{m.inputs['metadata']['name']}.json" and json.loads(text)["uid"] == m.inputs["metadata"]["name"]


@pytest.mark.integration
def test_every_query_parses_as_promql(tmp_path) -> None:
    """promtool parses each panel query (template variables replaced by what Grafana sends for "All")."""
    import shutil
    import subprocess

    import yaml

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian's prometheus package; `make system` installs it)")
    exprs = [e for m in all_dashboards().values() for e in queries(m) if not e.startswith("label_values(")]
    exprs = [re.sub(r"\$__(range|rate_interval)", "1h", e) for e in exprs]  # durations Grafana fills in
    rules = [{"record": f"dashboard:query_{i}", "expr": re.sub(r"\$\w+", ".*", e)} for i, e in enumerate(exprs)]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", "--lint=none", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_resource_panels_join_cadvisor_and_dcgm_to_the_model_version() -> None:
    serving = all_dashboards()["ml-platform-serving"]
    panels = {p["title"]: p for p in serving["panels"]}
    for title, metric in (
        ("CPU used (cores)", "container_cpu_usage_seconds_total"),
        ("Memory working set", "container_memory_working_set_bytes"),
        ("GPU utilisation", "DCGM_FI_DEV_GPU_UTIL"),
        ("GPU memory used", "DCGM_FI_DEV_FB_USED"),
    ):
        [target] = panels[title]["targets"]
        assert (
            metric in target["expr"]
            and "group_left (model, model_version) ml_platform:model_pod_info" in target["expr"]
        )
    batch = panels["Batch fill: requests queued when each request arrived (adaptive batching)"]
    assert batch["type"] == "bargauge" and batch["targets"][0]["format"] == "heatmap"
    assert batch["targets"][0]["expr"].startswith("sum by (le) (increase(batch_request_queue_bucket{")


def test_the_cost_board_shows_the_finops_reports_figures_beside_production() -> None:
    board = all_dashboards({"cpu m6i.large (report, measured)": 0.00012})["ml-platform-cost"]
    [panel] = [p for p in board["panels"] if p["title"] == "Per hardware: production against the FinOps report"]
    assert [(t["expr"], t["legendFormat"]) for t in panel["targets"]] == [
        ('ml_platform:cost_per_1k_inferences_usd:by_hardware{hardware="cpu"}', "CPU endpoints (production)"),
        ('ml_platform:cost_per_1k_inferences_usd:by_hardware{hardware="gpu"}', "GPU endpoints (production)"),
        ("vector(0.00012)", "cpu m6i.large (report, measured)"),
    ]
