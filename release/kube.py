"""Every call the controller makes to the Kubernetes API, through the official client, in one place.

Why one place: the ReleaseController component's Role must cover exactly these calls and no more.
:data:`CALLS` lists them (verb, API group, resource); a test runs the controller against an API double that
records every request and compares what it saw with both this list and the rendered Role.
"""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from .state import Conflict

ROUTE = ("gateway.networking.k8s.io", "v1", "httproutes")
ISVC = ("serving.kserve.io", "v1beta1", "inferenceservices")

CALLS: tuple[tuple[str, str, str], ...] = (
    ("get", "gateway.networking.k8s.io", "httproutes"),
    ("update", "gateway.networking.k8s.io", "httproutes"),
    ("get", "serving.kserve.io", "inferenceservices"),
    ("patch", "serving.kserve.io", "inferenceservices"),
    ("get", "", "configmaps"),
    ("create", "", "configmaps"),
    ("update", "", "configmaps"),
    ("create", "", "events"),
)
"""(verb, apiGroup, resource) of every request the controller sends."""


def load_config() -> None:
    """In-cluster credentials (the ServiceAccount token) when running in a pod, else the kubeconfig."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


class Kube:
    def __init__(self, api_client: client.ApiClient | None = None) -> None:
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)

    # --- the route -------------------------------------------------------------------------------------------

    def read_route(self, namespace: str, name: str) -> dict[str, Any]:
        group, version, plural = ROUTE
        return self.custom.get_namespaced_custom_object(group, version, namespace, plural, name)

    def replace_route(self, namespace: str, route: dict[str, Any]) -> dict[str, Any]:
        group, version, plural = ROUTE
        try:
            return self.custom.replace_namespaced_custom_object(
                group, version, namespace, plural, route["metadata"]["name"], route
            )
        except ApiException as exc:
            if exc.status == 409:
                raise Conflict(str(exc.reason)) from exc
            raise

    # --- the InferenceServices ------------------------------------------------------------------------------

    def read_isvc(self, namespace: str, name: str) -> dict[str, Any]:
        group, version, plural = ISVC
        return self.custom.get_namespaced_custom_object(group, version, namespace, plural, name)

    def patch_isvc(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        """JSON merge patch (the client's content type for a dict body)."""
        group, version, plural = ISVC
        return self.custom.patch_namespaced_custom_object(group, version, namespace, plural, name, patch)

    # --- the state ConfigMap -------------------------------------------------------------------------------

    def read_configmap(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            cm = self.core.read_namespaced_config_map(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return client.ApiClient().sanitize_for_serialization(cm)

    def write_configmap(self, namespace: str, name: str, data: dict[str, str], resource_version: str | None) -> str:
        body = client.V1ConfigMap(
            metadata=client.V1ObjectMeta(
                name=name,
                namespace=namespace,
                resource_version=resource_version,
                labels={"app.kubernetes.io/managed-by": "ml-platform-release"},
            ),
            data=data,
        )
        try:
            if resource_version is None:
                out = self.core.create_namespaced_config_map(namespace, body)
            else:
                out = self.core.replace_namespaced_config_map(name, namespace, body)
        except ApiException as exc:
            if exc.status in (409, 422) and ("resourceVersion" in str(exc.body) or exc.status == 409):
                raise Conflict(f"{namespace}/{name}: {exc.reason}") from exc
            raise
        return out.metadata.resource_version

    # --- Events ---------------------------------------------------------------------------------------------

    def event(self, namespace: str, route: str, name: str, reason: str, message: str, warning: bool = False) -> None:
        """A core Event on the endpoint's HTTPRoute. Its name is deterministic, so a retried phase emits it once."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": f"{ROUTE[0]}/{ROUTE[1]}",
                "kind": "HTTPRoute",
                "name": route,
                "namespace": namespace,
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": "ml-platform-release"},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": "ml-platform-release",
        }
        try:
            self.core.create_namespaced_event(namespace, body)
        except ApiException as exc:
            if exc.status != 409:  # already emitted by an earlier attempt of the same phase
                raise
