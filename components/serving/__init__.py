"""Model serving: the shared platform (KServe, KEDA, Envoy Gateway, MLServer runtime) and one ModelEndpoint per
model with an exact weighted split, authentication and rate limits.

This module is the domain's public surface; the underscored modules beside it are internals.
"""

from ._args import (
    AuthMode,
    ModelEndpointArgs,
    ModelVersion,
    RateLimitUnit,
    ScalingMetric,
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
    "GATEWAY_ACCESS_LABEL",
    "MLSERVER_HTTP_PORT",
    "MLSERVER_METRICS_PORT",
    "MLSERVER_RUNTIME",
    "MLSERVER_SCRATCH",
    "MODEL_SERVICE_ACCOUNT",
    "SLOTS",
    "VERSION_HEADER",
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
    "build_objects",
    "envoy_gateway_values",
    "keda_http_values",
    "keda_values",
    "kserve_values",
    "mlserver_runtime_spec",
    "prometheus_query",
    "role_rules",
    "settings_document",
]
