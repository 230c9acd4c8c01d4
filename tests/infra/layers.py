"""Hand-offs between the program's layers, built as the layers build them, for tests of one layer alone."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.common import Cloud
from infra.cluster import ClusterLayer
from infra.mlflow import MlflowLayer
from infra.serving import ServingEndpoint, ServingLayer


def cluster_layer() -> ClusterLayer:
    """The cluster layer of an existing cluster (call it under mocks: it creates the provider)."""
    return ClusterLayer(cloud=Cloud.EXISTING, provider=k8s.Provider("test-cluster"), cluster_name="test")


def mlflow_layer(artifact_root: pulumi.Input[str] = "s3://b", **changes) -> MlflowLayer:
    fields = dict(
        namespace="mlflow",
        service_name="mlflow",
        port=5000,
        tracking_uri="http://mlflow.mlflow.svc.cluster.local:5000",
        artifact_root=artifact_root,
        metrics_port=5000,
        metrics_path="/metrics",
        pod_labels={"app.kubernetes.io/name": "mlflow"},
        basic_auth=False,
        auth_secret_name=None,
    )
    return MlflowLayer(**{**fields, **changes})


def serving_layer(*endpoints: ServingEndpoint) -> ServingLayer:
    return ServingLayer(
        namespace="ml-serving",
        gateway_name="ml-gateway",
        gateway_namespace="envoy-gateway-system",
        keda_namespace="keda",
        interceptor_namespace="ml-serving",
        endpoints=list(endpoints),
    )
