"""The mlflow layer of the program: MLflow tracking server and model registry, with its database and artifact store.

Per cloud (see ``docs/mlflow.md``): RDS + S3 + IRSA on ``aws``, Cloud SQL + GCS + Workload Identity on ``gcp``,
CloudNativePG + SeaweedFS in the cluster on ``existing``. What the stack file sets, with the environment's
departures from the component's defaults (:attr:`MlflowConfig.environment_defaults`), becomes the component's
arguments; the component validates them before anything is created, so the stack file and a direct component
user get the same messages.

What later layers need is returned as a :class:`MlflowLayer`: serving points model storage URIs at
``artifact_root`` and clients at ``tracking_uri``; observability selects the server pods by ``pod_labels``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.common import Cloud, Problems
from components.mlflow import Mlflow, MlflowArgs
from components.serving import MODEL_CACHE_NAMESPACE, MODEL_CACHE_SERVICE_ACCOUNT, MODEL_SERVICE_ACCOUNT

from .cluster import ClusterLayer
from .config import StackConfig, args_kwargs, key_paths
from .config.base import Environment, effective
from .config.inputs import PLACEHOLDER as ARTIFACT_ROOT
from .config.mlflow import MlflowConfig
from .secret_keys import MLFLOW_ADMIN_PASSWORD_KEY

PROD_MIN_BACKUP_DAYS = 7


@dataclass
class MlflowLayer:
    """What the serving and observability layers build on."""

    namespace: str
    service_name: str
    port: int
    tracking_uri: str
    """In-cluster URL of the tracking server, e.g. ``http://mlflow.mlflow.svc.cluster.local:5000``."""
    artifact_root: pulumi.Input[str]
    """``s3://<bucket>`` or ``gs://<bucket>``: where artifacts (and registered models) are stored."""
    metrics_port: int
    metrics_path: str
    pod_labels: dict[str, str]
    """Labels of the server pods; include ``app.kubernetes.io/name: mlflow``."""
    basic_auth: bool
    """Whether the server (and its ``/metrics``) needs basic auth."""
    auth_secret_name: str | None
    """With basic auth: Secret in ``namespace`` with ``admin-username`` and ``admin-password`` (for scrapers)."""
    s3_endpoint_url: pulumi.Input[str] | None = None
    """In-cluster S3 endpoint on ``existing`` clusters (model servers pulling artifacts need it), else None."""
    s3_credentials_secret: str | None = None
    """On ``existing`` clusters: Secret (in ``namespace``) with ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``."""
    model_reader_annotations: dict[str, Any] = field(default_factory=dict)
    """Annotations for the model servers' ServiceAccount: read-only cloud identity on the artifact bucket."""
    model_cache_annotations: dict[str, Any] = field(default_factory=dict)
    """Annotations for the node model cache's ServiceAccount: read-only under the cached versions' prefixes."""


def with_artifact_root(uri: str, artifact_root: pulumi.Input[str] | None) -> pulumi.Input[str]:
    """``uri`` with ``{artifact_root}`` replaced by the MLflow layer's artifact root (an Output when deployed);
    unchanged without the placeholder or without an MLflow layer (validation names that case)."""
    if ARTIFACT_ROOT not in uri or artifact_root is None:
        return uri
    if isinstance(artifact_root, str):
        return uri.replace(ARTIFACT_ROOT, artifact_root.rstrip("/"))
    # pulumi's from_input overloads (Output[U] | Input[U]) reject the narrowed union Awaitable[str] | Output[str].
    root = pulumi.Output.from_input(artifact_root)  # type: ignore[arg-type]
    return root.apply(lambda r: uri.replace(ARTIFACT_ROOT, r.rstrip("/")))


def model_cache_paths(cfg: StackConfig) -> list[str]:
    """Paths under the artifact root of the versions the node model cache keeps (``{artifact_root}/...`` ones; the
    serving layer refuses a cached version elsewhere)."""
    if not cfg.serving.enabled:
        return []
    prefix = ARTIFACT_ROOT + "/"
    uris = [u for uris in cfg.serving.cached_versions().values() for u in uris]
    return sorted({u[len(prefix) :].strip("/") for u in uris if u.startswith(prefix) and u[len(prefix) :].strip("/")})


def mlflow_args(cfg: StackConfig, admin_password: pulumi.Input[str] | None = None, **cloud_inputs: Any) -> MlflowArgs:
    """The component's arguments for this stack: what the stack file sets, the environment's departures from the
    component's defaults, and the component's defaults for the rest."""
    return MlflowArgs(
        admin_password=admin_password,
        labels={"ml-platform.io/environment": cfg.environment.value},
        model_reader_service_account=(
            f"{effective(cfg.serving.platform, 'namespace')}/{MODEL_SERVICE_ACCOUNT}" if cfg.serving.enabled else None
        ),
        model_cache_service_account=(
            f"{MODEL_CACHE_NAMESPACE}/{MODEL_CACHE_SERVICE_ACCOUNT}" if model_cache_paths(cfg) else None
        ),
        model_cache_paths=model_cache_paths(cfg),
        client_namespaces=[
            ns
            for ns, on in (
                (effective(cfg.serving.platform, "namespace"), cfg.serving.enabled),
                (effective(cfg.observability, "namespace"), cfg.observability.enabled),
            )
            if on
        ],
        **args_kwargs(cfg, MlflowArgs, nested=False),
        **args_kwargs(cfg.mlflow.for_environment(cfg.environment), MlflowArgs),
        **cloud_inputs,
    )


def validate(cfg: StackConfig, problems: Problems) -> None:
    """Append every problem with ``cfg.mlflow`` to ``problems`` (key paths start with ``mlflow.``)."""
    if not cfg.mlflow.enabled:
        return
    m = mlflow_args(cfg)
    p = problems.at("mlflow")
    if cfg.environment == Environment.PROD:
        p.check(
            m.backup_retention_days >= PROD_MIN_BACKUP_DAYS,
            "backup_retention_days",
            f"must be >= {PROD_MIN_BACKUP_DAYS} in prod",
            m.backup_retention_days,
        )
        p.check(m.deletion_protection, "deletion_protection", "must be true in prod", m.deletion_protection)
        p.check(m.high_availability, "high_availability", "must be true in prod", m.high_availability)
        p.check(m.replicas >= 2, "replicas", "must be >= 2 in prod", m.replicas)
    password = pulumi.Config().get(MLFLOW_ADMIN_PASSWORD_KEY)
    if m.basic_auth and not password:
        p.add(
            "basic_auth",
            f"needs the secret {MLFLOW_ADMIN_PASSWORD_KEY} "
            f"(pulumi config set --secret ml-platform:{MLFLOW_ADMIN_PASSWORD_KEY} <password>)",
            True,
        )
        password = "x" * 12  # reported above with its config key; not again by the component
    placeholder = "-"
    cloud_inputs: dict[str, Any] = {
        Cloud.AWS: dict[str, Any](
            vpc_id=placeholder,
            private_subnet_ids=[],
            cluster_security_group_id=placeholder,
            oidc_provider_arn=placeholder,
            oidc_issuer=placeholder,
        ),
        Cloud.GCP: dict[str, Any](network_id=placeholder, workload_pool=placeholder),
    }.get(cfg.cloud, {})
    args = mlflow_args(cfg, admin_password=password if m.basic_auth else None, **cloud_inputs)
    args.validate(problems.at("mlflow", key_paths(MlflowConfig, MlflowArgs)))


def deploy(cfg: StackConfig, cluster_layer: ClusterLayer) -> MlflowLayer | None:
    """Create the mlflow layer on the cluster layer; None when the stack has no MLflow."""
    if not cfg.mlflow.enabled:
        return None
    basic_auth = mlflow_args(cfg).basic_auth
    cloud_inputs: dict[str, Any] = {}
    if cluster_layer.eks is not None:
        eks = cluster_layer.eks
        cloud_inputs = dict(
            vpc_id=eks.vpc_id,
            private_subnet_ids=eks.private_subnet_ids,
            cluster_security_group_id=eks.cluster_security_group_id,
            oidc_provider_arn=eks.oidc_provider_arn,
            oidc_issuer=eks.oidc_issuer,
        )
    elif cluster_layer.gke is not None:
        gke = cluster_layer.gke
        cloud_inputs = dict(network_id=gke.network_id, workload_pool=gke.workload_pool)
    admin = pulumi.Config().get_secret(MLFLOW_ADMIN_PASSWORD_KEY) if basic_auth else None
    mlflow = Mlflow(
        "mlflow",
        mlflow_args(cfg, admin_password=admin, **cloud_inputs),
        opts=pulumi.ResourceOptions(provider=cluster_layer.provider),
    )
    pulumi.export("mlflow_tracking_uri", mlflow.tracking_uri)
    pulumi.export("mlflow_artifact_root", mlflow.artifact_root)
    return MlflowLayer(
        namespace=mlflow.namespace,
        service_name=mlflow.service_name,
        port=mlflow.port,
        tracking_uri=mlflow.tracking_uri,
        artifact_root=mlflow.artifact_root,
        metrics_port=mlflow.metrics_port,
        metrics_path=mlflow.metrics_path,
        pod_labels=dict(mlflow.pod_labels),
        basic_auth=basic_auth,
        auth_secret_name=mlflow.secret_name if basic_auth else None,
        s3_endpoint_url=mlflow.bucket.endpoint_url,
        s3_credentials_secret=mlflow.bucket.credentials_secret,
        model_reader_annotations=dict(mlflow.model_reader_annotations),
        model_cache_annotations=dict(mlflow.model_cache_annotations),
    )
