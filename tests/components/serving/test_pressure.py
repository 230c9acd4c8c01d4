"""Serving under pressure: the concurrency cap, batching, the warm-up gate, warm windows, the node cache, priority."""

from __future__ import annotations

import pytest

from components.common import ArgsError
from components.serving import (
    CRITICAL_INFERENCE_PRIORITY,
    INFERENCE_PRIORITY,
    WARMUP_SCRIPT,
    ModelEndpoint,
    ModelEndpointArgs,
    ModelVersion,
    WarmWindow,
    Weekday,
    build_objects,
    cache_key,
)
from tests import k8s_schemas

WARMUP = '{"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}'
OFFICE = WarmWindow(
    days=[Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI], start="08:00", end="18:00", replicas=2
)


def make(**kw) -> ModelEndpointArgs:
    base = dict(
        model_name="iris",
        versions=[
            ModelVersion(name="v1", storage_uri="s3://b/m/v1", weight=90),
            ModelVersion(name="v2", storage_uri="s3://b/m/v2", weight=10),
        ],
        api_key_secret="iris-api-keys",
    )
    base.update(kw)
    return ModelEndpointArgs(**base)


UNDER_PRESSURE = make(
    gpu_count=1,
    gpu_pool="inference",
    min_replicas=0,
    concurrency_limit=2,
    max_batch_size=8,
    max_batch_time_ms=20,
    warmup_request=WARMUP,
    warm_windows=[OFFICE, WarmWindow(days=[Weekday.SAT], start="10:00", end="12:30", replicas=1)],
    warm_timezone="Europe/Berlin",
    model_cache_gib=20,
)


def of_kind(args: ModelEndpointArgs, kind: str) -> list[dict]:
    return [o for o in build_objects("iris", args).objects if o["kind"] == kind]


def model_of(args: ModelEndpointArgs) -> dict:
    return of_kind(args, "InferenceService")[0]["spec"]["predictor"]["model"]


def env_of(args: ModelEndpointArgs) -> dict[str, str]:
    return {e["name"]: e["value"] for e in model_of(args)["env"]}


def problems_of(args: ModelEndpointArgs) -> list[str]:
    with pytest.raises(ArgsError) as err:
        ModelEndpoint("iris", args)
    return [p.removeprefix("iris.") for p in err.value.problems]


# --- cap and batching ---------------------------------------------------------------------------------------


def test_every_replica_is_capped_at_one_inference_by_default_and_batching_is_off() -> None:
    env = env_of(make())
    assert env["MLSERVER_PARALLEL_WORKERS"] == "1"
    assert "MLSERVER_MODEL_MAX_BATCH_SIZE" not in env and "MLSERVER_MODEL_MAX_BATCH_TIME" not in env


def test_cap_and_adaptive_batching_reach_mlserver_under_its_own_variable_names() -> None:
    env = env_of(UNDER_PRESSURE)
    assert env["MLSERVER_PARALLEL_WORKERS"] == "2"
    assert env["MLSERVER_MODEL_MAX_BATCH_SIZE"] == "8"
    assert env["MLSERVER_MODEL_MAX_BATCH_TIME"] == "0.02"  # MLServer reads seconds


def test_mlserver_reads_those_variables_as_the_settings_they_name(monkeypatch) -> None:
    pytest.importorskip("mlserver", reason="mlserver is not installed (make setup installs requirements-test.txt)")
    from mlserver.settings import ModelSettings, Settings

    for name, value in env_of(UNDER_PRESSURE).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MLSERVER_MODEL_IMPLEMENTATION", "mlserver_mlflow.MLflowRuntime")
    assert Settings().parallel_workers == 2
    model = ModelSettings()
    assert (model.max_batch_size, model.max_batch_time) == (8, 0.02)


# --- warm-up gate -------------------------------------------------------------------------------------------


def test_the_warm_up_gate_is_the_startup_probe_and_readiness_asks_for_this_model() -> None:
    model = model_of(UNDER_PRESSURE)
    startup = model["startupProbe"]
    assert startup["exec"]["command"] == ["python", "-c", WARMUP_SCRIPT]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= UNDER_PRESSURE.model_load_timeout_seconds
    # two warm-up inferences (one per worker) of up to 30 s each, plus the model-ready call
    assert startup["timeoutSeconds"] == 90
    assert model["readinessProbe"]["httpGet"] == {"path": "/v2/models/iris/ready", "port": 8080}
    env = env_of(UNDER_PRESSURE)
    assert env["ML_PLATFORM_WARMUP_REQUEST"] == WARMUP and env["ML_PLATFORM_WARMUP_COUNT"] == "2"


def test_without_a_warm_up_request_the_gate_waits_for_the_model_only() -> None:
    env = env_of(make())
    assert "ML_PLATFORM_WARMUP_REQUEST" not in env
    assert model_of(make())["startupProbe"]["timeoutSeconds"] == 5


# --- warm windows -------------------------------------------------------------------------------------------


def test_warm_windows_are_cron_triggers_next_to_the_reactive_one() -> None:
    so = of_kind(UNDER_PRESSURE, "ScaledObject")[0]
    assert so["spec"]["minReplicaCount"] == 0  # still scales to zero outside the windows
    assert [t["type"] for t in so["spec"]["triggers"]] == ["external-push", "cron", "cron"]
    assert so["spec"]["triggers"][1:] == [
        {
            "type": "cron",
            "name": "warm-0",
            "metadata": {
                "timezone": "Europe/Berlin",
                "start": "0 8 * * 1,2,3,4,5",
                "end": "0 18 * * 1,2,3,4,5",
                "desiredReplicas": "2",
            },
        },
        {
            "type": "cron",
            "name": "warm-1",
            "metadata": {
                "timezone": "Europe/Berlin",
                "start": "0 10 * * 6",
                "end": "30 12 * * 6",
                "desiredReplicas": "1",
            },
        },
    ]
    assert OFFICE.hours_per_week() == 50


def test_a_warm_endpoint_keeps_its_prometheus_trigger_first() -> None:
    so = of_kind(make(warm_windows=[OFFICE]), "ScaledObject")[0]
    assert [t["type"] for t in so["spec"]["triggers"]] == ["prometheus", "cron"]


# --- node cache and priority --------------------------------------------------------------------------------


def test_a_cached_version_mounts_its_pools_node_copy_instead_of_downloading() -> None:
    isvc = of_kind(UNDER_PRESSURE, "InferenceService")[0]
    model = isvc["spec"]["predictor"]["model"]
    # KServe mounts pvc://<claim>/<key> read-only at /mnt/models (subPath = key), no storage initializer
    assert model["storageUri"] == f"pvc://model-cache-inference/{cache_key('s3://b/m/v1')}"
    assert isvc["metadata"]["annotations"]["ml-platform.io/model-cache-source"] == "s3://b/m/v1"
    assert isvc["spec"]["predictor"]["nodeSelector"]["ml-platform.io/pool"] == "inference"
    assert "LocalModelCache" not in {o["kind"] for o in build_objects("iris", UNDER_PRESSURE).objects}
    uncached = of_kind(make(), "InferenceService")[0]
    assert uncached["spec"]["predictor"]["model"]["storageUri"] == "s3://b/m/v1"
    assert "ml-platform.io/model-cache-source" not in uncached["metadata"]["annotations"]


def test_priority_follows_criticality_unless_named() -> None:
    def priority(args: ModelEndpointArgs) -> str:
        return of_kind(args, "InferenceService")[0]["spec"]["predictor"]["priorityClassName"]

    assert priority(make()) == INFERENCE_PRIORITY
    assert priority(make(critical=True, min_replicas=2)) == CRITICAL_INFERENCE_PRIORITY
    assert priority(make(priority_class="team-a-gold")) == "team-a-gold"


# --- upstream schemas ---------------------------------------------------------------------------------------


def test_objects_under_pressure_validate_against_their_upstream_schemas() -> None:
    objs = build_objects("iris", UNDER_PRESSURE).objects
    assert {o["kind"] for o in objs} >= {"InferenceService", "ScaledObject", "InterceptorRoute"}
    assert [p for o in objs for p in k8s_schemas.validate_object(o, "1.35")] == []


# --- refusals -----------------------------------------------------------------------------------------------


def test_bad_settings_are_reported_together_with_key_and_value() -> None:
    bad = make(
        concurrency_limit=0,
        max_batch_size=4,
        max_batch_time_ms=0,
        warmup_request='{"instances": [1, 2]}',
        warmup_timeout_seconds=0,
        warm_timezone="Mars/Olympus",
        warm_windows=[
            WarmWindow(days=[], start="8:00", end="25:00", replicas=0),
            WarmWindow(days=[Weekday.MON], start="18:00", end="08:00", replicas=9),
        ],
        model_cache_gib=10,
        priority_class="Gold",
    )
    assert problems_of(bad) == [
        "concurrency_limit: must be >= 1 (MLServer parallel workers; each concurrent inference needs one), got 0",
        "max_batch_time_ms: must be > 0 exactly when max_batch_size > 1 (it is 4), got 0",
        'warmup_request: must be a v2 inference request in JSON ({"inputs": [{"name", "shape", "datatype", '
        '"data"}]}), got \'{"instances": [1, 2]}\'',
        "warmup_timeout_seconds: must be between 1 and model_load_timeout_seconds (600), got 0",
        "warm_timezone: must be an IANA time zone, got 'Mars/Olympus'",
        "warm_windows[0].days: must list at least one day, got []",
        "warm_windows[0].start: must be a time HH:MM (00:00-23:59), got '8:00'",
        "warm_windows[0].end: must be a time HH:MM (00:00-23:59), got '25:00'",
        "warm_windows[0].replicas: must be between 1 and max_replicas (3), got 0",
        "warm_windows[1].end: must be later than start (18:00); a window cannot cross midnight, split it in two, "
        "got '08:00'",
        "warm_windows[1].replicas: must be between 1 and max_replicas (3), got 9",
        "model_cache_gib: needs gpu_pool: the cache lives on the disks of one GPU pool's nodes, got 10",
        "priority_class: must be a DNS label, got 'Gold'",
    ]


def test_batching_time_without_size_is_refused() -> None:
    assert problems_of(make(max_batch_time_ms=5)) == [
        "max_batch_time_ms: must be > 0 exactly when max_batch_size > 1 (it is 1), got 5"
    ]
