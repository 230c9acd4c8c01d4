"""The canary analysis runs the alert rules' own PromQL: built from the same functions, the text is identical."""

from __future__ import annotations

from components.observability import AlertRulesArgs
from components.observability._alert_rules import rule_file
from release.queries import errors_rate, latency_p95, promql_range, requests_rate


def records() -> dict[str, str]:
    return {r["record"]: r["expr"] for g in rule_file(AlertRulesArgs())["groups"] for r in g["rules"] if "record" in r}


def test_the_queries_are_the_recording_rules_with_a_selector_and_a_range() -> None:
    rec = records()
    assert latency_p95("5m") == rec["ml_platform:model_latency_seconds:p95"]
    assert requests_rate("5m") == rec["ml_platform:model_requests:rate5m"]
    assert errors_rate("5m") == rec["ml_platform:model_errors:rate5m"]
    assert (
        rec["ml_platform:model_error_ratio:rate5m"]
        == "ml_platform:model_errors:rate5m / ml_platform:model_requests:rate5m"
    )


def test_a_selector_narrows_to_one_version_without_changing_the_expression() -> None:
    sel = 'namespace="ml-serving",endpoint="iris",model_version="green"'
    assert latency_p95("20s", sel) == latency_p95("20s").replace('infer"}', f'infer",{sel}}}')
    assert promql_range(300) == "300s" and promql_range(0.2) == "1s"
