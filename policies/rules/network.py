"""Rules over what the platform exposes: no stray cloud load balancers, no route without authentication.

Why a stack policy for routes: whether an HTTPRoute is authenticated is decided by another object, an Envoy
Gateway ``SecurityPolicy`` that targets the route (or the Gateway the route attaches to). Only a policy that
sees all resources at once can pair them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .base import MANDATORY, Facts, Res, Rule, kubernetes_group_kind, matches_any, schema
from .base import mapping as _dict

GATEWAY_LABELS = ("gateway.envoyproxy.io/owning-gateway-name", "gateway.networking.k8s.io/gateway-name")
"""Labels that mark a Service as a Gateway's own data-plane Service."""
AUTH_FIELDS = ("jwt", "oidc", "apiKeyAuth", "basicAuth", "extAuth")
"""SecurityPolicy fields that authenticate a request (``authorization`` alone does not say who is calling)."""


# --- no-public-load-balancer ------------------------------------------------------------------------------------


def check_load_balancer(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    group, kind = kubernetes_group_kind(res)
    if (group, kind) != ("core", "Service") or _dict(res.props.get("spec")).get("type") != "LoadBalancer":
        return
    labels = _dict(res.metadata.get("labels"))
    if any(label in labels for label in GATEWAY_LABELS):
        return
    ns, name = res.metadata.get("namespace") or "default", res.metadata.get("name") or res.name
    if matches_any([f"{ns}/{name}"], cfg["allowed"]):
        return
    yield (
        f"{res.label}: is of type LoadBalancer; only the gateway's Service may be (expose it through an "
        f"HTTPRoute on the gateway, or list '{ns}/{name}' in allowed)"
    )


NO_PUBLIC_LOAD_BALANCER = Rule(
    name="no-public-load-balancer",
    description="No Kubernetes Service of type LoadBalancer except the gateway's: traffic enters through the gateway, "
    "where routes are authenticated.",
    enforcement_level=MANDATORY,
    config_schema={
        "allowed": schema(
            "array",
            [],
            "Other Services allowed to be LoadBalancers, as namespace/name globs.",
            items={"type": "string"},
        ),
    },
    check=check_load_balancer,
)


# --- route-authentication --------------------------------------------------------------------------------------


def _is(res: Res, group: str, kind: str) -> bool:
    return kubernetes_group_kind(res) == (group, kind)


def _targets(policy: Res) -> list[Mapping[str, Any]]:
    spec = _dict(policy.props.get("spec"))
    refs = [_dict(r) for r in spec.get("targetRefs") or []]
    if spec.get("targetRef"):
        refs.append(_dict(spec["targetRef"]))
    return refs


def _key(res: Res) -> tuple[str, str]:
    return str(res.metadata.get("namespace") or "default"), str(res.metadata.get("name") or res.name)


def _authenticating_policy(route: Res, policies: list[Res]) -> Res | None:
    ns, name = _key(route)
    parents = {
        (str(_dict(p).get("namespace") or ns), str(_dict(p).get("name")))
        for p in _dict(route.props.get("spec")).get("parentRefs") or []
        if _dict(p).get("kind", "Gateway") == "Gateway"
    }
    for policy in policies:
        spec = _dict(policy.props.get("spec"))
        if not any(spec.get(f) for f in AUTH_FIELDS):
            continue
        pns = _key(policy)[0]
        for ref in _targets(policy):
            if ref.get("kind") == "HTTPRoute" and (pns, ref.get("name")) == (ns, name):
                return policy
            if ref.get("kind") == "Gateway" and (pns, ref.get("name")) in parents:
                return policy
    return None


def _redirect_only(route: Res) -> bool:
    """A route whose every rule only redirects (no backend): it forwards nothing, so it exposes nothing."""
    rules = [_dict(r) for r in _dict(route.props.get("spec")).get("rules") or []]
    return bool(rules) and all(
        not r.get("backendRefs") and any(_dict(f).get("type") == "RequestRedirect" for f in r.get("filters") or [])
        for r in rules
    )


def check_routes(resources: list[Res], cfg: Mapping[str, Any], facts: Facts) -> Iterator[tuple[str, str | None]]:
    policies = [r for r in resources if _is(r, "gateway.envoyproxy.io", "SecurityPolicy")]
    for route in resources:
        if not (
            _is(route, "gateway.networking.k8s.io", "HTTPRoute") or _is(route, "gateway.networking.k8s.io", "GRPCRoute")
        ):
            continue
        ns, name = _key(route)
        if matches_any([f"{ns}/{name}"], cfg["publicRoutes"]) or _redirect_only(route):
            continue
        if _authenticating_policy(route, policies) is None:
            yield (
                f"{route.label}: no SecurityPolicy with authentication ({', '.join(AUTH_FIELDS)}) targets this "
                f"route or its gateway, so anyone who reaches the gateway can call it",
                route.urn or None,
            )


ROUTE_AUTHENTICATION = Rule(
    name="route-authentication",
    description="Every HTTPRoute/GRPCRoute is authenticated by an Envoy Gateway SecurityPolicy (JWT, OIDC, API key, "
    "basic auth or external auth) targeting the route or its Gateway; a route that only redirects needs none.",
    enforcement_level=MANDATORY,
    config_schema={
        "publicRoutes": schema(
            "array", [], "Routes allowed without authentication, as namespace/name globs.", items={"type": "string"}
        ),
    },
    check=check_routes,
    stack=True,
)

RULES = [NO_PUBLIC_LOAD_BALANCER, ROUTE_AUTHENTICATION]
