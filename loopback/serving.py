"""Real services for the serving-under-pressure tests and benchmark: an MLflow server whose artifacts live in an S3
API on loopback, MLServer started with the environment the platform renders, the platform's warm-up gate, and a
closed-loop load generator.

Why real processes: cold start, queueing behind a concurrency cap and the warm-up gate are timing and memory
behaviour of MLflow and MLServer themselves; a double would only repeat what we assumed. The benchmark
(``python -m bench.serving``, or ``make bench-serving``) prints the numbers docs/serving.md quotes; the
integration tests (``tests/integration/test_serving_pressure.py``) check the behaviour, never a timing.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.serving import (
    WARMUP_SCRIPT,
    ModelEndpointArgs,
    ModelVersion,
    ServingPlatformArgs,
    build_objects,
    mlserver_runtime_spec,
)

from .services import S3Endpoint, free_port, kill_group, wait_for_http

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAMPLE = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]}
BUCKET = "mlflow-artifacts"


def endpoint_args(**kw: Any) -> ModelEndpointArgs:
    base: dict[str, Any] = dict(
        model_name="slow",
        versions=[ModelVersion(name="v1", storage_uri="s3://mlflow-artifacts/slow", weight=100)],
        api_key_secret="slow-api-keys",
    )
    base.update(kw)
    return ModelEndpointArgs(**base)


def container_env(args: ModelEndpointArgs) -> dict[str, str]:
    """The model container's environment as KServe merges it: the runtime's variables, then the InferenceService's."""
    runtime = mlserver_runtime_spec(ServingPlatformArgs())["containers"][0]
    isvc = next(o for o in build_objects("slow", args).objects if o["kind"] == "InferenceService")
    env = {e["name"]: e["value"].replace("{{.Name}}", isvc["metadata"]["name"]) for e in runtime["env"]}
    env.update({e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]})
    return env


def startup_probe(args: ModelEndpointArgs) -> list[str]:
    isvc = next(o for o in build_objects("slow", args).objects if o["kind"] == "InferenceService")
    command = isvc["spec"]["predictor"]["model"]["startupProbe"]["exec"]["command"]
    assert command[:2] == ["python", "-c"] and command[2] == WARMUP_SCRIPT
    return [sys.executable, "-c", command[2]]


# --- MLflow server with artifacts in an S3 API on loopback ----------------------------------------------------


@dataclass
class Registry:
    """``mlflow server`` (SQLite metadata, proxied artifacts in a moto S3 bucket) with the slow model registered."""

    root: Path
    s3: S3Endpoint = field(default_factory=S3Endpoint)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            MLFLOW_S3_ENDPOINT_URL=self.s3.url,
            AWS_ACCESS_KEY_ID=self.s3.access_key,
            AWS_SECRET_ACCESS_KEY=self.s3.secret_key,
            AWS_DEFAULT_REGION="us-east-1",
            MLFLOW_TRACKING_URI=self.url,
            PYTHONWARNINGS="ignore",
        )

    def start(self) -> Registry:
        self.s3.start(self.root / "moto.log")
        self.s3.client().create_bucket(Bucket=BUCKET)
        self.process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{self.root / 'mlflow.db'}",
                "--artifacts-destination",
                f"s3://{BUCKET}/artifacts",
            ],
            env=self.env(),
            stdout=(self.root / "mlflow.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_http(f"{self.url}/health", 180, self.process)
        return self

    def log_slow_model(self) -> dict[str, str]:
        out = self.root / "logged.json"
        subprocess.run(
            [sys.executable, "-m", "loopback.slow_model", "log", str(out)],
            env=self.env(),
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=600,
        )
        return json.loads(out.read_text())

    def download(self, model_uri: str, dst: Path) -> float:
        """Pull the model's files through the MLflow server (what a pod without the cache waits for); seconds."""
        code = "import sys, mlflow; mlflow.artifacts.download_artifacts(artifact_uri=sys.argv[1], dst_path=sys.argv[2])"
        start = time.monotonic()
        subprocess.run(
            [sys.executable, "-c", code, model_uri, str(dst)],
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=600,
        )
        return time.monotonic() - start

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            kill_group(self.process, signal.SIGKILL)  # its gunicorn/uvicorn workers ignore a plain TERM for long
        self.s3.stop()


# --- MLServer as the platform configures it ---------------------------------------------------------------------


@dataclass
class Server:
    """MLServer serving a model folder with the container environment the platform renders for ``args``."""

    args: ModelEndpointArgs
    model_dir: Path
    work: Path
    http: int = field(default_factory=free_port)
    grpc: int = field(default_factory=free_port)
    metrics: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    started: float = 0.0

    def env(self) -> dict[str, str]:
        env = container_env(self.args)
        models = self.work / "mnt-models"
        models.mkdir(parents=True, exist_ok=True)
        # Only what differs from the pod: where the model is, loopback ports, scratch folders.
        env.update(
            MLSERVER_MODEL_URI=str(self.model_dir),
            MLSERVER_MODELS_DIR=str(models),
            MLSERVER_HOST="127.0.0.1",
            MLSERVER_HTTP_PORT=str(self.http),
            MLSERVER_GRPC_PORT=str(self.grpc),
            MLSERVER_METRICS_PORT=str(self.metrics),
            MLSERVER_METRICS_DIR=str(self.work / "metrics"),
            MLSERVER_ENVIRONMENTS_DIR=str(self.work / "envs"),
        )
        return dict(os.environ, PYTHONWARNINGS="ignore", **env)

    def start(self) -> Server:
        self.work.mkdir(parents=True, exist_ok=True)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [str(BIN / "mlserver"), "start", str(self.work / "mnt-models")],
            env=self.env(),
            cwd=self.work,
            stdout=(self.work / "mlserver.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def gate(self) -> subprocess.CompletedProcess:
        """Run the startup probe exactly as the platform renders it, inside the container's environment."""
        workers = self.args.concurrency_limit if self.args.warmup_request else 0
        return subprocess.run(
            startup_probe(self.args),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=self.args.warmup_timeout_seconds * (workers + 1) + 10,  # the probe's own timeoutSeconds, and some
        )

    def wait_until(self, check: Any, timeout: float = 600) -> float:
        """Seconds after start until ``check()`` is true (polled every 0.1 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError("MLServer exited:\n" + (self.work / "mlserver.log").read_text()[-3000:])
            if check():
                return time.monotonic() - self.started
            time.sleep(0.1)
        raise TimeoutError((self.work / "mlserver.log").read_text()[-3000:])

    def infer(self, body: dict[str, Any] | None = None, timeout: float = 300) -> tuple[int, float]:
        """One v2 inference on the public path; (status, seconds)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=timeout)
        start = time.monotonic()
        try:
            conn.request(
                "POST",
                f"/v2/models/{self.args.model_name}/infer",
                json.dumps(body or SAMPLE),
                {"Content-Type": "application/json"},
            )
            resp = conn.getresponse()
            resp.read()
            return resp.status, time.monotonic() - start
        finally:
            conn.close()

    def metric(self, name: str) -> float:
        """Sum of one metric's samples on the metrics endpoint (0 when absent)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name + "{") or line.startswith(name + " ")
        )

    def rss_mb(self) -> float:
        """Resident memory of the server and all its workers (its process group), MB."""
        assert self.process is not None
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # process group id
                    total += int(fields[21])  # rss in pages
        return total * os.sysconf("SC_PAGE_SIZE") / 2**20

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                kill_group(self.process, signal.SIGTERM)
            except subprocess.TimeoutExpired:  # MLServer 1.7.1 can hang closing many workers
                kill_group(self.process, signal.SIGKILL)


@contextlib.contextmanager
def serving(args: ModelEndpointArgs, model_dir: Path, work: Path) -> Iterator[Server]:
    server = Server(args, model_dir, work).start()
    try:
        yield server
    finally:
        server.stop()


# --- load ---------------------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    concurrency: int
    latencies: list[float]
    errors: int
    seconds: float
    peak_rss_mb: float
    mean_queue: float

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")

    def row(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "requests": len(self.latencies) + self.errors,
            "errors": self.errors,
            "p50_s": round(self.pct(0.5), 3),
            "p95_s": round(self.pct(0.95), 3),
            "max_s": round(max(self.latencies or [float("nan")]), 3),
            "throughput_rps": round(len(self.latencies) / self.seconds, 2),
            "peak_rss_mb": round(self.peak_rss_mb),
            "mean_queue": round(self.mean_queue, 2),
        }


def closed_loop(server: Server, concurrency: int, per_client: int) -> LoadResult:
    """``concurrency`` clients, each sending ``per_client`` requests back to back; memory sampled meanwhile."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    peak = [server.rss_mb()]
    done = threading.Event()
    queue_before = (server.metric("parallel_request_queue_sum"), server.metric("parallel_request_queue_count"))

    def client() -> None:
        for _ in range(per_client):
            status, seconds = server.infer()
            with lock:
                if status == 200:
                    latencies.append(seconds)
                else:
                    errors[0] += 1

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], server.rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - start
    done.set()
    sampler.join()
    queue_sum = server.metric("parallel_request_queue_sum") - queue_before[0]
    queue_count = server.metric("parallel_request_queue_count") - queue_before[1]
    return LoadResult(
        concurrency, latencies, errors[0], seconds, peak[0], queue_sum / queue_count if queue_count else 0.0
    )
