"""What each Helm chart the platform installs creates from its values, as far as wiring goes.

A Helm release is one opaque resource in a preview: its pods, Services, monitors, webhooks and volume claims exist
only once the provider renders the chart. The rules need them, so this module models, per chart, the objects that
matter for wiring: pod labels and declared ports, Services and their target ports, the ServiceMonitors a chart
creates, admission webhooks and aggregated APIs with the container port the API server dials, the CRD groups the
chart brings and the ones it needs. Each model follows the chart's templates at the pinned version (sources in
``docs/wiring.md``) and reads only the values keys it names; a chart without a model is reported by the
``chart-modelled`` rule rather than silently trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ._render import Claim, Obj, Pod, Render, Res, Webhook

CERT_MANAGER_KINDS = {
    ("cert-manager.io", k) for k in ("Certificate", "CertificateRequest", "Issuer", "ClusterIssuer")
} | {("acme.cert-manager.io", k) for k in ("Order", "Challenge")}
KSERVE_KINDS = {
    ("serving.kserve.io", k)
    for k in ("InferenceService", "ServingRuntime", "ClusterServingRuntime", "InferenceGraph", "TrainedModel")
}
KEDA_KINDS = {
    ("keda.sh", k) for k in ("ScaledObject", "ScaledJob", "TriggerAuthentication", "ClusterTriggerAuthentication")
} | {("eventing.keda.sh", k) for k in ("CloudEventSource", "ClusterCloudEventSource")}
PROMETHEUS_OPERATOR_KINDS = {
    ("monitoring.coreos.com", "PrometheusRule"),
    ("monitoring.coreos.com", "AlertmanagerConfig"),
}
CNPG_KINDS = {
    ("postgresql.cnpg.io", k)
    for k in ("Cluster", "Backup", "ScheduledBackup", "Pooler", "Database", "Publication", "Subscription")
}


def get(values: dict[str, Any], path: str, default: Any = None) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


class _Chart:
    """Helpers bound to one release while its model runs."""

    def __init__(self, render: Render, rel: Res) -> None:
        self.render, self.rel = render, rel
        self.values: dict[str, Any] = rel.inputs.get("values") or {}
        self.name: str = rel.inputs.get("name") or rel.name
        self.ns: str = rel.inputs.get("namespace") or "default"
        self.source = f"chart {self.name}"

    def v(self, path: str, default: Any = None) -> Any:
        return get(self.values, path, default)

    def pod(self, labels: dict[str, str], ports: dict[str, int], ns: str | None = None, **kw: Any) -> Pod:
        pod = Pod(ns or self.ns, labels, f"{self.source}: {labels}", self.rel.urn, ports=ports, **kw)
        self.render.pods.append(pod)
        return pod

    def obj(
        self,
        kind: str,
        api_version: str,
        name: str,
        spec: dict[str, Any],
        labels: dict[str, str] | None = None,
        ns: str | None = None,
    ) -> Obj:
        meta = {"name": name, "namespace": ns or self.ns, "labels": labels or {}}
        o = Obj(kind, api_version, ns or self.ns, name, {"metadata": meta, "spec": spec}, self.source, self.rel.urn)
        self.render.objects.append(o)
        return o

    def service(
        self,
        name: str,
        selector: dict[str, str],
        ports: Sequence[tuple[str, int, int | str]],
        labels: dict[str, str] | None = None,
        ns: str | None = None,
    ) -> Obj:
        spec = {"selector": selector, "ports": [{"name": n, "port": p, "targetPort": t} for n, p, t in ports]}
        return self.obj("Service", "v1", name, spec, labels or selector, ns)

    def service_monitor(
        self,
        name: str,
        labels: dict[str, str],
        namespaces: list[str],
        selector: dict[str, str],
        port: str,
        ns: str | None = None,
    ) -> Obj:
        spec = {
            "namespaceSelector": {"matchNames": namespaces},
            "selector": {"matchLabels": selector},
            "endpoints": [{"port": port}],
        }
        return self.obj("ServiceMonitor", "monitoring.coreos.com/v1", name, spec, labels, ns)

    def webhook(self, port: int, kinds: set[tuple[str, str]], what: str = "admission webhook") -> None:
        self.render.webhooks.append(Webhook(self.rel.urn, self.name, self.ns, port, set(kinds), what))

    def crds(self, *groups: str) -> None:
        self.render.crd_groups.setdefault(self.rel.urn, set()).update(groups)

    def needs(self, *groups: str) -> None:
        self.render.needs_groups.setdefault(self.rel.urn, set()).update(groups)


def _cert_manager(c: _Chart) -> None:
    inst = {"app.kubernetes.io/instance": c.name}
    c.pod(
        {
            "app": "cert-manager",
            "app.kubernetes.io/name": "cert-manager",
            "app.kubernetes.io/component": "controller",
            **inst,
        },
        {"http-metrics": 9402, "http-healthz": 9403},
    )
    port = int(c.v("webhook.securePort", 10250))
    c.pod(
        {"app": "webhook", "app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook", **inst},
        {"https": port, "healthcheck": 6080, "http-metrics": 9402},
    )
    c.pod(
        {
            "app": "cainjector",
            "app.kubernetes.io/name": "cainjector",
            "app.kubernetes.io/component": "cainjector",
            **inst,
        },
        {"http-metrics": 9402},
    )
    c.webhook(port, CERT_MANAGER_KINDS)
    if c.v("crds.enabled") or c.v("installCRDs"):
        c.crds("cert-manager.io", "acme.cert-manager.io")


def _kserve_crd(c: _Chart) -> None:
    c.crds("serving.kserve.io")


def _kserve_resources(c: _Chart) -> None:
    c.pod(
        {
            "app.kubernetes.io/name": "kserve-controller-manager",
            "control-plane": "kserve-controller-manager",
            "controller-tools.k8s.io": "1.0",
        },
        {"webhook-server": 9443, "https": 8443},
    )
    c.service(
        "kserve-webhook-server-service", {"control-plane": "kserve-controller-manager"}, [("", 443, "webhook-server")]
    )
    # Validating and defaulting webhooks for KServe's kinds, and the pod mutator that injects the storage initializer.
    c.webhook(9443, KSERVE_KINDS | {("", "Pod")})
    # The chart's own Certificate and Issuer for the webhook, and the controller's watches.
    c.needs("cert-manager.io", "serving.kserve.io")
    if c.v("kserve.controller.gateway.ingressGateway.enableGatewayApi"):
        c.needs("gateway.networking.k8s.io")


def _keda(c: _Chart) -> None:
    op = c.v("operator.name", "keda-operator")
    hooks = c.v("webhooks.name", "keda-admission-webhooks")
    ports = {"metricsservice": 9666}
    if c.v("prometheus.operator.enabled"):
        ports["metrics"] = int(c.v("prometheus.operator.port", 8080))
    c.pod({"app": op, "name": op, "app.kubernetes.io/name": op}, ports)
    metrics_server = {"https": int(c.v("service.portHttpsTarget", 6443))}
    if c.v("prometheus.metricServer.enabled"):
        metrics_server["metrics"] = int(c.v("prometheus.metricServer.port", 8080))
    c.pod({"app": f"{op}-metrics-apiserver", "app.kubernetes.io/name": f"{op}-metrics-apiserver"}, metrics_server)
    if c.v("webhooks.enabled", True):
        c.pod(
            {"app": hooks, "name": hooks, "app.kubernetes.io/name": hooks}, {"http": int(c.v("webhooks.port") or 9443)}
        )
        c.webhook(int(c.v("webhooks.port") or 9443), KEDA_KINDS)
    c.webhook(metrics_server["https"], set(), "aggregated API v1beta1.external.metrics.k8s.io")
    c.crds("keda.sh", "eventing.keda.sh")


def _keda_http(c: _Chart) -> None:
    chart = "keda-add-ons-http"
    base = {
        "app.kubernetes.io/name": "http-add-on",
        "app.kubernetes.io/part-of": chart,
        "app.kubernetes.io/instance": c.name,
        "app.kubernetes.io/managed-by": "Helm",
    }
    admin, proxy = int(c.v("interceptor.admin.port", 9090)), int(c.v("interceptor.proxy.port", 8080))
    # The interceptor serves Prometheus metrics on 2223 (KEDA_HTTP_OTEL_PROM_EXPORTER_PORT) without declaring it.
    c.pod({"app.kubernetes.io/component": "interceptor", **base}, {"admin": admin, "proxy": proxy}, listens={2223})
    scaler_ports = {"grpc": int(c.v("scaler.grpcPort", 9090))}
    if c.v("scaler.metrics.prometheus.enabled", True):
        scaler_ports["metrics"] = int(c.v("scaler.metrics.prometheus.port", 2223))
    c.pod({"app.kubernetes.io/component": "scaler", **base}, scaler_ports)
    c.pod({"app.kubernetes.io/component": "operator", **base}, {"metrics": 8443})
    sel = lambda comp: {"app.kubernetes.io/component": comp, **base}  # noqa: E731
    c.service(
        f"{chart}-{c.v('interceptor.proxy.service', 'interceptor-proxy')}",
        sel("interceptor"),
        [("proxy", proxy, "proxy")],
    )
    c.service(
        f"{chart}-{c.v('interceptor.admin.service', 'interceptor-admin')}",
        sel("interceptor"),
        [("admin", admin, "admin")],
    )
    c.service(
        f"{chart}-{c.v('scaler.service', 'external-scaler')}",
        sel("scaler"),
        [("grpc", scaler_ports["grpc"], "grpc")]
        + ([("metrics", 2223, "metrics")] if "metrics" in scaler_ports else []),
    )
    c.crds("http.keda.sh")
    c.needs("keda.sh")  # the chart's ScaledObject that scales the interceptor


def _gateway_helm(c: _Chart) -> None:
    ports = {p["name"]: int(p["targetPort"]) for p in c.v("deployment.ports") or [] if "name" in p} or {
        "grpc": 18000,
        "ratelimit": 18001,
        "wasm": 18002,
        "metrics": 19001,
    }
    ports["webhook"] = 9443
    c.pod(
        {
            "control-plane": "envoy-gateway",
            "app.kubernetes.io/name": "gateway-helm",
            "app.kubernetes.io/instance": c.name,
        },
        ports,
    )
    version = c.render.kubernetes_version
    if c.v("topologyInjector.enabled", True) and not (version and _minor(version) >= 35):
        c.webhook(9443, {("", "Pod")}, "admission webhook (topology injector)")
    if c.v("crds.enabled", True):
        c.crds("gateway.networking.k8s.io", "gateway.envoyproxy.io")


def _kube_prometheus_stack(c: _Chart) -> None:
    rel = c.name
    spec = c.v("prometheus.prometheusSpec", {}) or {}
    c.pod(
        {
            "app.kubernetes.io/name": "prometheus",
            "prometheus": f"{rel}-prometheus",
            "operator.prometheus.io/name": f"{rel}-prometheus",
        },
        {"http-web": 9090, "reloader-web": 8080},
        service_account=f"{rel}-prometheus",
    )
    c.pod({"app.kubernetes.io/name": "alertmanager", "alertmanager": f"{rel}-alertmanager"}, {"http-web": 9093})
    c.pod(
        {"app": f"{rel}-operator", "app.kubernetes.io/name": f"{rel}-prometheus-operator", "release": rel},
        {"https": 10250},
    )
    c.pod({"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": rel}, {"grafana": 3000})
    c.pod({"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": rel}, {"http": 8080})
    c.pod(
        {"app.kubernetes.io/name": "prometheus-node-exporter", "app.kubernetes.io/instance": rel},
        {"http-metrics": 9100},
    )
    if c.v("prometheusOperator.admissionWebhooks.enabled", True):
        c.webhook(int(c.v("prometheusOperator.tls.internalPort", 10250)), PROMETHEUS_OPERATOR_KINDS)
    claim = get(spec, "storageSpec.volumeClaimTemplate.spec")
    if claim is not None:
        c.render.claims.append(
            Claim(f"Prometheus {c.ns}/{rel}-prometheus (from {c.source})", claim.get("storageClassName"), c.rel.urn)
        )
    am_claim = c.v("alertmanager.alertmanagerSpec.storage.volumeClaimTemplate.spec")
    if am_claim is not None:
        c.render.claims.append(
            Claim(
                f"Alertmanager {c.ns}/{rel}-alertmanager (from {c.source})", am_claim.get("storageClassName"), c.rel.urn
            )
        )
    if c.v("grafana.persistence.enabled"):
        c.render.claims.append(
            Claim(f"Grafana {c.ns} (from {c.source})", c.v("grafana.persistence.storageClassName"), c.rel.urn)
        )
    labels = {"release": rel}
    # The control-plane and DNS monitors the chart creates: a Service in kube-system selecting the component's pods.
    components = {
        "kubeControllerManager": ("kube-controller-manager", {"component": "kube-controller-manager"}, 10257, True),
        "kubeScheduler": ("kube-scheduler", {"component": "kube-scheduler"}, 10259, True),
        "kubeEtcd": ("kube-etcd", {"component": "etcd"}, 2381, True),
        "kubeProxy": ("kube-proxy", {"k8s-app": "kube-proxy"}, 10249, True),
        "coreDns": ("coredns", {"k8s-app": "kube-dns"}, 9153, True),
        "kubeDns": ("kube-dns", {"k8s-app": "kube-dns"}, 10055, False),
    }
    for key, (short, selector, port, default) in components.items():
        if not c.v(f"{key}.enabled", default):
            continue
        target = c.v(f"{key}.service.targetPort", port) if key != "kubeDns" else port
        name = f"{rel}-{short}"
        c.service(
            name,
            selector,
            [("http-metrics", int(c.v(f"{key}.service.port", port) or port), int(target))],
            {"app": name, **labels},
            "kube-system",
        )
        c.service_monitor(name, {"app": name, **labels}, ["kube-system"], {"app": name, **labels}, "http-metrics")
    if c.v("crds.enabled", True):
        c.crds("monitoring.coreos.com")


def _dcgm_exporter(c: _Chart) -> None:
    sel = {"app.kubernetes.io/name": "dcgm-exporter", "app.kubernetes.io/instance": c.name}
    c.pod(sel, {"metrics": 9400})
    c.service("dcgm-exporter", sel, [("metrics", 9400, 9400)], sel)
    if c.v("serviceMonitor.enabled", True):
        c.service_monitor(
            "dcgm-exporter", {**sel, **(c.v("serviceMonitor.additionalLabels") or {})}, [c.ns], sel, "metrics"
        )
        c.needs("monitoring.coreos.com")


def _pushgateway(c: _Chart) -> None:
    sel = {"app.kubernetes.io/name": "prometheus-pushgateway", "app.kubernetes.io/instance": c.name}
    c.pod(sel, {"metrics": 9091})
    c.service(c.name, sel, [("http", 9091, 9091)], sel)
    if c.v("serviceMonitor.enabled"):
        labels = {**sel, **(c.v("serviceMonitor.additionalLabels") or {})}
        c.service_monitor(c.name, labels, [c.ns], sel, "http", c.v("serviceMonitor.namespace") or c.ns)
        c.needs("monitoring.coreos.com")


def _cloudnative_pg(c: _Chart) -> None:
    c.pod(
        {"app.kubernetes.io/name": "cloudnative-pg", "app.kubernetes.io/instance": c.name},
        {"metrics": 8080, "webhook-server": 9443},
    )
    c.webhook(9443, CNPG_KINDS)
    if c.v("crds.create", True):
        c.crds("postgresql.cnpg.io")


def _no_wiring(c: _Chart) -> None:
    """Charts whose pods nothing else selects, scrapes or routes to, and which run no webhook."""


MODELS: dict[str, Callable[[_Chart], None]] = {
    "cert-manager": _cert_manager,
    "kserve-crd": _kserve_crd,
    "kserve-resources": _kserve_resources,
    "keda": _keda,
    "keda-add-ons-http": _keda_http,
    "gateway-helm": _gateway_helm,
    "kube-prometheus-stack": _kube_prometheus_stack,
    "dcgm-exporter": _dcgm_exporter,
    "prometheus-pushgateway": _pushgateway,
    "cloudnative-pg": _cloudnative_pg,
    "cluster-autoscaler": _no_wiring,
    "nvidia-device-plugin": _no_wiring,
}
"""Chart name (the last path segment of ``chart``) -> model."""


def chart_name(rel: Res) -> str:
    return str(rel.inputs.get("chart") or "").rstrip("/").rsplit("/", 1)[-1]


def model(render: Render, rel: Res) -> None:
    fn = MODELS.get(chart_name(rel))
    if fn is not None:
        fn(_Chart(render, rel))


def cluster_builtins(render: Render) -> None:
    """What the cluster itself runs in kube-system that charts' monitors select (DNS, kube-proxy)."""
    system = "kube-system"
    render.namespace_labels.setdefault(system, {"kubernetes.io/metadata.name": system})
    if render.cloud == "gcp":
        # GKE runs kube-dns (dnsmasq and sidecar), not CoreDNS.
        render.pods.append(
            Pod(
                system,
                {"k8s-app": "kube-dns"},
                "GKE kube-dns",
                None,
                ports={"dns": 53, "dns-tcp": 53, "dns-local": 10053, "metrics": 10055, "#10054": 10054},
            )
        )
    else:
        render.pods.append(
            Pod(system, {"k8s-app": "kube-dns"}, "CoreDNS", None, ports={"dns": 53, "dns-tcp": 53, "metrics": 9153})
        )
    # kube-proxy binds its metrics to 127.0.0.1 on EKS, GKE and kind: the pods exist but declare no metrics port.
    render.pods.append(Pod(system, {"k8s-app": "kube-proxy"}, "kube-proxy", None))
    if render.cloud == "existing":
        # kind, k3d and minikube run the control plane as static pods bound to localhost (no declared port).
        for component in ("kube-controller-manager", "kube-scheduler", "etcd"):
            render.pods.append(Pod(system, {"component": component}, component, None))


def _minor(version: str) -> int:
    parts = version.split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
