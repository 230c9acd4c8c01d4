"""Model delivery end to end: registry alias -> webhook -> gate -> canary -> promotion or rollback, for real.

Real: MLflow server on PostgreSQL with moto's S3 API (the webhook registered through MLflow's own API and delivered
by the server), model versions logged by a separate client process, MLServer serving each slot from the registry's
artifacts, Debian's Prometheus scraping them, the controller as its own process (``python -m release serve``)
reading the settings document the ReleaseController component renders. The Kubernetes API is the double in
``kube_double.py`` (schemas, RBAC from the component's Role, resourceVersion); Envoy and KServe are the stand-ins
in ``release_cluster.py``. Time is compressed only through the release settings (seconds instead of minutes).

The cases share one set of services and run in order; each starts from the state the previous one left, as
releases do. Numbers of each run are written to ``release-e2e.json`` in the work folder and printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from components.serving import (
    ModelEndpointArgs,
    ModelVersion,
    ReleaseControllerArgs,
    ReleasePolicy,
    build_objects,
    role_rules,
    settings_document,
)
from tests.integration.kube_double import KubeDouble
from tests.integration.local_services import (
    Postgres,
    S3Endpoint,
    free_port,
    kill_group,
    skip_without_postgres,
    wait_for_http,
    workspace,
)
from tests.integration.release_cluster import Gateway, LoadDriver, Prometheus, Slots

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "mlflow-artifacts-release"
SECRET = "loopback-webhook-secret-0123456789"
NS, ENDPOINT, MODEL = "ml-serving", "iris", "iris"
REPORT: dict[str, Any] = {}


def policy(heldout_uri: str) -> ReleasePolicy:
    """The endpoint's release settings with time compressed: seconds instead of minutes, nothing else changed."""
    return ReleasePolicy(
        endpoint=ENDPOINT,
        registered_model=MODEL,
        model_name=MODEL,
        heldout_uri=heldout_uri,
        canary_weight=40,
        analysis_minutes=0.7,
        interval_seconds=2,
        window_seconds=24,
        min_requests=20,
        max_p95_ms=1000,
        load_test_requests=20,
        load_test_concurrency=1,
        slices={"small-sepals": "sepal_length < 5.0"},
        slice_tolerance=0.05,
    )


class Env:
    """Every service of the test, started once for the module."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.work = workspace()

    def start(self) -> Env:
        pg_bin = skip_without_postgres()
        if not shutil.which("prometheus"):
            pytest.skip("Prometheus is not installed; run `make system` (Debian's prometheus package)")
        self.pg = Postgres(pg_bin, self.work / "pg").start()
        self.stack.append(self.pg.stop)
        self.s3 = S3Endpoint().start(self.work / "moto.log")
        self.stack.append(self.s3.stop)
        self.s3.client().create_bucket(Bucket=BUCKET)
        self._mlflow()
        self._train()
        self._cluster()
        self.controller: subprocess.Popen | None = None
        self.start_controller()
        from mlflow import MlflowClient

        self.client = MlflowClient(self.tracking_uri)
        self.client.create_webhook(
            name="release-controller",
            url=f"http://127.0.0.1:{self.webhook_port}/webhooks/mlflow",
            events=["model_version_alias.created"],
            secret=SECRET,
        )
        deadline = time.monotonic() + 60
        while not self.state().get("stable_slot"):  # the controller's first sync: champion in blue, 100/0
            assert time.monotonic() < deadline, self.log_tail()
            time.sleep(0.3)
        self.driver = LoadDriver(self.gateway.url, MODEL, self.rows).start()
        self.stack.append(self.driver.close)
        return self

    def _mlflow(self) -> None:
        port = free_port()
        self.tracking_uri = f"http://127.0.0.1:{port}"
        db = f"postgresql+psycopg2://{self.pg.user}:{self.pg.password}@127.0.0.1:{self.pg.port}/{self.pg.database}"
        env = {
            **os.environ,
            "MLFLOW_S3_ENDPOINT_URL": self.s3.url,
            "AWS_ACCESS_KEY_ID": self.s3.access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            # The receiver is a cluster-internal Service (here: loopback) over plain HTTP.
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
            # The server caches each event's webhook list (60 s by default): the first alias set (the champion, by
            # the training client) would hide the webhook registered after it for up to a minute. Compressed here.
            "MLFLOW_WEBHOOK_CACHE_TTL": "1",
            # One retry, not three: the lost-webhook case waits for MLflow to give up on a stopped controller.
            "MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES": "1",
        }
        argv = [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri", db]
        argv += ["--artifacts-destination", f"s3://{BUCKET}/mlflow", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--workers", "1"]
        proc = subprocess.Popen(
            argv,
            env=env,
            stdout=(self.work / "mlflow.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.stack.append(lambda: kill_group(proc, signal.SIGTERM))
        wait_for_http(f"{self.tracking_uri}/health", 300, proc)

    def _train(self) -> None:
        out = self.work / "trained.json"
        env = {**os.environ, "MLFLOW_TRACKING_URI": self.tracking_uri, "PYTHONWARNINGS": "ignore"}
        subprocess.run(
            [sys.executable, "-m", "tests.integration.release_client", "setup", str(out)],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
            capture_output=True,
        )
        trained = json.loads(out.read_text())
        self.versions, self.heldout_uri, self.rows = trained["versions"], trained["heldout_uri"], trained["rows"]

    def storage_uri(self, version: str) -> str:
        from mlflow import MlflowClient

        uri = MlflowClient(self.tracking_uri).get_model_version_download_uri(MODEL, version)
        return uri.replace("mlflow-artifacts:", f"s3://{BUCKET}/mlflow", 1)

    def _cluster(self) -> None:
        self.args = ReleaseControllerArgs(
            image="ml-platform/release-controller:test", endpoints=[policy(self.heldout_uri)], registry_poll_seconds=10
        )
        self.kube = KubeDouble(role_rules(self.args))
        self.stack.append(self.kube.close)
        champion = self.storage_uri(self.versions["weak-champion"])
        endpoint = ModelEndpointArgs(
            model_name=MODEL,
            versions=[
                ModelVersion(name="blue", storage_uri=champion, weight=100),
                ModelVersion(name="green", storage_uri=champion, weight=0),
            ],
            api_key_secret="iris-api-keys",
            release_managed=True,
        )
        for obj in build_objects(ENDPOINT, endpoint).objects:
            if obj["kind"] in ("HTTPRoute", "InferenceService"):
                self.kube.put(obj["kind"].lower() + "s", obj)
        self.slots = Slots(self.kube, self.s3, NS, ENDPOINT, ["blue", "green"], self.work).start()
        self.stack.append(self.slots.close)
        self.prometheus = Prometheus(self.work, self.slots, NS, ENDPOINT, MODEL)
        self.stack.append(self.prometheus.close)
        self.gateway = Gateway(self.kube, self.slots, NS, ENDPOINT)
        self.stack.append(self.gateway.close)
        self.slots.wait_ready("blue", 1)
        self.slots.wait_ready("green", 1)

    def start_controller(self) -> None:
        document = settings_document(self.args, f"s3://{BUCKET}/mlflow")
        # Where the cluster's services are, here: the only lines that differ from what the component deploys.
        document.update(
            tracking_uri=self.tracking_uri, prometheus_url=self.prometheus.url, gateway_url=self.gateway.url
        )
        (self.work / "settings.json").write_text(json.dumps(document))
        (self.work / "kubeconfig").write_text(self.kube.kubeconfig())
        self.webhook_port = getattr(self, "webhook_port", None) or free_port()
        self.metrics_port = getattr(self, "metrics_port", None) or free_port()
        env = {
            **os.environ,
            "RELEASE_CONFIG": str(self.work / "settings.json"),
            "RELEASE_WEBHOOK_SECRET": SECRET,
            "KUBECONFIG": str(self.work / "kubeconfig"),
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "PYTHONWARNINGS": "ignore",
        }
        argv = [sys.executable, "-m", "release", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.webhook_port), "--metrics-port", str(self.metrics_port)]
        self.controller = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=(self.work / "controller.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_http(f"http://127.0.0.1:{self.webhook_port}/healthz", 120, self.controller)

    def kill_controller(self) -> None:
        assert self.controller is not None
        kill_group(self.controller, signal.SIGKILL)

    def close(self) -> None:
        if getattr(self, "controller", None) is not None and self.controller.poll() is None:
            kill_group(self.controller, signal.SIGTERM)
        for stop in reversed(self.stack):
            with contextlib.suppress(Exception):
                stop()
        (self.work / "release-e2e.json").write_text(json.dumps(REPORT, indent=2, default=str))
        print(f"\nrelease e2e numbers ({self.work / 'release-e2e.json'}):\n{json.dumps(REPORT, indent=2, default=str)}")

    # --- what the tests read ----------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        cm = self.kube.get("configmaps", NS, f"release-{ENDPOINT}")
        return json.loads(cm["data"]["state.json"]) if cm else {}

    def weights(self) -> dict[str, int]:
        route = self.kube.get("httproutes", NS, ENDPOINT)
        split = next(r for r in route["spec"]["rules"] if r["name"] == "split")
        return {ref["name"].split("-")[1]: ref["weight"] for ref in split["backendRefs"]}

    def events(self) -> list[dict[str, Any]]:
        return [o for (plural, *_), o in list(self.kube.objects.items()) if plural == "events"]

    def wait_decision(self, version: str, timeout: float = 150) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.state().get("history", []):
                if entry.get("version") == version and entry.get("decision"):
                    return entry
            assert self.controller is not None and self.controller.poll() is None, self.log_tail()
            time.sleep(0.5)
        raise AssertionError(f"no decision on v{version} in {timeout} s: {self.state()}\n{self.log_tail()}")

    def log_tail(self) -> str:
        return (self.work / "controller.log").read_text()[-4000:]

    def challenger(self, version: str) -> None:
        self.client.set_registered_model_alias(MODEL, "challenger", version)

    def champion(self) -> str:
        return self.client.get_model_version_by_alias(MODEL, "champion").version


@pytest.fixture(scope="module")
def env():
    e = Env()
    try:
        yield e.start()
    finally:
        e.close()


def post_webhook(env: Env, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{env.webhook_port}/webhooks/mlflow",
        data=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def signed(payload: dict[str, Any], delivery_id: str, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    """Headers as MLflow's own delivery code makes them (``mlflow.webhooks.delivery``)."""
    from mlflow.webhooks.constants import WEBHOOK_DELIVERY_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER
    from mlflow.webhooks.delivery import _generate_hmac_signature

    timestamp = str(at or int(time.time()))
    return {
        WEBHOOK_DELIVERY_ID_HEADER: delivery_id,
        WEBHOOK_TIMESTAMP_HEADER: timestamp,
        WEBHOOK_SIGNATURE_HEADER: _generate_hmac_signature(secret, delivery_id, timestamp, json.dumps(payload)),
    }


def alias_event(version: str) -> dict[str, Any]:
    return {
        "entity": "model_version_alias",
        "action": "created",
        "timestamp": "2026-01-01T00:00:00+00:00",
        "data": {"name": MODEL, "alias": "challenger", "version": version},
    }


def served(env: Env, slot: str) -> int:
    return sum(n for (s, _), n in env.gateway.served.items() if s == slot)


def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(env: Env) -> None:
    payload = alias_event(env.versions["better"])
    before = env.state()
    wrong = signed(payload, str(uuid.uuid4()), secret="not-the-secret-0123456789")
    stale = signed(payload, str(uuid.uuid4()), at=int(time.time()) - 3600)
    codes = [post_webhook(env, payload, h)[0] for h in (wrong, {}, stale)]
    REPORT["bad_signature"] = {"wrong": codes[0], "missing": codes[1], "replayed_an_hour_later": codes[2]}
    assert codes == [401, 401, 401]
    time.sleep(1)
    assert env.state() == before and env.state().get("current") is None


def test_a_less_accurate_version_is_rejected_at_the_gate_and_never_gets_traffic(env: Env) -> None:
    version = env.versions["less-accurate"]
    green_before, route_updates = (
        served(env, "green"),
        len([r for r in env.kube.requests if r["resource"] == "httproutes" and r["verb"] == "update"]),
    )
    payload, delivery = alias_event(version), str(uuid.uuid4())
    first = post_webhook(env, payload, signed(payload, delivery))
    again = post_webhook(env, payload, signed(payload, delivery))  # MLflow retrying the same delivery
    assert first == (200, {"status": "accepted", "endpoints": {ENDPOINT: "started"}}), first
    assert again[1].get("endpoints") == {ENDPOINT: "duplicate"}, again
    entry = env.wait_decision(version)
    assert entry["decision"] == "rejected" and "below the baseline" in entry["reason"], entry
    assert [h["version"] for h in env.state()["history"]].count(version) == 1
    assert served(env, "green") == green_before and env.weights() == {"blue": 100, "green": 0}
    assert (
        len([r for r in env.kube.requests if r["resource"] == "httproutes" and r["verb"] == "update"]) == route_updates
    )
    tags = env.client.get_model_version(MODEL, version).tags
    assert tags["release.decision"] == "rejected" and "accuracy" in tags["release.reason"]
    assert env.champion() == env.versions["weak-champion"]
    REPORT["less_accurate"] = {"reason": entry["reason"], "gate": entry["gate"]["evaluation"]}


def test_a_version_that_regresses_a_slice_is_rejected_at_the_gate(env: Env) -> None:
    version = env.versions["slice-regression"]
    green_before = served(env, "green")
    env.challenger(version)  # through MLflow's own webhook delivery from here on
    entry = env.wait_decision(version)
    ev = entry["gate"]["evaluation"]
    assert entry["decision"] == "rejected" and "slice 'small-sepals'" in entry["reason"], entry
    assert ev["accuracy"] >= ev["baseline_accuracy"], "overall accuracy passes: only the slice fails"
    assert served(env, "green") == green_before and env.weights() == {"blue": 100, "green": 0}
    assert env.champion() == env.versions["weak-champion"]
    REPORT["slice_regression"] = {"reason": entry["reason"], "gate": ev}


def canary_numbers(entry: dict[str, Any], run: Any) -> dict[str, Any]:
    return {
        "decision": entry["decision"],
        "reason": entry["reason"],
        "gate_accuracy": entry["gate"]["evaluation"]["accuracy"],
        "baseline_accuracy": entry["gate"]["evaluation"]["baseline_accuracy"],
        "load_test": entry["gate"]["load_test"],
        "canary_to_decision_seconds": round(entry["decided"] - entry["canary_started"], 1),
        "checks": entry["checks"],
        "last_window": {k: v for k, v in run.data.metrics.items() if k.startswith(("canary_", "stable_"))},
    }


def release_run(env: Env, entry: dict[str, Any]) -> Any:
    runs = env.client.search_runs(
        [env.client.get_experiment_by_name("releases").experiment_id], f"tags.`release.id` = '{entry['id']}'"
    )
    assert len(runs) == 1
    return runs[0]


def test_a_better_version_is_gated_in_canaried_and_promoted(env: Env) -> None:
    version, previous = env.versions["better"], env.versions["weak-champion"]
    env.challenger(version)
    entry = env.wait_decision(version)
    assert entry["decision"] == "promoted", (entry, env.log_tail())
    assert env.champion() == version
    assert env.weights() == {"blue": 0, "green": 100}
    run = release_run(env, entry)
    assert run.data.tags["release.decision"] == "promoted"
    assert {"accuracy", "baseline_accuracy", "load_test_p95_ms", "canary_p95_ms", "stable_p95_ms"} <= set(
        run.data.metrics
    )
    artifacts = {a.path for a in env.client.list_artifacts(run.info.run_id)}
    assert {"release.json", "settings.json"} <= artifacts
    record = json.loads(Path(env.client.download_artifacts(run.info.run_id, "release.json")).read_text())
    assert record["checks"] and "histogram_quantile" in record["checks"][-1]["queries"]["canary"]["p95_seconds"]
    reasons = [e["reason"] for e in env.events() if e["metadata"]["name"].startswith(f"{ENDPOINT}.{entry['id']}.")]
    assert reasons.count("ReleasePromoted") == 1 and "CanaryStarted" in reasons
    # The previous champion stays registered and loaded in the other slot, ready for a rollback by hand.
    assert env.client.get_model_version(MODEL, previous).status == "READY"
    blue = env.kube.get("inferenceservices", NS, f"{ENDPOINT}-blue")
    assert blue["metadata"].get("annotations", {}).get("ml-platform.io/registry-version", previous) == previous
    assert served(env, "green") > 0
    REPORT["better"] = canary_numbers(entry, run)


def _rolled_back(env: Env, name: str, words: str, started: bool = False) -> dict[str, Any]:
    """``name`` released (``started``: already under way) and rolled back, its alias and numbers checked."""
    version, champion = env.versions[name], env.champion()
    if not started:
        env.challenger(version)
    entry = env.wait_decision(version)
    assert entry["decision"] == "rolled-back" and words in entry["reason"], (entry, env.log_tail())
    assert env.champion() == champion
    assert env.weights() == {"blue": 0, "green": 100}
    tags = env.client.get_model_version(MODEL, version).tags
    assert tags["release.decision"] == "rolled-back" and tags["release.reason"] == entry["reason"]
    # Back to 100% stable within two intervals of the window that showed the breach.
    interval = policy("").interval_seconds
    updates = [r["at"] for r in env.kube.requests if r["resource"] == "httproutes" and r["verb"] == "update"]
    restored = min(t for t in updates if t >= entry["decided"] - 0.5)
    assert restored - entry["decided"] <= 2 * interval
    run = release_run(env, entry)
    numbers = canary_numbers(entry, run)
    numbers["breach_to_stable_seconds"] = round(restored - entry["decided"], 2)
    return numbers


def test_a_slower_version_is_rolled_back(env: Env) -> None:
    REPORT["slower"] = _rolled_back(env, "slower", "p95")


def test_a_lost_webhook_is_caught_from_the_registry_and_a_failing_version_rolled_back(env: Env) -> None:
    version = env.versions["failing"]
    env.kill_controller()
    env.challenger(version)  # MLflow's delivery finds nobody listening: the webhook is lost
    mlflow_log = env.work / "mlflow.log"
    deadline = time.monotonic() + 60
    while "Webhook request to" not in mlflow_log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "MLflow never gave up delivering to the stopped controller"
        time.sleep(0.5)
    restarted = time.time()
    env.start_controller()
    deadline = time.monotonic() + 30
    while (env.state().get("current") or {}).get("version") != version:
        assert time.monotonic() < deadline, (env.state(), env.log_tail())
        time.sleep(0.3)
    assert env.state()["current"]["trigger"] == "registry"
    numbers = _rolled_back(env, "failing", "error rate", started=True)
    numbers["restart_to_release_start_seconds"] = round(env.state()["history"][0]["created"] - restarted, 1)
    REPORT["failing_after_lost_webhook"] = numbers


def test_a_controller_killed_mid_canary_resumes_and_decides_once(env: Env) -> None:
    version = env.versions["resumed"]
    env.challenger(version)
    deadline = time.monotonic() + 150
    while not ((env.state().get("current") or {}).get("phase") == "canary" and env.state()["current"]["checks"]):
        assert time.monotonic() < deadline, env.state()
        time.sleep(0.3)
    checks_before = len(env.state()["current"]["checks"])
    env.kill_controller()
    killed_at = time.time()
    time.sleep(3)
    assert env.weights()["blue"] == 40, "the canary keeps its split while nobody watches"
    env.start_controller()
    entry = env.wait_decision(version)
    assert entry["decision"] == "promoted", entry
    assert entry["checks"] > checks_before
    assert [h["version"] for h in env.state()["history"]].count(version) == 1
    promoted = [e for e in env.events() if e["metadata"]["name"] == f"{ENDPOINT}.{entry['id']}.releasepromoted"]
    assert len(promoted) == 1
    assert env.champion() == version and env.weights() == {"blue": 100, "green": 0}
    REPORT["killed_mid_canary"] = {
        "checks_before_kill": checks_before,
        "checks_total": entry["checks"],
        "restart_to_decision_seconds": round(entry["decided"] - killed_at, 1),
        "canary_to_decision_seconds": round(entry["decided"] - entry["canary_started"], 1),
        "promoted_events": len(promoted),
    }


def cli(env: Env, *args: str) -> str:
    """``python -m release ...`` as a person or CI runs it: same settings, same Role, its own process."""
    environ = {
        **os.environ,
        "RELEASE_CONFIG": str(env.work / "settings.json"),
        "KUBECONFIG": str(env.work / "kubeconfig"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "release", *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_person_rolls_back_the_last_promotion_by_hand(env: Env) -> None:
    promoted, previous = env.versions["resumed"], env.versions["better"]
    assert env.champion() == promoted and env.weights() == {"blue": 100, "green": 0}
    asked = time.time()
    assert cli(env, "rollback", ENDPOINT, "--reason", "complaints from the fraud team").strip() == "ok"
    deadline = time.monotonic() + 30
    while env.champion() != previous:
        assert time.monotonic() < deadline, env.log_tail()
        time.sleep(0.3)
    assert env.weights() == {"blue": 0, "green": 100}  # the previous champion was still loaded in green
    assert served(env, "green") > 0
    status = json.loads(cli(env, "status", ENDPOINT))
    assert status["history"][0]["decision"] == "reverted" and status["champion_version"] == previous
    reverted = [e for e in env.events() if e["reason"] == "ReleaseReverted"]
    assert len(reverted) == 1 and "complaints from the fraud team" in reverted[0]["message"]
    REPORT["rolled_back_by_hand"] = {"request_to_champion_moved_seconds": round(time.time() - asked, 1)}


def test_the_controller_used_exactly_the_roles_verbs_on_schema_valid_objects(env: Env) -> None:
    from release.kube import CALLS

    granted = {
        (v, g, r)
        for rule in role_rules(env.args)
        for v in rule["verbs"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert env.kube.denied == [] and env.kube.invalid == []
    assert env.kube.calls() == set(CALLS) == granted
    REPORT["kubernetes_calls"] = sorted(f"{v} {g or 'core'}/{r}" for v, g, r in env.kube.calls())
    REPORT["mlserver_starts"] = env.slots.starts
    results = env.driver.results
    REPORT["load_driver"] = {"requests": len(results), "errors": sum(1 for r in results if r["code"] != 200)}
