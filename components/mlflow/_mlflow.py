"""MLflow tracking and model registry for one environment: namespace, PostgreSQL, artifact bucket with its
workload identity, and the tracking server, on AWS, GCP or an existing cluster.

Why one component over three: a platform team asks for "MLflow in this environment, production-grade", and the
pieces only work together (the bucket's identity names the server's service account; the server's URI names
the database). This component wires them and nothing else; each piece is a public component of its own
(:class:`PostgresDatabase`, :class:`ArtifactBucket`, :class:`MlflowServer`) for users who need only one.

Nothing is stored on a pod's disk and nothing is lost when a pod, a node or the database fails over: metadata
is in PostgreSQL (Multi-AZ / regional / two instances with ``high_availability``), artifacts in a versioned
bucket, and the server is stateless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import MANAGED_BY_LABELS, Cloud, PlatformComponent, Problems
from ._bucket import ArtifactBucket, ArtifactBucketArgs
from ._postgres import PostgresDatabase, PostgresDatabaseArgs
from ._server import METRICS_PATH, MlflowServer, MlflowServerArgs, Permission

SERVICE_NAME = "mlflow"
ARTIFACTS_PREFIX = "mlflow"
"""Prefix of the bucket the server stores artifacts under (the rest of the bucket stays free for other uses)."""


@dataclass(kw_only=True)
class MlflowArgs:
    """Arguments of :class:`Mlflow`. Fields marked AWS, GCP or existing are read only there."""

    cloud: Cloud
    """Where it runs: ``aws`` (RDS, S3, IRSA), ``gcp`` (Cloud SQL, GCS, Workload Identity) or ``existing``
    (CloudNativePG and SeaweedFS in the cluster). Required."""
    namespace: str = "mlflow"
    """Namespace created for the server (and on ``existing``, its database and object store). Default ``mlflow``."""
    image: str = "ghcr.io/mlflow/mlflow:v3.17.2-full"
    """Server image, pinned. Default ``ghcr.io/mlflow/mlflow:v3.17.2-full``."""
    replicas: int = 1
    """Server pods; 2 or more add a PodDisruptionBudget. Default 1."""
    workers: int = 2
    """uvicorn workers per pod. Default 2."""
    cpu_request: str = "500m"
    """CPU request per pod. Default ``500m``."""
    cpu_limit: str = "2"
    """CPU limit per pod. Default ``2``."""
    memory_request: str = "1Gi"
    """Memory request per pod. Default ``1Gi``."""
    memory_limit: str = "2Gi"
    """Memory limit per pod. Default ``2Gi``."""
    basic_auth: bool = False
    """MLflow's basic-auth app. Default False."""
    admin_password: pulumi.Input[str] | None = None
    """Basic-auth admin password (a secret); required with ``basic_auth``. Default none."""
    default_permission: Permission = Permission.READ
    """Basic-auth permission on resources not granted explicitly. Default ``READ``."""
    allowed_hosts: list[str] = field(default_factory=list)
    """Extra Host headers to accept (gateway hostnames). Default none."""
    postgres_version: str = "16"
    """PostgreSQL major version. Default ``16``."""
    db_storage_gib: int = 20
    """Initial database storage in GiB. Default 20."""
    backup_retention_days: int = 7
    """Days of automated database backups. Default 7."""
    high_availability: bool = False
    """Multi-AZ / regional database (two instances in the cluster). Default False."""
    deletion_protection: bool = False
    """Refuse to delete the database, and protect database and bucket in Pulumi. Default False."""
    db_instance_class: str = "db.t4g.small"
    """AWS: RDS instance class. Default ``db.t4g.small``."""
    db_tier: str = "db-custom-1-3840"
    """GCP: Cloud SQL tier. Default ``db-custom-1-3840``."""
    bucket_name: str | None = None
    """Artifact bucket name. Default generated."""
    force_destroy: bool = False
    """Let ``pulumi destroy`` delete a non-empty bucket. Default False."""
    noncurrent_version_expiration_days: int = 30
    """Days old artifact versions are kept. Default 30."""
    vpc_id: pulumi.Input[str] | None = None
    """AWS: the cluster's VPC. Required on AWS."""
    private_subnet_ids: pulumi.Input[list[str]] | None = None
    """AWS: private subnets for the database. Required on AWS."""
    cluster_security_group_id: pulumi.Input[str] | None = None
    """AWS: security group of the cluster's nodes, the only one admitted to the database. Required on AWS."""
    oidc_provider_arn: pulumi.Input[str] | None = None
    """AWS: IAM OIDC provider of the cluster (IRSA). Required on AWS."""
    oidc_issuer: pulumi.Input[str] | None = None
    """AWS: OIDC issuer without ``https://``. Required on AWS."""
    region: str | None = None
    """AWS and GCP: region of the database and bucket. Required there."""
    project: str | None = None
    """GCP: project. Required on GCP."""
    network_id: pulumi.Input[str] | None = None
    """GCP: the cluster's VPC network (Cloud SQL private IP). Required on GCP."""
    workload_pool: pulumi.Input[str] | None = None
    """GCP: the cluster's Workload Identity pool. Required on GCP."""
    model_reader_service_account: str | None = None
    """``namespace/name`` of the ServiceAccount model servers run as: it gets read-only access to the artifact
    bucket through its own cloud identity (AWS, GCP). Default none."""
    model_cache_service_account: str | None = None
    """``namespace/name`` of the ServiceAccount of the node model cache's prefetcher: it gets a cloud identity (AWS,
    GCP) that may read only under ``model_cache_paths``. Default none."""
    model_cache_paths: list[str] = field(default_factory=list)
    """Paths under the artifact root (``9/models/m-abc/artifacts``) of the model versions the node cache keeps.
    Default none."""
    client_namespaces: list[str] = field(default_factory=list)
    """Namespaces whose pods may call the server (serving, monitoring); with the namespaces labelled
    ``ml-platform.io/mlflow-client: "true"`` (a release controller, CI runners), the only callers its
    NetworkPolicies admit. Default none."""
    storage_class: str | None = None
    """existing: storage class of the database and object store volumes. Default the cluster's default."""
    object_store_storage_gib: int = 20
    """existing: object store volume in GiB. Default 20."""
    cnpg_chart_version: str = "0.29.0"
    """existing: CloudNativePG operator chart version. Default ``0.29.0``."""
    object_store_image: str = "chrislusf/seaweedfs:4.47"
    """existing: SeaweedFS image. Default ``chrislusf/seaweedfs:4.47``."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra Kubernetes labels on the server's objects. Default none."""
    tags: dict[str, str] = field(default_factory=dict)
    """Cloud tags / labels on the database and bucket. Default none."""

    def database(self, **inputs: object) -> PostgresDatabaseArgs:
        return PostgresDatabaseArgs(
            cloud=self.cloud,
            postgres_version=self.postgres_version,
            storage_gib=self.db_storage_gib,
            backup_retention_days=self.backup_retention_days,
            high_availability=self.high_availability,
            deletion_protection=self.deletion_protection,
            instance_class=self.db_instance_class,
            tier=self.db_tier,
            vpc_id=self.vpc_id,
            subnet_ids=self.private_subnet_ids,
            client_security_group_id=self.cluster_security_group_id,
            project=self.project,
            region=self.region,
            network_id=self.network_id,
            namespace=self.namespace,
            storage_class=self.storage_class,
            operator_chart_version=self.cnpg_chart_version,
            tags=dict(self.tags),
            **inputs,  # type: ignore[arg-type]
        )

    def bucket(self) -> ArtifactBucketArgs:
        return ArtifactBucketArgs(
            cloud=self.cloud,
            service_account_namespace=self.namespace,
            service_account_name=SERVICE_NAME,
            bucket_name=self.bucket_name,
            force_destroy=self.force_destroy,
            protect=self.deletion_protection,
            noncurrent_version_expiration_days=self.noncurrent_version_expiration_days,
            oidc_provider_arn=self.oidc_provider_arn,
            oidc_issuer=self.oidc_issuer,
            project=self.project,
            location=self.region,
            workload_pool=self.workload_pool,
            image=self.object_store_image,
            storage_gib=self.object_store_storage_gib,
            storage_class=self.storage_class,
            reader_service_account=self.model_reader_service_account,
            cache_reader_service_account=self.model_cache_service_account,
            cache_reader_prefixes=[f"{ARTIFACTS_PREFIX}/{p.strip('/')}" for p in self.model_cache_paths],
            tags=dict(self.tags),
        )

    def server(self, **inputs: object) -> MlflowServerArgs:
        return MlflowServerArgs(
            namespace=self.namespace,
            image=self.image,
            replicas=self.replicas,
            workers=self.workers,
            cpu_request=self.cpu_request,
            cpu_limit=self.cpu_limit,
            memory_request=self.memory_request,
            memory_limit=self.memory_limit,
            basic_auth=self.basic_auth,
            admin_password=self.admin_password,
            default_permission=self.default_permission,
            allowed_hosts=list(self.allowed_hosts),
            labels=dict(self.labels),
            **inputs,  # type: ignore[arg-type]
        )

    def validate(self, problems: Problems) -> None:
        """Every problem of the three parts, under this component's own field names."""
        p = problems
        p.check(
            re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", self.namespace) is not None,
            "namespace",
            "must be a DNS label (lowercase letters, digits, dashes)",
            self.namespace,
        )
        self.database().validate(p)
        self.bucket().validate(p)
        self.server(db_host="-", db_password="-", artifacts_destination="-").validate(p)


class Mlflow(PlatformComponent):
    """Namespace, PostgreSQL, artifact bucket and identity, and the tracking server."""

    namespace: str
    """Namespace of the server."""
    service_name: str
    """Service of the server."""
    port: int
    """Service port (API, UI, proxied artifacts, metrics)."""
    tracking_uri: str
    """In-cluster URL, e.g. ``http://mlflow.mlflow.svc.cluster.local:5000``."""
    artifact_root: pulumi.Output[str]
    """Where the server stores artifacts (its ``--artifacts-destination``, ``s3://<bucket>/mlflow`` or
    ``gs://<bucket>/mlflow``): a logged model lies under
    ``<artifact_root>/<experiment id>/models/<model id>/artifacts``."""
    metrics_port: int
    """Port serving Prometheus metrics."""
    metrics_path: str
    """Path of the Prometheus metrics (``/metrics``; behind basic auth when it is on)."""
    pod_labels: dict[str, str]
    """Labels of the server pods (``app.kubernetes.io/name: mlflow``)."""
    secret_name: str
    """Secret of the server (``admin-username`` / ``admin-password`` with basic auth)."""
    model_reader_annotations: dict[str, pulumi.Output[str]]
    """Annotations for ``model_reader_service_account`` (its read-only cloud identity on the bucket)."""
    model_cache_annotations: dict[str, pulumi.Output[str]]
    """Annotations for ``model_cache_service_account`` (read-only under ``model_cache_paths``)."""
    database: PostgresDatabase
    """The backend store."""
    bucket: ArtifactBucket
    """The artifact store and its identity."""

    def __init__(self, name: str, args: MlflowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:mlflow:Mlflow", name, args, opts)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels={**MANAGED_BY_LABELS, "pod-security.kubernetes.io/enforce": "restricted"},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # In the cluster, the database and object store live in the namespace; on a cloud they need nothing of it.
        stores = pulumi.ResourceOptions(parent=self, depends_on=[namespace] if args.cloud == Cloud.EXISTING else None)
        self.database = PostgresDatabase(f"{name}-db", args.database(), opts=stores)
        self.bucket = ArtifactBucket(f"{name}-artifacts", args.bucket(), opts=stores)
        extra_env: dict[str, pulumi.Input[str]] = {}
        if args.cloud == Cloud.AWS and args.region:
            extra_env = {"AWS_REGION": args.region, "AWS_DEFAULT_REGION": args.region}
        artifacts_destination = self.bucket.url.apply(lambda u: f"{u}/{ARTIFACTS_PREFIX}")
        server = MlflowServer(
            SERVICE_NAME,
            args.server(
                db_host=self.database.host,
                db_port=self.database.port,
                db_name=self.database.database_name,
                db_user=self.database.username,
                db_password=self.database.password,
                artifacts_destination=artifacts_destination,
                s3_endpoint_url=self.bucket.endpoint_url,
                s3_credentials_secret=self.bucket.credentials_secret,
                extra_env=extra_env,
                service_account_annotations=self.bucket.service_account_annotations,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, self.database, self.bucket]),
        )
        self.namespace, self.service_name, self.port = server.namespace, server.service_name, server.port
        self.tracking_uri, self.metrics_port, self.metrics_path = server.tracking_uri, server.metrics_port, METRICS_PATH
        self.pod_labels, self.secret_name, self.artifact_root = (
            dict(server.pod_labels),
            server.secret_name,
            artifacts_destination,
        )
        self.model_reader_annotations = dict(self.bucket.reader_annotations)
        self.model_cache_annotations = dict(self.bucket.cache_reader_annotations)
        network_policies(args, server.pod_labels, server.port, parent=self, depends_on=namespace)
        self.register_outputs({"tracking_uri": self.tracking_uri, "artifact_root": self.artifact_root})


CLIENT_LABEL = "ml-platform.io/mlflow-client"
"""Namespace label (``"true"``) that admits a namespace's pods to the MLflow server."""


def network_policy_specs(args: MlflowArgs, pod_labels: dict[str, str], port: int) -> dict[str, dict[str, Any]]:
    """The namespace's NetworkPolicies: deny ingress by default, then admit the namespace itself and the clients."""
    clients: list[dict[str, Any]] = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}} for ns in args.client_namespaces
    ]
    clients.append({"namespaceSelector": {"matchLabels": {CLIENT_LABEL: "true"}}})
    specs: dict[str, dict[str, Any]] = {
        "default-deny-ingress": {"podSelector": {}, "policyTypes": ["Ingress"]},
        # The server and, in the cluster, its database and object store talk to each other.
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
        },
        "allow-clients": {
            "podSelector": {"matchLabels": dict(pod_labels)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": clients, "ports": [{"protocol": "TCP", "port": port}]}],
        },
    }
    if args.cloud == Cloud.EXISTING:
        # The CloudNativePG operator asks every instance for its status.
        specs["allow-cnpg-operator"] = {
            "podSelector": {"matchLabels": {"cnpg.io/podRole": "instance"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}}}],
                    "ports": [{"protocol": "TCP", "port": 8000}, {"protocol": "TCP", "port": 5432}],
                }
            ],
        }
    return specs


def network_policies(
    args: MlflowArgs, pod_labels: dict[str, str], port: int, parent: pulumi.Resource, depends_on: pulumi.Resource
) -> None:
    for name, spec in network_policy_specs(args, pod_labels, port).items():
        k8s.networking.v1.NetworkPolicy(
            f"mlflow-{name}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=dict(MANAGED_BY_LABELS)),
            spec=spec,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[depends_on]),
        )
