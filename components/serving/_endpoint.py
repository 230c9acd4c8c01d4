"""One model behind one public route: every version its own KServe InferenceService, the split in one HTTPRoute.

Why this shape (alternatives in ``docs/serving.md``): KServe's own canary split needs Knative, and Knative rules
out KEDA; KServe Standard mode's ``spec.canary[]`` only approximates a split by replica counts. So each version
is an InferenceService in Standard mode whose replicas KEDA owns (``autoscalerClass: external``), and the split
is the weights of one Gateway API HTTPRoute. Changing weights therefore changes the route and nothing else: no
model pod restarts, no reload of a multi-gigabyte model.

Per version, by criticality:

* non-critical with ``min_replicas: 0``: the route sends that version's share to the KEDA HTTP add-on
  interceptor, which holds requests while KEDA wakes the version (InterceptorRoute + ScaledObject with an
  ``external-push`` trigger) and forwards them once a pod is Ready;
* otherwise: the route goes straight to the version's Service and a ScaledObject scales on concurrency or queue
  depth read from Prometheus (MLServer's own metrics); critical endpoints keep >= 2 replicas and a
  PodDisruptionBudget.

The route never exists without an Envoy Gateway SecurityPolicy (API keys from a Secret, or JWT) and a
BackendTrafficPolicy (rate limit) attached to it.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import PlatformComponent
from ._args import ModelEndpointArgs
from ._objects import VersionInfo, build_objects

RELEASED_FIELDS = {
    "HTTPRoute": ["spec.rules[*].backendRefs[*].weight"],
    "InferenceService": ["spec.predictor.model.storageUri"],
}
"""What the release controller owns on a release-managed endpoint; Pulumi owns every other field."""


def released_fields(obj: dict[str, Any]) -> list[str]:
    """The ``ignore_changes`` paths of one rendered object of a release-managed endpoint."""
    return list(RELEASED_FIELDS.get(obj["kind"], []))


class ModelEndpoint(PlatformComponent):
    """InferenceService + ScaledObject (+ InterceptorRoute or PDB) per version, one HTTPRoute with auth and rate
    limit."""

    name: str
    """Endpoint name (the ``ml-platform.io/endpoint`` label)."""
    model_name: str
    """Model name in the public path."""
    namespace: str
    """Namespace of the endpoint's objects."""
    critical: bool
    """Whether the endpoint is critical."""
    gpu_count: int
    """GPUs per replica."""
    path_prefix: str
    """Public path prefix (``/v2/models/<model_name>``)."""
    route_name: str
    """Name of the HTTPRoute."""
    versions: list[VersionInfo]
    """The served versions."""

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:model_endpoint:ModelEndpoint", name, args, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.name = name
        self.model_name = args.model_name
        self.namespace = args.namespace
        self.critical = args.critical
        self.gpu_count = args.gpu_count
        built = build_objects(name, args)
        self.path_prefix = built.path_prefix
        self.route_name = built.route_name
        self.versions = built.versions

        for obj in built.objects:
            resource_name = f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}"
            ignored = released_fields(obj) if args.release_managed else []
            opts_ = (
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=ignored))
                if ignored
                else child
            )
            if obj["kind"] == "PodDisruptionBudget":
                k8s.policy.v1.PodDisruptionBudget(resource_name, metadata=obj["metadata"], spec=obj["spec"], opts=child)
                continue
            k8s.apiextensions.CustomResource(
                resource_name,
                api_version=obj["apiVersion"],
                kind=obj["kind"],
                metadata=obj["metadata"],
                spec=obj["spec"],
                opts=opts_,
            )
        self.register_outputs(
            {
                "model_name": self.model_name,
                "namespace": self.namespace,
                "route_name": self.route_name,
                "path_prefix": self.path_prefix,
            }
        )
