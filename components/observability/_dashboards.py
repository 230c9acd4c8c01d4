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
from grafana_foundation_sdk.builders import bargauge, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from ..common import MANAGED_BY_LABELS, PlatformComponent, Problems
from ._boards import Board, Graph, cost_board, drift_board, gpu_board, serving_board

DATASOURCE = DataSourceRef(type_val="prometheus", uid="prometheus")
"""The Prometheus datasource kube-prometheus-stack provisions (``grafana.sidecar.datasources.uid``)."""


def _panel(graph: Graph, panel_id: int) -> Any:
    panels = {"timeseries": timeseries.Panel, "stat": stat.Panel, "table": table.Panel, "histogram": bargauge.Panel}
    builder = panels[graph.kind]()
    builder = (
        builder.id(panel_id).title(graph.title).unit(graph.unit).datasource(DATASOURCE).span(graph.width).height(8)
    )
    if graph.description:
        builder = builder.description(graph.description)
    for i, (expr, legend) in enumerate(graph.queries):
        query = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i)).datasource(DATASOURCE)
        if graph.kind != "timeseries":
            query = query.instant()
        if graph.kind == "histogram":
            query = query.format(PromQueryFormat.HEATMAP)  # cumulative buckets shown as a count per bucket
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


def all_dashboards(reference_per_1k_usd: dict[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """Every dashboard by uid (``reference_per_1k_usd``: see :func:`._boards.cost_board`)."""
    boards = [serving_board(), gpu_board(), cost_board(reference_per_1k_usd), drift_board()]
    return {b.uid: build(b) for b in boards}


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
    reference_per_1k_usd: dict[str, float] = field(default_factory=dict)
    """Cost per 1,000 inferences from the FinOps report (legend → USD), shown on the cost dashboard beside
    production's. Default none."""

    def validate(self, problems: Problems) -> None:
        problems.check(bool(self.sidecar_label[0]), "sidecar_label", "must name a label", self.sidecar_label)


class Dashboards(PlatformComponent):
    """One ConfigMap per dashboard, labelled for the Grafana sidecar."""

    uids: list[str]
    """Dashboard uids shipped."""

    def __init__(self, name: str, args: DashboardsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:dashboards:Dashboards", name, args, opts)
        self.uids = []
        for uid, model in all_dashboards(args.reference_per_1k_usd).items():
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
