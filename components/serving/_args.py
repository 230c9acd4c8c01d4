"""The arguments of a ModelEndpoint: its shape, defaults and validation.

Apart from the component so that the renderer (``_objects``) and the component both import them and neither
imports the other.
"""

from __future__ import annotations

import enum
import json
import zoneinfo
from dataclasses import dataclass, field

import pulumi

from ..common import Problems
from ._platform import (
    EXTERNAL_SCALER_PORT,
    EXTERNAL_SCALER_SERVICE,
    INTERCEPTOR_PROXY_PORT,
    INTERCEPTOR_PROXY_SERVICE,
    MLSERVER_RUNTIME,
    is_dns_label,
)


class ScalingMetric(str, enum.Enum):
    """What a version's replicas follow."""

    CONCURRENCY = "concurrency"
    """In-flight requests per replica (MLServer ``rest_server_requests_in_progress``; the interceptor's count at
    zero)."""
    QUEUE_DEPTH = "queue-depth"
    """Requests waiting for an inference worker per replica (MLServer ``parallel_request_queue``)."""


class AuthMode(str, enum.Enum):
    """How clients authenticate at the gateway."""

    API_KEY = "api-key"
    """``x-api-key`` header checked against the keys in a Secret (one key per client)."""
    JWT = "jwt"
    """Bearer JWT checked against an issuer's JWKS."""


class Weekday(str, enum.Enum):
    """A day of the week in a warm window (cron day-of-week numbers, Sunday 0)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def cron(self) -> int:
        return ["sun", "mon", "tue", "wed", "thu", "fri", "sat"].index(self.value)


@dataclass(kw_only=True)
class WarmWindow:
    """Hours of expected traffic during which KEDA keeps replicas warm (its cron scaler), on the listed days."""

    days: list[Weekday]
    """Days the window opens on. Required (at least one)."""
    start: str
    """Opening time, ``HH:MM`` (24 h) in the endpoint's ``warm_timezone``. Required."""
    end: str
    """Closing time, ``HH:MM``, later than ``start`` on the same day. Required."""
    replicas: int
    """Replicas per version kept warm inside the window. Required (>= 1)."""

    def hours_per_week(self) -> float:
        """Length of the window times its days, in hours (what the cost model prices)."""
        return len(set(self.days)) * max(0, _minutes(self.end) - _minutes(self.start)) / 60


def _minutes(hh_mm: str) -> int:
    """Minutes after midnight of ``HH:MM``; -1 when it is not a valid time."""
    parts = hh_mm.split(":") if isinstance(hh_mm, str) else []
    if len(parts) != 2 or not all(len(x) == 2 and x.isdigit() for x in parts):
        return -1
    hour, minute = int(parts[0]), int(parts[1])
    return hour * 60 + minute if hour < 24 and minute < 60 else -1


class RateLimitUnit(str, enum.Enum):
    """Interval of a rate limit."""

    SECOND = "Second"
    MINUTE = "Minute"
    HOUR = "Hour"


@dataclass(kw_only=True)
class ModelVersion:
    """One version of the model, served by its own InferenceService."""

    name: str
    """Version name (``v1``, ``challenger``); a DNS label. Required."""
    storage_uri: pulumi.Input[str]
    """Where the model's files are (``s3://bucket/...``, ``gs://...``, ``pvc://...``). Required."""
    weight: int
    """Share of the endpoint's traffic, 0-100; the versions' weights sum to 100. Required."""
    model_format: str = "mlflow"
    """KServe model format name. Default ``mlflow``."""
    runtime: str = MLSERVER_RUNTIME
    """(Cluster)ServingRuntime serving it. Default ``ml-platform-mlserver``."""
    protocol_version: str = "v2"
    """Inference protocol of the runtime. Default ``v2`` (MLServer speaks only v2)."""


@dataclass(kw_only=True)
class ModelEndpointArgs:
    """Arguments of :class:`ModelEndpoint`."""

    model_name: str
    """Model name clients use (``/v2/models/<model_name>/infer``); a DNS label. Required."""
    versions: list[ModelVersion]
    """Versions served side by side, with their traffic weights. Required (at least one)."""
    namespace: str = "ml-serving"
    """Namespace (the platform's serving namespace, where the interceptor runs). Default ``ml-serving``."""
    critical: bool = False
    """Critical endpoints never scale to zero, keep >= 2 replicas and get a PodDisruptionBudget. Default False."""
    min_replicas: int = 1
    """Minimum replicas per version; 0 (scale to zero) only when not critical. Default 1."""
    max_replicas: int = 3
    """Maximum replicas per version. Default 3."""
    scaling_metric: ScalingMetric = ScalingMetric.CONCURRENCY
    """What replicas follow. Default ``concurrency``."""
    scaling_target: int = 4
    """Target value of the scaling metric per replica. Default 4."""
    cpu_request: str = "1"
    """CPU request of the model server. Default ``1``."""
    memory_request: str = "2Gi"
    """Memory request of the model server. Default ``2Gi``."""
    cpu_limit: str = "2"
    """CPU limit of the model server. Default ``2``."""
    memory_limit: str = "4Gi"
    """Memory limit of the model server. Default ``4Gi``."""
    gpu_count: int = 0
    """GPUs per replica (``nvidia.com/gpu`` limit, GPU toleration and node selection). Default 0."""
    gpu_pool: str | None = None
    """GPU pool to run on (its ``ml-platform.io/pool`` label); None: any GPU node. Default None."""
    model_load_timeout_seconds: int = 600
    """Longest time a replica may take to download and load the model (sizes the startup probe). Default 600."""
    probe_period_seconds: int = 10
    """Period of the startup, readiness and liveness probes. Default 10."""
    request_timeout_seconds: int = 60
    """Gateway timeout of one inference request once the version is warm. Default 60."""
    scale_down_delay_seconds: int = 300
    """Idle time before KEDA scales a version down (to zero for scale-to-zero versions). Default 300."""
    max_surge: int = 1
    """Extra replicas a rolling update may add (it never removes one first: maxUnavailable 0). Default 1."""
    auth_mode: AuthMode = AuthMode.API_KEY
    """Authentication at the gateway. Default ``api-key``."""
    api_key_secret: str | None = None
    """Secret (same namespace) whose keys are client ids and values their API keys; required for ``api-key``.
    Default None."""
    jwt_issuer: str | None = None
    """JWT issuer; required for ``jwt``. Default None."""
    jwt_jwks_uri: str | None = None
    """HTTPS URI of the issuer's JWKS; required for ``jwt``. Default None."""
    jwt_audiences: list[str] = field(default_factory=list)
    """Accepted JWT audiences; empty accepts any. Default none."""
    rate_limit_requests: int = 100
    """Requests allowed per ``rate_limit_unit`` on the route (per gateway replica). Default 100."""
    rate_limit_unit: RateLimitUnit = RateLimitUnit.MINUTE
    """Interval of the rate limit. Default ``Minute``."""
    gateway_name: str = "ml-gateway"
    """Gateway the route attaches to. Default ``ml-gateway``."""
    gateway_namespace: str = "envoy-gateway-system"
    """Namespace of that Gateway. Default ``envoy-gateway-system``."""
    gateway_listener: str | None = None
    """Listener (``sectionName``) of that Gateway the route attaches to; None: every listener that admits it.
    With TLS the platform passes ``https``, so credentials never cross plain HTTP. Default None."""
    service_account_name: str | None = None
    """ServiceAccount the model pods (and KServe's storage initializer) run as; it carries the identity that reads
    the model from its bucket. None: the namespace's ``default``. Default None."""
    hostnames: list[str] = field(default_factory=list)
    """Hostnames the route answers; empty: the Gateway's. Default none."""
    interceptor_namespace: str = "ml-serving"
    """Namespace of the HTTP add-on (the platform's serving namespace). Default ``ml-serving``."""
    interceptor_service: str = INTERCEPTOR_PROXY_SERVICE
    """HTTP add-on interceptor proxy Service (in ``namespace``). Default ``keda-add-ons-http-interceptor-proxy``."""
    interceptor_port: int = INTERCEPTOR_PROXY_PORT
    """Port of the interceptor proxy. Default 8080."""
    external_scaler_address: str | None = None
    """HTTP add-on external scaler ``host:port``.
    Default ``keda-add-ons-http-external-scaler.<interceptor_namespace>:9090``."""
    prometheus_address: str = "http://kube-prometheus-stack-prometheus.monitoring:9090"
    """Prometheus the scaling queries run on. Default ``http://kube-prometheus-stack-prometheus.monitoring:9090``."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels on every object. Default none."""
    concurrency_limit: int = 1
    """Inferences one replica runs at once: MLServer parallel workers, each holding its own copy of the model
    (on a GPU endpoint, its own GPU memory). Further requests wait in MLServer's queue, which the ``queue-depth``
    metric (and KEDA) sees. Default 1."""
    max_batch_size: int = 1
    """Adaptive batching: most requests MLServer joins into one inference; 1 turns batching off. Default 1."""
    max_batch_time_ms: int = 0
    """Adaptive batching: longest wait for a batch to fill, in milliseconds; > 0 exactly when batching. Default 0."""
    warmup_request: str | None = None
    """A v2 inference request body (JSON) each new replica must answer, once per worker, before it takes traffic;
    None: a replica takes traffic once its model reports ready. Default None."""
    warmup_timeout_seconds: int = 30
    """Longest time one warm-up inference may take. Default 30."""
    warm_windows: list[WarmWindow] = field(default_factory=list)
    """Hours of expected traffic; KEDA's cron scaler keeps ``replicas`` warm inside each. Default none."""
    warm_timezone: str = "UTC"
    """IANA time zone of ``warm_windows`` (``Europe/Berlin``). Default ``UTC``."""
    model_cache_gib: int = 0
    """Node-level model cache: disk the model takes on each node of ``gpu_pool``; the versions mount the copy the
    pool's prefetcher (:class:`ModelCache`) keeps on the node instead of pulling from the bucket. 0: no cache.
    Default 0."""
    priority_class: str | None = None
    """PriorityClass of the version's pods. Default by criticality: ``ml-platform-critical-inference`` for critical
    endpoints, ``ml-platform-inference`` otherwise."""
    release_managed: bool = False
    """Whether the release controller owns the route's weights and the versions' model URIs (Pulumi then leaves
    them alone: ``ignore_changes``). Default False."""

    def validate(self, problems: Problems) -> None:
        p = problems
        p.check(
            is_dns_label(self.model_name),
            "model_name",
            "must be a DNS label (lowercase letters, digits, '-')",
            self.model_name,
        )
        p.check(is_dns_label(self.namespace), "namespace", "must be a DNS label", self.namespace)
        self._validate_versions(p)
        self._validate_scaling(p)
        self._validate_access(p)

    def _validate_versions(self, p: Problems) -> None:
        """Names, weights (summing to 100), storage URIs and protocols of the versions."""
        if not self.versions:
            p.add("versions", "must list at least one version", self.versions)
        seen: set[str] = set()
        for v in self.versions:
            at = p.at(f"versions.{v.name}")
            at.check(
                is_dns_label(v.name) and len(f"{self.model_name}-{v.name}-predictor") <= 63,
                "name",
                "must be a DNS label short enough for '<model>-<version>-predictor' (<= 63)",
                v.name,
            )
            at.check(v.name not in seen, "name", "must be unique within the endpoint", v.name)
            seen.add(v.name)
            at.check(
                isinstance(v.weight, int) and 0 <= v.weight <= 100, "weight", "must be between 0 and 100", v.weight
            )
            if isinstance(v.storage_uri, str):  # an Output (a bucket from another layer) is checked where it is made
                at.check(
                    "://" in v.storage_uri and "{" not in v.storage_uri,
                    "storage_uri",
                    "must be a URI like s3://bucket/path",
                    v.storage_uri,
                )
            at.check(v.protocol_version in ("v1", "v2"), "protocol_version", "must be v1 or v2", v.protocol_version)
            if v.runtime == MLSERVER_RUNTIME:
                at.check(v.protocol_version == "v2", "protocol_version", "must be v2 for MLServer", v.protocol_version)
        total = sum(v.weight for v in self.versions if isinstance(v.weight, int))
        if self.versions and total != 100:
            p.add(
                "versions",
                "weights must sum to 100 " + ", ".join(f"({v.name}: {v.weight})" for v in self.versions),
                total,
            )

    def _validate_scaling(self, p: Problems) -> None:
        """Replica bounds (a critical endpoint keeps two), GPUs, probes, timeouts and rollout surge."""
        if self.critical and self.min_replicas == 0:
            p.add(
                "min_replicas", "a critical endpoint cannot scale to zero; set min_replicas >= 2 or critical: false", 0
            )
        elif self.critical and self.min_replicas < 2:
            p.add(
                "min_replicas",
                "must be >= 2 for a critical endpoint (one replica drops to zero during a drain)",
                self.min_replicas,
            )
        p.check(self.min_replicas >= 0, "min_replicas", "must be >= 0", self.min_replicas)
        p.check(
            self.max_replicas >= max(1, self.min_replicas),
            "max_replicas",
            f"must be >= 1 and >= min_replicas ({self.min_replicas})",
            self.max_replicas,
        )
        p.check(self.scaling_target >= 1, "scaling_target", "must be >= 1", self.scaling_target)
        p.check(self.gpu_count >= 0, "gpu_count", "must be >= 0", self.gpu_count)
        if self.gpu_pool is not None and self.gpu_count == 0:
            p.add("gpu_pool", "is only meaningful with gpu_count >= 1", self.gpu_pool)
        p.check(
            self.model_load_timeout_seconds >= 30,
            "model_load_timeout_seconds",
            "must be >= 30",
            self.model_load_timeout_seconds,
        )
        p.check(
            1 <= self.probe_period_seconds <= 60,
            "probe_period_seconds",
            "must be between 1 and 60",
            self.probe_period_seconds,
        )
        p.check(
            self.request_timeout_seconds >= 1, "request_timeout_seconds", "must be >= 1", self.request_timeout_seconds
        )
        p.check(
            self.scale_down_delay_seconds >= 0,
            "scale_down_delay_seconds",
            "must be >= 0",
            self.scale_down_delay_seconds,
        )
        p.check(
            self.max_surge >= 1,
            "max_surge",
            "must be >= 1 (maxUnavailable is 0, so a rollout needs a surge)",
            self.max_surge,
        )

    def _validate_access(self, p: Problems) -> None:
        """Authentication, the interceptor's namespace for endpoints at zero, and the rate limit."""
        if self.auth_mode == AuthMode.API_KEY:
            p.check(
                bool(self.api_key_secret),
                "api_key_secret",
                "is required with auth api-key (a Secret of client id -> key)",
                self.api_key_secret,
            )
        else:
            p.check(bool(self.jwt_issuer), "jwt_issuer", "is required with auth jwt", self.jwt_issuer)
            p.check(
                bool(self.jwt_jwks_uri) and str(self.jwt_jwks_uri).startswith("https://"),
                "jwt_jwks_uri",
                "is required with auth jwt and must be https://",
                self.jwt_jwks_uri,
            )
        if self.scale_to_zero():
            p.check(
                self.namespace == self.interceptor_namespace,
                "namespace",
                f"must be the interceptor's namespace ({self.interceptor_namespace!r}) for an endpoint that "
                "scales to zero (the route reaches the interceptor only in its own namespace)",
                self.namespace,
            )
        p.check(
            self.rate_limit_requests >= 1,
            "rate_limit_requests",
            "must be >= 1 (every route is rate limited)",
            self.rate_limit_requests,
        )

        self.validate_under_pressure(p)

    def validate_under_pressure(self, p: Problems) -> None:
        """Concurrency cap, batching, warm-up, warm windows and the node cache."""
        p.check(
            self.concurrency_limit >= 1,
            "concurrency_limit",
            "must be >= 1 (MLServer parallel workers; each concurrent inference needs one)",
            self.concurrency_limit,
        )
        p.check(self.max_batch_size >= 1, "max_batch_size", "must be >= 1 (1: no batching)", self.max_batch_size)
        p.check(
            (self.max_batch_size > 1) == (self.max_batch_time_ms > 0) and self.max_batch_time_ms >= 0,
            "max_batch_time_ms",
            f"must be > 0 exactly when max_batch_size > 1 (it is {self.max_batch_size})",
            self.max_batch_time_ms,
        )
        if self.warmup_request is not None:
            p.check(_is_v2_request(self.warmup_request), "warmup_request", WARMUP_FORMAT, _short(self.warmup_request))
        p.check(
            1 <= self.warmup_timeout_seconds <= self.model_load_timeout_seconds,
            "warmup_timeout_seconds",
            f"must be between 1 and model_load_timeout_seconds ({self.model_load_timeout_seconds})",
            self.warmup_timeout_seconds,
        )
        p.check(_is_timezone(self.warm_timezone), "warm_timezone", "must be an IANA time zone", self.warm_timezone)
        for i, w in enumerate(self.warm_windows):
            at = p.at(f"warm_windows[{i}]")
            at.check(bool(w.days), "days", "must list at least one day", w.days)
            for name in ("start", "end"):
                at.check(_minutes(getattr(w, name)) >= 0, name, "must be a time HH:MM (00:00-23:59)", getattr(w, name))
            if _minutes(w.start) >= 0 and _minutes(w.end) >= 0:
                at.check(
                    _minutes(w.end) > _minutes(w.start),
                    "end",
                    f"must be later than start ({w.start}); a window cannot cross midnight, split it in two",
                    w.end,
                )
            at.check(
                1 <= w.replicas <= self.max_replicas,
                "replicas",
                f"must be between 1 and max_replicas ({self.max_replicas})",
                w.replicas,
            )
        p.check(self.model_cache_gib >= 0, "model_cache_gib", "must be >= 0", self.model_cache_gib)
        if self.model_cache_gib > 0:
            p.check(
                self.gpu_pool is not None,
                "model_cache_gib",
                "needs gpu_pool: the cache lives on the disks of one GPU pool's nodes",
                self.model_cache_gib,
            )
        if self.priority_class is not None:
            p.check(is_dns_label(self.priority_class), "priority_class", "must be a DNS label", self.priority_class)

    def scaler_address(self) -> str:
        """The external scaler ``host:port`` for ``external-push`` triggers."""
        return (
            self.external_scaler_address
            or f"{EXTERNAL_SCALER_SERVICE}.{self.interceptor_namespace}:{EXTERNAL_SCALER_PORT}"
        )

    def scale_to_zero(self) -> bool:
        """Whether versions scale to zero (through the interceptor)."""
        return self.min_replicas == 0 and not self.critical


WARMUP_FORMAT = 'must be a v2 inference request in JSON ({"inputs": [{"name", "shape", "datatype", "data"}]})'


def _is_v2_request(text: str) -> bool:
    try:
        body = json.loads(text)
    except (TypeError, ValueError):
        return False
    inputs = body.get("inputs") if isinstance(body, dict) else None
    return (
        isinstance(inputs, list)
        and bool(inputs)
        and all(isinstance(i, dict) and {"name", "shape", "datatype", "data"} <= set(i) for i in inputs)
    )


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _is_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True
