"""Exposure rules: no stray LoadBalancer Services, no route without authentication."""

from __future__ import annotations

from policies.rules.network import NO_PUBLIC_LOAD_BALANCER, ROUTE_AUTHENTICATION
from tests.policies.builders import k8s, violations


def service(name: str = "iris", kind: str = "LoadBalancer", labels: dict | None = None):
    return k8s("Service", name, {"type": kind, "ports": [{"port": 80}]}, group="core/v1", labels=labels)


def route(name: str = "iris", gateway: str = "ml-gateway", namespace: str = "serving"):
    return k8s(
        "HTTPRoute",
        name,
        {
            "parentRefs": [{"name": gateway, "namespace": "gateway"}],
            "rules": [{"backendRefs": [{"name": name, "port": 80}]}],
        },
        namespace=namespace,
        group="gateway.networking.k8s.io/v1",
    )


def security_policy(name: str, target_kind: str, target: str, namespace: str = "serving", **auth):
    spec = {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": target_kind, "name": target}]}
    spec.update(auth or {"jwt": {"providers": [{"name": "idp", "remoteJWKS": {"uri": "https://idp.example/jwks"}}]}})
    return k8s("SecurityPolicy", name, spec, namespace=namespace, group="gateway.envoyproxy.io/v1alpha1")


# --- no-public-load-balancer ----------------------------------------------------------------------------------


def test_cluster_ip_and_gateway_service_are_fine() -> None:
    assert violations(NO_PUBLIC_LOAD_BALANCER, service(kind="ClusterIP")) == []
    gateway = service("envoy-ml-gateway", labels={"gateway.envoyproxy.io/owning-gateway-name": "ml-gateway"})
    assert violations(NO_PUBLIC_LOAD_BALANCER, gateway) == []


def test_load_balancer_service_is_rejected() -> None:
    assert violations(NO_PUBLIC_LOAD_BALANCER, service()) == [
        "[mandatory] no-public-load-balancer: Service serving/iris: is of type LoadBalancer; only the gateway's "
        "Service may be (expose it through an HTTPRoute on the gateway, or list 'serving/iris' in allowed)"
    ]


def test_service_without_spec_type_is_cluster_ip() -> None:
    svc = k8s("Service", "iris", {"ports": [{"port": 80}]}, group="core/v1")
    assert violations(NO_PUBLIC_LOAD_BALANCER, svc) == []


def test_load_balancer_config_override_allows_a_service() -> None:
    assert violations(NO_PUBLIC_LOAD_BALANCER, service(), {"allowed": ["serving/*"]}) == []


# --- route-authentication -------------------------------------------------------------------------------------


def test_route_authenticated_by_a_policy_on_the_route_or_on_its_gateway() -> None:
    assert violations(ROUTE_AUTHENTICATION, [route(), security_policy("iris-auth", "HTTPRoute", "iris")]) == []
    on_gateway = security_policy(
        "gw-auth",
        "Gateway",
        "ml-gateway",
        namespace="gateway",
        apiKeyAuth={"credentialRefs": [{"name": "keys"}], "extractFrom": [{"headers": ["x-api-key"]}]},
    )
    assert violations(ROUTE_AUTHENTICATION, [route(), on_gateway]) == []


def test_route_without_policy_is_rejected() -> None:
    assert violations(ROUTE_AUTHENTICATION, [route()]) == [
        "[mandatory] route-authentication: HTTPRoute serving/iris: no SecurityPolicy with authentication (jwt, oidc, "
        "apiKeyAuth, basicAuth, extAuth) targets this route or its gateway, so anyone who reaches the gateway can "
        "call it"
    ]


def test_policy_without_authentication_or_for_another_route_does_not_count() -> None:
    cors_only = security_policy("iris-cors", "HTTPRoute", "iris", cors={"allowOrigins": ["https://app.example"]})
    other = security_policy("wine-auth", "HTTPRoute", "wine")
    other_namespace = security_policy("iris-auth", "HTTPRoute", "iris", namespace="other")
    for policies in ([cors_only], [other], [other_namespace]):
        (message,) = violations(ROUTE_AUTHENTICATION, [route(), *policies])
        assert "HTTPRoute serving/iris: no SecurityPolicy" in message


def test_route_without_parent_refs_needs_its_own_policy() -> None:
    bare = k8s("HTTPRoute", "iris", {"rules": []}, group="gateway.networking.k8s.io/v1")
    assert violations(ROUTE_AUTHENTICATION, [bare, security_policy("gw", "Gateway", "ml-gateway")])


def test_route_config_override_makes_a_route_public() -> None:
    health = route("health")
    assert violations(ROUTE_AUTHENTICATION, [health])
    assert violations(ROUTE_AUTHENTICATION, [health], {"publicRoutes": ["serving/health"]}) == []


def test_a_route_that_only_redirects_needs_no_authentication() -> None:
    redirect = route("https-redirect", namespace="envoy-gateway-system")
    redirect.props["spec"]["rules"] = [
        {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
    ]
    assert violations(ROUTE_AUTHENTICATION, [redirect]) == []
    # a redirect beside a backend still forwards traffic: it needs authentication
    redirect.props["spec"]["rules"].append({"backendRefs": [{"name": "iris", "port": 80}]})
    assert violations(ROUTE_AUTHENTICATION, [redirect])
