"""What each dashboard shows: panels as (PromQL, legend) pairs, grouped in rows. :mod:`.dashboards` turns them into
Grafana's JSON model and ships them.

Why apart from the rendering: the queries are the part reviewers read and change; each one reads a metric an
exporter really exposes or a recording rule of :mod:`.alert_rules` / :mod:`.cost_rules`, which the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass

SEL = 'namespace=~"$namespace", model=~"$model"'

CONTAINERS = 'container!="", container!="POD"'
"""cAdvisor series of containers (not the pod's cgroup or its pause container)."""

ON_POD = f"* on (namespace, pod) group_left (model, model_version) ml_platform:model_pod_info{{{SEL}}}"
"""Joins a per-pod series (cAdvisor, DCGM) to the model version the pod serves."""

LEGEND = "{{model}} {{model_version}}"


@dataclass(frozen=True)
class Graph:
    """One panel: a title, a unit, and its queries as (PromQL, legend)."""

    title: str
    unit: str
    queries: tuple[tuple[str, str], ...]
    kind: str = "timeseries"
    """``timeseries``, ``stat``, ``table``, or ``histogram`` (a bar gauge of a Prometheus histogram's buckets over
    the dashboard's time range: the query sums ``_bucket`` series by ``le``)."""
    width: int = 12
    description: str = ""


@dataclass(frozen=True)
class Board:
    uid: str
    title: str
    description: str
    rows: tuple[tuple[str, tuple[Graph, ...]], ...]
    variables: tuple[tuple[str, str], ...] = ()
    """(name, ``label_values(...)`` query) template variables."""
    annotations: tuple[tuple[str, str, str], ...] = ()
    """(name, PromQL, colour) annotation queries: a mark wherever the query has a value."""


def serving_board() -> Board:
    return Board(
        "ml-platform-serving",
        "Model serving",
        "Per model version: traffic, latency, errors, replicas, batching.",
        variables=(
            ("namespace", "label_values(ml_platform:model_requests:rate5m, namespace)"),
            ("model", 'label_values(ml_platform:model_requests:rate5m{namespace=~"$namespace"}, model)'),
        ),
        annotations=(
            ("Canary running", 'max by (endpoint) (ml_platform_release_phase{phase="canary"}) == 1', "orange"),
            (
                "Release decided",
                "sum by (endpoint, decision) (increase(ml_platform_release_decisions_total[1m])) > 0",
                "purple",
            ),
        ),
        rows=(
            ("Traffic and latency", _traffic_graphs()),
            ("Releases", _release_graphs()),
            ("Resources per model version", _resource_graphs()),
            ("Gateway and autoscaling", _gateway_graphs()),
        ),
    )


def _release_graphs() -> tuple[Graph, ...]:
    return (
        Graph(
            "Route weight per slot",
            "percent",
            (("ml_platform_release_weight", "{{endpoint}} {{slot}}"),),
            description="The split the release controller set on each released endpoint's HTTPRoute.",
        ),
        Graph(
            "Release phase",
            "short",
            (("ml_platform_release_phase == 1", "{{endpoint}} {{phase}}"),),
            kind="table",
            description="The phase of each endpoint's open release (python -m release status <endpoint>).",
        ),
    )


def _traffic_graphs() -> tuple[Graph, ...]:
    by = "sum by (model, model_version)"
    return (
        Graph(
            "Requests per second",
            "reqps",
            ((f"{by} (ml_platform:model_requests:rate5m{{{SEL}}})", "{{model}} {{model_version}}"),),
        ),
        Graph(
            "Latency p50 / p95 / p99",
            "s",
            tuple(
                (
                    f"ml_platform:model_latency_seconds:p{q}{{{SEL}}}",
                    f"p{q} {{{{model}}}} {{{{model_version}}}}",
                )
                for q in ("50", "95", "99")
            ),
        ),
        Graph(
            "Error rate",
            "percentunit",
            ((f"ml_platform:model_error_ratio:rate5m{{{SEL}}}", "{{model}} {{model_version}}"),),
        ),
        Graph(
            "Ready replicas",
            "short",
            (
                (
                    f"count by (model, model_version) (ml_platform:model_pod_info{{{SEL}}} "
                    '* on (namespace, pod) group_left kube_pod_status_ready{condition="true"} == 1)',
                    "{{model}} {{model_version}}",
                ),
            ),
        ),
        Graph(
            "Average batch size",
            "short",
            (
                (
                    f"{by} (rate(batch_request_queue_sum{{{SEL}}}[5m])) / "
                    f"{by} (rate(batch_request_queue_count{{{SEL}}}[5m]))",
                    "{{model}} {{model_version}}",
                ),
            ),
        ),
        Graph(
            "Batch fill: requests queued when each request arrived (adaptive batching)",
            "short",
            (
                (
                    f"sum by (le) (increase(batch_request_queue_bucket{{{SEL}}}[$__range]))",
                    "{{le}}",
                ),
            ),
            kind="histogram",
            description="MLServer 1.7.1 observes, for each request entering the adaptive batcher, how "
            "many requests already wait in the batch queue (histogram batch_request_queue). Mostly 0 "
            "means batches of one; counts near max_batch_size - 1 mean full batches. Empty where "
            "batching is off.",
        ),
        Graph(
            "Stable version p95 per endpoint",
            "s",
            (('ml_platform:endpoint_stable_latency_seconds:p95{namespace=~"$namespace"}', "{{endpoint}}"),),
        ),
    )


def _resource_graphs() -> tuple[Graph, ...]:
    """cAdvisor and DCGM per model version: what its pods use of what they hold."""
    by = "sum by (model, model_version)"
    return (
        Graph(
            "CPU used (cores)",
            "short",
            ((f"{by} (rate(container_cpu_usage_seconds_total{{{CONTAINERS}}}[5m]) {ON_POD})", LEGEND),),
            description="cAdvisor, model containers only, joined to the pod's model version.",
        ),
        Graph(
            "Memory working set",
            "bytes",
            ((f"{by} (container_memory_working_set_bytes{{{CONTAINERS}}} {ON_POD})", LEGEND),),
        ),
        Graph(
            "GPU utilisation",
            "percent",
            ((f"avg by (model, model_version) (DCGM_FI_DEV_GPU_UTIL {ON_POD})", LEGEND),),
            description="DCGM, averaged over the GPUs the version's pods hold (time-sliced pods share one).",
        ),
        Graph(
            "GPU memory used",
            "mbytes",
            ((f"{by} (DCGM_FI_DEV_FB_USED {ON_POD})", LEGEND),),
        ),
    )


def _gateway_graphs() -> tuple[Graph, ...]:
    upstream_5xx = 'envoy_cluster_upstream_rq_xx{envoy_response_code_class="5"}'
    return (
        Graph(
            "Gateway 5xx responses per second",
            "reqps",
            ((f"sum by (envoy_cluster_name) (rate({upstream_5xx}[5m]))", "{{envoy_cluster_name}}"),),
        ),
        Graph(
            "Requests held during cold start",
            "short",
            (("sum by (host) (interceptor_pending_request_count)", "{{host}}"),),
        ),
        Graph(
            "KEDA scaler metric",
            "short",
            (("sum by (scaledObject, scaler) (keda_scaler_metrics_value)", "{{scaledObject}} {{scaler}}"),),
        ),
        Graph(
            "KEDA scaler errors per second",
            "short",
            (("sum by (scaledObject) (rate(keda_scaled_object_errors_total[5m]))", "{{scaledObject}}"),),
        ),
    )


def gpu_board() -> Board:
    gpu = '{Hostname=~"$node"}'
    return Board(
        "ml-platform-gpu",
        "GPUs",
        "Per GPU: utilisation, memory, temperature, power; GPUs held and GPU hours per model.",
        variables=(("node", "label_values(DCGM_FI_DEV_GPU_UTIL, Hostname)"),),
        rows=(
            (
                "Per GPU",
                (
                    Graph(
                        "Utilisation", "percent", ((f"DCGM_FI_DEV_GPU_UTIL{gpu}", "{{Hostname}} gpu{{gpu}} {{pod}}"),)
                    ),
                    Graph(
                        "Memory used",
                        "percentunit",
                        ((f"ml_platform:gpu_memory_used:ratio{gpu}", "{{Hostname}} gpu{{gpu}} {{pod}}"),),
                    ),
                    Graph("Temperature", "celsius", ((f"DCGM_FI_DEV_GPU_TEMP{gpu}", "{{Hostname}} gpu{{gpu}}"),)),
                    Graph("Power", "watt", ((f"DCGM_FI_DEV_POWER_USAGE{gpu}", "{{Hostname}} gpu{{gpu}}"),)),
                ),
            ),
            (
                "Allocation",
                (
                    Graph("GPUs held per model", "short", (("ml_platform:gpus_allocated", "{{namespace}}/{{model}}"),)),
                    Graph(
                        "GPU hours in the last hour",
                        "short",
                        (
                            ("ml_platform:gpu_hours:1h", "used by {{model}}"),
                            ("ml_platform:gpu_hours_provisioned:1h", "provisioned in {{pool}}"),
                        ),
                    ),
                ),
            ),
        ),
    )


def _reference(reference_per_1k_usd: dict[str, float]) -> tuple[tuple[str, str], ...]:
    return tuple((f"vector({value:.6g})", name) for name, value in sorted(reference_per_1k_usd.items()))


def cost_board(reference_per_1k_usd: dict[str, float] | None = None) -> Board:
    """The cost dashboard; ``reference_per_1k_usd`` (legend → USD) are the FinOps report's figures for this
    stack's node types, drawn beside what production measures."""
    by_version = "{{model}} {{model_version}} ({{hardware}})"
    live = (
        ('ml_platform:cost_per_1k_inferences_usd:by_hardware{hardware="cpu"}', "CPU endpoints (production)"),
        ('ml_platform:cost_per_1k_inferences_usd:by_hardware{hardware="gpu"}', "GPU endpoints (production)"),
    )
    return Board(
        "ml-platform-cost",
        "Cost",
        "Per model version and hardware: what its pods hold of their nodes, per 1,000 inferences it served; node "
        "pool cost; and the FinOps report's figures (docs/finops.md) for comparison.",
        rows=(
            (
                "Cost per 1,000 inferences",
                (
                    Graph(
                        "Per hardware: production against the FinOps report",
                        "currencyUSD",
                        live + _reference(reference_per_1k_usd or {}),
                        kind="table",
                        description="Production: the last hour's cost of what model pods hold (their requests' share "
                        "of each node's price) over the inferences they served. Report: docs/finops.md, measured on "
                        "CPU with MLServer and estimated for GPU from published figures, at full use of whole nodes.",
                    ),
                    Graph(
                        "Per model version",
                        "currencyUSD",
                        (("ml_platform:cost_per_1k_inferences_usd", by_version),),
                        kind="table",
                    ),
                    Graph(
                        "Per model version over time",
                        "currencyUSD",
                        (("ml_platform:cost_per_1k_inferences_usd", by_version),),
                        width=24,
                    ),
                ),
            ),
            (
                "Where the money goes",
                (
                    Graph(
                        "Cost per hour by model version",
                        "currencyUSD",
                        (
                            ("ml_platform:model_version_cost_usd_per_hour", by_version),
                            ("ml_platform:unattributed_cost_usd_per_hour", "not held by a model"),
                        ),
                    ),
                    Graph(
                        "Inferences in the last hour by model version",
                        "short",
                        (("ml_platform:model_version_inferences:1h", "{{model}} {{model_version}}"),),
                    ),
                    Graph(
                        "Cost per hour by pool",
                        "currencyUSD",
                        (("ml_platform:node_pool_cost_usd_per_hour", "{{pool}}"),),
                    ),
                    Graph("Nodes by pool", "short", (("ml_platform:node_pool_nodes", "{{pool}}"),)),
                    Graph(
                        "Inferences per second",
                        "reqps",
                        (("ml_platform:inferences:rate1h", "1 h average"),),
                        kind="stat",
                        width=6,
                    ),
                    Graph(
                        "Hourly price of one node",
                        "currencyUSD",
                        (("ml_platform:node_pool_hourly_price_usd", "{{pool}}"),),
                        kind="table",
                        width=18,
                    ),
                ),
            ),
        ),
    )


def drift_board() -> Board:
    m = '{model=~"$model"}'
    return Board(
        "ml-platform-drift",
        "Input drift",
        "Per model: share of input columns that drifted and each column's score.",
        variables=(("model", "label_values(ml_drift_share, model)"),),
        rows=(
            (
                "Drift",
                (
                    Graph(
                        "Drifted share of columns",
                        "percentunit",
                        ((f"ml_drift_share{m}", "{{model}}"), (f"ml_drift_threshold{m}", "{{model}} threshold")),
                    ),
                    Graph("Drifted columns", "short", ((f"ml_drift_columns_drifted{m}", "{{model}}"),)),
                    Graph(
                        "Per-column drift score",
                        "short",
                        ((f"ml_drift_column_score{m}", "{{model}} {{column}} ({{stattest}})"),),
                        kind="table",
                    ),
                    Graph(
                        "Time since the last check",
                        "s",
                        ((f"time() - ml_drift_last_success_timestamp_seconds{m}", "{{model}}"),),
                        kind="stat",
                    ),
                    Graph("Rows compared", "short", ((f"ml_drift_rows{m}", "{{model}} {{window}}"),)),
                ),
            ),
        ),
    )
