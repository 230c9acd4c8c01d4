"""Stack config for model serving (``ml-platform:serving``): the serving platform and one entry per endpoint.

Shape and types are checked here; the rules (weights sum to 100, critical endpoints never at zero, auth settings
complete...) are the components' own validation, run by ``infra/serving.py`` with these key paths as prefixes.
"""

from __future__ import annotations

import pydantic

from components.serving import AuthMode, RateLimitUnit, ReleaseMode, ScalingMetric, Weekday

from .base import Model


class PlatformConfig(Model):
    """``serving.platform``: the shared serving platform (charts, Gateway, runtime image)."""

    namespace: str = "ml-serving"
    """Namespace of the endpoints and of the HTTP add-on interceptor. Default ``ml-serving``."""
    gateway_hostname: str | None = None
    """Hostname the Gateway accepts (``models.example.com``). Default any."""
    tls_secret_name: str | None = None
    """Secret in ``envoy-gateway-system`` with the HTTPS certificate; unset: HTTP only. Default unset."""
    mlserver_image: str | None = None
    """MLServer runtime image (pinned tag). Default ``docker.io/seldonio/mlserver:1.7.1``."""
    interceptor_min_replicas: int = 2
    """Fewest HTTP add-on interceptor replicas. Default 2."""
    envoy_gateway_replicas: int | None = None
    """Envoy Gateway controller replicas. Default 2 in prod, 1 elsewhere."""
    prometheus_address: str = "http://kube-prometheus-stack-prometheus.monitoring:9090"
    """Prometheus the scaling queries read. Default the kube-prometheus-stack service in ``monitoring``."""
    model_cache_job_annotations: dict[str, str] | None = None
    """Annotations giving KServe's model download Jobs their bucket identity (``eks.amazonaws.com/role-arn``,
    ``iam.gke.io/gcp-service-account``). Default none."""
    release_controller_image: str | None = None
    """Release controller image (``images/release-controller``, pinned). Required when an endpoint has ``release``."""


class VersionConfig(Model):
    """``serving.endpoints.<name>.versions.<version>``."""

    storage_uri: str
    """Model location; ``{artifact_root}`` is replaced by the MLflow layer's artifact root. Required."""
    weight: int
    """Share of traffic, 0-100; an endpoint's weights sum to 100. Required."""
    model_format: str = "mlflow"
    """KServe model format. Default ``mlflow``."""
    runtime: str | None = None
    """Serving runtime. Default the platform's MLServer runtime (``ml-platform-mlserver``)."""


class AuthConfig(Model):
    """``serving.endpoints.<name>.auth``."""

    mode: AuthMode = AuthMode.API_KEY
    """``api-key`` or ``jwt``. Default ``api-key``."""
    api_key_secret: str | None = None
    """Secret of client id -> API key (api-key). Default ``<endpoint>-api-keys``."""
    jwt_issuer: str | None = None
    """JWT issuer (jwt). Required for jwt."""
    jwt_jwks_uri: str | None = None
    """JWKS HTTPS URI (jwt). Required for jwt."""
    jwt_audiences: list[str] = pydantic.Field(default_factory=list)
    """Accepted audiences (jwt). Default any."""


class RateLimitConfig(Model):
    """``serving.endpoints.<name>.rate_limit``."""

    requests: int = 100
    """Requests per unit. Default 100."""
    unit: RateLimitUnit = RateLimitUnit.MINUTE
    """``Second``, ``Minute`` or ``Hour``. Default ``Minute``."""


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

    model_name: str | None = None
    """Model name in the path ``/v2/models/<model_name>/infer``. Default the endpoint name."""
    versions: dict[str, VersionConfig] = pydantic.Field(default_factory=dict)
    """Versions by name. Required unless ``model`` is set."""
    model: str | None = None
    """Follow the registry, not listed versions: ``<registered model>@champion``. Needs ``release``. Default unset."""
    release: ReleaseConfig | None = None
    """Releases by the release controller (gate, canary, promotion or rollback). Default none."""
    critical: bool = False
    """Never scale to zero; >= 2 replicas and a PodDisruptionBudget. Default False."""
    min_replicas: int = 1
    """Fewest replicas per version (0: scale to zero, non-critical only). Default 1."""
    max_replicas: int = 3
    """Most replicas per version. Default 3."""
    scaling_metric: ScalingMetric = ScalingMetric.CONCURRENCY
    """``concurrency`` or ``queue-depth``. Default ``concurrency``."""
    scaling_target: int = 4
    """Target per replica. Default 4."""
    cpu_request: str = "1"
    """Default ``1``."""
    memory_request: str = "2Gi"
    """Default ``2Gi``."""
    cpu_limit: str = "2"
    """Default ``2``."""
    memory_limit: str = "4Gi"
    """Default ``4Gi``."""
    gpu_count: int = 0
    """GPUs per replica. Default 0."""
    gpu_pool: str | None = None
    """GPU pool (a key of ``gpu_pools``). Default any GPU node."""
    model_load_timeout_seconds: int = 600
    """Longest model load (startup probe, cold start wait). Default 600."""
    request_timeout_seconds: int = 60
    """Gateway timeout of a warm request. Default 60."""
    scale_down_delay_seconds: int = 300
    """Idle time before scaling down. Default 300."""
    hostnames: list[str] = pydantic.Field(default_factory=list)
    """Hostnames of the route. Default the Gateway's."""
    auth: AuthConfig = pydantic.Field(default_factory=AuthConfig)
    """Authentication. Default API keys from ``<endpoint>-api-keys``."""
    rate_limit: RateLimitConfig = pydantic.Field(default_factory=RateLimitConfig)
    """Rate limit. Default 100 per minute."""
    concurrency_limit: int | None = None
    """Inferences one replica runs at once (MLServer parallel workers); the rest queue. Default 1."""
    max_batch_size: int | None = None
    """Adaptive batching: most requests joined into one inference. Default 1 (off)."""
    max_batch_time_ms: int | None = None
    """Adaptive batching: longest wait for a batch to fill, ms; > 0 exactly when batching. Default 0."""
    warmup_request: str | None = None
    """v2 inference request (JSON) each new replica answers before taking traffic. Default none (model ready only)."""
    warmup_timeout_seconds: int | None = None
    """Longest warm-up inference. Default 30."""
    warm_windows: list[WarmWindowConfig] | None = None
    """Scheduled warm standby: hours of expected traffic (KEDA cron triggers). Default none."""
    warm_timezone: str | None = None
    """IANA time zone of ``warm_windows``. Default ``UTC``."""
    model_cache_gib: int | None = None
    """Cache the model on the nodes of ``gpu_pool`` (its size, GiB; the pool needs ``model_cache_gib``). Default 0."""
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
