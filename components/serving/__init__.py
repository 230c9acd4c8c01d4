"""Model serving: the shared platform (KServe, KEDA, Envoy Gateway, MLServer runtime) and one ModelEndpoint per
model with an exact weighted split, authentication and rate limits, a concurrency cap, a warm-up gate, warm
windows and a node-level model cache.

This module is the domain's public surface; the underscored modules beside it are internals.
"""

from ._args import (
    AuthMode,
    ModelEndpointArgs,
    ModelVersion,
    RateLimitUnit,
    ScalingMetric,
    WarmWindow,
    Weekday,
)
from ._capacity import (
    BATCH_PRIORITY,
    CRITICAL_INFERENCE_PRIORITY,
    INFERENCE_PRIORITY,
    PRIORITY_CLASSES,
)
from ._endpoint import ModelEndpoint
from ._model_cache import (
    MODEL_CACHE_NAMESPACE,
    MODEL_CACHE_SERVICE_ACCOUNT,
    PREFETCH_SCRIPT,
    ModelCache,
    ModelCacheArgs,
    cache_claim_name,
    cache_key,
    persistent_volume,
    persistent_volume_claim,
    prefetch_daemon_set,
)
from ._objects import (
    BACKEND_HEADER,
    VERSION_HEADER,
    VersionInfo,
    build_objects,
    prometheus_query,
)
from ._platform import (
    GATEWAY_ACCESS_LABEL,
    MLSERVER_HTTP_PORT,
    MLSERVER_METRICS_PORT,
    MLSERVER_RUNTIME,
    MLSERVER_SCRATCH,
    MODEL_SERVICE_ACCOUNT,
    ServingPlatform,
    ServingPlatformArgs,
    envoy_gateway_values,
    keda_http_values,
    keda_values,
    kserve_values,
    mlserver_runtime_spec,
)
from ._pressure import WARMUP_SCRIPT, cron_triggers, mlserver_env
from ._release import (
    SLOTS,
    WEBHOOK_PATH,
    ReleaseController,
    ReleaseControllerArgs,
    ReleaseMode,
    ReleasePolicy,
    role_rules,
    settings_document,
)

__all__ = [
    "BACKEND_HEADER",
    "BATCH_PRIORITY",
    "CRITICAL_INFERENCE_PRIORITY",
    "GATEWAY_ACCESS_LABEL",
    "INFERENCE_PRIORITY",
    "MLSERVER_HTTP_PORT",
    "MLSERVER_METRICS_PORT",
    "MLSERVER_RUNTIME",
    "MLSERVER_SCRATCH",
    "MODEL_CACHE_NAMESPACE",
    "MODEL_CACHE_SERVICE_ACCOUNT",
    "MODEL_SERVICE_ACCOUNT",
    "PREFETCH_SCRIPT",
    "PRIORITY_CLASSES",
    "SLOTS",
    "VERSION_HEADER",
    "WARMUP_SCRIPT",
    "WEBHOOK_PATH",
    "AuthMode",
    "ModelCache",
    "ModelCacheArgs",
    "ModelEndpoint",
    "ModelEndpointArgs",
    "ModelVersion",
    "RateLimitUnit",
    "ReleaseController",
    "ReleaseControllerArgs",
    "ReleaseMode",
    "ReleasePolicy",
    "ScalingMetric",
    "ServingPlatform",
    "ServingPlatformArgs",
    "VersionInfo",
    "WarmWindow",
    "Weekday",
    "build_objects",
    "cache_claim_name",
    "cache_key",
    "cron_triggers",
    "envoy_gateway_values",
    "keda_http_values",
    "keda_values",
    "kserve_values",
    "mlserver_env",
    "mlserver_runtime_spec",
    "persistent_volume",
    "persistent_volume_claim",
    "prefetch_daemon_set",
    "prometheus_query",
    "role_rules",
    "settings_document",
]
