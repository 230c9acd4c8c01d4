"""The model <-> runtime pairing, for real: an MLflow 3 scikit-learn model served by MLServer's MLflow runtime.

MLflow 3.x writes scikit-learn models with skops, which KServe's sklearn server cannot read; the platform serves
them with MLServer (protocol v2). This test trains a small model on a data set scikit-learn ships, logs it with
MLflow (SQLite store in a temporary folder, no server), then starts MLServer on 127.0.0.1 with the environment the
platform's ClusterServingRuntime and the endpoint's InferenceService give the container, sends a v2 inference
request on the endpoint's public path, and compares the answer with the model's own predictions. It also scrapes
MLServer's metrics endpoint and checks that every metric the scaling queries (and the monitoring rules) use exists.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

import pytest

from components.serving import (
    MLSERVER_HTTP_PORT,
    MLSERVER_SCRATCH,
    ModelEndpointArgs,
    ModelVersion,
    ScalingMetric,
    ServingPlatformArgs,
    build_objects,
    mlserver_runtime_spec,
    prometheus_query,
)

ROOT = Path(__file__).resolve().parents[3]
IMAGE_REQUIREMENTS = ROOT / "images" / "mlserver-mlflow" / "requirements.txt"

# Looked up, not imported: importing MLflow takes seconds, and only the tests that serve a model need it.
needs_runtime = pytest.mark.skipif(
    find_spec("mlserver_mlflow") is None or find_spec("sklearn") is None,
    reason="mlserver-mlflow or scikit-learn is not installed (make setup installs requirements-test.txt)",
)

METRICS_FOR_MONITORING = {
    "model_infer_request_success_total": "counter",
    "model_infer_request_failure_total": "counter",
    "model_infer_request_duration": "summary",
    "rest_server_requests_total": "counter",
    "rest_server_request_duration_seconds": "histogram",
    "rest_server_requests_in_progress": "gauge",
    "parallel_request_queue": "histogram",
}
"""MLServer 1.7.1's metrics that the scaling queries and alert rules build on (name -> Prometheus type)."""

TRAIN = textwrap.dedent(
    """
    import json, sys
    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    out = sys.argv[1]
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    mlflow.set_tracking_uri(f"sqlite:///{out}/mlflow.db")
    experiment = mlflow.create_experiment("serving-pairing", artifact_location=f"file://{out}/artifacts")
    with mlflow.start_run(experiment_id=experiment):
        info = mlflow.sklearn.log_model(model, name="model", input_example=X[:2])
    local = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=f"{out}/model")
    rows = X[::15]
    json.dump({"model_dir": local, "rows": rows.tolist(), "predictions": model.predict(rows).tolist()},
              open(f"{out}/trained.json", "w"))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read()


def _endpoint_args() -> ModelEndpointArgs:
    return ModelEndpointArgs(
        model_name="iris",
        versions=[
            ModelVersion(name="v1", storage_uri="s3://b/v1", weight=90),
            ModelVersion(name="v2", storage_uri="s3://b/v2", weight=10),
        ],
        api_key_secret="iris-api-keys",
    )


def container_env(model_dir: str, models_dir: str, scratch: str, ports: dict[str, int]) -> dict[str, str]:
    """The model container's environment as KServe builds it: the runtime's env, then the InferenceService's."""
    runtime = mlserver_runtime_spec(ServingPlatformArgs())["containers"][0]
    built = build_objects("iris", _endpoint_args())
    isvc = next(o for o in built.objects if o["kind"] == "InferenceService" and o["metadata"]["name"] == "iris-v2")
    env = {e["name"]: e["value"].replace("{{.Name}}", isvc["metadata"]["name"]) for e in runtime["env"]}
    env.update({e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]})
    assert env["MLSERVER_HTTP_PORT"] == str(MLSERVER_HTTP_PORT) and env["MLSERVER_MODEL_URI"] == "/mnt/models"
    # Only what differs on a laptop: where the model and the scratch folder are mounted, and loopback ports.
    env = {
        k: v.replace(MLSERVER_SCRATCH.path, scratch, 1) if v.startswith(MLSERVER_SCRATCH.path) else v
        for k, v in env.items()
    }
    env.update(
        {
            "MLSERVER_MODEL_URI": model_dir,
            "MLSERVER_MODELS_DIR": models_dir,
            "MLSERVER_HOST": "127.0.0.1",
            "MLSERVER_HTTP_PORT": str(ports["http"]),
            "MLSERVER_GRPC_PORT": str(ports["grpc"]),
            "MLSERVER_METRICS_PORT": str(ports["metrics"]),
            "TMPDIR": scratch,
        }
    )
    return env


@needs_runtime
def test_the_test_environment_has_the_runtime_image_pins() -> None:
    pins = dict(
        line.split("==")
        for line in IMAGE_REQUIREMENTS.read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert {name: metadata.version(name) for name in pins} == pins


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    work = tmp_path_factory.mktemp("serving")
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="false", PYTHONWARNINGS="ignore")
    subprocess.run([sys.executable, "-c", TRAIN, str(work)], check=True, env=env, timeout=300, capture_output=True)
    trained = json.loads((work / "trained.json").read_text())
    models_dir = work / "mnt-models"
    models_dir.mkdir()
    ports = {"http": _free_port(), "grpc": _free_port(), "metrics": _free_port()}
    scratch, cwd = work / "scratch", work / "cwd"
    scratch.mkdir()
    cwd.mkdir()
    server_env = dict(os.environ, **container_env(trained["model_dir"], str(models_dir), str(scratch), ports))
    log = open(work / "mlserver.log", "wb")  # noqa: SIM115 - held open for the server process, closed at teardown
    mlserver = Path(sys.executable).parent / "mlserver"
    proc = subprocess.Popen(
        [str(mlserver), "start", str(models_dir)],
        env=server_env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if _get(f"http://127.0.0.1:{ports['http']}/v2/models/iris/ready", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("MLServer did not become ready:\n" + (work / "mlserver.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {"work": work, "ports": ports, "scratch": scratch, "cwd": cwd, **trained}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.integration
@needs_runtime
def test_mlflow_3_writes_skops_which_the_sklearn_server_cannot_read(served) -> None:
    mlmodel = (Path(served["model_dir"]) / "MLmodel").read_text()
    assert "serialization_format: skops" in mlmodel and (Path(served["model_dir"]) / "model.skops").exists()


@pytest.mark.integration
@needs_runtime
def test_v2_inference_on_the_public_path_matches_the_models_own_predictions(served) -> None:
    prefix = build_objects("iris", _endpoint_args()).path_prefix
    rows = served["rows"]
    body = {
        "inputs": [
            {"name": "input-0", "shape": [len(rows), 4], "datatype": "FP64", "data": [x for row in rows for x in row]}
        ]
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{served['ports']['http']}{prefix}/infer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        answer = json.loads(resp.read())
    assert answer["model_name"] == "iris" and answer["model_version"] == "v2"
    assert [int(x) for x in answer["outputs"][0]["data"]] == served["predictions"]


@pytest.mark.integration
@needs_runtime
def test_the_probe_paths_answer(served) -> None:
    isvc = next(o for o in build_objects("iris", _endpoint_args()).objects if o["kind"] == "InferenceService")
    model = isvc["spec"]["predictor"]["model"]
    for probe in ("readinessProbe", "livenessProbe"):
        path = model[probe]["httpGet"]["path"]
        assert _get(f"http://127.0.0.1:{served['ports']['http']}{path}")[0] == 200, probe
    # The startup probe is the warm-up gate: a program run in the container's environment.
    command = model["startupProbe"]["exec"]["command"]
    assert command[0] == "python"
    work = served["work"]
    env = dict(
        os.environ,
        **container_env(served["model_dir"], str(work / "mnt-models"), str(work / "scratch"), served["ports"]),
    )
    gate = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=60)
    assert gate.returncode == 0, gate.stderr


@pytest.mark.integration
@needs_runtime
def test_metrics_endpoint_has_what_scaling_and_monitoring_use(served) -> None:
    test_v2_inference_on_the_public_path_matches_the_models_own_predictions(served)  # some traffic first
    _, text = _get(f"http://127.0.0.1:{served['ports']['metrics']}/metrics")
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text.decode(), re.M))
    assert {name: types.get(name) for name in METRICS_FOR_MONITORING} == METRICS_FOR_MONITORING
    # MLServer's own `version` label is the URL's version, not the served one: rules must use the pod labels.
    assert 'model_infer_request_success_total{model="iris",version="None"}' in text.decode()
    args = _endpoint_args()
    info = build_objects("iris", args).versions[0]
    for metric in (ScalingMetric.CONCURRENCY, ScalingMetric.QUEUE_DEPTH):
        args.scaling_metric = metric
        query = prometheus_query(args, info)
        used = {re.sub(r"_(sum|count|bucket)$", "", m) for m in re.findall(r"([a-z_]+)\{", query)}
        assert used <= set(types), (metric, used - set(types))


@pytest.mark.integration
@needs_runtime
def test_the_server_writes_only_to_its_scratch_folder(served) -> None:
    """The pod's root filesystem is read-only: MLServer's own folders must land on the scratch volume."""
    test_v2_inference_on_the_public_path_matches_the_models_own_predictions(served)
    assert list(served["cwd"].iterdir()) == []
    assert {p.name for p in served["scratch"].iterdir()} >= {"envs", "metrics"}
