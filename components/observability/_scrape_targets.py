"""What Prometheus scrapes: model servers, MLflow, the Envoy Gateway proxies, KEDA and its HTTP interceptor.

Why PodMonitors with port numbers: the model servers, MLflow and the proxies are created by other components and
charts that do not all declare a named metrics port or a metrics Service; a PodMonitor with ``portNumber`` scrapes a
pod by its labels and port alone. Model-server targets get the platform's labels as ``model``, ``model_version`` and
``endpoint`` (from the pod's ``ml-platform.io/*`` labels), the label contract every rule and dashboard relies on.
dcgm-exporter and the Pushgateway are scraped through their charts' own ServiceMonitors (see
:mod:`._monitoring_stack`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import ENDPOINT_LABEL, MANAGED_BY_LABELS, MODEL_LABEL, MODEL_VERSION_LABEL, PlatformComponent, Problems

MLSERVER_METRICS_PORT = 8082
"""MLServer's default metrics port (``MLSERVER_METRICS_PORT``), which KServe's MLServer runtime keeps."""
INTERCEPTOR_METRICS_PORT = 2223
"""Port of the KEDA HTTP add-on interceptor's Prometheus endpoint (``KEDA_HTTP_OTEL_PROM_EXPORTER_PORT``)."""
MLFLOW_JOB = "mlflow"
"""``job`` label of the MLflow target (the ``MlflowDown`` alert reads it)."""


def meta_label(label: str) -> str:
    """Prometheus's service-discovery name of a pod label (``ml-platform.io/model`` →
    ``__meta_..._ml_platform_io_model``)."""
    return "__meta_kubernetes_pod_label_" + "".join(c if c.isalnum() else "_" for c in label)


@dataclass(kw_only=True)
class ScrapeTargetsArgs:
    """Arguments of :class:`ScrapeTargets`."""

    namespace: str = "monitoring"
    """Namespace of the PodMonitors. Default ``monitoring``."""
    selector_labels: dict[str, str] = field(default_factory=dict)
    """Labels the Prometheus's ``podMonitorSelector`` matches. Default none."""
    interval_seconds: int = 30
    """Scrape interval. Default 30."""
    model_metrics_port: int = MLSERVER_METRICS_PORT
    """Metrics port of the model servers. Default 8082 (MLServer)."""
    mlflow_namespace: str | None = None
    """Namespace of MLflow; None: MLflow is not scraped. Default None."""
    mlflow_pod_labels: dict[str, str] = field(default_factory=dict)
    """Labels of the MLflow pods. Default none."""
    mlflow_port: int = 5000
    """Port MLflow serves ``/metrics`` on. Default 5000."""
    mlflow_basic_auth_secret: str | None = None
    """Secret in MLflow's namespace with ``admin-username``/``admin-password`` when MLflow runs basic auth (its
    ``/metrics`` then needs credentials); the MLflow PodMonitor is then created in that namespace, beside the Secret
    it references. Default None (no auth)."""
    gateway_namespace: str | None = None
    """Namespace of the Envoy Gateway proxies; None: not scraped. Default None."""
    keda_namespace: str | None = None
    """Namespace of the KEDA operator; None: not scraped. Default None."""
    interceptor_namespace: str | None = None
    """Namespace of the KEDA HTTP add-on interceptors (the serving namespace); None: not scraped. Default None."""
    release_controller_namespace: str | None = None
    """Namespace of the release controller (its pods labelled ``app.kubernetes.io/name: release-controller``, metrics
    on their ``metrics`` port); None: not scraped. Default None."""
    model_servers: bool = True
    """Scrape model servers (False on a stack without serving: the monitor would select nothing). Default True."""

    def validate(self, problems: Problems) -> None:
        problems.check(5 <= self.interval_seconds <= 300, "interval_seconds", "must be 5 to 300", self.interval_seconds)
        for name in ("model_metrics_port", "mlflow_port"):
            port = getattr(self, name)
            problems.check(1 <= port <= 65535, name, "must be a port number (1-65535)", port)
        if self.mlflow_namespace is not None:
            problems.check(
                bool(self.mlflow_pod_labels), "mlflow_pod_labels", "must select the MLflow pods", self.mlflow_pod_labels
            )


def _endpoint(args: ScrapeTargetsArgs, port: int, path: str = "/metrics", **extra: Any) -> dict[str, Any]:
    return {"portNumber": port, "path": path, "interval": f"{args.interval_seconds}s", **extra}


def monitor_namespace(args: ScrapeTargetsArgs, monitor: str) -> str:
    """Where a PodMonitor lives: beside the Secret it reads, if any (a monitor reads Secrets of its own namespace)."""
    if monitor == "mlflow" and args.mlflow_basic_auth_secret and args.mlflow_namespace:
        return args.mlflow_namespace
    return args.namespace


def pod_monitors(args: ScrapeTargetsArgs) -> dict[str, dict[str, Any]]:
    """PodMonitor specs by name (exposed for tests and previews)."""
    copy = [
        {"sourceLabels": [meta_label(src)], "targetLabel": target, "action": "replace"}
        for src, target in (
            (MODEL_LABEL, "model"),
            (MODEL_VERSION_LABEL, "model_version"),
            (ENDPOINT_LABEL, "endpoint"),
        )
    ]
    monitors: dict[str, dict[str, Any]] = {}
    if args.model_servers:
        monitors["model-servers"] = {
            "namespaceSelector": {"any": True},
            "selector": {"matchExpressions": [{"key": MODEL_LABEL, "operator": "Exists"}]},
            "podMetricsEndpoints": [_endpoint(args, args.model_metrics_port, relabelings=copy)],
        }
    if args.mlflow_namespace is not None:
        monitors["mlflow"] = {
            "namespaceSelector": {"matchNames": [args.mlflow_namespace]},
            "selector": {"matchLabels": dict(args.mlflow_pod_labels)},
            "podMetricsEndpoints": [
                _endpoint(
                    args,
                    args.mlflow_port,
                    relabelings=[{"targetLabel": "job", "replacement": MLFLOW_JOB, "action": "replace"}],
                )
            ],
        }
        if args.mlflow_basic_auth_secret:
            secret = args.mlflow_basic_auth_secret
            monitors["mlflow"]["podMetricsEndpoints"][0]["basicAuth"] = {
                "username": {"name": secret, "key": "admin-username"},
                "password": {"name": secret, "key": "admin-password"},
            }
    if args.gateway_namespace is not None:
        monitors["envoy-gateway-proxies"] = {
            "namespaceSelector": {"matchNames": [args.gateway_namespace]},
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/name": "envoy",
                    "app.kubernetes.io/component": "proxy",
                    "app.kubernetes.io/managed-by": "envoy-gateway",
                }
            },
            "podMetricsEndpoints": [_endpoint(args, 19001, "/stats/prometheus")],
        }
    if args.keda_namespace is not None:
        monitors["keda-operator"] = {
            "namespaceSelector": {"matchNames": [args.keda_namespace]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "keda-operator"}},
            "podMetricsEndpoints": [_endpoint(args, 8080)],
        }
    if args.release_controller_namespace is not None:
        monitors["release-controller"] = {
            "namespaceSelector": {"matchNames": [args.release_controller_namespace]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "release-controller"}},
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "15s"}],
        }
    if args.interceptor_namespace is not None:
        monitors["keda-http-interceptor"] = interceptor_monitor(args, args.interceptor_namespace)
    return monitors


def interceptor_monitor(args: ScrapeTargetsArgs, namespace: str) -> dict[str, Any]:
    """The KEDA HTTP add-on interceptors: the chart declares only their admin and proxy ports, and their Prometheus
    endpoint listens on INTERCEPTOR_METRICS_PORT undeclared, so the target is the admin port's, readdressed."""
    readdress = {
        "sourceLabels": ["__meta_kubernetes_pod_ip"],
        "regex": "(.+)",
        "targetLabel": "__address__",
        "replacement": f"$1:{INTERCEPTOR_METRICS_PORT}",
        "action": "replace",
    }
    return {
        "namespaceSelector": {"matchNames": [namespace]},
        "selector": {
            "matchLabels": {
                "app.kubernetes.io/component": "interceptor",
                "app.kubernetes.io/part-of": "keda-add-ons-http",
            }
        },
        "podMetricsEndpoints": [
            {"port": "admin", "path": "/metrics", "interval": f"{args.interval_seconds}s", "relabelings": [readdress]}
        ],
    }


class ScrapeTargets(PlatformComponent):
    """PodMonitors for everything the platform runs that exposes metrics but ships no monitor of its own."""

    names: list[str]
    """Names of the PodMonitors created."""

    def __init__(self, name: str, args: ScrapeTargetsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:scrape_targets:ScrapeTargets", name, args, opts)
        self.names = []
        for monitor, spec in pod_monitors(args).items():
            k8s.apiextensions.CustomResource(
                f"{name}-{monitor}",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=monitor,
                    namespace=monitor_namespace(args, monitor),
                    labels={**MANAGED_BY_LABELS, **args.selector_labels},
                ),
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.names.append(monitor)
        self.register_outputs({"names": self.names})
