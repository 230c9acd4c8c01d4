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
    MODEL_SERVICE_ACCOUNT,
    SLOTS,
    ModelCache,
    ModelCacheArgs,
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
from .config import StackConfig, args_kwargs, component_default, key_paths
from .config.base import effective
from .config.serving import EndpointConfig, PlatformConfig
from .mlflow import ARTIFACT_ROOT, MlflowLayer, with_artifact_root

CHAMPION = "champion"


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
    keda_namespace: str
    """Namespace of the KEDA operator and metrics server."""
    interceptor_namespace: str
    """Namespace of the KEDA HTTP add-on (interceptor, external scaler): the serving namespace."""
    metrics_port: int = MLSERVER_METRICS_PORT
    """Port of MLServer's Prometheus endpoint (``/metrics``) on every model pod."""
    endpoints: list[ServingEndpoint] = field(default_factory=list)


def platform_args(cfg: StackConfig, tracking: MlflowLayer | None = None) -> ServingPlatformArgs:
    p = cfg.serving.platform.for_environment(cfg.environment)
    kwargs = args_kwargs(p, ServingPlatformArgs)
    # The interceptor may always grow beyond its floor: at least the component's default most.
    most = component_default(ServingPlatformArgs, "interceptor_max_replicas")
    if kwargs.get("interceptor_min_replicas", 0) > most:
        kwargs["interceptor_max_replicas"] = kwargs["interceptor_min_replicas"]
    return ServingPlatformArgs(
        model_service_account_annotations=dict(tracking.model_reader_annotations) if tracking is not None else {},
        metrics_namespace=effective(cfg.observability, "namespace") if cfg.observability.enabled else None,
        labels={"environment": cfg.environment.value},
        **kwargs,
    )


def cache_args(
    cfg: StackConfig, tracking: MlflowLayer | None = None, artifact_root: pulumi.Input[str] | None = None
) -> ModelCacheArgs | None:
    """The node model cache's arguments: the pools that cache, the versions each keeps, the MLflow layer's
    prefix-scoped reader identity; None when no pool caches."""
    pools = {n: pool.model_cache_gib for n, pool in cfg.gpu_pools.items() if pool.model_cache_gib}
    if not pools or not cfg.serving.enabled:
        return None
    return ModelCacheArgs(
        pools=pools,
        models={
            pool: [with_artifact_root(u, artifact_root) for u in uris]
            for pool, uris in cfg.serving.cached_versions().items()
            if pool in pools
        },
        serving_namespace=platform_args(cfg).namespace,
        service_account_annotations=dict(tracking.model_cache_annotations) if tracking is not None else {},
        labels={"environment": cfg.environment.value},
    )


def warm_windows(e: EndpointConfig) -> dict[str, Any]:
    """The endpoint's warm windows as the component takes them, when the stack file sets any."""
    if e.warm_windows is None:
        return {}
    return {
        "warm_windows": [
            WarmWindow(days=list(w.days), start=w.start, end=w.end, replicas=w.replicas) for w in e.warm_windows
        ]
    }


def _versions(e: EndpointConfig, artifact_root: pulumi.Input[str] | None) -> list[ModelVersion]:
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
            **{**args_kwargs(v, ModelVersion), "storage_uri": with_artifact_root(v.storage_uri, artifact_root)},
        )
        for vname, v in e.versions.items()
    ]


def endpoint_args(
    cfg: StackConfig, name: str, e: EndpointConfig, artifact_root: pulumi.Input[str] | None = None
) -> ModelEndpointArgs:
    """The endpoint's arguments: what the stack file sets, in the platform's namespace; the rest is the component's."""
    namespace = platform_args(cfg).namespace
    kwargs = {
        "model_name": name,
        "api_key_secret": f"{name}-api-keys",
        **args_kwargs(cfg.serving.platform, ModelEndpointArgs, nested=False),
        **args_kwargs(e, ModelEndpointArgs),
    }
    return ModelEndpointArgs(
        versions=_versions(e, artifact_root),
        namespace=namespace,
        interceptor_namespace=namespace,
        gateway_listener="https" if cfg.serving.platform.tls_secret_name else None,
        service_account_name=MODEL_SERVICE_ACCOUNT,
        labels={"environment": cfg.environment.value},
        **kwargs,
        **warm_windows(e),
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
        scale_to_zero=effective(e, "min_replicas") == 0 and not effective(e, "critical"),
        **given,
    )


def release_args(cfg: StackConfig, tracking: MlflowLayer | None = None) -> ReleaseControllerArgs | None:
    """The release controller's arguments, or None when no endpoint is released."""
    policies = [rp for name, e in cfg.serving.endpoints.items() if (rp := release_policy(name, e)) is not None]
    if not policies:
        return None
    p = cfg.serving.platform
    args = ReleaseControllerArgs(
        image=p.release_controller_image or "",
        endpoints=policies,
        namespace=platform_args(cfg).namespace,
        prometheus_url=effective(p, "prometheus_address"),
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


def _validate_cache(e: EndpointConfig, at: Problems) -> None:
    """A cached version is fetched by the cache's own identity, which may read only under the artifact root."""
    if not e.model_cache_gib:
        return
    if e.model is not None:
        at.add(
            "model_cache_gib",
            "cannot cache a released endpoint (the release controller changes its versions' models at run time)",
            e.model_cache_gib,
        )
    for vname, v in e.versions.items():
        at.check(
            v.storage_uri.startswith(ARTIFACT_ROOT + "/"),
            f"versions.{vname}.storage_uri",
            "must lie under {artifact_root} when the endpoint is cached (the cache's identity reads only there)",
            v.storage_uri,
        )


def validate(cfg: StackConfig, problems: Problems) -> None:
    """Append every problem with ``cfg.serving`` to ``problems`` (key paths start with ``serving.``)."""
    s = cfg.serving
    if not s.enabled:
        if s.endpoints:
            problems.add(
                "serving.enabled", f"must be true when endpoints are configured ({', '.join(s.endpoints)})", False
            )
        return
    platform_args(cfg).validate(problems.at("serving.platform", key_paths(PlatformConfig, ServingPlatformArgs)))
    cache = cache_args(cfg)
    if cache is not None:
        cache.validate(problems.at("", {"pools": "gpu_pools", "models": "gpu_pools"}))
    mlflow_enabled = cfg.mlflow.enabled
    for name, e in s.endpoints.items():
        at = problems.at(f"serving.endpoints.{name}", key_paths(EndpointConfig, ModelEndpointArgs))
        # Placeholders are checked here (they need the MLflow layer); the component checks the rest.
        _validate_release(cfg, name, e, at)
        args = endpoint_args(cfg, name, e, artifact_root="s3://artifact-root")
        args.validate(at)
        for vname, v in e.versions.items():
            if ARTIFACT_ROOT in v.storage_uri and not mlflow_enabled:
                at.add(
                    f"versions.{vname}.storage_uri",
                    "uses {artifact_root} but the stack has no MLflow layer (mlflow.enabled: false)",
                    v.storage_uri,
                )
        if e.gpu_pool is not None:
            target = cfg.gpu_pools.get(e.gpu_pool)
            if target is None:
                at.add(
                    "gpu_pool", f"must name a GPU pool of this stack ({', '.join(cfg.gpu_pools) or 'none'})", e.gpu_pool
                )
            elif target.sharing.mode == GpuSharing.TIME_SLICING and args.gpu_count != 1:
                at.add(
                    "gpu_count",
                    f"must be 1 on time-sliced pool {e.gpu_pool!r} (a pod gets one slice of one GPU)",
                    args.gpu_count,
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
        _validate_cache(e, at)
        if args.gpu_count and not cfg.gpu_pools and cfg.cloud.value != "existing":
            at.add("gpu_count", "needs a GPU pool in gpu_pools", args.gpu_count)


def deploy(cfg: StackConfig, layer: ClusterLayer, tracking: MlflowLayer | None = None) -> ServingLayer | None:
    """Create the serving platform and the endpoints; None when the stack has no serving."""
    if not cfg.serving.enabled:
        return None
    opts = pulumi.ResourceOptions(provider=layer.provider)
    if layer.device_plugin is not None:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[layer.device_plugin]))
    platform = ServingPlatform("serving", platform_args(cfg, tracking), opts=opts)
    artifact_root = tracking.artifact_root if tracking is not None else None
    cached = cache_args(cfg, tracking, artifact_root)
    # The prefetchers run at the platform's priority; a cached endpoint mounts the cache's claim.
    cache = (
        ModelCache(
            "model-cache",
            cached,
            opts=pulumi.ResourceOptions(provider=layer.provider, depends_on=platform.dependencies),
        )
        if cached is not None
        else None
    )
    out = ServingLayer(
        namespace=platform.serving_namespace,
        gateway_name=platform.gateway_name,
        gateway_namespace=platform.gateway_namespace,
        keda_namespace=platform.keda_namespace,
        interceptor_namespace=platform.serving_namespace,
    )
    for name, e in cfg.serving.endpoints.items():
        endpoint = ModelEndpoint(
            name,
            endpoint_args(cfg, name, e, artifact_root),
            opts=pulumi.ResourceOptions(
                provider=layer.provider,
                depends_on=[*platform.dependencies, *([cache] if cache and e.model_cache_gib else [])],
            ),
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
