"""The release controller in the cluster: its Deployment, its own ServiceAccount with the least RBAC, the webhook
Service, and the settings document it reads.

Why in the cluster (alternatives in ``docs/model-delivery.md``): it sits next to MLflow, Prometheus and the routes,
keeps releasing when CI is down, and its credentials never leave the cluster. The Role is built from the exact
objects it touches (the endpoints' routes, their two slots' InferenceServices, one state ConfigMap per endpoint)
and the verbs :mod:`release.kube` uses; a test runs the controller against an API double that enforces this Role.

Each released endpoint has two slots (``blue`` and ``green``), each an InferenceService that ModelEndpoint
renders as one of its versions. The controller loads a candidate into the slot without traffic, and moves the
route's weights between the two; Pulumi owns everything else about them (``ModelEndpointArgs.release_managed``).
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import MANAGED_BY_LABELS, ContainerSecurity, PodSecurity, Problems, ScratchDir
from ._platform import is_dns_label

SLOTS = ("blue", "green")
"""The two version slots of a released endpoint (InferenceServices ``<endpoint>-blue`` and ``<endpoint>-green``)."""

WEBHOOK_PATH = "/webhooks/mlflow"
"""Path MLflow's registry webhook posts to."""


class ReleaseMode(str, enum.Enum):
    """What happens after a healthy canary."""

    AUTOMATIC = "automatic"
    """Promote at once."""
    MANUAL = "manual"
    """Wait for a person's ``python -m release approve <endpoint>``."""


@dataclass(kw_only=True)
class ReleasePolicy:
    """How one endpoint is released (the stack's ``serving.endpoints.<name>.release``)."""

    endpoint: str
    """Endpoint (HTTPRoute) name. Required."""
    registered_model: str
    """MLflow registered model the endpoint follows. Required."""
    model_name: str
    """Model name in the public path. Required."""
    heldout_uri: str
    """CSV of the held-out set the gate evaluates on (``s3://``, ``runs:/``, ``mlflow-artifacts:/``...). Required."""
    mode: ReleaseMode = ReleaseMode.AUTOMATIC
    """``automatic`` or ``manual`` (human approval before promotion). Default automatic."""
    canary_weight: int = 10
    """Candidate's share of traffic during the canary, 1-50 (%). Default 10."""
    analysis_minutes: float = 30
    """How long the canary is watched. Default 30."""
    interval_seconds: float = 60
    """Time between two comparisons. Default 60."""
    window_seconds: float = 300
    """Range of the PromQL rates; the alert rules use 5m. Default 300."""
    max_p95_increase: float = 0.3
    """Roll back when the canary's p95 exceeds the stable one's by more than this share. Default 0.3."""
    max_error_rate: float = 0.01
    """Roll back when the canary fails more than this share of requests. Default 0.01."""
    min_requests: int = 50
    """Requests each version must serve in a window for it to count. Default 50."""
    max_p95_ms: float = 200
    """Gate: the candidate's load-test p95 must stay under this. Default 200."""
    load_test_requests: int = 200
    """Gate: requests of the load test (they count against the route's rate limit). Default 200."""
    load_test_concurrency: int = 4
    """Gate: parallel clients of the load test. Default 4."""
    label_column: str = "label"
    """Gate: label column of the held-out set. Default ``label``."""
    slices: dict[str, str] = field(default_factory=dict)
    """Gate: named slices as pandas queries over the held-out set. Default none."""
    slice_tolerance: float = 0.05
    """Gate: largest accuracy drop a slice may show. Default 0.05."""
    baseline_accuracy: float = 0.0
    """Gate: accuracy a first model (no champion) must reach. Default 0."""
    stuck_margin_minutes: float = 15
    """Time past the analysis after which a release without decision is stuck (alert). Default 15."""
    scale_to_zero: bool = False
    """Whether the slots are reached through the KEDA HTTP add-on interceptor. Default False."""

    def validate(self, p: Problems) -> None:
        p.check(
            isinstance(self.canary_weight, int) and 1 <= self.canary_weight <= 50,
            "canary_weight",
            "must be an integer between 1 and 50",
            self.canary_weight,
        )
        p.check(self.interval_seconds > 0, "interval_seconds", "must be > 0", self.interval_seconds)
        p.check(
            self.analysis_minutes * 60 >= 2 * self.interval_seconds,
            "analysis_minutes",
            f"must cover at least two intervals ({2 * self.interval_seconds:g} s)",
            self.analysis_minutes,
        )
        p.check(
            self.interval_seconds <= self.window_seconds <= self.analysis_minutes * 60 - self.interval_seconds,
            "window_seconds",
            f"must be >= interval_seconds ({self.interval_seconds:g}) and leave at least one interval of the analysis "
            f"({self.analysis_minutes * 60:g} s) after the first full window",
            self.window_seconds,
        )
        p.check(
            self.max_p95_increase > 0, "max_p95_increase", "must be > 0 (0.3 means 30% slower)", self.max_p95_increase
        )
        p.check(0 < self.max_error_rate < 1, "max_error_rate", "must be between 0 and 1", self.max_error_rate)
        p.check(self.min_requests >= 1, "min_requests", "must be >= 1", self.min_requests)
        p.check(self.max_p95_ms > 0, "max_p95_ms", "must be > 0", self.max_p95_ms)
        p.check(self.load_test_requests >= 20, "load_test_requests", "must be >= 20", self.load_test_requests)
        p.check(self.load_test_concurrency >= 1, "load_test_concurrency", "must be >= 1", self.load_test_concurrency)
        p.check(bool(self.heldout_uri), "heldout_uri", "is required (the gate evaluates on it)", self.heldout_uri)
        p.check(0 <= self.slice_tolerance < 1, "slice_tolerance", "must be in [0, 1)", self.slice_tolerance)
        p.check(0 <= self.baseline_accuracy <= 1, "baseline_accuracy", "must be in [0, 1]", self.baseline_accuracy)

    def settings(self, namespace: str) -> dict[str, Any]:
        """This endpoint's part of the controller's settings document."""
        out = {k: v for k, v in self.__dict__.items()}
        out["mode"] = self.mode.value
        out["namespace"] = namespace
        out["slots"] = list(SLOTS)
        return out


@dataclass(kw_only=True)
class ReleaseControllerArgs:
    """Arguments of :class:`ReleaseController`."""

    image: str
    """Controller image built from ``images/release-controller``, pinned by tag or digest. Required."""
    endpoints: list[ReleasePolicy]
    """Released endpoints. Required (at least one)."""
    namespace: str = "ml-serving"
    """Namespace of the controller and of the endpoints it releases. Default ``ml-serving``."""
    tracking_uri: str = "http://mlflow.mlflow.svc.cluster.local:5000"
    """MLflow server. Default the platform's in-cluster MLflow."""
    prometheus_url: str = "http://kube-prometheus-stack-prometheus.monitoring:9090"
    """Prometheus the analysis queries. Default the kube-prometheus-stack service."""
    gateway_name: str = "ml-gateway"
    """Gateway whose Envoy pods the load test goes through. Default ``ml-gateway``."""
    gateway_namespace: str = "envoy-gateway-system"
    """Its namespace. Default ``envoy-gateway-system``."""
    artifact_destination: pulumi.Input[str] = ""
    """What ``mlflow-artifacts:/`` stands for (the MLflow server's artifact destination). Default none."""
    webhook_secret_name: str = "release-webhook"
    """Secret (made outside the stack), key ``secret``: the webhook's HMAC secret. Default ``release-webhook``."""
    api_key_secret_name: str = "release-controller-api-key"
    """Secret whose key ``api-key`` the load test sends as ``x-api-key`` (optional).
    Default ``release-controller-api-key``."""
    experiment: str = "releases"
    """MLflow experiment of the audit runs. Default ``releases``."""
    registry_poll_seconds: float = 60
    """How often the controller also reads each endpoint's ``challenger`` alias, so that a release starts even
    when a webhook delivery is lost (controller restarting, MLflow's retries spent). 0 turns it off. Default 60."""
    pod_monitor: bool = False
    """Create a PodMonitor for the controller's metrics (needs the Prometheus operator). Default False."""
    pod_monitor_labels: dict[str, str] = field(default_factory=dict)
    """Labels the Prometheus's podMonitorSelector matches. Default none."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels on every object. Default none."""

    name: str = "release-controller"
    """Name of the controller's Deployment, Service, ServiceAccount and settings. Default ``release-controller``."""
    webhook_port: int = 8080
    """Port of the MLflow webhook receiver and the health probe. Default 8080."""
    metrics_port: int = 9102
    """Port of the controller's Prometheus metrics. Default 9102."""

    def validate(self, p: Problems) -> None:
        p.check(
            ":" in self.image and not self.image.endswith(":latest"),
            "image",
            "must be pinned (name:tag or name@sha256:...)",
            self.image,
        )
        if not self.endpoints:
            p.add("endpoints", "must list at least one released endpoint", self.endpoints)
        for e in self.endpoints:
            e.validate(p.at(f"endpoints.{e.endpoint}"))
        p.check(is_dns_label(self.namespace), "namespace", "must be a DNS label", self.namespace)
        p.check(
            self.registry_poll_seconds >= 0,
            "registry_poll_seconds",
            "must be >= 0 (0: off)",
            self.registry_poll_seconds,
        )

    @property
    def gateway_service(self) -> str:
        return f"{self.gateway_name}-internal"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.gateway_service}.{self.gateway_namespace}.svc.cluster.local"


def settings_document(args: ReleaseControllerArgs, artifact_destination: str) -> dict[str, Any]:
    """What the controller reads (``release.settings.Settings``)."""
    return {
        "tracking_uri": args.tracking_uri,
        "prometheus_url": args.prometheus_url,
        "gateway_url": args.gateway_url,
        "artifact_destination": artifact_destination,
        "experiment": args.experiment,
        "registry_poll_seconds": args.registry_poll_seconds,
        "endpoints": {e.endpoint: e.settings(args.namespace) for e in args.endpoints},
    }


def role_rules(args: ReleaseControllerArgs) -> list[dict[str, Any]]:
    """Exactly what the controller does: read and re-weight its routes, load a version into a slot, keep its state,
    report Events. Named objects wherever Kubernetes allows it (``create`` cannot be limited by name)."""
    routes = sorted(e.endpoint for e in args.endpoints)
    return [
        {
            "apiGroups": ["gateway.networking.k8s.io"],
            "resources": ["httproutes"],
            "resourceNames": routes,
            "verbs": ["get", "update"],
        },
        {
            "apiGroups": ["serving.kserve.io"],
            "resources": ["inferenceservices"],
            "resourceNames": [f"{r}-{s}" for r in routes for s in SLOTS],
            "verbs": ["get", "patch"],
        },
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": [f"release-{r}" for r in routes],
            "verbs": ["get", "update"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]


def _labels(args: ReleaseControllerArgs) -> dict[str, str]:
    return {**MANAGED_BY_LABELS, **args.labels, "app.kubernetes.io/name": args.name}


def deployment_spec(args: ReleaseControllerArgs, settings_hash: str) -> dict[str, Any]:
    """One replica (``Recreate``: never two controllers by design; the state's compare-and-swap guards anyway)."""
    selector = {"app.kubernetes.io/name": args.name}
    scratch = ScratchDir(size_limit="4Gi")  # MLflow downloads the candidate and the held-out set here
    env = [
        {"name": "RELEASE_CONFIG", "value": "/etc/release/settings.json"},
        {"name": "MLFLOW_TRACKING_URI", "value": args.tracking_uri},
        {"name": "HOME", "value": "/tmp"},
        {"name": "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "value": "false"},
        {
            "name": "RELEASE_WEBHOOK_SECRET",
            "valueFrom": {"secretKeyRef": {"name": args.webhook_secret_name, "key": "secret"}},
        },
        {
            "name": "RELEASE_API_KEY",
            "valueFrom": {"secretKeyRef": {"name": args.api_key_secret_name, "key": "api-key", "optional": True}},
        },
    ]
    probe = {"httpGet": {"path": "/healthz", "port": args.webhook_port}, "periodSeconds": 10}
    container = {
        "name": "controller",
        "image": args.image,
        "args": ["serve", "--port", str(args.webhook_port), "--metrics-port", str(args.metrics_port)],
        "env": env,
        "ports": [
            {"name": "webhook", "containerPort": args.webhook_port},
            {"name": "metrics", "containerPort": args.metrics_port},
        ],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "failureThreshold": 6},
        "resources": {"requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "securityContext": ContainerSecurity(run_as_user=10001).render(),
        "volumeMounts": [{"name": "settings", "mountPath": "/etc/release", "readOnly": True}, scratch.mount()],
    }
    return {
        "replicas": 1,
        "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": _labels(args), "annotations": {"ml-platform.io/settings-sha256": settings_hash}},
            "spec": {
                "serviceAccountName": args.name,
                "automountServiceAccountToken": True,
                "securityContext": PodSecurity(run_as_user=10001, run_as_group=10001).render(),
                "containers": [container],
                "volumes": [
                    {"name": "settings", "configMap": {"name": args.name}},
                    scratch.volume(),
                ],
            },
        },
    }


class ReleaseController(pulumi.ComponentResource):
    """ServiceAccount, Role(Binding), settings ConfigMap, Deployment, webhook Service, the Gateway's in-cluster
    Service for the load test, and (optionally) a PodMonitor for the release metrics."""

    webhook_url: str
    """In-cluster URL MLflow's webhook posts to."""
    service_account: str
    """Name of the controller's ServiceAccount."""
    rules: list[dict[str, Any]]
    """The Role's rules (exposed for tests)."""

    def __init__(self, name: str, args: ReleaseControllerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        problems = Problems(prefix=name)
        args.validate(problems)
        problems.raise_if_any(f"ReleaseController {name!r}")
        super().__init__("ml-platform:serving:ReleaseController", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = _labels(args)
        meta = {"name": args.name, "namespace": args.namespace, "labels": labels}
        self.rules = role_rules(args)
        self.service_account = args.name
        self.webhook_url = f"http://{args.name}.{args.namespace}.svc.cluster.local:{args.webhook_port}{WEBHOOK_PATH}"
        self._rbac(name, args, meta, child)
        document = pulumi.Output.from_input(args.artifact_destination).apply(
            lambda dest: json.dumps(settings_document(args, dest or ""), indent=2, sort_keys=True)
        )
        k8s.core.v1.ConfigMap(f"{name}-settings", metadata=meta, data={"settings.json": document}, opts=child)
        settings_hash = document.apply(lambda text: hashlib.sha256(text.encode()).hexdigest())
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta,
            spec=settings_hash.apply(lambda h: deployment_spec(args, h)),
            opts=child,
        )
        self._services(name, args, meta, child)
        self.register_outputs({"webhook_url": self.webhook_url})

    def _rbac(
        self, name: str, args: ReleaseControllerArgs, meta: dict[str, Any], child: pulumi.ResourceOptions
    ) -> None:
        k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta, opts=child)
        k8s.rbac.v1.Role(f"{name}-role", metadata=meta, rules=self.rules, opts=child)
        k8s.rbac.v1.RoleBinding(
            f"{name}-binding",
            metadata=meta,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": args.name},
            subjects=[{"kind": "ServiceAccount", "name": args.name, "namespace": args.namespace}],
            opts=child,
        )

    def _services(
        self, name: str, args: ReleaseControllerArgs, meta: dict[str, Any], child: pulumi.ResourceOptions
    ) -> None:
        selector = {"app.kubernetes.io/name": args.name}
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta,
            spec={
                "selector": selector,
                "ports": [
                    {"name": "webhook", "port": args.webhook_port, "targetPort": "webhook"},
                    {"name": "metrics", "port": args.metrics_port, "targetPort": "metrics"},
                ],
            },
            opts=child,
        )
        # Envoy Gateway names the Envoy Service it creates with a hash; this one selects the same Envoy pods by the
        # labels Envoy Gateway puts on them, so the load test has a stable in-cluster address (Envoy listens on
        # 10080 for the Gateway's port 80: it runs unprivileged).
        k8s.core.v1.Service(
            f"{name}-gateway-internal",
            metadata={"name": args.gateway_service, "namespace": args.gateway_namespace, "labels": _labels(args)},
            spec={
                "selector": {
                    "gateway.envoyproxy.io/owning-gateway-name": args.gateway_name,
                    "gateway.envoyproxy.io/owning-gateway-namespace": args.gateway_namespace,
                },
                "ports": [{"name": "http", "port": 80, "targetPort": 10080}],
            },
            opts=child,
        )
        if args.pod_monitor:
            k8s.apiextensions.CustomResource(
                f"{name}-podmonitor",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata={**meta, "labels": {**_labels(args), **args.pod_monitor_labels}},
                spec={
                    "selector": {"matchLabels": selector},
                    "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "15s"}],
                },
                opts=child,
            )
