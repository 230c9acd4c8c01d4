"""Services and routes: every hop from the Gateway to a model pod lands on something that exists and listens.

A Service whose ``targetPort`` no container declares, a backendRef to a Service in another namespace without a
ReferenceGrant, a route whose parent listener does not admit it: each is accepted by the API server and shows up
only as a 500 or a 404 at the first request.
"""

from __future__ import annotations

from typing import Any

from ._base import Finding, rule
from ._render import Obj, Render

GATEWAY_GROUP = "gateway.networking.k8s.io"


def _service(render: Render, namespace: str | None, name: str) -> Obj | None:
    return next((s for s in render.of_kind("Service") if s.namespace == namespace and s.name == name), None)


@rule(
    "service-target-port",
    "services and routes",
    "Every Service selects pods, and its targetPort is a port those pods declare.",
)
def service_target_port(render: Render) -> list[Finding]:
    found = []
    for svc in render.of_kind("Service"):
        selector = svc.spec.get("selector")
        if not selector:
            continue
        pods = render.pods_matching({svc.namespace or "default"}, {"matchLabels": selector})
        if not pods:
            found.append(Finding("service-target-port", f"selects no pod (selector {selector})", (svc.ref,)))
        for port in svc.spec.get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            for pod in pods:
                if pod.port(target) is None:
                    found.append(
                        Finding(
                            "service-target-port",
                            f"targetPort {target!r} is not declared on the pods",
                            (svc.ref, pod.workload),
                        )
                    )
    return found


def _granted(render: Render, route: Obj, ns: str, kind: str, name: str) -> bool:
    for grant in render.of_kind("ReferenceGrant", GATEWAY_GROUP):
        if grant.namespace != ns:
            continue
        from_ok = any(
            f.get("group") == GATEWAY_GROUP and f.get("kind") == "HTTPRoute" and f.get("namespace") == route.namespace
            for f in grant.spec.get("from") or []
        )
        to_ok = any(t.get("kind") == kind and t.get("name") in (None, name) for t in grant.spec.get("to") or [])
        if from_ok and to_ok:
            return True
    return False


@rule(
    "route-backend",
    "services and routes",
    "Every HTTPRoute backendRef resolves to a Service port, in the route's namespace or through a ReferenceGrant.",
)
def route_backend(render: Render) -> list[Finding]:
    found = []
    for route in render.of_kind("HTTPRoute", GATEWAY_GROUP):
        for r in route.spec.get("rules") or []:
            for ref in r.get("backendRefs") or []:
                kind = ref.get("kind", "Service")
                ns = ref.get("namespace", route.namespace)
                name = ref.get("name")
                if kind != "Service" or ref.get("group", "") != "":
                    continue
                if ns != route.namespace and not _granted(render, route, ns, kind, name):
                    found.append(
                        Finding(
                            "route-backend",
                            f"refers to Service {ns}/{name} in another namespace without a ReferenceGrant",
                            (route.ref,),
                        )
                    )
                    continue
                svc = _service(render, ns, name)
                if svc is None:
                    found.append(
                        Finding("route-backend", f"refers to Service {ns}/{name}, which nothing creates", (route.ref,))
                    )
                elif not any(p.get("port") == ref.get("port") for p in svc.spec.get("ports") or []):
                    found.append(
                        Finding(
                            "route-backend",
                            f"refers to port {ref.get('port')} of Service {ns}/{name}, which it does not have",
                            (route.ref, svc.ref),
                        )
                    )
    return found


def gateways(render: Render) -> dict[tuple[str | None, str], Obj]:
    return {(g.namespace, g.name): g for g in render.of_kind("Gateway", GATEWAY_GROUP)}


def attached_listeners(render: Render, route: Obj) -> list[tuple[Obj, dict[str, Any]]]:
    """The (Gateway, listener) pairs a route attaches to."""
    out = []
    for parent in route.spec.get("parentRefs") or []:
        gw = gateways(render).get((parent.get("namespace", route.namespace), parent.get("name")))
        if gw is None:
            continue
        for listener in gw.spec.get("listeners") or []:
            if parent.get("sectionName") not in (None, listener.get("name")):
                continue
            if parent.get("port") not in (None, listener.get("port")):
                continue
            if _admits(render, gw, listener, route):
                out.append((gw, listener))
    return out


def _admits(render: Render, gw: Obj, listener: dict[str, Any], route: Obj) -> bool:
    allowed = listener.get("allowedRoutes") or {}
    kinds = allowed.get("kinds")
    if kinds and not any(k.get("kind") == "HTTPRoute" for k in kinds):
        return False
    if listener.get("protocol") not in ("HTTP", "HTTPS"):
        return False
    frm = (allowed.get("namespaces") or {}).get("from", "Same")
    if frm == "All":
        return True
    if frm == "Same":
        return route.namespace == gw.namespace
    return render.namespace_matches(route.namespace or "default", (allowed.get("namespaces") or {}).get("selector"))


@rule(
    "route-parent",
    "services and routes",
    "Every HTTPRoute attaches to a listener of a Gateway that exists and admits it.",
)
def route_parent(render: Render) -> list[Finding]:
    found = []
    for route in render.of_kind("HTTPRoute", GATEWAY_GROUP):
        for parent in route.spec.get("parentRefs") or []:
            key = (parent.get("namespace", route.namespace), parent.get("name"))
            if key not in gateways(render):
                found.append(
                    Finding("route-parent", f"names Gateway {key[0]}/{key[1]}, which nothing creates", (route.ref,))
                )
        if not attached_listeners(render, route) and all(
            (p.get("namespace", route.namespace), p.get("name")) in gateways(render)
            for p in route.spec.get("parentRefs") or []
        ):
            found.append(
                Finding(
                    "route-parent",
                    "no listener of its Gateway admits it (section, port, namespace or kind)",
                    (route.ref,),
                )
            )
    return found


def _policies(render: Render) -> list[Obj]:
    return [
        o
        for o in render.objects
        if o.group == "gateway.envoyproxy.io" and o.kind in ("SecurityPolicy", "BackendTrafficPolicy")
    ]


@rule(
    "policy-target",
    "services and routes",
    "Every Envoy Gateway SecurityPolicy and BackendTrafficPolicy targets a route that exists.",
)
def policy_target(render: Render) -> list[Finding]:
    routes = {(r.namespace, r.name) for r in render.of_kind("HTTPRoute", GATEWAY_GROUP)}
    found = []
    for pol in _policies(render):
        for ref in pol.spec.get("targetRefs") or []:
            if ref.get("kind") == "HTTPRoute" and (pol.namespace, ref.get("name")) not in routes:
                found.append(
                    Finding(
                        "policy-target",
                        f"targets HTTPRoute {pol.namespace}/{ref.get('name')}, which nothing creates",
                        (pol.ref,),
                    )
                )
    return found


@rule(
    "credentials-over-tls",
    "services and routes",
    "A route that takes credentials attaches to no plain-HTTP listener of a Gateway that has an HTTPS one.",
)
def credentials_over_tls(render: Render) -> list[Finding]:
    found = []
    protected = {
        (pol.namespace, ref.get("name"))
        for pol in _policies(render)
        if pol.kind == "SecurityPolicy"
        for ref in pol.spec.get("targetRefs") or []
    }
    for route in render.of_kind("HTTPRoute", GATEWAY_GROUP):
        if (route.namespace, route.name) not in protected:
            continue
        for gw, listener in attached_listeners(render, route):
            has_tls = any(item.get("protocol") == "HTTPS" for item in gw.spec.get("listeners") or [])
            if has_tls and listener.get("protocol") == "HTTP":
                found.append(
                    Finding(
                        "credentials-over-tls",
                        f"takes credentials but attaches to plain-HTTP listener {listener.get('name')!r} beside "
                        "HTTPS (redirect instead)",
                        (route.ref, gw.ref),
                    )
                )
    return found
