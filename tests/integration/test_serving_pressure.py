"""Serving under pressure on real processes: the warm-up gate, the concurrency cap's queue, the node-cached copy.

The slow model (``loopback/slow_model.py``) is logged to a real ``mlflow server`` whose artifacts live in an S3 API on
loopback (moto) and pulled back through it, as a pod without the node cache would; MLServer then runs with the
exact container environment and startup probe the platform renders. Behaviour only, no timing: the numbers come
from ``make bench-serving`` and are quoted in docs/serving.md.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from loopback.serving import SAMPLE, Registry, endpoint_args, serving, startup_probe

from .local_services import workspace

pytestmark = pytest.mark.integration

pytest.importorskip(
    "mlserver_mlflow", reason="mlserver-mlflow is not installed (make setup installs requirements-test.txt)"
)
pytest.importorskip("moto", reason="moto is not installed (make setup installs requirements-test.txt)")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The slow model registered in MLflow and pulled back through the server into a node-cache folder."""
    root = workspace()
    registry = Registry(root).start()
    try:
        logged = registry.log_slow_model()
        cached = root / "node-cache" / "slow"
        registry.download(logged["registered"], cached)
    finally:
        registry.stop()  # everything below runs without the registry and the bucket
    return {"root": root, "dir": cached}


def test_the_gate_opens_only_after_every_worker_answered_a_warm_up_inference(model) -> None:
    args = endpoint_args(concurrency_limit=2, warmup_request=json.dumps(SAMPLE))
    with serving(args, model["dir"], model["root"] / "gate") as server:
        first = server.gate()
        assert first.returncode != 0 and "not warm yet" in first.stderr  # nothing answers yet: no traffic
        server.wait_until(lambda: server.gate().returncode == 0)
        # The gate's own inferences, one per worker, ran before it let traffic in.
        assert server.metric("model_infer_request_success_total") >= 2
        assert server.status("/v2/models/slow/ready") == 200
        assert server.infer()[0] == 200


def test_a_model_that_loads_but_cannot_answer_never_gets_traffic(model) -> None:
    args = endpoint_args(warmup_request=json.dumps(SAMPLE))
    with serving(args, model["dir"], model["root"] / "bad-warmup") as server:
        server.wait_until(lambda: server.status("/v2/models/slow/ready") == 200)
        wrong = {"inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "BYTES", "data": ["a", "b", "c"]}]}
        env = dict(server.env(), ML_PLATFORM_WARMUP_REQUEST=json.dumps(wrong))
        gate = subprocess.run(
            startup_probe(args),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # The process is up and the model "ready", yet the gate stays shut: readiness alone would have let it in.
        assert server.status("/v2/health/ready") == 200
        assert gate.returncode != 0 and "not warm yet" in gate.stderr


def test_the_cap_runs_one_inference_at_a_time_and_queues_the_rest(model) -> None:
    args = endpoint_args(concurrency_limit=1, warmup_request=json.dumps(SAMPLE))
    with serving(args, model["dir"], model["root"] / "cap") as server:
        server.wait_until(lambda: server.gate().returncode == 0)
        workers = _children(server.process.pid)
        before = server.metric("parallel_request_queue_count")
        statuses: list[int] = []
        threads = [threading.Thread(target=lambda: statuses.append(server.infer()[0])) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 4  # the excess waited, nothing was refused
        assert len(workers) == 1  # one inference process: at most one inference in the model at a time
        # MLServer recorded the queue it dispatched those requests from (what the queue-depth trigger reads).
        assert server.metric("parallel_request_queue_count") - before == 4


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            cmdline = (stat.parent / "cmdline").read_bytes()
            # MLServer starts its inference workers with multiprocessing's "spawn"; skip its resource tracker.
            if b"spawn_main" in cmdline:
                out.append(int(stat.parent.name))
    return out
