"""The cluster-wide serving platform every ModelEndpoint runs on: KServe, KEDA, its HTTP add-on, Envoy Gateway.

Why these pieces and this shape (the full decision is in ``docs/serving.md``):

* KServe in **Standard** (raw Deployment) mode turns each model version into a plain Deployment + Service; its
  Knative mode would give a traffic split but no KEDA. The platform switches KServe's own ingress off and routes
  with Gateway API itself, because the exact split lives in one HTTPRoute per endpoint.
* **Envoy Gateway** serves that HTTPRoute and attaches authentication and rate limits to it. Its Gateway's Envoy
  Service is the only public LoadBalancer of the platform.
* **KEDA** scales every version; the **HTTP add-on** interceptor holds requests for versions at zero replicas.
  The add-on is installed in the serving namespace itself, so routes reach the interceptor without a cross-
  namespace reference (no ReferenceGrant to keep in step).
* **cert-manager** issues KServe's webhook certificate.

Every chart is pinned and every release that brings CRDs is a dependency of everything that uses them, so a
first ``pulumi up`` never creates a custom resource before its definition exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import (
    MANAGED_BY_LABELS,
    ContainerSecurity,
    PlatformComponent,
    Problems,
    ScratchDir,
    chart_release,
    merge_labels,
)
from ._capacity import capacity_resources
from ._network import (
    EXTERNAL_SCALER_PORT,
    GATEWAY_ACCESS_LABEL,
    INTERCEPTOR_PROXY_PORT,
    MLSERVER_HTTP_PORT,
    MLSERVER_METRICS_PORT,
    gateway_listeners,
    https_redirect,
    isolation,
)

CERT_MANAGER_REPOSITORY = "https://charts.jetstack.io"
KSERVE_CHARTS = "oci://ghcr.io/kserve/charts"
KEDA_REPOSITORY = "https://kedacore.github.io/charts"
ENVOY_GATEWAY_CHART = "oci://docker.io/envoyproxy/gateway-helm"

GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
"""Controller name Envoy Gateway answers for (the chart's ``config.envoyGateway.gateway.controllerName``)."""


MLSERVER_RUNTIME = "ml-platform-mlserver"
"""Name of the ClusterServingRuntime that serves MLflow models with MLServer's MLflow runtime (protocol v2)."""

INTERCEPTOR_PROXY_SERVICE = "keda-add-ons-http-interceptor-proxy"
EXTERNAL_SCALER_SERVICE = "keda-add-ons-http-external-scaler"
"""Service names the ``keda-add-ons-http`` chart gives its interceptor and external scaler (chart name + suffix)."""

MODEL_SERVICE_ACCOUNT = "model-server"
"""ServiceAccount (in the serving namespace) model pods run as; its annotations carry the identity that reads
models."""

MLSERVER_SCRATCH = ScratchDir()
"""MLServer's one writable path under its read-only root: temporary files, its environments folder and the
metrics files its inference workers share. KServe merges the runtime's volumes and mounts into every model pod."""


@dataclass(kw_only=True)
class ServingPlatformArgs:
    """Arguments of :class:`ServingPlatform`."""

    namespace: str = "ml-serving"
    """Namespace for model endpoints and the HTTP add-on interceptor (created here). Default ``ml-serving``."""
    keda_namespace: str = "keda"
    """Namespace of the KEDA operator. Default ``keda``."""
    kserve_namespace: str = "kserve"
    """Namespace of the KServe controller. Default ``kserve``."""
    cert_manager_namespace: str = "cert-manager"
    """Namespace of cert-manager. Default ``cert-manager``."""
    gateway_namespace: str = "envoy-gateway-system"
    """Namespace of Envoy Gateway and of the platform Gateway. Default ``envoy-gateway-system``."""
    gateway_name: str = "ml-gateway"
    """Name of the Gateway (and prefix of its GatewayClass). Default ``ml-gateway``."""
    gateway_hostname: str | None = None
    """Hostname the listeners accept (``models.example.com``); None accepts any. Default None."""
    tls_secret_name: str | None = None
    """Secret (in the gateway namespace) with the certificate for an HTTPS listener on 443; None: HTTP only.
    Default None."""
    cert_manager_chart_version: str = "v1.19.1"
    """Pinned cert-manager chart. Default ``v1.19.1``."""
    kserve_chart_version: str = "v0.20.0"
    """Pinned kserve-crd and kserve-resources charts. Default ``v0.20.0``."""
    keda_chart_version: str = "2.20.2"
    """Pinned KEDA chart. Default ``2.20.2``."""
    keda_http_chart_version: str = "0.15.0"
    """Pinned KEDA HTTP add-on chart (``keda-add-ons-http``). Default ``0.15.0``."""
    envoy_gateway_chart_version: str = "v1.9.0"
    """Pinned Envoy Gateway chart (``gateway-helm``, brings the Gateway API CRDs). Default ``v1.9.0``."""
    mlserver_image: str = "docker.io/seldonio/mlserver:1.7.1"
    """Image of the MLServer runtime; must carry an MLflow that reads the models' format (see docs/serving.md).
    Default ``docker.io/seldonio/mlserver:1.7.1``."""
    interceptor_min_replicas: int = 2
    """Minimum HTTP add-on interceptor replicas (it is on the path of every cold request). Default 2."""
    interceptor_max_replicas: int = 10
    """Maximum HTTP add-on interceptor replicas. Default 10."""
    envoy_gateway_replicas: int = 1
    """Envoy Gateway controller replicas. Default 1."""
    model_service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Annotations of the model servers' ServiceAccount (``model-server``): the cloud identity that reads models
    (IRSA role, Google service account). Default none."""
    metrics_namespace: str | None = None
    """Namespace of the Prometheus that scrapes model servers and the HTTP add-on; None admits no scraper through
    the serving namespace's NetworkPolicies. Default None."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels on the objects created here. Default none."""

    def validate(self, problems: Problems) -> None:
        for name in (
            "namespace",
            "keda_namespace",
            "kserve_namespace",
            "cert_manager_namespace",
            "gateway_namespace",
            "gateway_name",
        ):
            value = getattr(self, name)
            problems.check(
                is_dns_label(value), name, "must be a DNS label (lowercase letters, digits, '-', <= 63)", value
            )
        problems.check(
            self.interceptor_min_replicas >= 1,
            "interceptor_min_replicas",
            "must be >= 1",
            self.interceptor_min_replicas,
        )
        problems.check(
            self.interceptor_max_replicas >= self.interceptor_min_replicas,
            "interceptor_max_replicas",
            f"must be >= interceptor_min_replicas ({self.interceptor_min_replicas})",
            self.interceptor_max_replicas,
        )
        problems.check(
            self.envoy_gateway_replicas >= 1, "envoy_gateway_replicas", "must be >= 1", self.envoy_gateway_replicas
        )
        problems.check(
            ":" in self.mlserver_image.rsplit("/", 1)[-1] and not self.mlserver_image.endswith(":latest"),
            "mlserver_image",
            "must carry a pinned tag (not latest)",
            self.mlserver_image,
        )


def is_dns_label(value: str) -> bool:
    """Whether ``value`` is an RFC 1123 label (what Kubernetes accepts as a namespace or Service name)."""
    return (
        0 < len(value) <= 63
        and value[0].isalnum()
        and value[-1].isalnum()
        and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in value)
    )


# --- Helm values (functions so that tests check them against the charts' own values files) -----------------


def kserve_values(args: ServingPlatformArgs) -> dict[str, Any]:
    return {
        "kserve": {
            "controller": {
                "deploymentMode": "Standard",
                # Routing is the platform's own HTTPRoute per endpoint; KServe creates no ingress and no route, so
                # its Gateway API mode (which watches Gateway API kinds) is not needed.
                "gateway": {"disableIngressCreation": True},
            },
        }
    }


def keda_values(args: ServingPlatformArgs) -> dict[str, Any]:
    return {
        "resources": {
            "operator": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1000Mi"}},
            "metricServer": {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"cpu": "1", "memory": "1000Mi"},
            },
        },
        "prometheus": {"operator": {"enabled": True}, "metricServer": {"enabled": True}},
    }


def keda_http_values(args: ServingPlatformArgs) -> dict[str, Any]:
    return {
        "operator": {"watchNamespace": ""},
        "interceptor": {
            "replicas": {"min": args.interceptor_min_replicas, "max": args.interceptor_max_replicas},
            "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
            "pdb": {"enabled": True},
        },
    }


def envoy_gateway_values(args: ServingPlatformArgs) -> dict[str, Any]:
    return {"crds": {"enabled": True}, "deployment": {"replicas": args.envoy_gateway_replicas}}


def cert_manager_values(args: ServingPlatformArgs) -> dict[str, Any]:
    return {"crds": {"enabled": True}}


def mlserver_runtime_spec(args: ServingPlatformArgs) -> dict[str, Any]:
    """The ClusterServingRuntime spec: MLServer with its MLflow runtime, protocol v2, locked down."""
    return {
        "supportedModelFormats": [{"name": "mlflow", "autoSelect": True, "priority": 1}],
        "protocolVersions": ["v2"],
        "multiModel": False,
        "annotations": {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(MLSERVER_METRICS_PORT),
            "prometheus.io/path": "/metrics",
        },
        "containers": [
            {
                "name": "kserve-container",
                "image": args.mlserver_image,
                "env": [
                    {"name": "MLSERVER_MODEL_IMPLEMENTATION", "value": "mlserver_mlflow.MLflowRuntime"},
                    {"name": "MLSERVER_MODEL_URI", "value": "/mnt/models"},
                    {"name": "MLSERVER_MODEL_NAME", "value": "{{.Name}}"},
                    {"name": "MLSERVER_HTTP_PORT", "value": str(MLSERVER_HTTP_PORT)},
                    {"name": "MLSERVER_GRPC_PORT", "value": "9000"},
                    {"name": "MLSERVER_METRICS_PORT", "value": str(MLSERVER_METRICS_PORT)},
                    # The image's command serves MLSERVER_MODELS_DIR; an MLflow model folder has no
                    # model-settings.json, so MLServer takes the model from the MLSERVER_MODEL_* variables.
                    {"name": "MLSERVER_MODELS_DIR", "value": "/mnt/models"},
                    # MLServer creates these two folders (under its working directory by default): on the
                    # scratch volume they leave the root filesystem read-only.
                    {"name": "MLSERVER_ENVIRONMENTS_DIR", "value": f"{MLSERVER_SCRATCH.path}/envs"},
                    {"name": "MLSERVER_METRICS_DIR", "value": f"{MLSERVER_SCRATCH.path}/metrics"},
                ],
                # The metrics port is declared so that Prometheus (PodMonitor portNumber) can scrape it.
                "ports": [
                    {"containerPort": MLSERVER_HTTP_PORT, "name": "http", "protocol": "TCP"},
                    {"containerPort": MLSERVER_METRICS_PORT, "name": "metrics", "protocol": "TCP"},
                ],
                "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}},
                "securityContext": ContainerSecurity().render(),
                "volumeMounts": [MLSERVER_SCRATCH.mount()],
            }
        ],
        "volumes": [MLSERVER_SCRATCH.volume()],
    }


class ServingPlatform(PlatformComponent):
    """cert-manager, KServe (Standard mode), KEDA + HTTP add-on, Envoy Gateway, one Gateway, the MLServer runtime."""

    serving_namespace: str
    """Namespace model endpoints live in (holds the interceptor too)."""
    gateway_name: str
    """Name of the platform Gateway."""
    gateway_namespace: str
    """Namespace of the platform Gateway."""
    keda_namespace: str
    """Namespace of the KEDA operator."""
    interceptor_service: str
    """Service of the HTTP add-on interceptor proxy (in ``serving_namespace``)."""
    interceptor_port: int
    """Port of the interceptor proxy Service."""
    external_scaler_address: str
    """``host:port`` of the HTTP add-on external scaler, for ``external-push`` triggers."""
    runtime_name: str
    """ClusterServingRuntime name for MLflow models (MLServer, protocol v2)."""
    releases: dict[str, k8s.helm.v3.Release]
    """The Helm releases by chart name."""
    gateway: k8s.apiextensions.CustomResource
    """The Gateway."""
    dependencies: list[pulumi.Resource]
    """What an endpoint must wait for: every release (its CRDs and controllers), the Gateway and the runtime."""

    def __init__(self, name: str, args: ServingPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:serving_platform:ServingPlatform", name, args, opts)
        labels = merge_labels(MANAGED_BY_LABELS, args.labels)
        self.serving_namespace = args.namespace
        self.gateway_name = args.gateway_name
        self.gateway_namespace = args.gateway_namespace
        self.keda_namespace = args.keda_namespace
        self.interceptor_service = INTERCEPTOR_PROXY_SERVICE
        self.interceptor_port = INTERCEPTOR_PROXY_PORT
        self.external_scaler_address = f"{EXTERNAL_SCALER_SERVICE}.{args.namespace}:{EXTERNAL_SCALER_PORT}"
        self.runtime_name = MLSERVER_RUNTIME
        self.releases = {}
        serving_ns = self._namespace(name, args, labels)
        kserve_crd, kserve = self._kserve(name, args)
        self._keda(name, args, serving_ns)
        self._gateway(name, args, labels)
        runtime = k8s.apiextensions.CustomResource(
            f"{name}-mlserver-runtime",
            api_version="serving.kserve.io/v1alpha1",
            kind="ClusterServingRuntime",
            metadata={"name": MLSERVER_RUNTIME, "labels": labels},
            spec=mlserver_runtime_spec(args),
            # KServe's webhook validates ClusterServingRuntimes: it must be running, not only its CRD installed.
            opts=self._after(kserve_crd, kserve),
        )
        extra = [
            *https_redirect(name, args, labels, self._after(self.releases["gateway-helm"], self.gateway)),
            *isolation(name, args, labels, MODEL_SERVICE_ACCOUNT, self._after(serving_ns)),
        ]
        self.dependencies = [serving_ns, *self.releases.values(), self.gateway, runtime, *extra]
        self.dependencies += capacity_resources(name, labels, pulumi.ResourceOptions(parent=self))
        self.register_outputs(
            {
                "serving_namespace": self.serving_namespace,
                "gateway_name": self.gateway_name,
                "gateway_namespace": self.gateway_namespace,
                "external_scaler_address": self.external_scaler_address,
            }
        )

    def _after(self, *deps: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(deps))

    def _release(
        self,
        name: str,
        chart: str,
        namespace: str,
        version: str,
        values: dict[str, Any],
        repo: str | None = None,
        deps: tuple[pulumi.Resource, ...] = (),
        create_namespace: bool = True,
    ) -> k8s.helm.v3.Release:
        """A pinned chart from its repository (KServe's and Envoy Gateway's are OCI references)."""
        if repo:
            reference = chart
        elif chart.startswith("kserve"):
            reference = f"{KSERVE_CHARTS}/{chart}"
        else:
            reference = ENVOY_GATEWAY_CHART
        rel = chart_release(
            f"{name}-{chart}",
            release_name=chart,
            chart=reference,
            version=version,
            repo=repo,
            namespace=namespace,
            create_namespace=create_namespace,
            values=values,
            timeout_seconds=900,
            opts=self._after(*deps),
        )
        self.releases[chart] = rel
        return rel

    def _namespace(self, name: str, args: ServingPlatformArgs, labels: dict[str, str]) -> k8s.core.v1.Namespace:
        """The serving namespace: its routes may attach to the Gateway; pods held to the baseline standard."""
        return k8s.core.v1.Namespace(
            f"{name}-serving-ns",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels=merge_labels(
                    labels,
                    {
                        GATEWAY_ACCESS_LABEL: "true",
                        "pod-security.kubernetes.io/enforce": "baseline",
                        "pod-security.kubernetes.io/warn": "restricted",
                    },
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _kserve(self, name: str, args: ServingPlatformArgs) -> tuple[k8s.helm.v3.Release, k8s.helm.v3.Release]:
        """cert-manager, then KServe's CRDs and controller; returns the CRD release and the controller release (its
        webhook admits KServe's kinds): custom resources wait for both."""
        cert_manager = self._release(
            name,
            "cert-manager",
            args.cert_manager_namespace,
            args.cert_manager_chart_version,
            cert_manager_values(args),
            repo=CERT_MANAGER_REPOSITORY,
        )
        kserve_crd = self._release(
            name, "kserve-crd", args.kserve_namespace, args.kserve_chart_version, {}, deps=(cert_manager,)
        )
        kserve = self._release(
            name,
            "kserve-resources",
            args.kserve_namespace,
            args.kserve_chart_version,
            kserve_values(args),
            deps=(cert_manager, kserve_crd),
        )
        return kserve_crd, kserve

    def _keda(self, name: str, args: ServingPlatformArgs, serving_ns: k8s.core.v1.Namespace) -> None:
        """KEDA, and its HTTP add-on inside the serving namespace."""
        keda = self._release(
            name, "keda", args.keda_namespace, args.keda_chart_version, keda_values(args), repo=KEDA_REPOSITORY
        )
        self._release(
            name,
            "keda-add-ons-http",
            args.namespace,
            args.keda_http_chart_version,
            keda_http_values(args),
            repo=KEDA_REPOSITORY,
            deps=(keda, serving_ns),
            create_namespace=False,
        )

    def _gateway(self, name: str, args: ServingPlatformArgs, labels: dict[str, str]) -> None:
        """Envoy Gateway, its GatewayClass and the one platform Gateway."""
        envoy = self._release(
            name, "gateway-helm", args.gateway_namespace, args.envoy_gateway_chart_version, envoy_gateway_values(args)
        )
        gateway_class = k8s.apiextensions.CustomResource(
            f"{name}-gatewayclass",
            api_version="gateway.networking.k8s.io/v1",
            kind="GatewayClass",
            metadata={"name": args.gateway_name, "labels": labels},
            spec={"controllerName": GATEWAY_CONTROLLER},
            opts=self._after(envoy),
        )
        self.gateway = k8s.apiextensions.CustomResource(
            f"{name}-gateway",
            api_version="gateway.networking.k8s.io/v1",
            kind="Gateway",
            metadata={"name": args.gateway_name, "namespace": args.gateway_namespace, "labels": labels},
            spec={"gatewayClassName": args.gateway_name, "listeners": gateway_listeners(args)},
            opts=self._after(envoy, gateway_class),
        )
