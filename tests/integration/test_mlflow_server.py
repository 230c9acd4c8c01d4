"""The MLflow server the platform deploys, run for real: PostgreSQL, proxied S3 artifacts, registry, crash, restart.

The server is started with exactly the command, arguments and environment that ``MlflowServer`` renders for the
``prod`` stack (basic auth, 4 workers, TLS to PostgreSQL, metrics). Only what a cluster provides is replaced:
the database host and port, the S3 endpoint and its credentials (IRSA in the cluster), the server port, the
Secret values Kubernetes injects through ``secretKeyRef``, and the folders Kubernetes mounts (``/tmp``,
``/etc/mlflow/auth``). ``$(VAR)`` references are expanded the way the kubelet expands them.

Then a separate client process (``mlflow_client.py``) logs and registers two versions of a real scikit-learn model,
aliases them ``champion`` and ``challenger`` and reads everything back through the server; the server's process group
is killed with SIGKILL while a writer is busy; after a restart (schema upgrade first, as the init container does)
every finished run, version, alias, artifact and every write the server had acknowledged is still there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.mlflow import (
    AUTH_CONFIG_PATH,
    MlflowServerArgs,
    ServerCommand,
    auth_config,
    secret_name,
    server_command,
)
from infra.config import parse
from infra.mlflow import mlflow_args
from offline import runner
from tests.integration.local_services import (
    Postgres,
    S3Endpoint,
    free_port,
    kill_group,
    skip_without_postgres,
    wait_for_http,
    workspace,
)

pytestmark = pytest.mark.integration

BUCKET = "mlflow-artifacts-it"
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
            out[item["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: out.get(m.group(1), m.group(0)), value
            )
    return out


def rendered_for_prod(pg: Postgres, s3: S3Endpoint, port: int) -> tuple[MlflowServerArgs, ServerCommand]:
    """The prod stack's server arguments, with the cluster's endpoints replaced by the local ones."""
    config, _ = runner.read_stack_file("prod")
    cfg = parse("prod", config)
    args = mlflow_args(cfg, admin_password=ADMIN_PASSWORD).server(
        db_host="127.0.0.1",
        db_port=pg.port,
        db_name=pg.database,
        db_user=pg.user,
        db_password=pg.password,
        artifacts_destination=f"s3://{BUCKET}/mlflow",
        s3_endpoint_url=s3.url,
        s3_credentials_secret=CREDENTIALS_SECRET,
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
                    return str(local) + value[len(path) :]
            return value

        self.env = {k: mount(v) for k, v in expand(self.cmd.env, secrets).items()}
        self.env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
        self.argv = [*self.cmd.command, *(mount(str(a)) for a in self.cmd.args)]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        subprocess.run(self.cmd.upgrade_command, env=self.env, check=True, capture_output=True, timeout=120)
        log = (self.root / "server.log").open("ab")
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
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


def client(server: Server, *argv: str, **kw: Any) -> subprocess.Popen:
    """A client process (see mlflow_client.py) talking to the server as the admin, with no cloud settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env.update(
        MLFLOW_TRACKING_URI=server.url,
        MLFLOW_TRACKING_USERNAME="admin",
        MLFLOW_TRACKING_PASSWORD=ADMIN_PASSWORD,
        **kw.pop("env", {}),
    )
    cwd = Path(__file__).resolve().parents[2]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.mlflow_client", *argv],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def run_client(server: Server, *argv: str) -> str:
    process = client(server, *argv)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, f"client {argv[0]} failed:\n{err[-3000:]}"
    return out


def test_prod_server_registers_versions_and_loses_nothing_on_sigkill(services) -> None:
    import requests

    root, pg, s3 = services
    server = Server(root / "server", pg, s3).start()
    state = root / "state.json"
    try:
        # The rendered settings are the ones under test: TLS to PostgreSQL, basic auth, proxied artifacts.
        assert "sslmode=require" in server.env["MLFLOW_BACKEND_STORE_URI"]
        assert pg.password not in " ".join(server.argv)
        assert server.argv[-2:] == ["--app-name", "basic-auth"]

        run_client(server, "train", str(state), str(root / "train"))
        run_client(server, "verify", str(state), str(root / "before"))

        # Artifacts went through the server into the bucket, under the rendered destination; none on local disk.
        keys = [o["Key"] for o in s3.client().list_objects_v2(Bucket=BUCKET, Prefix="mlflow/").get("Contents", [])]
        assert any(k.endswith("reports/report-1.0.txt") for k in keys) and any(k.endswith("MLmodel") for k in keys)
        # Anonymous clients are refused; metrics answer to an authenticated scraper.
        assert (
            requests.get(f"{server.url}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10).status_code == 401
        )
        metrics = requests.get(f"{server.url}/metrics", auth=("admin", ADMIN_PASSWORD), timeout=10)
        assert metrics.status_code == 200 and "mlflow_http_request_total" in metrics.text

        # A writer logs as fast as the server acknowledges (no client retries); the server dies under it.
        interrupted = json.loads(state.read_text())["interrupted"]
        writer = client(
            server,
            "write",
            interrupted,
            env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"},
        )
        acknowledged: list[int] = []
        assert writer.stdout is not None
        for line in writer.stdout:
            if line.startswith("ack "):
                acknowledged.append(int(line.split()[1]))
            if len(acknowledged) >= 25 or not line.startswith("ack "):
                break
        server.crash()
        rest, err = writer.communicate(timeout=60)
        assert writer.returncode == 3 and "failed" in rest, f"the writer should have seen the server die: {err[-2000:]}"
        acknowledged += [int(x.split()[1]) for x in rest.splitlines() if x.startswith("ack ")]

        server.start()  # the init container's schema upgrade first, then the server, as on a pod restart
        run_client(server, "verify", str(state), str(root / "after"))
        history = (
            requests.get(
                f"{server.url}/api/2.0/mlflow/metrics/get-history",
                params={"run_id": interrupted, "metric_key": "loss", "max_results": 10000},
                auth=("admin", ADMIN_PASSWORD),
                timeout=30,
            )
            .json()
            .get("metrics", [])
        )
        assert {m["step"] for m in history} >= set(acknowledged) and len(acknowledged) >= 25
    finally:
        if server.process is not None and server.process.poll() is None:
            kill_group(server.process)
