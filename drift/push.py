"""Publish a drift result to the Pushgateway, grouped by job ``ml-drift`` and the model's name.

A push replaces the whole group, so the scores of columns that no longer exist disappear with the next run.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from .detect import DriftResult

JOB = "ml-drift"


def registry_for(result: DriftResult, threshold: float, finished: float | None = None) -> CollectorRegistry:
    registry = CollectorRegistry()
    Gauge("ml_drift_share", "Share of input columns that drifted (0-1)", registry=registry).set(result.share)
    Gauge("ml_drift_threshold", "Drifted share above which the model counts as drifted", registry=registry).set(
        threshold
    )
    Gauge("ml_drift_columns_drifted", "Number of drifted input columns", registry=registry).set(result.drifted)
    score = Gauge(
        "ml_drift_column_score",
        "Score of the column's drift test (see stattest)",
        ["column", "stattest"],
        registry=registry,
    )
    drifted = Gauge("ml_drift_column_drifted", "1 when the column drifted", ["column"], registry=registry)
    for column in result.columns:
        score.labels(column.column, column.stattest).set(column.score)
        drifted.labels(column.column).set(1 if column.drifted else 0)
    rows = Gauge("ml_drift_rows", "Rows compared", ["window"], registry=registry)
    rows.labels("reference").set(result.reference_rows)
    rows.labels("current").set(result.current_rows)
    Gauge("ml_drift_last_success_timestamp_seconds", "End time of the last successful check", registry=registry).set(
        finished if finished is not None else time.time()
    )
    return registry


def push(url: str, model: str, result: DriftResult, threshold: float, timeout_seconds: float = 30) -> None:
    push_to_gateway(
        url, job=JOB, grouping_key={"model": model}, registry=registry_for(result, threshold), timeout=timeout_seconds
    )
