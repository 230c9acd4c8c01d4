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
    MODEL_CACHE_JOB_NAMESPACE,
    PRIORITY_CLASSES,
    local_model_node_group,
    localmodel_values,
)
from ._endpoint import ModelEndpoint
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
    "MODEL_CACHE_JOB_NAMESPACE",
    "MODEL_SERVICE_ACCOUNT",
    "PRIORITY_CLASSES",
    "SLOTS",
    "VERSION_HEADER",
    "WARMUP_SCRIPT",
    "WEBHOOK_PATH",
    "AuthMode",
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
    "cron_triggers",
    "envoy_gateway_values",
    "keda_http_values",
    "keda_values",
    "kserve_values",
    "local_model_node_group",
    "localmodel_values",
    "mlserver_env",
    "mlserver_runtime_spec",
    "prometheus_query",
    "role_rules",
    "settings_document",
]
