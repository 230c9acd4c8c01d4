"""The MLflow server the platform deploys, run for real: PostgreSQL, proxied S3 artifacts, registry, crash, restart.

The server is started with exactly the command, arguments and environment that ``MlflowServer`` renders for the
``prod`` stack (basic auth, 4 workers, TLS to PostgreSQL, metrics). Only what a cluster provides is replaced:
the database host and port, the S3 endpoint and its credentials (IRSA in the cluster), the server port, the
Secret values Kubernetes injects through ``secretKeyRef``, and the folders Kubernetes mounts (``/tmp``,
``/etc/mlflow/auth``). ``$(VAR)`` references are expanded the way the kubelet expands them.

Then: two versions of a real scikit-learn model are logged and registered, aliased ``champion`` and
``challenger``, and read back through the server; the server's process group is killed with SIGKILL while a
writer is busy; after a restart (schema upgrade first, as the init container does) every finished run, version,
alias, artifact and every write the server had acknowledged is still there.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from components.mlflow_server import AUTH_CONFIG_PATH, MlflowServerArgs, ServerCommand, auth_config, secret_name, server_command
from infra.config import parse
from infra.mlflow import mlflow_args
from offline import runner
from tests.integration.local_services import (
    Postgres, S3Endpoint, free_port, kill_group, skip_without_postgres, wait_for_http, workspace,
)

BUCKET = "mlflow-artifacts-it"
MODEL = "iris-classifier"
ADMIN_PASSWORD = "Loopback-Admin-Passw0rd"
CREDENTIALS_SECRET = "mlflow-artifacts-credentials"


def expand(env: list[dict[str, Any]], secrets: dict[tuple[str, str], str]) -> dict[str, str]:
    """Resolve a container's env as the kubelet does: secretKeyRef values, then ``$(NAME)`` of earlier entries."""
    out: dict[str, str] = {}
    for item in env:
        if "valueFrom" in item:
            ref = item["valueFrom"]["secretKeyRef"]
            out[item["name"]] = secrets[(ref["name"], ref["key"])]
        else:
            value = str(item["value"])
            out[item["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: out.get(m.group(1), m.group(0)), value)
    return out


def rendered_for_prod(pg: Postgres, s3: S3Endpoint, port: int) -> tuple[MlflowServerArgs, ServerCommand]:
    """The prod stack's server arguments, with the cluster's endpoints replaced by the local ones."""
    config, _ = runner.read_stack_file("prod")
    cfg = parse("prod", config)
    args = mlflow_args(cfg, admin_password=ADMIN_PASSWORD).server(
        db_host="127.0.0.1", db_port=pg.port, db_name=pg.database, db_user=pg.user, db_password=pg.password,
        artifacts_destination=f"s3://{BUCKET}/mlflow", s3_endpoint_url=s3.url, s3_credentials_secret=CREDENTIALS_SECRET,
        extra_env={"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    args.port = port
    return args, server_command("mlflow", args)


class Server:
    """One pod's worth of the server: the init container's schema upgrade, then ``mlflow server`` in its own group."""

    def __init__(self, root: Path, pg: Postgres, s3: S3Endpoint) -> None:
        self.root, self.port = root, free_port()
        self.args, self.cmd = rendered_for_prod(pg, s3, self.port)
        mounts = {"/tmp": root / "tmp", str(Path(AUTH_CONFIG_PATH).parent): root / "auth"}
        for folder in mounts.values():
            folder.mkdir(parents=True, exist_ok=True)
        (mounts["/etc/mlflow/auth"] / "basic_auth.ini").write_text(auth_config(self.args, pg.password))
        secrets = {
            (secret_name("mlflow"), "db-password"): pg.password,
            (secret_name("mlflow"), "flask-secret-key"): "loopback-flask-secret-key-0123456789",
            (secret_name("mlflow"), "admin-password"): ADMIN_PASSWORD,
            (CREDENTIALS_SECRET, "AWS_ACCESS_KEY_ID"): s3.access_key,
            (CREDENTIALS_SECRET, "AWS_SECRET_ACCESS_KEY"): s3.secret_key,
        }

        def mount(value: str) -> str:
            for path, local in mounts.items():
                if value == path or value.startswith(path + "/"):
                    return str(local) + value[len(path):]
            return value

        self.env = {k: mount(v) for k, v in expand(self.cmd.env, secrets).items()}
        self.env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
        self.argv = [*self.cmd.command, *(mount(str(a)) for a in self.cmd.args)]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        subprocess.run(self.cmd.upgrade_command, env=self.env, check=True, capture_output=True, timeout=120)
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_http(f"{self.url}/health", 120, self.process)
        except (RuntimeError, TimeoutError) as exc:
            tail = (self.root / "server.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"{exc}; server log:\n{tail}") from None
        return self

    def crash(self) -> None:
        assert self.process is not None
        kill_group(self.process)


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[Path, Postgres, S3Endpoint]]:
    pg_bin = skip_without_postgres()
    root = workspace()
    pg = Postgres(bin=pg_bin, root=root / "pg").start()
    s3 = S3Endpoint().start(root / "moto.log")
    try:
        s3.client().create_bucket(Bucket=BUCKET)
        yield root, pg, s3
    finally:
        s3.stop()
        pg.stop()
        subprocess.run(["rm", "-rf", str(root)], check=False)


@pytest.fixture
def client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith(("MLFLOW_", "AWS_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train_and_register(mlflow: Any, root: Path) -> dict[str, Any]:
    """Two runs, two registered versions of a logistic regression on iris, a report artifact in each run."""
    from sklearn import __version__ as sklearn_version
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    mlflow.set_experiment("iris")
    runs: dict[str, Any] = {}
    for c in (0.05, 1.0):
        with mlflow.start_run(run_name=f"logreg-c{c}") as run:
            model = LogisticRegression(C=c, max_iter=500).fit(X_train, y_train)
            accuracy = float(model.score(X_test, y_test))
            mlflow.log_param("C", c)
            mlflow.log_metric("accuracy", accuracy)
            report = root / f"report-{c}.txt"
            report.write_text(f"C={c} accuracy={accuracy}\n" * 200)
            mlflow.log_artifact(str(report), artifact_path="reports")
            info = mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL,
                                           input_example=X_test[:2], pip_requirements=[f"scikit-learn=={sklearn_version}"])
            runs[run.info.run_id] = {"C": c, "accuracy": accuracy, "report": sha256(report),
                                     "version": info.registered_model_version, "predictions": model.predict(X_test).tolist()}
    return {"runs": runs, "X_test": X_test}


def assert_everything_is_there(mlflow: Any, trained: dict[str, Any], root: Path) -> None:
    client = mlflow.MlflowClient()
    versions = {int(v.version): v for v in client.search_model_versions(f"name='{MODEL}'")}
    assert sorted(versions) == [1, 2]
    model = client.get_registered_model(MODEL)
    assert model.aliases == {"champion": "1", "challenger": "2"}
    for run_id, expected in trained["runs"].items():
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.data.params["C"] == str(expected["C"]) and run.data.metrics["accuracy"] == expected["accuracy"]
        assert versions[int(expected["version"])].run_id == run_id
        target = root / "download" / run_id
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="reports", dst_path=str(target))
        assert sha256(Path(local) / f"report-{expected['C']}.txt") == expected["report"]
    for alias, version in (("champion", 1), ("challenger", 2)):
        loaded = mlflow.sklearn.load_model(f"models:/{MODEL}@{alias}")
        expected = next(r for r in trained["runs"].values() if int(r["version"]) == version)
        assert loaded.predict(trained["X_test"]).tolist() == expected["predictions"]


def test_prod_server_registers_versions_and_loses_nothing_on_sigkill(services, client_env, monkeypatch) -> None:
    import mlflow

    root, pg, s3 = services
    server = Server(root / "server", pg, s3).start()
    try:
        # The rendered settings are the ones under test: TLS to PostgreSQL, basic auth, proxied artifacts.
        assert "sslmode=require" in server.env["MLFLOW_BACKEND_STORE_URI"]
        assert pg.password not in " ".join(server.argv)
        assert ["--app-name", "basic-auth"] == server.argv[-2:]

        mlflow.set_tracking_uri(server.url)
        trained = train_and_register(mlflow, root)
        client = mlflow.MlflowClient()
        client.set_registered_model_alias(MODEL, "champion", "1")
        client.set_registered_model_alias(MODEL, "challenger", "2")
        assert_everything_is_there(mlflow, trained, root / "before")

        # Artifacts went through the server into the bucket, under the rendered destination; none on local disk.
        keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET, Prefix="mlflow/").get("Contents", [])]
        assert any(k.endswith("reports/report-1.0.txt") for k in keys) and any(k.endswith("MLmodel") for k in keys)
        # Anonymous clients are refused; metrics answer to an authenticated scraper.
        import requests

        assert requests.get(f"{server.url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10).status_code == 401
        metrics = requests.get(f"{server.url}/metrics", auth=("admin", ADMIN_PASSWORD), timeout=10)
        assert metrics.status_code == 200 and "mlflow_http_request_total" in metrics.text

        # A writer logs as fast as the server acknowledges; the server dies under it.
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
        with mlflow.start_run(run_name="interrupted") as run:
            interrupted = run.info.run_id
        acknowledged: list[int] = []
        failure: list[BaseException] = []
        enough = threading.Event()

        def writer() -> None:
            try:
                step = 0
                while True:
                    client.log_metric(interrupted, "loss", 1.0 / (step + 1), step=step)
                    acknowledged.append(step)
                    if step % 5 == 0:
                        client.log_text(interrupted, f"step {step}\n" * 1000, f"steps/{step}.txt")
                    step += 1
                    if step >= 25:
                        enough.set()
            except BaseException as exc:  # noqa: BLE001 - the failure is the point
                failure.append(exc)
                enough.set()

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        assert enough.wait(60)
        server.crash()
        thread.join(30)
        assert failure, "the writer should have seen the server die"

        monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES")
        monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT")
        server.start()
        assert_everything_is_there(mlflow, trained, root / "after")
        history = client.get_metric_history(interrupted, "loss")
        assert {m.step for m in history} >= set(acknowledged)
    finally:
        if server.process is not None and server.process.poll() is None:
            kill_group(server.process)
