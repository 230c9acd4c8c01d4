"""The Kubernetes objects of a ModelEndpoint, as plain dicts (the API form ``kubectl apply`` takes).

Kept apart from the component so that what an endpoint renders is one pure function of its arguments: the tests
validate these dicts against the upstream CRDs, and the weights reach exactly one object (the HTTPRoute), which is
what lets a traffic shift leave every model pod alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..common import (
    CRITICAL_LABEL,
    ENDPOINT_LABEL,
    GPU_RESOURCE,
    MANAGED_BY_LABELS,
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    POOL_LABEL,
    ContainerSecurity,
    PodSecurity,
    gpu_node_selector,
    gpu_toleration,
    merge_labels,
)
from ._args import ModelEndpointArgs, ModelVersion
from ._model_cache import SOURCE_ANNOTATION, cached_storage_uri
from ._pressure import cron_triggers, gated_probes, mlserver_env, priority_class_name

VERSION_HEADER = "x-model-version"
"""Request header that pins a request to one version (``x-model-version: v2``), whatever the weights."""

BACKEND_HEADER = "x-ml-platform-backend"
"""Header the route sets on requests it sends to the interceptor; the version's InterceptorRoute matches on it."""

API_KEY_HEADER = "x-api-key"
"""Header clients send their API key in."""

CLIENT_ID_HEADER = "x-client-id"
"""Header the gateway forwards the authenticated client id in (API keys); the key itself is removed."""

GATEWAY_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class VersionInfo:
    """What other layers (monitoring, dashboards) need to know about one served version."""

    name: str
    """Version name."""
    inference_service: str
    """InferenceService name."""
    deployment: str
    """Deployment KServe creates for it (``<isvc>-predictor``); its pods are named ``<deployment>-...``."""
    service: str
    """Service KServe creates for it (port 80)."""
    labels: dict[str, str]
    """Labels on the version's objects and pods."""
    weight: int
    """Traffic weight."""
    scale_to_zero: bool
    """Whether it scales to zero through the interceptor."""


@dataclass
class Built:
    objects: list[dict[str, Any]]
    versions: list[VersionInfo]
    route_name: str
    path_prefix: str


def build_objects(endpoint: str, args: ModelEndpointArgs) -> Built:
    """Every object of the endpoint, in creation order (per-version objects first, the route and its policies last)."""
    base = merge_labels(
        MANAGED_BY_LABELS,
        args.labels,
        {
            MODEL_LABEL: args.model_name,
            ENDPOINT_LABEL: endpoint,
            CRITICAL_LABEL: str(args.critical).lower(),
        },
    )
    cold = args.scale_to_zero()
    objects: list[dict[str, Any]] = []
    versions: list[VersionInfo] = []
    for v in args.versions:
        isvc = f"{endpoint}-{v.name}"
        labels = merge_labels(base, {MODEL_VERSION_LABEL: v.name})
        info = VersionInfo(v.name, isvc, f"{isvc}-predictor", f"{isvc}-predictor", labels, v.weight, cold)
        versions.append(info)
        objects.append(inference_service(args, v, info))
        if cold:
            objects.append(interceptor_route(args, info))
        objects.append(scaled_object(args, info))
        if args.critical:
            objects.append(pod_disruption_budget(args, info))
    prefix = f"/v2/models/{args.model_name}"
    route = http_route(endpoint, args, versions, base, prefix)
    objects += [route, security_policy(endpoint, args, base), rate_limit_policy(endpoint, args, base)]
    return Built(objects, versions, endpoint, prefix)


def _meta(name: str, namespace: str, labels: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels), **extra}


def inference_service(args: ModelEndpointArgs, v: ModelVersion, info: VersionInfo) -> dict[str, Any]:
    limits: dict[str, Any] = {"cpu": args.cpu_limit, "memory": args.memory_limit}
    requests: dict[str, Any] = {"cpu": args.cpu_request, "memory": args.memory_request}
    if args.gpu_count:
        limits[GPU_RESOURCE] = str(args.gpu_count)
        requests[GPU_RESOURCE] = str(args.gpu_count)
    cached = args.model_cache_gib > 0 and args.gpu_pool is not None
    model: dict[str, Any] = {
        "modelFormat": {"name": v.model_format},
        "protocolVersion": v.protocol_version,
        "runtime": v.runtime,
        # A cached version mounts its pool's node copy (read-only, at /mnt/models) instead of downloading it.
        "storageUri": cached_storage_uri(args.gpu_pool, v.storage_uri) if cached and args.gpu_pool else v.storage_uri,
        "resources": {"requests": requests, "limits": limits},
        # One public model name for every version (the path does not change with the split); the response's
        # model_version says which version answered.
        "env": [
            {"name": "MLSERVER_MODEL_NAME", "value": args.model_name},
            {"name": "MLSERVER_MODEL_VERSION", "value": v.name},
            *mlserver_env(args),
        ],
        # KServe merges this container into the runtime's, which mounts MLServer's scratch folder.
        "securityContext": ContainerSecurity(run_as_user=1000).render(),
        **gated_probes(args),
    }
    predictor: dict[str, Any] = {
        "minReplicas": args.min_replicas,
        "maxReplicas": args.max_replicas,
        "labels": dict(info.labels),
        "deploymentStrategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": args.max_surge},
        },
        "securityContext": PodSecurity().render(),
        "priorityClassName": priority_class_name(args),
        "model": model,
    }
    if args.service_account_name:
        predictor["serviceAccountName"] = args.service_account_name
    if args.gpu_count:
        predictor["tolerations"] = [gpu_toleration()]
        predictor["nodeSelector"] = merge_labels(
            gpu_node_selector(), {POOL_LABEL: args.gpu_pool} if args.gpu_pool else None
        )
    if args.critical:
        predictor["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {
                    "matchLabels": {MODEL_VERSION_LABEL: v.name, ENDPOINT_LABEL: info.labels[ENDPOINT_LABEL]}
                },
            }
        ]
    annotations: dict[str, Any] = {
        "serving.kserve.io/deploymentMode": "Standard",
        # KEDA owns the replica count through our ScaledObject; KServe creates no HPA and keeps its hands off.
        "serving.kserve.io/autoscalerClass": "external",
    }
    if cached:
        annotations[SOURCE_ANNOTATION] = v.storage_uri
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": _meta(info.inference_service, args.namespace, info.labels, annotations=annotations),
        "spec": {"predictor": predictor},
    }


def interceptor_route(args: ModelEndpointArgs, info: VersionInfo) -> dict[str, Any]:
    """The HTTP add-on route that holds requests for a version at zero and counts them for scaling."""
    return {
        "apiVersion": "http.keda.sh/v1beta1",
        "kind": "InterceptorRoute",
        "metadata": _meta(info.inference_service, args.namespace, info.labels),
        "spec": {
            "target": {"service": info.service, "port": 80},
            # Any host (the Gateway already matched it); the header the route set names the version.
            "rules": [{"hosts": ["*"], "headers": [{"name": BACKEND_HEADER, "value": backend_id(args, info)}]}],
            "scalingMetric": {"concurrency": {"targetValue": args.scaling_target}},
            "timeouts": {
                "readiness": f"{args.model_load_timeout_seconds}s",
                "request": f"{args.model_load_timeout_seconds + args.request_timeout_seconds}s",
                "responseHeader": f"{args.request_timeout_seconds}s",
            },
        },
    }


def backend_id(args: ModelEndpointArgs, info: VersionInfo) -> str:
    return f"{args.namespace}.{info.inference_service}"


def prometheus_query(args: ModelEndpointArgs, info: VersionInfo) -> str:
    """The PromQL a version's replicas follow: total in-flight requests, or total queued requests, of its pods."""
    sel = f'namespace="{args.namespace}",pod=~"{info.deployment}-.*"'
    if args.scaling_metric.value == "queue-depth":
        # MLServer observes the parallel-worker queue length on every request: the mean over the last minute
        # per pod, summed over the version's pods.
        return (
            f"sum(rate(parallel_request_queue_sum{{{sel}}}[1m]) "
            f"/ (rate(parallel_request_queue_count{{{sel}}}[1m]) > 0))"
        )
    return f"sum(rest_server_requests_in_progress{{{sel}}})"


def scaled_object(args: ModelEndpointArgs, info: VersionInfo) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": info.deployment},
        "minReplicaCount": args.min_replicas,
        "maxReplicaCount": args.max_replicas,
        "pollingInterval": 15,
        "cooldownPeriod": args.scale_down_delay_seconds,
        # A freshly started replica is not scaled away before it had time to load its model and serve.
        "initialCooldownPeriod": args.model_load_timeout_seconds,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    "scaleDown": {"stabilizationWindowSeconds": args.scale_down_delay_seconds},
                }
            }
        },
    }
    if info.scale_to_zero:
        spec["triggers"] = [
            {
                "type": "external-push",
                "metadata": {
                    "scalerAddress": args.scaler_address(),
                    "interceptorRoute": info.inference_service,
                },
            }
        ]
    else:
        spec["triggers"] = [
            {
                "type": "prometheus",
                "metricType": "AverageValue",
                "metadata": {
                    "serverAddress": args.prometheus_address,
                    "query": prometheus_query(args, info),
                    "threshold": str(args.scaling_target),
                    "ignoreNullValues": "true",
                },
            }
        ]
        # If Prometheus cannot be read, keep what runs (never drop below it): losing metrics must not lose capacity.
        spec["fallback"] = {"failureThreshold": 3, "replicas": args.min_replicas, "behavior": "currentReplicasIfHigher"}
    spec["triggers"] += cron_triggers(args)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": _meta(info.inference_service, args.namespace, info.labels),
        "spec": spec,
    }


def pod_disruption_budget(args: ModelEndpointArgs, info: VersionInfo) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(info.inference_service, args.namespace, info.labels),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {ENDPOINT_LABEL: info.labels[ENDPOINT_LABEL], MODEL_VERSION_LABEL: info.name}},
        },
    }


def _backend(args: ModelEndpointArgs, info: VersionInfo, weight: int) -> dict[str, Any]:
    if not info.scale_to_zero:
        return {"kind": "Service", "name": info.service, "port": 80, "weight": weight}
    return {
        "kind": "Service",
        "name": args.interceptor_service,
        "port": args.interceptor_port,
        "weight": weight,
        "filters": [
            {
                "type": "RequestHeaderModifier",
                "requestHeaderModifier": {"set": [{"name": BACKEND_HEADER, "value": backend_id(args, info)}]},
            }
        ],
    }


def http_route(
    endpoint: str, args: ModelEndpointArgs, versions: list[VersionInfo], labels: dict[str, str], prefix: str
) -> dict[str, Any]:
    """One route: a rule per version pinned by header, then the weighted split. Weights appear only here."""
    cold = any(v.scale_to_zero for v in versions)
    timeout = args.request_timeout_seconds + (args.model_load_timeout_seconds if cold else 0)
    path = {"type": "PathPrefix", "value": prefix}
    rules = [
        {
            "name": f"pin-{v.name}",
            "matches": [{"path": path, "headers": [{"type": "Exact", "name": VERSION_HEADER, "value": v.name}]}],
            "backendRefs": [_backend(args, v, 1)],
            "timeouts": {"request": f"{timeout}s"},
        }
        for v in versions
    ]
    rules.append(
        {
            "name": "split",
            "matches": [{"path": path}],
            "backendRefs": [_backend(args, v, v.weight) for v in versions],
            "timeouts": {"request": f"{timeout}s"},
        }
    )
    parent: dict[str, Any] = {
        "group": GATEWAY_GROUP,
        "kind": "Gateway",
        "name": args.gateway_name,
        "namespace": args.gateway_namespace,
    }
    if args.gateway_listener:
        parent["sectionName"] = args.gateway_listener
    spec: dict[str, Any] = {"parentRefs": [parent], "rules": rules}
    if args.hostnames:
        spec["hostnames"] = list(args.hostnames)
    return {
        "apiVersion": f"{GATEWAY_GROUP}/v1",
        "kind": "HTTPRoute",
        "metadata": _meta(endpoint, args.namespace, labels),
        "spec": spec,
    }


def _target(endpoint: str) -> list[dict[str, str]]:
    return [{"group": GATEWAY_GROUP, "kind": "HTTPRoute", "name": endpoint}]


def security_policy(endpoint: str, args: ModelEndpointArgs, labels: dict[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"targetRefs": _target(endpoint)}
    if args.auth_mode.value == "api-key":
        spec["apiKeyAuth"] = {
            "credentialRefs": [{"group": "", "kind": "Secret", "name": args.api_key_secret}],
            "extractFrom": [{"headers": [API_KEY_HEADER]}],
            "forwardClientIDHeader": CLIENT_ID_HEADER,
            "sanitize": True,
        }
    else:
        provider: dict[str, Any] = {
            "name": endpoint,
            "issuer": args.jwt_issuer,
            "remoteJWKS": {"uri": args.jwt_jwks_uri},
        }
        if args.jwt_audiences:
            provider["audiences"] = list(args.jwt_audiences)
        spec["jwt"] = {"providers": [provider]}
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "SecurityPolicy",
        "metadata": _meta(f"{endpoint}-auth", args.namespace, labels),
        "spec": spec,
    }


def rate_limit_policy(endpoint: str, args: ModelEndpointArgs, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.envoyproxy.io/v1alpha1",
        "kind": "BackendTrafficPolicy",
        "metadata": _meta(f"{endpoint}-rate-limit", args.namespace, labels),
        "spec": {
            "targetRefs": _target(endpoint),
            "rateLimit": {
                "local": {
                    "rules": [{"limit": {"requests": args.rate_limit_requests, "unit": args.rate_limit_unit.value}}]
                }
            },
        },
    }
