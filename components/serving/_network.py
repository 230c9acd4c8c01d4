"""The serving namespace's network isolation and the plain-HTTP redirect, as plain specs.

Why default-deny: without it any pod in the cluster can call a model server directly and skip the gateway's
authentication and rate limits. The allows are exactly the flows the platform needs (the wiring check's
``network-flows`` rule derives them from the render and fails a preview that denies one): the gateway's proxies
and the HTTP add-on interceptor to the model servers, the proxies to the interceptor, the external scaler to the
interceptors' admin port, KEDA to the external scaler, and Prometheus to the metrics ports.
"""

from __future__ import annotations

from typing import Any

from ..common import MODEL_LABEL

INTERCEPTOR_PROXY_PORT = 8080
INTERCEPTOR_ADMIN_PORT = 9090
INTERCEPTOR_METRICS_PORT = 2223
EXTERNAL_SCALER_PORT = 9090
"""HTTP add-on ports: interceptor proxy and admin (chart values), the interceptor's undeclared Prometheus port
(``KEDA_HTTP_OTEL_PROM_EXPORTER_PORT``), the external scaler's gRPC port."""
MLSERVER_HTTP_PORT = 8080
MLSERVER_METRICS_PORT = 8082
"""MLServer's REST port (KServe's container port) and its Prometheus port (``/metrics``)."""

ENVOY_PROXY_LABELS = {
    "app.kubernetes.io/name": "envoy",
    "app.kubernetes.io/component": "proxy",
    "app.kubernetes.io/managed-by": "envoy-gateway",
}
"""Labels Envoy Gateway puts on the proxy pods it runs for a Gateway."""


def https_redirect_spec(args: Any) -> dict[str, Any]:
    """The only route on the plain-HTTP listener when the Gateway has TLS: a permanent redirect to HTTPS."""
    spec: dict[str, Any] = {
        "parentRefs": [{"name": args.gateway_name, "namespace": args.gateway_namespace, "sectionName": "http"}],
        "rules": [
            {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
        ],
    }
    if args.gateway_hostname:
        spec["hostnames"] = [args.gateway_hostname]
    return spec


def network_policy_specs(args: Any) -> dict[str, dict[str, Any]]:
    """Default-deny ingress in the serving namespace and the flows the platform needs, nothing more.

    Without them any pod in the cluster could call a model server directly and skip the gateway's authentication
    and rate limits.
    """

    def ns(name: str) -> dict[str, Any]:
        return {"matchLabels": {"kubernetes.io/metadata.name": name}}

    models = {"matchExpressions": [{"key": MODEL_LABEL, "operator": "Exists"}]}
    add_on = {"app.kubernetes.io/part-of": "keda-add-ons-http"}
    interceptor = {"matchLabels": {"app.kubernetes.io/component": "interceptor", **add_on}}
    proxies = {"namespaceSelector": ns(args.gateway_namespace), "podSelector": {"matchLabels": ENVOY_PROXY_LABELS}}
    tcp = lambda *ports: [{"protocol": "TCP", "port": p} for p in ports]  # noqa: E731
    specs: dict[str, dict[str, Any]] = {
        "default-deny-ingress": {"podSelector": {}, "policyTypes": ["Ingress"]},
        "allow-gateway-and-interceptor-to-models": {
            "podSelector": models,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [proxies, {"podSelector": interceptor}], "ports": tcp(MLSERVER_HTTP_PORT)}],
        },
        "allow-gateway-to-interceptor": {
            "podSelector": interceptor,
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [proxies], "ports": tcp(INTERCEPTOR_PROXY_PORT)},
                # The external scaler polls every interceptor's admin port for pending requests.
                {
                    "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "scaler", **add_on}}}],
                    "ports": tcp(INTERCEPTOR_ADMIN_PORT),
                },
            ],
        },
        "allow-keda-to-scaler": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/component": "scaler", **add_on}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": ns(args.keda_namespace)}], "ports": tcp(EXTERNAL_SCALER_PORT)}],
        },
    }
    if args.metrics_namespace:
        specs["allow-prometheus"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": ns(args.metrics_namespace)}],
                    "ports": tcp(MLSERVER_METRICS_PORT, INTERCEPTOR_METRICS_PORT),
                }
            ],
        }
    return specs
