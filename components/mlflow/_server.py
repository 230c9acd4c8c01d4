"""The MLflow tracking server on Kubernetes: the Deployment, its Secret, Service and PodDisruptionBudget.

Why a hand-written Deployment rather than a chart: the server's command line is the contract that matters
(backend URI, proxied artifacts, auth, allowed hosts, metrics), and :func:`server_command` renders it as one pure
function that both this component and the integration test use, so the test starts exactly the server that
the cluster runs. Nothing is stored on a pod's disk: metadata lives in PostgreSQL, artifacts behind
``--artifacts-destination`` (clients never need bucket credentials), so any pod can die at any time.

Secrets reach the pod only through one Kubernetes Secret (``secretKeyRef``): the database password, the CSRF
key that must be the same on every replica, the basic-auth admin password and the auth config that names the
database. The backend URI is assembled by Kubernetes from ``$(MLFLOW_DB_PASSWORD)`` so the password is neither
in the pod spec nor on the command line.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..common import (
    MANAGED_BY_LABELS,
    ContainerSecurity,
    PlatformComponent,
    PodSecurity,
    Problems,
    ScratchDir,
    merge_labels,
)

APP_LABEL = "app.kubernetes.io/name"
AUTH_CONFIG_PATH = "/etc/mlflow/auth/basic_auth.ini"
PROMETHEUS_DIR = "/tmp/mlflow-metrics"
SCRATCH = ScratchDir()
"""The one writable path under the read-only root: MLflow's temporary files and its metrics folder."""
METRICS_PATH = "/metrics"
HEALTH_PATH = "/health"
RUN_AS_UID = 10001
"""User and group the server runs as: above the range hosts hand out, so no host user shares it (the image needs
no particular user; HOME and caches live on the /tmp emptyDir)."""
PRIVATE_HOST_PATTERNS = ["10.*", "192.168.*", *[f"172.{i}.*" for i in range(16, 32)]]
"""Pod IPs (probes and Prometheus connect by IP); MLflow's own default list has the same ranges."""


class Permission(str, enum.Enum):
    """What a basic-auth user may do on resources nobody granted them explicitly."""

    READ = "READ"
    """Read experiments, runs and models."""
    EDIT = "EDIT"
    """Read and update them."""
    MANAGE = "MANAGE"
    """Read, update, delete and grant permissions on them."""
    NO_PERMISSIONS = "NO_PERMISSIONS"
    """Nothing: every resource must be granted explicitly."""


@dataclass(kw_only=True)
class MlflowServerArgs:
    """Arguments of :class:`MlflowServer`."""

    namespace: str = "mlflow"
    """Namespace the server runs in; must exist. Default ``mlflow``."""
    image: str = "ghcr.io/mlflow/mlflow:v3.17.2-full"
    """Server image pinned by tag; needs the PostgreSQL driver and the S3/GCS client.
    Default ``ghcr.io/mlflow/mlflow:v3.17.2-full``."""
    replicas: int = 1
    """Server pods; with 2 or more a PodDisruptionBudget keeps one serving. Default 1."""
    workers: int = 2
    """uvicorn worker processes per pod. Default 2."""
    port: int = 5000
    """Port of the server and its Service. Default 5000."""
    cpu_request: str = "500m"
    """CPU request. Default ``500m``."""
    cpu_limit: str = "2"
    """CPU limit. Default ``2``."""
    memory_request: str = "1Gi"
    """Memory request. Default ``1Gi``."""
    memory_limit: str = "2Gi"
    """Memory limit. Default ``2Gi``."""
    db_host: pulumi.Input[str]
    """PostgreSQL host. Required."""
    db_port: pulumi.Input[int] = 5432
    """PostgreSQL port. Default 5432."""
    db_name: str = "mlflow"
    """Database name. Default ``mlflow``."""
    db_user: str = "mlflow"
    """Database user. Default ``mlflow``."""
    db_password: pulumi.Input[str]
    """Database password (a secret; letters and digits only, it is placed in a URI). Required."""
    db_sslmode: str = "require"
    """libpq ``sslmode`` of the connection. Default ``require``."""
    db_driver: str = "psycopg2"
    """SQLAlchemy driver of the image. Default ``psycopg2``."""
    artifacts_destination: pulumi.Input[str]
    """Where the server stores artifacts it proxies (``s3://bucket/mlflow``, ``gs://bucket/mlflow``). Required."""
    s3_endpoint_url: pulumi.Input[str] | None = None
    """S3 endpoint of an S3-compatible store (not AWS). Default none (AWS S3)."""
    s3_credentials_secret: str | None = None
    """Secret with ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` for an in-cluster store.
    Default none (workload identity)."""
    extra_env: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Extra plain environment (e.g. ``AWS_DEFAULT_REGION``). Default none."""
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Annotations of the pod's ServiceAccount (IRSA role, GKE service account). Default none."""
    basic_auth: bool = False
    """Run MLflow's basic-auth app (``--app-name basic-auth``). Default False."""
    admin_username: str = "admin"
    """Basic-auth admin created on first start. Default ``admin``."""
    admin_password: pulumi.Input[str] | None = None
    """Basic-auth admin password (a secret, at least 12 characters); required with ``basic_auth``. Default none."""
    default_permission: Permission = Permission.READ
    """Basic-auth permission of users on resources not granted to them. Default ``READ``."""
    allowed_hosts: list[str] = field(default_factory=list)
    """Extra Host headers to accept (gateway hostnames); Service names, localhost and pod IPs always are.
    Default none."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels on every object. Default none."""

    def validate(self, problems: Problems) -> None:
        p = problems
        p.check(1 <= self.replicas <= 10, "replicas", "must be between 1 and 10", self.replicas)
        p.check(1 <= self.workers <= 16, "workers", "must be between 1 and 16", self.workers)
        p.check(1024 <= self.port <= 65535, "port", "must be between 1024 and 65535", self.port)
        tag = self.image.rsplit("/", 1)[-1]
        p.check(
            ":" in tag and not tag.endswith(":latest"), "image", "must be pinned to a tag other than latest", self.image
        )
        for i, host in enumerate(self.allowed_hosts):
            p.check(
                bool(host) and host != "*" and " " not in host and "," not in host,
                f"allowed_hosts[{i}]",
                "must be a host name or pattern, not '*'",
                host,
            )
        if self.basic_auth and self.admin_password is None:
            p.add(
                "admin_password",
                "is required with basic_auth (pulumi config set --secret ml-platform:mlflow_admin_password)",
                None,
            )
        if self.admin_password is not None and isinstance(self.admin_password, str) and len(self.admin_password) < 12:
            p.add("admin_password", "must be at least 12 characters", "[secret]")


@dataclass
class ServerCommand:
    """What a server container runs: the schema upgrade, the server itself, and their shared environment."""

    upgrade_command: list[str]
    """Init container command: ``mlflow db upgrade`` on the backend URI (from the environment)."""
    command: list[str]
    """Server container command (``mlflow server``, or the basic-auth app's entry point)."""
    args: list[Any]
    """Server container arguments (host, port, workers, stores, allowed hosts)."""
    env: list[dict[str, Any]]
    """Kubernetes ``EnvVar`` form: later values may use ``$(NAME)`` of earlier ones, secrets are ``secretKeyRef``."""


def secret_name(name: str) -> str:
    return f"{name}-secrets"


def allowed_hosts(name: str, args: MlflowServerArgs) -> list[str]:
    """Host headers the server accepts: its Service names with and without port, localhost, pod IPs, extras."""
    ns = args.namespace
    names = [name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"]
    local = ["localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*"]
    return names + [f"{n}:{args.port}" for n in names] + local + PRIVATE_HOST_PATTERNS + list(args.allowed_hosts)


def server_command(name: str, args: MlflowServerArgs) -> ServerCommand:
    """The server's command, arguments and environment, exactly as the Deployment runs them."""
    secret = secret_name(name)

    def from_secret(env: str, key: str) -> dict[str, Any]:
        return {"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}

    env: list[dict[str, Any]] = [
        from_secret("MLFLOW_DB_PASSWORD", "db-password"),
        {
            "name": "MLFLOW_BACKEND_STORE_URI",
            "value": _format(
                "postgresql+{0}://{1}:$(MLFLOW_DB_PASSWORD)@{2}:{3}/{4}?sslmode={5}",
                args.db_driver,
                args.db_user,
                args.db_host,
                args.db_port,
                args.db_name,
                args.db_sslmode,
            ),
        },
        {"name": "MLFLOW_ARTIFACTS_DESTINATION", "value": args.artifacts_destination},
        {
            "name": "MLFLOW_FLASK_SERVER_SECRET_KEY",
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "flask-secret-key"}},
        },
        {"name": "HOME", "value": "/tmp"},  # the root filesystem is read-only; caches go to the emptyDir
    ]
    if args.s3_endpoint_url is not None:
        env.append({"name": "MLFLOW_S3_ENDPOINT_URL", "value": args.s3_endpoint_url})
    if args.s3_credentials_secret:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.append({"name": key, "valueFrom": {"secretKeyRef": {"name": args.s3_credentials_secret, "key": key}}})
    if args.basic_auth:
        env.append({"name": "MLFLOW_AUTH_CONFIG_PATH", "value": AUTH_CONFIG_PATH})
        env.append({"name": "MLFLOW_AUTH_ADMIN_USERNAME", "value": args.admin_username})
        env.append(from_secret("MLFLOW_AUTH_ADMIN_PASSWORD", "admin-password"))
    env.extend({"name": k, "value": v} for k, v in sorted(args.extra_env.items()))

    # The backend URI and artifact destination reach `mlflow server` through its own environment variables
    # (MLFLOW_BACKEND_STORE_URI, MLFLOW_ARTIFACTS_DESTINATION), so the password never appears on a command line.
    server_args: list[Any] = [
        "server",
        "--host",
        "0.0.0.0",
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
        "--serve-artifacts",
        "--expose-prometheus",
        PROMETHEUS_DIR,
        "--allowed-hosts",
        ",".join(allowed_hosts(name, args)),
    ]
    if args.basic_auth:
        server_args += ["--app-name", "basic-auth"]
    return ServerCommand(
        upgrade_command=["/bin/sh", "-c", 'exec mlflow db upgrade "$MLFLOW_BACKEND_STORE_URI"'],
        command=["mlflow"],
        args=server_args,
        env=env,
    )


def auth_config(args: MlflowServerArgs, db_password: str) -> str:
    """The basic-auth app's config file: users and permissions live in the same PostgreSQL database."""
    uri = (
        f"postgresql+{args.db_driver}://{args.db_user}:{db_password}@{args.db_host}:{args.db_port}/"
        f"{args.db_name}?sslmode={args.db_sslmode}"
    )
    return (
        "[mlflow]\n"
        f"default_permission = {args.default_permission.value}\n"
        f"database_uri = {uri}\n"
        f"admin_username = {args.admin_username}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )


def _format(template: str, *parts: Any) -> Any:
    """``template.format(*parts)``, as an Output only when a part is one (the test renders with plain values)."""
    if any(isinstance(v, pulumi.Output) for v in parts):
        return pulumi.Output.format(template, *parts)
    return template.format(*parts)


class MlflowServer(PlatformComponent):
    """ServiceAccount, Secret, Deployment (schema upgrade first), Service and, with 2+ replicas, a
    PodDisruptionBudget."""

    namespace: str
    """Namespace of the server."""
    service_name: str
    """Name of the Service."""
    port: int
    """Port of the Service (HTTP API, UI, proxied artifacts and ``/metrics``)."""
    tracking_uri: str
    """In-cluster URL, ``http://<service>.<namespace>.svc.cluster.local:<port>``."""
    metrics_port: int
    """Port that serves Prometheus metrics at :data:`METRICS_PATH`."""
    pod_labels: dict[str, str]
    """Labels of the server pods (``app.kubernetes.io/name: mlflow``)."""
    secret_name: str
    """Name of the Secret holding the server's secrets (``admin-username``/``admin-password`` for scrapers with basic
    auth)."""
    deployment: k8s.apps.v1.Deployment
    """The server's Deployment (depend on it to wait for a started server)."""

    def __init__(self, name: str, args: MlflowServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:mlflow_server:MlflowServer", name, args, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = args.namespace
        self.namespace, self.service_name, self.port, self.metrics_port = ns, name, args.port, args.port
        self.tracking_uri = f"http://{name}.{ns}.svc.cluster.local:{args.port}"
        self.pod_labels = {APP_LABEL: "mlflow", "app.kubernetes.io/instance": name}
        self.secret_name = secret_name(name)
        labels = merge_labels(
            MANAGED_BY_LABELS, args.labels, self.pod_labels, {"app.kubernetes.io/component": "tracking-server"}
        )
        meta = lambda n: k8s.meta.v1.ObjectMetaArgs(name=n, namespace=ns, labels=labels)  # noqa: E731

        flask_key = random.RandomPassword(f"{name}-flask-secret-key", length=48, special=False, opts=child)
        data: dict[str, pulumi.Input[str]] = {
            "db-password": args.db_password,
            "flask-secret-key": flask_key.result,
        }
        if args.basic_auth:
            data["admin-username"] = args.admin_username
            data["admin-password"] = args.admin_password  # type: ignore[assignment]
            data["basic_auth.ini"] = pulumi.Output.all(args.db_password, args.db_host, args.db_port).apply(
                lambda a: auth_config(_with(args, db_host=a[1], db_port=a[2]), a[0])
            )
        secret = k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata=meta(self.secret_name),
            type="Opaque",
            string_data={k: pulumi.Output.secret(v) for k, v in data.items()},
            opts=child,
        )
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=ns, labels=labels, annotations=args.service_account_annotations or None
            ),
            automount_service_account_token=False,
            opts=child,
        )
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=meta(name),
            spec=self._deployment_spec(name, args, labels, sa),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta(name),
            spec=k8s.core.v1.ServiceSpecArgs(
                selector=self.pod_labels,
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=args.port, target_port="http", protocol="TCP")],
            ),
            opts=child,
        )
        if args.replicas >= 2:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=meta(name),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                    max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=self.pod_labels)
                ),
                opts=child,
            )
        self.register_outputs({"tracking_uri": self.tracking_uri, "service_name": name, "namespace": ns})

    def _deployment_spec(self, name: str, args: MlflowServerArgs, labels: dict[str, str], sa: Any) -> dict[str, Any]:
        cmd = server_command(name, args)
        resources = {
            "requests": {"cpu": args.cpu_request, "memory": args.memory_request},
            "limits": {"cpu": args.cpu_limit, "memory": args.memory_limit},
        }
        security = ContainerSecurity(run_as_user=RUN_AS_UID, run_as_group=RUN_AS_UID).render()
        mounts: list[dict[str, Any]] = [SCRATCH.mount()]
        volumes: list[dict[str, Any]] = [SCRATCH.volume()]
        if args.basic_auth:
            mounts.append({"name": "auth", "mountPath": "/etc/mlflow/auth", "readOnly": True})
            volumes.append(
                {
                    "name": "auth",
                    "secret": {
                        "secretName": secret_name(name),
                        "defaultMode": 0o440,
                        "items": [{"key": "basic_auth.ini", "path": "basic_auth.ini"}],
                    },
                }
            )
        probe = lambda **kw: {"httpGet": {"path": HEALTH_PATH, "port": "http"}, "timeoutSeconds": 5, **kw}  # noqa: E731
        container = {
            "name": "mlflow",
            "image": args.image,
            "command": cmd.command,
            "args": cmd.args,
            "env": cmd.env,
            "ports": [{"name": "http", "containerPort": args.port, "protocol": "TCP"}],
            "resources": resources,
            "securityContext": security,
            "volumeMounts": mounts,
            "startupProbe": probe(periodSeconds=5, failureThreshold=60),
            "readinessProbe": probe(periodSeconds=10, failureThreshold=3),
            "livenessProbe": probe(periodSeconds=20, failureThreshold=3),
        }
        upgrade = {
            "name": "db-upgrade",
            "image": args.image,
            "command": cmd.upgrade_command,
            "env": cmd.env,
            "resources": resources,
            "securityContext": security,
            "volumeMounts": [SCRATCH.mount()],
        }
        return {
            "replicas": args.replicas,
            "selector": {"matchLabels": self.pod_labels},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": sa.metadata.name,
                    # IRSA projects its own token and GKE answers through the metadata server: no API token needed.
                    "automountServiceAccountToken": False,
                    "securityContext": PodSecurity(fs_group=RUN_AS_UID).render(),
                    "initContainers": [upgrade],
                    "containers": [container],
                    "volumes": volumes,
                    "terminationGracePeriodSeconds": 30,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": self.pod_labels},
                        }
                    ],
                },
            },
        }


def _with(args: MlflowServerArgs, **changes: Any) -> MlflowServerArgs:
    from dataclasses import replace

    return replace(args, **changes)
