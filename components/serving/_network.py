"""The serving namespace's network isolation and the plain-HTTP redirect, as plain specs.

Why default-deny: without it any pod in the cluster can call a model server directly and skip the gateway's
authentication and rate limits. The allows are exactly the flows the platform needs (the wiring check's
``network-flows`` rule derives them from the render and fails a preview that denies one): the gateway's proxies
and the HTTP add-on interceptor to the model servers, the proxies to the interceptor, the external scaler to the
interceptors' admin port, KEDA to the external scaler, and Prometheus to the metrics ports.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import MODEL_LABEL

GATEWAY_ACCESS_LABEL = "ml-platform.io/gateway-access"
"""Namespace label (``"true"``) that lets a namespace's HTTPRoutes attach to the platform Gateway."""

INTERCEPTOR_PROXY_PORT = 8080
INTERCEPTOR_ADMIN_PORT = 9090
INTERCEPTOR_METRICS_PORT = 2223
EXTERNAL_SCALER_PORT = 9090
"""HTTP add-on ports: interceptor proxy and admin (chart values), the interceptor's undeclared Prometheus port
(``KEDA_HTTP_OTEL_PROM_EXPORTER_PORT``), the external scaler's gRPC port."""
MLSERVER_HTTP_PORT = 8080
MLSERVER_METRICS_PORT = 8082
"""MLServer's REST port (KServe's container port) and its Prometheus port (``/metrics``)."""

RELEASE_METRICS_PORT = 9102
"""The release controller's metrics port (ReleaseControllerArgs.metrics_port's default)."""

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
                    "ports": tcp(MLSERVER_METRICS_PORT, INTERCEPTOR_METRICS_PORT, RELEASE_METRICS_PORT),
                }
            ],
        }
    return specs


def https_redirect(name: str, args: Any, labels: dict[str, str], opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """With TLS, the only route on the plain-HTTP listener: a permanent redirect to HTTPS (none without TLS)."""
    if not args.tls_secret_name:
        return []
    route = k8s.apiextensions.CustomResource(
        f"{name}-https-redirect",
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata={"name": "https-redirect", "namespace": args.gateway_namespace, "labels": labels},
        spec=https_redirect_spec(args),
        opts=opts,
    )
    return [route]


def isolation(
    name: str, args: Any, labels: dict[str, str], service_account: str, opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """The model servers' ServiceAccount (their cloud identity) and the serving namespace's NetworkPolicies."""
    account = k8s.core.v1.ServiceAccount(
        f"{name}-model-server-sa",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=service_account,
            namespace=args.namespace,
            labels=labels,
            annotations=args.model_service_account_annotations or None,
        ),
        # Model servers never call the Kubernetes API (IRSA and GKE's metadata server need no API token).
        automount_service_account_token=False,
        opts=opts,
    )
    policies: list[pulumi.Resource] = [
        k8s.networking.v1.NetworkPolicy(
            f"{name}-{policy}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=args.namespace, labels=labels),
            spec=spec,
            opts=opts,
        )
        for policy, spec in network_policy_specs(args).items()
    ]
    return [account, *policies]


def gateway_listeners(args: Any) -> list[dict[str, Any]]:
    """HTTP, and HTTPS when a certificate is given; routes attach from namespaces labelled for gateway access."""
    allowed = {
        "namespaces": {"from": "Selector", "selector": {"matchLabels": {GATEWAY_ACCESS_LABEL: "true"}}},
        "kinds": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}],
    }
    listener: dict[str, Any] = {"name": "http", "port": 80, "protocol": "HTTP", "allowedRoutes": allowed}
    if args.tls_secret_name:
        # Plain HTTP only redirects to HTTPS: only the redirect route (in the gateway namespace) attaches to it.
        listener["allowedRoutes"] = {"namespaces": {"from": "Same"}, "kinds": allowed["kinds"]}
    listeners = [listener]
    if args.tls_secret_name:
        listeners.append(
            {
                "name": "https",
                "port": 443,
                "protocol": "HTTPS",
                "allowedRoutes": allowed,
                "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": args.tls_secret_name}]},
            }
        )
    if args.gateway_hostname:
        for item in listeners:
            item["hostname"] = args.gateway_hostname
    return listeners
