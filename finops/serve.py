"""Serve a registered model with MLServer as the platform deploys it, and measure it: cold start and load levels.

The server gets the environment the platform's ClusterServingRuntime and the endpoint's InferenceService give
the model container (read from :mod:`components.serving`, as the runtime test does); only the model folder and
loopback ports differ. The model is pulled from the MLflow registry into an empty folder first, as KServe's
storage initializer does before the container starts, so a cold start counts the pull too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from components.serving import (
    ModelEndpointArgs,
    ModelVersion,
    ServingPlatformArgs,
    build_objects,
    mlserver_runtime_spec,
)

from .arithmetic import LoadPoint, percentile

CLK_TCK = os.sysconf("SC_CLK_TCK")
PULL = (
    "import sys, mlflow; mlflow.set_tracking_uri(sys.argv[1]); "
    "mlflow.artifacts.download_artifacts(sys.argv[2], dst_path=sys.argv[3])"
)
"""What KServe's storage initializer does before the model container starts, as a process of its own."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def container_env(name: str, model_dir: Path, models_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    """The model container's environment as KServe builds it, with loopback ports and a local model folder."""
    args = ModelEndpointArgs(
        model_name=name, versions=[ModelVersion(name="v1", storage_uri="s3://bench/v1", weight=100)], api_key_secret="k"
    )
    runtime = mlserver_runtime_spec(ServingPlatformArgs())["containers"][0]
    isvc = next(o for o in build_objects(name, args).objects if o["kind"] == "InferenceService")
    env = {e["name"]: e["value"].replace("{{.Name}}", isvc["metadata"]["name"]) for e in runtime["env"]}
    env.update({e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]})
    env.update(
        {
            "MLSERVER_MODEL_URI": str(model_dir),
            "MLSERVER_MODELS_DIR": str(models_dir),
            "MLSERVER_HOST": "127.0.0.1",
            "MLSERVER_HTTP_PORT": str(ports["http"]),
            "MLSERVER_GRPC_PORT": str(ports["grpc"]),
            "MLSERVER_METRICS_PORT": str(ports["metrics"]),
        }
    )
    return env


def request_body(rows: list[list[float]], datatype: str) -> bytes:
    flat = [x for row in rows for x in row]
    return json.dumps(
        {"inputs": [{"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": datatype, "data": flat}]}
    ).encode()


def _post(url: str, body: bytes, timeout: float = 10) -> dict:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def session_cpu_seconds(sid: int) -> float:
    """CPU seconds (user + system) used so far by every live process of session ``sid`` (the server's)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # fields after the command: state, ppid, pgrp, session, ...
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


@dataclass
class ColdStart:
    pull_s: float
    """Pulling the model from the MLflow registry into an empty folder."""
    ready_s: float
    """Starting MLServer until the model reports ready."""
    first_inference_s: float
    """The first request, answered."""

    @property
    def total_s(self) -> float:
        return self.pull_s + self.ready_s + self.first_inference_s


class Server:
    """One MLServer process serving one registered model version, pulled from MLflow at start."""

    def __init__(self, work: Path, tracking_uri: str, registered: str, extra_env: dict[str, str]) -> None:
        self.work = work
        self.tracking_uri = tracking_uri
        self.registered = registered
        self.extra_env = extra_env
        self.ports = {k: _free_port() for k in ("http", "grpc", "metrics")}
        self.name = "bench"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def infer_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}/v2/models/{self.name}/infer"

    def start(self, body: bytes, timeout_s: float = 240) -> ColdStart:
        folder = self.work / f"pull-{self.registered}-{time.monotonic_ns()}"
        models_dir = folder / "mnt-models"
        models_dir.mkdir(parents=True)
        t0 = time.monotonic()
        subprocess.run(
            [sys.executable, "-c", PULL, self.tracking_uri, f"models:/{self.registered}/1", str(folder / "model")],
            check=True,
            capture_output=True,
            timeout=timeout_s,
        )
        t1 = time.monotonic()
        env = dict(os.environ, **container_env(self.name, folder / "model", models_dir, self.ports), **self.extra_env)
        self.log = open(folder / "mlserver.log", "wb")  # noqa: SIM115 - held for the server's lifetime
        mlserver = Path(sys.executable).parent / "mlserver"
        self.proc = subprocess.Popen(
            [str(mlserver), "start", str(models_dir)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=folder,  # MLServer keeps its metrics files in .metrics under its working directory
        )
        ready = f"http://127.0.0.1:{self.ports['http']}/v2/models/{self.name}/ready"
        while True:
            try:
                with urllib.request.urlopen(ready, timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() - t1 > timeout_s:
                raise RuntimeError(f"MLServer did not become ready:\n{(folder / 'mlserver.log').read_text()[-3000:]}")
            time.sleep(0.05)
        t2 = time.monotonic()
        _post(self.infer_url, body)
        return ColdStart(t1 - t0, t2 - t1, time.monotonic() - t2)

    def infer(self, body: bytes) -> dict:
        return _post(self.infer_url, body)

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['metrics']}/metrics", timeout=5) as resp:
            return resp.read().decode()

    def load(self, body_file: Path, concurrency: int, seconds: float) -> LoadPoint:
        assert self.proc is not None
        cpu0 = session_cpu_seconds(self.proc.pid)
        out = subprocess.run(
            [sys.executable, "-m", "finops.loadgen", self.infer_url, str(body_file), str(concurrency), str(seconds)],
            check=True,
            capture_output=True,
            timeout=seconds + 120,
            cwd=Path(__file__).resolve().parents[1],
        )
        cpu = session_cpu_seconds(self.proc.pid) - cpu0
        result = json.loads(out.stdout)
        lat = result["latencies_ms"] or [0.0]
        return LoadPoint(
            concurrency=concurrency,
            ok=len(result["latencies_ms"]),
            errors=result["errors"],
            duration_s=result["duration_s"],
            p50_ms=percentile(lat, 50),
            p95_ms=percentile(lat, 95),
            p99_ms=percentile(lat, 99),
            server_cpu_s=cpu,
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()
        self.proc = None
