"""Scraping: every monitor is loaded by a Prometheus, selects pods that will exist, and scrapes a declared port.

A PodMonitor that selects nothing, or names a port its pods do not declare, produces no target and no error:
the dashboards stay empty and the alerts that need the series never fire. The prometheus-operator drops such a
target by design (``portNumber``: "The Pod must declare the specified Port"); only a relabeling of
``__address__`` reaches an undeclared port, and then the process must really listen there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._base import Finding, rule
from ._charts import chart_name, get
from ._render import Obj, Pod, Render, selector_matches

MONITOR_KINDS = ("PodMonitor", "ServiceMonitor")


@dataclass
class Target:
    """What one endpoint of one monitor scrapes."""

    monitor: Obj
    pods: list[Pod] = field(default_factory=list)
    port: int | str | None = None
    """Declared container port (name or number) the target uses, or the port an ``__address__`` relabel sets."""
    address_port: int | None = None
    problems: list[str] = field(default_factory=list)


def monitors(render: Render) -> list[Obj]:
    return [o for o in render.objects if o.kind in MONITOR_KINDS and o.group == "monitoring.coreos.com"]


def _namespaces(render: Render, o: Obj) -> set[str] | None:
    sel = o.spec.get("namespaceSelector") or {}
    if sel.get("any"):
        return None
    if sel.get("matchNames"):
        return set(sel["matchNames"])
    return {o.namespace or "default"}


def _address_port(endpoint: dict[str, Any]) -> int | None:
    for r in endpoint.get("relabelings") or []:
        if r.get("targetLabel") == "__address__":
            match = re.search(r":(\d+)$", str(r.get("replacement", "")))
            if match:
                return int(match.group(1))
    return None


def targets(render: Render) -> list[Target]:
    """Every monitor endpoint with the pods it reaches and the port it scrapes."""
    out: list[Target] = []
    for o in monitors(render):
        namespaces = _namespaces(render, o)
        if o.kind == "PodMonitor":
            pods = render.pods_matching(namespaces, o.spec.get("selector") or {})
            for ep in o.spec.get("podMetricsEndpoints") or [{}]:
                port = ep.get("port") or ep.get("portNumber") or ep.get("targetPort")
                out.append(Target(o, pods, port, _address_port(ep)))
            continue
        services = [
            s
            for s in render.of_kind("Service")
            if (namespaces is None or s.namespace in namespaces)
            and _labels_match(o.spec.get("selector") or {}, s.labels)
        ]
        for ep in o.spec.get("endpoints") or [{}]:
            t = Target(o, port=None, address_port=_address_port(ep))
            for svc in services:
                sp = next((p for p in svc.spec.get("ports") or [] if p.get("name") == ep.get("port")), None)
                if sp is None and ep.get("port"):
                    t.problems.append(f"Service {svc.namespace}/{svc.name} has no port named {ep['port']!r}")
                    continue
                t.port = (sp or {}).get("targetPort") or (sp or {}).get("port") or ep.get("targetPort")
                t.pods += render.pods_matching(
                    {svc.namespace or "default"}, {"matchLabels": svc.spec.get("selector") or {}}
                )
            out.append(t)
    return out


def _labels_match(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector_matches(selector, labels)


def prometheus_selects(render: Render, o: Obj) -> bool | None:
    """Whether a kube-prometheus-stack Prometheus in the render loads this monitor (None: no Prometheus)."""
    answer = None
    for rel in render.releases:
        if chart_name(rel) != "kube-prometheus-stack":
            continue
        values = rel.inputs.get("values") or {}
        key = "podMonitor" if o.kind == "PodMonitor" else "serviceMonitor"
        spec = get(values, "prometheus.prometheusSpec", {}) or {}
        selector = spec.get(f"{key}Selector")
        if selector is None:
            selector = {"matchLabels": {"release": rel.inputs.get("name") or rel.name}}
        ns_selector = spec.get(f"{key}NamespaceSelector")
        in_ns = (
            render.namespace_matches(o.namespace or "default", ns_selector)
            if ns_selector is not None
            else o.namespace == rel.inputs.get("namespace")
        )
        answer = bool(answer) or (in_ns and _labels_match(selector, o.labels))
    return answer


@rule(
    "monitor-selected",
    "scraping",
    "Every PodMonitor and ServiceMonitor is loaded by the Prometheus the stack installs.",
)
def monitor_selected(render: Render) -> list[Finding]:
    found = []
    for o in monitors(render):
        if prometheus_selects(render, o) is False:
            found.append(
                Finding(
                    "monitor-selected",
                    "no Prometheus of the stack selects this monitor (labels or namespace)",
                    (o.ref,),
                )
            )
    return found


@rule(
    "scrape-target-exists",
    "scraping",
    "Every monitor selects pods that the render or an installed chart runs, in the namespaces it selects.",
)
def scrape_target_exists(render: Render) -> list[Finding]:
    found = []
    for t in targets(render):
        for problem in t.problems:
            found.append(Finding("scrape-target-exists", problem, (t.monitor.ref,)))
        if not t.pods and not t.problems:
            where = t.monitor.spec.get("namespaceSelector") or {"matchNames": [t.monitor.namespace]}
            found.append(
                Finding(
                    "scrape-target-exists",
                    f"selects no pod that will run (namespaces {where}, selector {t.monitor.spec.get('selector')})",
                    (t.monitor.ref,),
                )
            )
    return found


@rule("scrape-port-declared", "scraping", "The port a monitor scrapes is declared on the selected pods' containers.")
def scrape_port_declared(render: Render) -> list[Finding]:
    found = []
    for t in targets(render):
        for pod in t.pods:
            if t.address_port is not None:
                if t.address_port not in set(pod.ports.values()) | pod.listens:
                    found.append(
                        Finding(
                            "scrape-port-declared",
                            f"scrapes port {t.address_port}, where nothing listens",
                            (t.monitor.ref, pod.workload),
                        )
                    )
                if t.port is not None and pod.port(t.port) is None:
                    found.append(
                        Finding(
                            "scrape-port-declared",
                            f"relabels from port {t.port!r}, which the pods do not declare",
                            (t.monitor.ref, pod.workload),
                        )
                    )
                continue
            if t.port is None or pod.port(t.port) is None:
                found.append(
                    Finding(
                        "scrape-port-declared",
                        f"scrapes port {t.port!r}, which the pods do not declare (declared: "
                        f"{sorted(pod.ports.values())})",
                        (t.monitor.ref, pod.workload),
                    )
                )
    return found
