"""Network isolation: every flow the platform needs is allowed by the NetworkPolicies the stack renders.

Default-deny ingress in the serving and MLflow namespaces is only safe if every legitimate caller is allowed
again: the gateway's proxies and the HTTP add-on interceptor to the model servers, Prometheus to every metrics
port, KEDA to the add-on's external scaler, the scaler to the interceptor's admin port, and every pod that names
another's Service in its environment (tracking URI, database host, S3 endpoint). The flows are derived from the
render itself (routes, monitors, scalers, environment), so a new caller is checked the day it appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._base import Finding, rule
from ._render import Obj, Pod, Render, selector_matches
from ._rules_routes import GATEWAY_GROUP, attached_listeners
from ._rules_scrape import targets

HOST = re.compile(r"(?:https?://|@|=)([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?:(\d+)")


@dataclass(frozen=True)
class Flow:
    src: Pod
    dst: Pod
    port: int
    why: str


def _service(render: Render, ns: str | None, name: str | None) -> Obj | None:
    return next((s for s in render.of_kind("Service") if s.namespace == ns and s.name == name), None)


def _to_service(render: Render, src: Pod, ns: str | None, name: str | None, port: int | None, why: str) -> list[Flow]:
    svc = _service(render, ns, name)
    if svc is None or not svc.spec.get("selector"):
        return []
    flows = []
    for sp in svc.spec.get("ports") or []:
        if port is not None and sp.get("port") != port:
            continue
        target = sp.get("targetPort", sp.get("port"))
        for dst in render.pods_matching({svc.namespace or "default"}, {"matchLabels": svc.spec["selector"]}):
            number = dst.port(target)
            if number is not None:
                flows.append(Flow(src, dst, number, why))
    return flows


def _pods(render: Render, labels: dict[str, str]) -> list[Pod]:
    return render.pods_matching(None, {"matchLabels": labels})


def flows(render: Render) -> list[Flow]:
    """Every pod-to-pod flow the render needs."""
    out: list[Flow] = []
    for route in render.of_kind("HTTPRoute", GATEWAY_GROUP):
        for gw, _ in attached_listeners(render, route):
            proxies = _pods(render, {"gateway.envoyproxy.io/owning-gateway-name": gw.name})
            for r in route.spec.get("rules") or []:
                for ref in r.get("backendRefs") or []:
                    for src in proxies:
                        out += _to_service(
                            render,
                            src,
                            ref.get("namespace", route.namespace),
                            ref.get("name"),
                            ref.get("port"),
                            f"{gw.ref} -> {route.ref}",
                        )
    interceptors = _pods(
        render, {"app.kubernetes.io/component": "interceptor", "app.kubernetes.io/part-of": "keda-add-ons-http"}
    )
    for ir in render.of_kind("InterceptorRoute"):
        target = ir.spec.get("target") or {}
        for src in interceptors:
            out += _to_service(
                render, src, ir.namespace, target.get("service"), target.get("port"), f"interceptor -> {ir.ref}"
            )
    prometheus = _pods(render, {"app.kubernetes.io/name": "prometheus"})
    for t in targets(render):
        for dst in t.pods:
            number = t.address_port or (dst.port(t.port) if t.port is not None else None)
            if number is not None:
                out += [Flow(src, dst, number, f"scrape by {t.monitor.ref}") for src in prometheus]
    keda = _pods(render, {"app.kubernetes.io/name": "keda-operator"})
    for so in render.of_kind("ScaledObject"):
        for trig in so.spec.get("triggers") or []:
            meta = trig.get("metadata") or {}
            address = meta.get("scalerAddress") or meta.get("serverAddress") or ""
            for src in keda:
                out += _env_flows(
                    render, src, [address if "://" in address else f"http://{address}"], f"KEDA for {so.ref}"
                )
    for src in render.pods:
        out += _env_flows(render, src, src.env_values, f"environment or arguments of {src.workload}")
    for scaler in _pods(
        render, {"app.kubernetes.io/component": "scaler", "app.kubernetes.io/part-of": "keda-add-ons-http"}
    ):
        for admin in render.of_kind("Service"):
            if admin.name.endswith("-interceptor-admin") and admin.namespace == scaler.namespace:
                out += _to_service(
                    render, scaler, admin.namespace, admin.name, None, "external scaler polls the interceptors"
                )
    operators = _pods(render, {"app.kubernetes.io/name": "cloudnative-pg"})
    for dst in _pods(render, {"cnpg.io/podRole": "instance"}):
        out += [Flow(src, dst, 8000, "CloudNativePG operator -> instance status") for src in operators]
    return out


def _env_flows(render: Render, src: Pod, values: list[Any], why: str) -> list[Flow]:
    out: list[Flow] = []
    for value in values:
        for name, ns, port in HOST.findall(str(value)):
            out += _to_service(render, src, ns, name, int(port), why)
    return out


def _peer_matches(render: Render, peer: dict[str, Any], policy_ns: str, src: Pod) -> bool:
    pod_sel, ns_sel = peer.get("podSelector"), peer.get("namespaceSelector")
    if pod_sel is None and ns_sel is None:
        return False  # an ipBlock: pod traffic is not matched by address here
    if ns_sel is None and src.namespace != policy_ns:
        return False
    if ns_sel is not None and not render.namespace_matches(src.namespace, ns_sel):
        return False
    return pod_sel is None or selector_matches(pod_sel, src.labels)


def _port_matches(rule_ports: list[dict[str, Any]] | None, dst: Pod, port: int) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != "TCP":
            continue
        want = p.get("port")
        if want is None:
            return True
        number = dst.ports.get(want) if isinstance(want, str) and not want.isdigit() else int(want)
        if number is not None and number <= port <= int(p.get("endPort") or number):
            return True
    return False


def allowed(render: Render, flow: Flow) -> tuple[bool, list[Obj]]:
    """Whether the destination's namespace policies admit the flow, and the policies that select the destination."""
    selecting = [
        np
        for np in render.of_kind("NetworkPolicy")
        if np.namespace == flow.dst.namespace
        and selector_matches(np.spec.get("podSelector") or {}, flow.dst.labels)
        and "Ingress" in (np.spec.get("policyTypes") or ["Ingress"])
    ]
    if not selecting:
        return True, []
    for np in selecting:
        for ingress in np.spec.get("ingress") or []:
            peers = ingress.get("from")
            if (
                not peers or any(_peer_matches(render, p, np.namespace or "default", flow.src) for p in peers)
            ) and _port_matches(ingress.get("ports"), flow.dst, flow.port):
                return True, selecting
    return False, selecting


@rule(
    "network-flows",
    "network isolation",
    "Every flow the platform needs (gateway and interceptor to model servers, Prometheus to metrics ports, "
    "KEDA to its scaler, clients to the Services their environment names) is allowed by the NetworkPolicies.",
)
def network_flows(render: Render) -> list[Finding]:
    found: dict[tuple[str, str, int], Finding] = {}
    for flow in flows(render):
        ok, policies = allowed(render, flow)
        key = (flow.src.workload, flow.dst.workload, flow.port)
        if not ok and key not in found:
            found[key] = Finding(
                "network-flows",
                f"port {flow.port} from {flow.src.namespace} ({flow.why}) is denied by the NetworkPolicies of "
                f"{flow.dst.namespace}",
                (flow.src.workload, flow.dst.workload, *(p.ref for p in policies)),
            )
    return list(found.values())


@rule(
    "serving-isolated",
    "network isolation",
    "The serving and MLflow namespaces deny ingress by default, so no pod in the cluster reaches a model "
    "server or MLflow around the gateway.",
)
def serving_isolated(render: Render) -> list[Finding]:
    found = []
    namespaces = {p.namespace for p in render.pods if "ml-platform.io/model" in p.labels}
    namespaces |= {p.namespace for p in render.pods if p.labels.get("app.kubernetes.io/name") == "mlflow"}
    for ns in sorted(namespaces):
        deny_all = any(
            np.namespace == ns
            and not (np.spec.get("podSelector") or {})
            and "Ingress" in (np.spec.get("policyTypes") or ["Ingress"])
            and not np.spec.get("ingress")
            for np in render.of_kind("NetworkPolicy")
        )
        if not deny_all:
            found.append(
                Finding(
                    "serving-isolated",
                    f"namespace {ns} has no default-deny ingress NetworkPolicy",
                    (f"Namespace {ns}",),
                )
            )
    return found
