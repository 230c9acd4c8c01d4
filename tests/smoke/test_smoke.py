"""The post-deploy smoke check against real services on loopback: MLServer serving a real MLflow model (the
platform's runtime settings), a gateway stand-in that checks API keys and holds a request for a version at zero
while it starts (what the KEDA HTTP add-on's interceptor does), and a real Prometheus scraping MLServer.

Only the gateway is a stand-in: Envoy Gateway and the interceptor need a cluster. It does what the smoke check
relies on: ``x-api-key`` against a key set (401 otherwise), ``x-model-version`` pinning, and cold start on the
first pinned request to a version with no server running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.serving import (
    ModelEndpointArgs,
    ModelVersion,
    ServingPlatformArgs,
    build_objects,
    mlserver_runtime_spec,
)
from smoke.__main__ import main
from tests.components.serving.test_runtime import TRAIN
from tests.integration.local_services import free_port, wait_for_http

pytestmark = pytest.mark.integration
pytest.importorskip("mlserver_mlflow", reason="mlserver-mlflow is not installed (make setup)")
API_KEY = "smoke-test-key-0123456789"


def version_env(version: str, model_dir: str, models_dir: str, ports: dict[str, int]) -> dict[str, str]:
    """The model container's environment for one version, as KServe builds it, on loopback ports."""
    args = ModelEndpointArgs(
        model_name="iris",
        versions=[
            ModelVersion(name="v1", storage_uri="s3://b/v1", weight=100),
            ModelVersion(name="v2", storage_uri="s3://b/v2", weight=0),
        ],
        api_key_secret="iris-api-keys",
        min_replicas=0,
    )
    name = f"iris-{version}"
    isvc = next(
        o
        for o in build_objects("iris", args).objects
        if o["kind"] == "InferenceService" and o["metadata"]["name"] == name
    )
    runtime = mlserver_runtime_spec_env()
    env = {k: v.replace("{{.Name}}", name) for k, v in runtime.items()}
    env.update({e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]})
    env.update(
        MLSERVER_MODEL_URI=model_dir,
        MLSERVER_MODELS_DIR=models_dir,
        MLSERVER_HOST="127.0.0.1",
        MLSERVER_HTTP_PORT=str(ports["http"]),
        MLSERVER_GRPC_PORT=str(ports["grpc"]),
        MLSERVER_METRICS_PORT=str(ports["metrics"]),
    )
    return env


def mlserver_runtime_spec_env() -> dict[str, str]:
    return {e["name"]: e["value"] for e in mlserver_runtime_spec(ServingPlatformArgs())["containers"][0]["env"]}


class ModelServer:
    """One version's MLServer process, started on demand."""

    def __init__(self, version: str, work: Path, model_dir: str) -> None:
        self.version = version
        self.ports = {"http": free_port(), "grpc": free_port(), "metrics": free_port()}
        self.models_dir = work / f"models-{version}"
        self.models_dir.mkdir()
        self.log = work / f"mlserver-{version}.log"
        self.model_dir = model_dir
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.proc is not None:
                return
            env = dict(os.environ, **version_env(self.version, self.model_dir, str(self.models_dir), self.ports))
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(
                    [str(Path(sys.executable).parent / "mlserver"), "start", str(self.models_dir)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            wait_for_http(f"http://127.0.0.1:{self.ports['http']}/v2/models/iris/ready", 240, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def gateway(servers: dict[str, ModelServer], default: str, held: list[str]) -> ThreadingHTTPServer:
    """Loopback stand-in for the gateway and interceptor: key check, version pin, hold while a version starts."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("x-api-key") != API_KEY:
                self._reply(401, b'{"error": "unauthorized"}')
                return
            version = self.headers.get("x-model-version") or default
            server = servers.get(version)
            if server is None:
                self._reply(404, b'{"error": "no such version"}')
                return
            if server.proc is None:
                held.append(version)
                server.start()  # the request waits here, as the interceptor holds it during a cold start
            request = urllib.request.Request(
                f"http://127.0.0.1:{server.ports['http']}{self.path}",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as resp:
                    self._reply(resp.status, resp.read())
            except urllib.error.HTTPError as exc:
                self._reply(exc.code, exc.read())

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.skip("prometheus is not installed (Debian's prometheus package; `make system` installs it)")
    work = tmp_path_factory.mktemp("smoke")
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="false", PYTHONWARNINGS="ignore")
    subprocess.run([sys.executable, "-c", TRAIN, str(work)], check=True, env=env, timeout=300, capture_output=True)
    trained = json.loads((work / "trained.json").read_text())
    servers = {v: ModelServer(v, work, trained["model_dir"]) for v in ("v1", "v2")}
    servers["v1"].start()
    held: list[str] = []
    gw = gateway(servers, "v1", held)
    prom_port = free_port()
    targets = [f"127.0.0.1:{s.ports['metrics']}" for s in servers.values()]
    (work / "prometheus.yml").write_text(
        json.dumps(
            {
                "global": {"scrape_interval": "1s"},
                "scrape_configs": [{"job_name": "mlserver", "static_configs": [{"targets": targets}]}],
            }
        )
    )
    prom_log = open(work / "prometheus.log", "wb")  # noqa: SIM115 - held open for the server process
    prom = subprocess.Popen(
        [
            prometheus,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=prom_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{prom_port}/-/ready", 30, prom)
        request = work / "request.json"
        rows = trained["rows"]
        request.write_text(
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "input-0",
                            "shape": [len(rows), 4],
                            "datatype": "FP64",
                            "data": [x for row in rows for x in row],
                        }
                    ]
                }
            )
        )
        expected = work / "expected.json"
        expected.write_text(json.dumps(trained["predictions"]))
        yield {
            "gateway": f"http://127.0.0.1:{gw.server_address[1]}",
            "prometheus": f"http://127.0.0.1:{prom_port}",
            "request": request,
            "expected": expected,
            "servers": servers,
            "held": held,
            "work": work,
        }
    finally:
        gw.shutdown()
        os.killpg(prom.pid, signal.SIGTERM)
        prom.wait(timeout=20)
        prom_log.close()
        for s in servers.values():
            s.stop()


def smoke(platform, *extra: str) -> list[str]:
    args = [
        "--gateway",
        platform["gateway"],
        "--api-key",
        API_KEY,
        "--model",
        "iris",
        "--request",
        str(platform["request"]),
    ]
    return [*args, *extra]


def test_smoke_passes_wakes_a_version_at_zero_and_finds_the_metrics(platform, capsys) -> None:
    assert platform["servers"]["v2"].proc is None  # v2 is at zero
    code = main(
        smoke(
            platform,
            "--expected",
            str(platform["expected"]),
            "--requests",
            "3",
            "--wake-version",
            "v2",
            "--wake-timeout",
            "300",
            "--prometheus",
            platform["prometheus"],
            "--metrics-timeout",
            "60",
        )
    )
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert [line.split(":")[0] for line in out[:-1]] == [
        "ok    prometheus",
        "ok    auth",
        "ok    inference",
        "ok    wake",
        "ok    metrics",
    ]
    assert out[2].startswith("ok    inference: 3 requests answered correctly")
    assert "version 'v2' answered a pinned request after" in out[3]
    assert out[4].startswith("ok    metrics: Prometheus counts ")
    assert out[-1] == "smoke: 5 of 5 checks passed"
    assert platform["held"] == ["v2"]  # the pinned request was held while v2 started


def test_wrong_predictions_and_a_wrong_key_fail_with_what_came_back(platform, capsys, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps([9] * 10))
    assert main(smoke(platform, "--expected", str(wrong), "--requests", "1")) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ok    auth: requests without a valid key are refused"
    assert out[1].startswith("FAIL  inference: predictions [") and "(expected [9, 9" in out[1]
    args = smoke(platform, "--requests", "1")
    args[args.index("--api-key") + 1] = "not-the-key"
    assert main(args) == 1
    assert "FAIL  inference: HTTP 401 (expected 200)" in capsys.readouterr().out


def test_an_unreachable_gateway_is_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    request = tmp_path / "r.json"
    request.write_text(json.dumps({"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP64", "data": [1]}]}))
    port = free_port()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "smoke",
            "--gateway",
            f"http://127.0.0.1:{port}",
            "--api-key",
            "k",
            "--model",
            "iris",
            "--request",
            str(request),
            "--timeout",
            "2",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stdout.splitlines()[0].startswith(
        f"FAIL  auth: http://127.0.0.1:{port}/v2/models/iris/infer: no answer"
    )
    assert proc.stdout.splitlines()[-1] == "smoke: 0 of 2 checks passed"
