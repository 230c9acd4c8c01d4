"""Grafana dashboards as code (grafana-foundation-sdk), shipped as ConfigMaps the chart's Grafana sidecar loads.

Why code and not exported JSON: a dashboard is reviewed in a pull request like any other change, its queries can
be checked against the metric names the exporters and recording rules really produce (a renamed metric makes a
panel silently empty), and the four dashboards share one way of building panels. The SDK is pinned with its
epoch (``1769699379!11.6.0``, the Grafana 11.6 schema): without the epoch pip picks an older schema.

The dashboards read the recording rules of :mod:`._alert_rules` where one exists, so a panel and the alert about
the same thing show the same number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from ..common import MANAGED_BY_LABELS, PlatformComponent, Problems

DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
"""The Prometheus datasource kube-prometheus-stack provisions (``grafana.sidecar.datasources.uid``)."""

SEL = 'namespace=~"$namespace", model=~"$model"'


@dataclass(frozen=True)
class Graph:
    """One panel: a title, a unit, and its queries as (PromQL, legend)."""

    title: str
    unit: str
    queries: tuple[tuple[str, str], ...]
    kind: str = "timeseries"
    """``timeseries``, ``stat`` or ``table``."""
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
            "Stable version p95 per endpoint",
            "s",
            (('ml_platform:endpoint_stable_latency_seconds:p95{namespace=~"$namespace"}', "{{endpoint}}"),),
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


def cost_board() -> Board:
    return Board(
        "ml-platform-cost",
        "Cost",
        "Per environment: inferences served, GPU node cost and cost per 1,000 inferences.",
        rows=(
            (
                "This environment",
                (
                    Graph(
                        "Cost per 1,000 inferences",
                        "currencyUSD",
                        (("ml_platform:cost_per_1k_inferences_usd", "USD"),),
                        kind="stat",
                        width=6,
                    ),
                    Graph(
                        "Inferences served (24 h)",
                        "short",
                        (("sum(increase(model_infer_request_success_total[24h]))", "inferences"),),
                        kind="stat",
                        width=6,
                    ),
                    Graph(
                        "GPU node cost per hour",
                        "currencyUSD",
                        (("sum(ml_platform:node_pool_cost_usd_per_hour)", "USD/h"),),
                        kind="stat",
                        width=6,
                    ),
                    Graph(
                        "Inferences per second",
                        "reqps",
                        (("ml_platform:inferences:rate1h", "1 h average"),),
                        kind="stat",
                        width=6,
                    ),
                ),
            ),
            (
                "Node pools",
                (
                    Graph(
                        "Cost per hour by pool",
                        "currencyUSD",
                        (("ml_platform:node_pool_cost_usd_per_hour", "{{pool}}"),),
                    ),
                    Graph("Nodes by pool", "short", (("ml_platform:node_pool_nodes", "{{pool}}"),)),
                    Graph(
                        "Cost per 1,000 inferences over time",
                        "currencyUSD",
                        (("ml_platform:cost_per_1k_inferences_usd", "USD"),),
                    ),
                    Graph(
                        "Hourly price of one node",
                        "currencyUSD",
                        (("ml_platform:node_pool_hourly_price_usd", "{{pool}}"),),
                        kind="table",
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


BOARDS = (serving_board, gpu_board, cost_board, drift_board)


def _panel(graph: Graph, panel_id: int) -> Any:
    builder = {"timeseries": timeseries.Panel, "stat": stat.Panel, "table": table.Panel}[graph.kind]()
    builder = (
        builder.id(panel_id).title(graph.title).unit(graph.unit).datasource(DATASOURCE).span(graph.width).height(8)
    )
    if graph.description:
        builder = builder.description(graph.description)
    for i, (expr, legend) in enumerate(graph.queries):
        query = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i)).datasource(DATASOURCE)
        if graph.kind != "timeseries":
            query = query.instant()
        builder = builder.with_target(query)
    return builder


def build(board: Board) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    d = (
        dashboard.Dashboard(board.title)
        .uid(board.uid)
        .description(board.description)
        .tags(["ml-platform"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("utc")
        .editable()
    )
    for name, query in board.variables:
        d = d.with_variable(
            dashboard.QueryVariable(name)
            .label(name)
            .query(query)
            .datasource(DATASOURCE)
            .multi(True)
            .include_all(True)
            .all_value(".*")
        )
    for name, expr, colour in board.annotations:
        d = d.annotation(
            dashboard.AnnotationQuery().name(name).datasource(DATASOURCE).expr(expr).enable(True).icon_color(colour)
        )
    panel_id = 1
    for title, graphs in board.rows:
        d = d.with_row(dashboard.Row(title).id(panel_id))
        panel_id += 1
        for graph in graphs:
            d = d.with_panel(_panel(graph, panel_id))
            panel_id += 1
    return json.loads(JSONEncoder(sort_keys=True).encode(d.build()))


def all_dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard by uid."""
    return {b.uid: build(b) for b in (f() for f in BOARDS)}


def queries(model: dict[str, Any]) -> list[str]:
    """Every PromQL expression in a dashboard (panel targets and template variables)."""
    out = [t["expr"] for p in model.get("panels", []) for t in p.get("targets", []) if t.get("expr")]
    out += [v["query"] for v in model.get("templating", {}).get("list", []) if isinstance(v.get("query"), str)]
    return out


@dataclass(kw_only=True)
class DashboardsArgs:
    """Arguments of :class:`Dashboards`."""

    namespace: str = "monitoring"
    """Namespace of the ConfigMaps (the sidecar searches every namespace). Default ``monitoring``."""
    sidecar_label: tuple[str, str] = ("grafana_dashboard", "1")
    """Label (key, value) the Grafana sidecar loads dashboards from. Default the chart's ``grafana_dashboard=1``."""
    folder: str | None = None
    """Grafana folder (``grafana_folder`` annotation; needs the sidecar's ``folderAnnotation``). Default none."""
    extra_labels: dict[str, str] = field(default_factory=dict)
    """More labels on each ConfigMap. Default none."""

    def validate(self, problems: Problems) -> None:
        problems.check(bool(self.sidecar_label[0]), "sidecar_label", "must name a label", self.sidecar_label)


class Dashboards(PlatformComponent):
    """One ConfigMap per dashboard, labelled for the Grafana sidecar."""

    uids: list[str]
    """Dashboard uids shipped."""

    def __init__(self, name: str, args: DashboardsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:dashboards:Dashboards", name, args, opts)
        self.uids = []
        for uid, model in all_dashboards().items():
            k8s.core.v1.ConfigMap(
                f"{name}-{uid.removeprefix('ml-platform-')}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=uid,
                    namespace=args.namespace,
                    labels={**MANAGED_BY_LABELS, **args.extra_labels, args.sidecar_label[0]: args.sidecar_label[1]},
                    annotations={"grafana_folder": args.folder} if args.folder else None,
                ),
                data={f"{uid}.json": json.dumps(model, sort_keys=True)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.uids.append(uid)
        self.register_outputs({"uids": self.uids})
