"""The canary analysis's PromQL, and Prometheus's HTTP API read with plain HTTP.

The expressions are the alert rules' own (``components/observability/_alert_rules.py``: the p95 latency and error
ratio records that ``ModelLatencyHigh``, ``ModelHighErrorRate`` and ``CanaryLatencyRegression`` read), with two
differences that change what is selected, not what is computed: a selector for one endpoint's one version inside
the braces, and the range as a parameter (the rules use 5m). A unit test builds the rule text from these
functions with ``5m`` and no selector and compares it with the deployed rules, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx

SERIES = "namespace, model, model_version, endpoint"
INFER_PATHS = 'path=~"/v2/models/.+/infer"'


def _sel(*parts: str) -> str:
    return "{" + ",".join(p for p in parts if p) + "}"


def requests_rate(window: str, selector: str = "") -> str:
    by = f"sum by ({SERIES})"
    ok = f"rate(model_infer_request_success_total{_sel(selector) if selector else ''}[{window}])"
    bad = f"rate(model_infer_request_failure_total{_sel(selector) if selector else ''}[{window}])"
    return f"{by} ({ok}) + {by} ({bad}) or {by} ({ok})"


def errors_rate(window: str, selector: str = "") -> str:
    return f"sum by ({SERIES}) (rate(model_infer_request_failure_total{_sel(selector) if selector else ''}[{window}]))"


def latency_p95(window: str, selector: str = "") -> str:
    return (
        f"histogram_quantile(0.95, sum by ({SERIES}, le) "
        f"(rate(rest_server_request_duration_seconds_bucket{_sel(INFER_PATHS, selector)}[{window}])))"
    )


def error_ratio(window: str, selector: str = "") -> str:
    """Failed share of requests: ``errors / requests``, as the ``model_error_ratio`` record divides its two records."""
    return f"({errors_rate(window, selector)}) / ({requests_rate(window, selector)})"


def version_selector(namespace: str, endpoint: str, model_version: str) -> str:
    return f'namespace="{namespace}",endpoint="{endpoint}",model_version="{model_version}"'


def promql_range(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds))}s"


@dataclass
class VersionNumbers:
    """One version over one window."""

    p95_seconds: float | None
    error_ratio: float | None
    requests: float
    """Requests served in the window (rate x window)."""
    queries: dict[str, str]


class Prometheus:
    """Instant queries on ``/api/v1/query`` (Prometheus's documented HTTP API)."""

    def __init__(self, url: str, timeout_seconds: float = 10) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_seconds)

    def scalar(self, query: str) -> float | None:
        """The value of a one-series instant vector; None when the vector is empty or NaN."""
        response = self.http.get("/api/v1/query", params={"query": query})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus refused {query!r}: {body.get('error')}")
        result = body["data"]["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) or math.isinf(value) else value

    def version(self, namespace: str, endpoint: str, model_version: str, window_seconds: float) -> VersionNumbers:
        window = promql_range(window_seconds)
        seconds = float(window[:-1])
        sel = version_selector(namespace, endpoint, model_version)
        queries = {
            "p95_seconds": latency_p95(window, sel),
            "error_ratio": error_ratio(window, sel),
            "requests_per_second": requests_rate(window, sel),
        }
        rate = self.scalar(queries["requests_per_second"]) or 0.0
        return VersionNumbers(
            p95_seconds=self.scalar(queries["p95_seconds"]),
            error_ratio=self.scalar(queries["error_ratio"]),
            requests=rate * seconds,
            queries=queries,
        )
