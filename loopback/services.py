"""Real services on loopback for the integration tests and the serving benchmark: PostgreSQL from Debian's package
(with TLS) and an S3 API.

Why real ones: the platform's promises about MLflow (schema upgrade, proxied artifacts, nothing lost on a crash)
are promises about PostgreSQL and S3 semantics, which no mock reproduces. Everything listens on 127.0.0.1 only,
on free high ports, in folders created for the test and removed after it.

PostgreSQL refuses to run as root, so when the tests run as root (CI) ``initdb`` and the server run as the
``postgres`` user in a folder it owns. Both services start in their own process group so that a test can kill
one with everything it spawned.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def postgres_bin() -> Path | None:
    """Folder of ``initdb`` and ``pg_ctl`` (Debian puts them under /usr/lib/postgresql/<major>/bin), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for folder in candidates:
        if os.path.exists(os.path.join(folder, "initdb")) and os.path.exists(os.path.join(folder, "pg_ctl")):
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout_seconds: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            args = process.args
            command = args if isinstance(args, (str, bytes, os.PathLike)) else args[0]
            raise RuntimeError(f"{os.fsdecode(command)} exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout_seconds} s")


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process group the process leads (it was started with a new session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    process.wait(timeout=30)


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Postgres:
    """A PostgreSQL server with TLS on 127.0.0.1 and one database owned by one user."""

    bin: Path
    root: Path
    port: int = field(default_factory=free_port)
    user: str = "mlflow"
    password: str = "Loopback0nlyPassw0rd"
    database: str = "mlflow"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def start(self) -> Postgres:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={self._pwfile()}",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                str(self.root / "server.key"),
                "-out",
                str(self.root / "server.crt"),
            ],
            check=True,
            capture_output=True,
        )
        os.chmod(self.root / "server.key", 0o600)
        if os.geteuid() == 0:
            for name in ("server.key", "server.crt"):
                shutil.chown(self.root / name, "postgres", "postgres")
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c ssl=on "
            f"-c ssl_cert_file={self.root / 'server.crt'} -c ssl_key_file={self.root / 'server.key'}"
        )
        subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-w",
                    "-l",
                    str(self.root / "postgres.log"),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.psql(f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'")
        self.psql(f"CREATE DATABASE {self.database} OWNER {self.user}")
        return self

    def _pwfile(self) -> Path:
        path = self.root / "superuser.pw"
        path.write_text(self.password + "-superuser\n")
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")
        return path

    def psql(self, sql: str) -> str:
        out = subprocess.run(
            _as_postgres(
                [
                    str(self.bin / "psql"),
                    "-h",
                    str(self.root),
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-Atc",
                    sql,
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
        )


@dataclass
class S3Endpoint:
    """``moto_server``: an S3 API endpoint on 127.0.0.1 (pip-installable; stands in for S3, GCS or SeaweedFS)."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    access_key: str = "loopback-access-key"
    secret_key: str = "loopback-secret-key"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> S3Endpoint:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_http(f"{self.url}/moto-api/", 30, self.process)
        return self

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            kill_group(self.process, signal.SIGTERM)


def workspace() -> Path:
    """A fresh folder under the system temp dir that the postgres user can enter (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="mlp-it-"))
    os.chmod(path, 0o755)
    return path
