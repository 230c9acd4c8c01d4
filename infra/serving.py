"""The serving layer of the program: the serving platform and one ModelEndpoint per configured endpoint.

Model locations come from the stack file; a ``{artifact_root}`` placeholder in a version's ``storage_uri`` is filled
from the MLflow layer's artifact root (``s3://bucket`` or ``gs://bucket``), so a stack can name registry artifacts
without repeating the bucket. What the monitoring layer needs (each endpoint's versions, their labels and workload
names, whether it is critical or uses GPUs) is returned as a :class:`ServingLayer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.common import GpuSharing, Problems
from components.serving import (
    MLSERVER_METRICS_PORT,
    MLSERVER_RUNTIME,
    MODEL_SERVICE_ACCOUNT,
    SLOTS,
    ModelEndpoint,
    ModelEndpointArgs,
    ModelVersion,
    ReleaseController,
    ReleaseControllerArgs,
    ReleasePolicy,
    ServingPlatform,
    ServingPlatformArgs,
    VersionInfo,
    WarmWindow,
)

from .cluster import ClusterLayer
from .config import StackConfig
from .config.serving import EndpointConfig
from .mlflow import ARTIFACT_ROOT, MlflowLayer, with_artifact_root

CHAMPION = "champion"
MONITORING_RELEASE = "kube-prometheus-stack"
"""The monitoring chart's release name: the label its Prometheus selects PodMonitors by."""


@dataclass
class ServingEndpoint:
    """One endpoint as later layers see it."""

    name: str
    model_name: str
    namespace: str
    critical: bool
    gpu_count: int
    gpu_pool: str | None
    route_name: str
    path_prefix: str
    versions: list[VersionInfo]


@dataclass
class ServingLayer:
    """What the serving layer hands to the monitoring layer."""

    namespace: str
    gateway_name: str
    gateway_namespace: str
    keda_namespace: str = "keda"
    """Namespace of the KEDA operator and metrics server."""
    interceptor_namespace: str = "ml-serving"
    """Namespace of the KEDA HTTP add-on (interceptor, external scaler): the serving namespace."""
    metrics_port: int = MLSERVER_METRICS_PORT
    """Port of MLServer's Prometheus endpoint (``/metrics``) on every model pod."""
    endpoints: list[ServingEndpoint] = field(default_factory=list)


def platform_args(cfg: StackConfig, tracking: MlflowLayer | None = None) -> ServingPlatformArgs:
    p = cfg.serving.platform
    args = ServingPlatformArgs(
        model_service_account_annotations=dict(tracking.model_reader_annotations) if tracking is not None else {},
        metrics_namespace=cfg.observability.namespace if cfg.observability.enabled else None,
        serving_namespace=p.namespace,
        gateway_hostname=p.gateway_hostname,
        tls_secret_name=p.tls_secret_name,
        interceptor_min_replicas=p.interceptor_min_replicas,
        interceptor_max_replicas=max(10, p.interceptor_min_replicas),
        envoy_gateway_replicas=p.envoy_gateway_replicas or (2 if cfg.is_prod else 1),
        labels={"environment": cfg.environment.value},
        model_cache_pools={n: pool.model_cache_gib for n, pool in cfg.gpu_pools.items() if pool.model_cache_gib},
        model_cache_job_annotations=dict(p.model_cache_job_annotations or {}),
    )
    if p.mlserver_image:
        args.mlserver_image = p.mlserver_image
    return args


def pressure_args(e: EndpointConfig) -> dict[str, Any]:
    """The endpoint's load settings the stack file sets (the component owns every default)."""
    out: dict[str, Any] = {
        k: getattr(e, k)
        for k in (
            "concurrency_limit",
            "max_batch_size",
            "max_batch_time_ms",
            "warmup_request",
            "warmup_timeout_seconds",
            "warm_timezone",
            "model_cache_gib",
            "priority_class",
        )
        if getattr(e, k) is not None
    }
    if e.warm_windows is not None:
        out["warm_windows"] = [
            WarmWindow(days=list(w.days), start=w.start, end=w.end, replicas=w.replicas) for w in e.warm_windows
        ]
    return out


def _versions(name: str, e: EndpointConfig, artifact_root: pulumi.Input[str] | None) -> list[ModelVersion]:
    if e.model:
        # A released endpoint: two slots; the release controller loads the champion into the first on start and
        # every candidate into the free one. Until its first sync the slots name a location that holds no model.
        unresolved = with_artifact_root(f"{ARTIFACT_ROOT}/unresolved/{e.model.replace('@', '/')}", artifact_root)
        return [
            ModelVersion(name=slot, storage_uri=unresolved, weight=100 if i == 0 else 0) for i, slot in enumerate(SLOTS)
        ]
    return [
        ModelVersion(
            name=vname,
            storage_uri=with_artifact_root(v.storage_uri, artifact_root),
            weight=v.weight,
            model_format=v.model_format,
            runtime=v.runtime or MLSERVER_RUNTIME,
        )
        for vname, v in e.versions.items()
    ]


def endpoint_args(
    cfg: StackConfig, name: str, e: EndpointConfig, artifact_root: pulumi.Input[str] | None = None
) -> ModelEndpointArgs:
    p = cfg.serving.platform
    return ModelEndpointArgs(
        model_name=e.model_name or name,
        versions=_versions(name, e, artifact_root),
        namespace=p.namespace,
        critical=e.critical,
        min_replicas=e.min_replicas,
        max_replicas=e.max_replicas,
        scaling_metric=e.scaling_metric,
        scaling_target=e.scaling_target,
        cpu_request=e.cpu_request,
        memory_request=e.memory_request,
        cpu_limit=e.cpu_limit,
        memory_limit=e.memory_limit,
        gpu_count=e.gpu_count,
        gpu_pool=e.gpu_pool,
        model_load_timeout_seconds=e.model_load_timeout_seconds,
        request_timeout_seconds=e.request_timeout_seconds,
        scale_down_delay_seconds=e.scale_down_delay_seconds,
        auth=e.auth.mode,
        api_key_secret=e.auth.api_key_secret or f"{name}-api-keys",
        jwt_issuer=e.auth.jwt_issuer,
        jwt_jwks_uri=e.auth.jwt_jwks_uri,
        jwt_audiences=list(e.auth.jwt_audiences),
        rate_limit_requests=e.rate_limit.requests,
        rate_limit_unit=e.rate_limit.unit,
        hostnames=list(e.hostnames),
        interceptor_namespace=p.namespace,
        prometheus_address=p.prometheus_address,
        gateway_listener="https" if p.tls_secret_name else None,
        service_account_name=MODEL_SERVICE_ACCOUNT,
        labels={"environment": cfg.environment.value},
        **pressure_args(e),
        release_managed=e.release is not None,
    )


def release_policy(name: str, e: EndpointConfig) -> ReleasePolicy | None:
    if e.release is None:
        return None
    r = e.release
    given = {k: v for k, v in r.model_dump(exclude={"mode", "heldout_uri", "slices"}).items() if v is not None}
    return ReleasePolicy(
        endpoint=name,
        registered_model=(e.model or name).split("@")[0],
        model_name=e.model_name or name,
        heldout_uri=r.heldout_uri,
        mode=r.mode,
        slices=dict(r.slices),
        scale_to_zero=e.min_replicas == 0 and not e.critical,
        **given,
    )


def release_args(cfg: StackConfig, tracking: MlflowLayer | None = None) -> ReleaseControllerArgs | None:
    """The release controller's arguments, or None when no endpoint is released."""
    policies = [p for name, e in cfg.serving.endpoints.items() if (p := release_policy(name, e)) is not None]
    if not policies:
        return None
    p = cfg.serving.platform
    args = ReleaseControllerArgs(
        image=p.release_controller_image or "",
        endpoints=policies,
        namespace=p.namespace,
        prometheus_url=p.prometheus_address,
        labels={"environment": cfg.environment.value},
    )
    if tracking is not None:
        args.tracking_uri = tracking.tracking_uri
        # Where MLflow's --artifacts-destination writes (the layer's artifact root), so mlflow-artifacts: URIs
        # resolve to the objects the model servers read.
        args.artifact_destination = pulumi.Output.from_input(tracking.artifact_root).apply(
            lambda root: root.rstrip("/")
        )
    return args


def _validate_release(cfg: StackConfig, name: str, e: EndpointConfig, at: Problems) -> None:
    if e.model is not None:
        model, _, alias = e.model.partition("@")
        at.check(
            bool(model) and alias == CHAMPION,
            "model",
            "must be '<registered model>@champion' (production follows the champion alias)",
            e.model,
        )
        if e.versions:
            at.add(
                "versions",
                "must be empty when model is set (the release controller owns the versions)",
                list(e.versions),
            )
        if e.release is None:
            at.add("release", "is required with model (the release controller loads what the registry names)", None)
    elif e.release is not None:
        at.add("model", "is required with release: '<registered model>@champion'", None)
    policy = release_policy(name, e)
    if policy is not None:
        policy.validate(at.at("release"))
        if not cfg.serving.platform.release_controller_image:
            at.add("release", "needs serving.platform.release_controller_image (build images/release-controller)", None)


def validate(cfg: StackConfig, problems: Problems) -> None:
    """Append every problem with ``cfg.serving`` to ``problems`` (key paths start with ``serving.``)."""
    s = cfg.serving
    if not s.enabled:
        if s.endpoints:
            problems.add(
                "serving.enabled", f"must be true when endpoints are configured ({', '.join(s.endpoints)})", False
            )
        return
    platform_args(cfg).validate(problems.at("serving.platform"))
    if cfg.cloud.value in ("aws", "gcp"):
        for pool_name, pool in cfg.gpu_pools.items():
            if pool.model_cache_gib:
                problems.add(
                    f"gpu_pools.{pool_name}.model_cache_gib",
                    "cannot fill on EKS or GKE yet: KServe v0.20's model download Jobs carry no toleration for the "
                    "GPU taint (see docs/serving.md, node-level model cache)",
                    pool.model_cache_gib,
                )
    mlflow_enabled = cfg.mlflow.enabled
    for name, e in s.endpoints.items():
        at = problems.at(f"serving.endpoints.{name}")
        # Placeholders are checked here (they need the MLflow layer); the component checks the rest.
        _validate_release(cfg, name, e, at)
        endpoint_args(cfg, name, e, artifact_root="s3://artifact-root").validate(at)
        for vname, v in e.versions.items():
            if ARTIFACT_ROOT in v.storage_uri and not mlflow_enabled:
                at.add(
                    f"versions.{vname}.storage_uri",
                    "uses {artifact_root} but the stack has no MLflow layer (mlflow.enabled: false)",
                    v.storage_uri,
                )
        if e.gpu_pool is not None:
            pool = cfg.gpu_pools.get(e.gpu_pool)
            if pool is None:
                at.add(
                    "gpu_pool", f"must name a GPU pool of this stack ({', '.join(cfg.gpu_pools) or 'none'})", e.gpu_pool
                )
            elif pool.sharing.mode == GpuSharing.TIME_SLICING and e.gpu_count != 1:
                at.add(
                    "gpu_count",
                    f"must be 1 on time-sliced pool {e.gpu_pool!r} (a pod gets one slice of one GPU)",
                    e.gpu_count,
                )
        if e.model_cache_gib and e.gpu_pool in cfg.gpu_pools:
            pool_cache = cfg.gpu_pools[e.gpu_pool].model_cache_gib or 0
            cached = sum(
                (x.model_cache_gib or 0) * len(x.versions) for x in s.endpoints.values() if x.gpu_pool == e.gpu_pool
            )
            at.check(
                pool_cache >= cached,
                "model_cache_gib",
                f"the cached models on pool {e.gpu_pool!r} need {cached} GiB; set "
                f"gpu_pools.{e.gpu_pool}.model_cache_gib to at least that (it is {pool_cache})",
                e.model_cache_gib,
            )
        if e.gpu_count and not cfg.gpu_pools and cfg.cloud.value != "existing":
            at.add("gpu_count", "needs a GPU pool in gpu_pools", e.gpu_count)


def deploy(cfg: StackConfig, layer: ClusterLayer, tracking: MlflowLayer | None = None) -> ServingLayer | None:
    """Create the serving platform and the endpoints; None when the stack has no serving."""
    if not cfg.serving.enabled:
        return None
    opts = pulumi.ResourceOptions(provider=layer.provider)
    if layer.device_plugin is not None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[layer.device_plugin]))
    platform = ServingPlatform("serving", platform_args(cfg, tracking), opts=opts)
    out = ServingLayer(
        namespace=platform.serving_namespace,
        gateway_name=platform.gateway_name,
        gateway_namespace=platform.gateway_namespace,
        keda_namespace=platform.keda_namespace,
        interceptor_namespace=platform.serving_namespace,
    )
    artifact_root = tracking.artifact_root if tracking is not None else None
    for name, e in cfg.serving.endpoints.items():
        endpoint = ModelEndpoint(
            name,
            endpoint_args(cfg, name, e, artifact_root),
            opts=pulumi.ResourceOptions(provider=layer.provider, depends_on=platform.dependencies),
        )
        out.endpoints.append(
            ServingEndpoint(
                name=name,
                model_name=endpoint.model_name,
                namespace=endpoint.namespace,
                critical=endpoint.critical,
                gpu_count=endpoint.gpu_count,
                gpu_pool=e.gpu_pool,
                route_name=endpoint.route_name,
                path_prefix=endpoint.path_prefix,
                versions=endpoint.versions,
            )
        )
    controller_args = release_args(cfg, tracking)
    if controller_args is not None:
        release = ReleaseController(
            "release",
            controller_args,
            opts=pulumi.ResourceOptions(provider=layer.provider, depends_on=platform.dependencies),
        )
        pulumi.export("release_webhook_url", release.webhook_url)
    # What a client needs: where each model answers (behind the Gateway's address and hostname).
    pulumi.export("serving_endpoints", {e.name: f"{e.path_prefix}/infer" for e in out.endpoints})
    return out
