"""Serving rules: a GPU model server caps its concurrent inferences."""

from __future__ import annotations

import pytest

from components.serving import ModelEndpointArgs, ModelVersion, build_objects
from policies.rules.base import UNKNOWN, Res
from policies.rules.serving import GPU_CONCURRENCY_CAP
from tests.policies.builders import container, deployment, k8s, pod_spec, violations


def isvc(env: list[dict] | None, gpu: int | None = 1) -> Res:
    model = container("kserve-container", gpu=gpu)
    model.pop("image")
    model["modelFormat"] = {"name": "mlflow"}
    if env is not None:
        model["env"] = env
    predictor = pod_spec(gpu_scheduling=bool(gpu))
    predictor.pop("containers")
    predictor["model"] = model
    return k8s("InferenceService", "fraud-v1", {"predictor": predictor}, group="serving.kserve.io/v1beta1")


def test_a_gpu_model_server_without_a_cap_is_refused() -> None:
    assert violations(GPU_CONCURRENCY_CAP, isvc(None)) == [
        "[mandatory] gpu-concurrency-cap: InferenceService serving/fraud-v1: container 'model' in spec.predictor "
        "runs on a GPU with no concurrency cap (set MLSERVER_PARALLEL_WORKERS to 1..8, got None); concurrent "
        "requests can push the pod out of GPU memory"
    ]


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_cap_below_one_is_no_cap(value: str) -> None:
    found = violations(GPU_CONCURRENCY_CAP, isvc([{"name": "MLSERVER_PARALLEL_WORKERS", "value": value}]))
    assert len(found) == 1 and f"got {value!r}" in found[0]


def test_a_cap_above_the_maximum_is_refused_and_the_maximum_is_configurable() -> None:
    res = isvc([{"name": "MLSERVER_PARALLEL_WORKERS", "value": "12"}])
    assert violations(GPU_CONCURRENCY_CAP, res) == [
        "[mandatory] gpu-concurrency-cap: InferenceService serving/fraud-v1: container 'model' in spec.predictor "
        "allows 12 concurrent inferences on a GPU (MLSERVER_PARALLEL_WORKERS), more than the 8 allowed"
    ]
    assert violations(GPU_CONCURRENCY_CAP, res, {"maxConcurrency": 16}) == []


def test_capped_cpu_unknown_and_non_kserve_workloads_pass() -> None:
    assert violations(GPU_CONCURRENCY_CAP, isvc([{"name": "MLSERVER_PARALLEL_WORKERS", "value": "2"}])) == []
    assert violations(GPU_CONCURRENCY_CAP, isvc(None, gpu=None)) == []  # CPU: no GPU memory to protect
    assert violations(GPU_CONCURRENCY_CAP, isvc([{"name": "MLSERVER_PARALLEL_WORKERS", "value": UNKNOWN}])) == []
    gpu_deployment = deployment(pod=pod_spec(container(gpu=1), gpu_scheduling=True))
    assert violations(GPU_CONCURRENCY_CAP, gpu_deployment) == []


def test_every_gpu_endpoint_the_component_renders_passes() -> None:
    args = ModelEndpointArgs(
        model_name="fraud",
        versions=[ModelVersion(name="v1", storage_uri="s3://b/fraud/v1", weight=100)],
        api_key_secret="fraud-api-keys",
        gpu_count=1,
        gpu_pool="inference",
        concurrency_limit=2,
    )
    obj = next(o for o in build_objects("fraud", args).objects if o["kind"] == "InferenceService")
    res = k8s("InferenceService", "fraud-v1", obj["spec"], group="serving.kserve.io/v1beta1")
    assert violations(GPU_CONCURRENCY_CAP, res) == []
