"""Stack config for model serving (``ml-platform:serving``): the serving platform and one entry per endpoint.

Shape and types are checked here; the rules (weights sum to 100, critical endpoints never at zero, auth settings
complete...) are the components' own validation, run by ``infra/serving.py`` with these key paths as prefixes.
Keys that feed a component argument are None unless set: the component's default applies (see :mod:`.base`).
"""

from __future__ import annotations

from typing import ClassVar

import pydantic

from components.serving import (
    AuthMode,
    ModelEndpointArgs,
    ModelVersion,
    RateLimitUnit,
    ReleaseMode,
    ScalingMetric,
    ServingPlatformArgs,
    Weekday,
)

from .base import Environment, EnvironmentDefaults, Feeds, Model


class PlatformConfig(Model):
    """``serving.platform``: the shared serving platform (charts, Gateway, runtime image)."""

    feeds: ClassVar[Feeds] = {
        ServingPlatformArgs: {
            k: k
            for k in (
                "namespace",
                "gateway_hostname",
                "tls_secret_name",
                "mlserver_image",
                "interceptor_min_replicas",
                "envoy_gateway_replicas",
            )
        },
        ModelEndpointArgs: {"prometheus_address": "prometheus_address"},
    }
    environment_defaults: ClassVar[EnvironmentDefaults] = {Environment.PROD: {"envoy_gateway_replicas": 2}}

    namespace: str | None = None
    """Namespace of the endpoints and of the HTTP add-on interceptor."""
    gateway_hostname: str | None = None
    """Hostname the Gateway accepts (``models.example.com``). Default any."""
    tls_secret_name: str | None = None
    """Secret in ``envoy-gateway-system`` with the HTTPS certificate; unset: HTTP only. Default unset."""
    mlserver_image: str | None = None
    """MLServer runtime image (pinned tag)."""
    interceptor_min_replicas: int | None = None
    """Fewest HTTP add-on interceptor replicas; the most is raised to match when this is higher."""
    envoy_gateway_replicas: int | None = None
    """Envoy Gateway controller replicas."""
    prometheus_address: str | None = None
    """Prometheus the scaling queries read (the kube-prometheus-stack service in ``monitoring``)."""
    release_controller_image: str | None = None
    """Release controller image (``images/release-controller``, pinned). Required when an endpoint has ``release``."""


class VersionConfig(Model):
    """``serving.endpoints.<name>.versions.<version>``."""

    feeds: ClassVar[Feeds] = {ModelVersion: {k: k for k in ("storage_uri", "weight", "model_format", "runtime")}}

    storage_uri: str
    """Model location; ``{artifact_root}`` is replaced by the MLflow layer's artifact root. Required."""
    weight: int
    """Share of traffic, 0-100; an endpoint's weights sum to 100. Required."""
    model_format: str | None = None
    """KServe model format."""
    runtime: str | None = None
    """Serving runtime (the platform's MLServer runtime)."""


class AuthConfig(Model):
    """``serving.endpoints.<name>.auth``."""

    feeds: ClassVar[Feeds] = {
        ModelEndpointArgs: {
            "mode": "auth_mode",
            "api_key_secret": "api_key_secret",
            "jwt_issuer": "jwt_issuer",
            "jwt_jwks_uri": "jwt_jwks_uri",
            "jwt_audiences": "jwt_audiences",
        }
    }

    mode: AuthMode | None = None
    """``api-key`` or ``jwt``."""
    api_key_secret: str | None = None
    """Secret of client id -> API key (api-key). Default ``<endpoint>-api-keys``."""
    jwt_issuer: str | None = None
    """JWT issuer (jwt). Required for jwt."""
    jwt_jwks_uri: str | None = None
    """JWKS HTTPS URI (jwt). Required for jwt."""
    jwt_audiences: list[str] | None = None
    """Accepted audiences (jwt); none accepts any."""


class RateLimitConfig(Model):
    """``serving.endpoints.<name>.rate_limit``."""

    feeds: ClassVar[Feeds] = {ModelEndpointArgs: {"requests": "rate_limit_requests", "unit": "rate_limit_unit"}}

    requests: int | None = None
    """Requests per unit."""
    unit: RateLimitUnit | None = None
    """``Second``, ``Minute`` or ``Hour``."""


_ENDPOINT_KEYS = (
    "model_name",
    "critical",
    "min_replicas",
    "max_replicas",
    "scaling_metric",
    "scaling_target",
    "cpu_request",
    "memory_request",
    "cpu_limit",
    "memory_limit",
    "gpu_count",
    "gpu_pool",
    "model_load_timeout_seconds",
    "request_timeout_seconds",
    "scale_down_delay_seconds",
    "hostnames",
    "concurrency_limit",
    "max_batch_size",
    "max_batch_time_ms",
    "warmup_request",
    "warmup_timeout_seconds",
    "warm_timezone",
    "model_cache_gib",
    "priority_class",
)


class WarmWindowConfig(Model):
    """``serving.endpoints.<name>.warm_windows[i]``: hours of expected traffic."""

    days: list[Weekday]
    """Days (``mon`` ... ``sun``). Required."""
    start: str
    """Opening time ``HH:MM``. Required."""
    end: str
    """Closing time ``HH:MM``, after ``start``. Required."""
    replicas: int
    """Replicas per version kept warm inside the window. Required."""


class ReleaseConfig(Model):
    """``serving.endpoints.<name>.release``: releases of the endpoint's model, from ``challenger`` to ``champion``.

    Unset fields take the ReleasePolicy defaults (``docs/model-delivery.md``)."""

    mode: ReleaseMode = ReleaseMode.AUTOMATIC
    """``automatic``, or ``manual``: a person approves before promotion. Default automatic."""
    heldout_uri: str
    """CSV of the held-out set the gate evaluates on. Required."""
    canary_weight: int | None = None
    """Candidate's share of traffic (%) during the canary. Default 10."""
    analysis_minutes: float | None = None
    """How long the canary is watched. Default 30."""
    interval_seconds: float | None = None
    """Time between two comparisons. Default 60."""
    window_seconds: float | None = None
    """Range of the PromQL rates. Default 300."""
    max_p95_increase: float | None = None
    """Roll back above this p95 increase over stable (0.3 = 30%). Default 0.3."""
    max_error_rate: float | None = None
    """Roll back above this error rate. Default 0.01."""
    min_requests: int | None = None
    """Requests per version and window for a window to count. Default 50."""
    max_p95_ms: float | None = None
    """Gate: load-test p95 must stay under this. Default 200."""
    load_test_requests: int | None = None
    """Gate: requests of the load test. Default 200."""
    load_test_concurrency: int | None = None
    """Gate: parallel clients of the load test. Default 4."""
    label_column: str | None = None
    """Gate: label column of the held-out set. Default ``label``."""
    slices: dict[str, str] = pydantic.Field(default_factory=dict)
    """Gate: named slices (pandas queries). Default none."""
    slice_tolerance: float | None = None
    """Gate: largest accuracy drop of a slice. Default 0.05."""
    baseline_accuracy: float | None = None
    """Gate: accuracy a first model must reach. Default 0."""
    stuck_margin_minutes: float | None = None
    """Stuck-release alert margin past the analysis. Default 15."""


class EndpointConfig(Model):
    """``serving.endpoints.<name>``: one model endpoint (see ``ModelEndpointArgs`` for the rules)."""

    feeds: ClassVar[Feeds] = {ModelEndpointArgs: {k: k for k in _ENDPOINT_KEYS}}

    model_name: str | None = None
    """Model name in the path ``/v2/models/<model_name>/infer``. Default the endpoint name."""
    versions: dict[str, VersionConfig] = pydantic.Field(default_factory=dict)
    """Versions by name. Required unless ``model`` is set."""
    model: str | None = None
    """Follow the registry, not listed versions: ``<registered model>@champion``. Needs ``release``. Default unset."""
    release: ReleaseConfig | None = None
    """Releases by the release controller (gate, canary, promotion or rollback). Default none."""
    critical: bool | None = None
    """Never scale to zero; >= 2 replicas and a PodDisruptionBudget."""
    min_replicas: int | None = None
    """Fewest replicas per version (0: scale to zero, non-critical only)."""
    max_replicas: int | None = None
    """Most replicas per version."""
    scaling_metric: ScalingMetric | None = None
    """``concurrency`` or ``queue-depth``."""
    scaling_target: int | None = None
    """Target per replica."""
    cpu_request: str | None = None
    """CPU request of the model server."""
    memory_request: str | None = None
    """Memory request of the model server."""
    cpu_limit: str | None = None
    """CPU limit of the model server."""
    memory_limit: str | None = None
    """Memory limit of the model server."""
    gpu_count: int | None = None
    """GPUs per replica."""
    gpu_pool: str | None = None
    """GPU pool (a key of ``gpu_pools``). Default any GPU node."""
    model_load_timeout_seconds: int | None = None
    """Longest model load (startup probe, cold start wait)."""
    request_timeout_seconds: int | None = None
    """Gateway timeout of a warm request."""
    scale_down_delay_seconds: int | None = None
    """Idle time before scaling down."""
    hostnames: list[str] | None = None
    """Hostnames of the route. Default the Gateway's."""
    auth: AuthConfig = pydantic.Field(default_factory=AuthConfig)
    """Authentication. Default API keys from ``<endpoint>-api-keys``."""
    rate_limit: RateLimitConfig = pydantic.Field(default_factory=RateLimitConfig)
    """Rate limit."""
    concurrency_limit: int | None = None
    """Inferences one replica runs at once (MLServer parallel workers); the rest queue."""
    max_batch_size: int | None = None
    """Adaptive batching: most requests joined into one inference (1: off)."""
    max_batch_time_ms: int | None = None
    """Adaptive batching: longest wait for a batch to fill, ms; > 0 exactly when batching."""
    warmup_request: str | None = None
    """v2 inference request (JSON) each new replica answers before taking traffic. Default none (model ready only)."""
    warmup_timeout_seconds: int | None = None
    """Longest warm-up inference."""
    warm_windows: list[WarmWindowConfig] | None = None
    """Scheduled warm standby: hours of expected traffic (KEDA cron triggers). Default none."""
    warm_timezone: str | None = None
    """IANA time zone of ``warm_windows``."""
    model_cache_gib: int | None = None
    """Keep the model on the disk of every node of ``gpu_pool`` (its size, GiB; the pool needs ``model_cache_gib``).
    Needs versions under ``{artifact_root}``."""
    priority_class: str | None = None
    """PriorityClass of the pods. Default by criticality (``ml-platform-critical-inference`` / ``-inference``)."""


class ServingConfig(Model):
    """``ml-platform:serving``."""

    enabled: bool = False
    """Whether the stack installs the serving platform. Default False."""
    platform: PlatformConfig = pydantic.Field(default_factory=PlatformConfig)
    """The shared serving platform."""
    endpoints: dict[str, EndpointConfig] = pydantic.Field(default_factory=dict)
    """Model endpoints by name. Default none."""

    def cached_versions(self) -> dict[str, list[str]]:
        """GPU pool -> ``storage_uri`` (as written, ``{artifact_root}`` unresolved) of every version it caches."""
        out: dict[str, list[str]] = {}
        for e in self.endpoints.values():
            if e.model_cache_gib and e.gpu_pool:
                out.setdefault(e.gpu_pool, []).extend(v.storage_uri for v in e.versions.values())
        return out
