"""MlflowServer: one rendered command, secrets only through secretKeyRef, safe pod defaults, PDB with replicas."""

from __future__ import annotations

from components.common import Problems
from components.mlflow import MlflowServer, MlflowServerArgs, allowed_hosts, auth_config, server_command
from tests.conftest import by_type, one


def args(**kw) -> MlflowServerArgs:
    base = dict(db_host="db.internal", db_password="pw", artifacts_destination="s3://b/mlflow")
    base.update(kw)
    return MlflowServerArgs(**base)


def env_of(cmd) -> dict:
    return {e["name"]: e for e in cmd.env}


def test_command_keeps_the_password_off_the_command_line() -> None:
    cmd = server_command("mlflow", args())
    env = env_of(cmd)
    assert env["MLFLOW_DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "mlflow-secrets", "key": "db-password"}}
    assert env["MLFLOW_BACKEND_STORE_URI"]["value"] == (
        "postgresql+psycopg2://mlflow:$(MLFLOW_DB_PASSWORD)@db.internal:5432/mlflow?sslmode=require"
    )
    names = [e["name"] for e in cmd.env]
    assert names.index("MLFLOW_DB_PASSWORD") < names.index("MLFLOW_BACKEND_STORE_URI")  # $(VAR) needs it defined first
    assert env["MLFLOW_ARTIFACTS_DESTINATION"]["value"] == "s3://b/mlflow"
    assert cmd.command == ["mlflow"] and cmd.args[:2] == ["server", "--host"]
    assert "--serve-artifacts" in cmd.args and "--expose-prometheus" in cmd.args
    assert not any(a == "pw" or "MLFLOW_DB_PASSWORD" in str(a) for a in cmd.args)
    assert cmd.upgrade_command == ["/bin/sh", "-c", 'exec mlflow db upgrade "$MLFLOW_BACKEND_STORE_URI"']


def test_basic_auth_adds_the_app_and_its_secrets() -> None:
    cmd = server_command("mlflow", args(basic_auth=True, admin_password="a-long-password"))
    assert cmd.args[-2:] == ["--app-name", "basic-auth"]
    env = env_of(cmd)
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "admin-password"
    assert env["MLFLOW_AUTH_CONFIG_PATH"]["value"] == "/etc/mlflow/auth/basic_auth.ini"
    ini = auth_config(args(basic_auth=True), "s3cret")
    assert "database_uri = postgresql+psycopg2://mlflow:s3cret@db.internal:5432/mlflow?sslmode=require" in ini
    assert "admin_password" not in ini  # from the environment (secretKeyRef), never the file


def test_allowed_hosts_cover_service_names_pod_ips_and_extras() -> None:
    hosts = allowed_hosts("mlflow", args(allowed_hosts=["mlflow.example.com"]))
    for h in (
        "mlflow.mlflow.svc.cluster.local:5000",
        "mlflow.mlflow",
        "localhost:*",
        "10.*",
        "172.31.*",
        "mlflow.example.com",
    ):
        assert h in hosts
    assert "*" not in hosts


def test_validation_messages() -> None:
    p = Problems(prefix="mlflow")
    args(replicas=0, workers=40, image="ghcr.io/mlflow/mlflow:latest", allowed_hosts=["*"], basic_auth=True).validate(p)
    assert p.items == [
        "mlflow.replicas: must be between 1 and 10, got 0",
        "mlflow.workers: must be between 1 and 16, got 40",
        "mlflow.image: must be pinned to a tag other than latest, got 'ghcr.io/mlflow/mlflow:latest'",
        "mlflow.allowed_hosts[0]: must be a host name or pattern, not '*', got '*'",
        "mlflow.admin_password: is required with basic_auth "
        "(pulumi config set --secret ml-platform:mlflow_admin_password), got None",
    ]
    p = Problems()
    args(basic_auth=True, admin_password="short").validate(p)
    assert p.items == ["admin_password: must be at least 12 characters, got '[secret]'"]


def test_deployment_defaults(mocked) -> None:
    regs = mocked.run(lambda: MlflowServer("mlflow", args()))
    dep = one(regs, "kubernetes:apps/v1:Deployment").inputs
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert dep["spec"]["replicas"] == 1 and by_type(regs, "kubernetes:policy/v1:PodDisruptionBudget") == []
    assert dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "mlflow"
    assert pod["initContainers"][0]["command"][-1].startswith("exec mlflow db upgrade")
    assert (
        c["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"} and c["resources"]["limits"]["memory"] == "2Gi"
    )
    assert c["securityContext"]["runAsNonRoot"] and not c["securityContext"]["allowPrivilegeEscalation"]
    assert c["securityContext"]["readOnlyRootFilesystem"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["path"] == "/health"
    assert c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"] >= 300
    assert c["image"] == "ghcr.io/mlflow/mlflow:v3.17.2-full"
    assert pod["automountServiceAccountToken"] is False


def test_two_replicas_get_a_disruption_budget(mocked) -> None:
    regs = mocked.run(lambda: MlflowServer("mlflow", args(replicas=2)))
    pdb = one(regs, "kubernetes:policy/v1:PodDisruptionBudget").inputs
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "mlflow"


def test_secrets_are_secret_in_the_rendered_secret(mocked) -> None:
    regs = mocked.run(
        lambda: MlflowServer(
            "mlflow", args(db_password="do-not-show", basic_auth=True, admin_password="do-not-show-either")
        )
    )
    secret = one(regs, "kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == "[secret]"
    assert set(secret.raw_inputs["stringData"]) == {
        "db-password",
        "flask-secret-key",
        "admin-username",
        "admin-password",
        "basic_auth.ini",
    }
    for reg in regs:
        assert "do-not-show" not in str(reg.inputs)
