"""The platform's capacity pieces: the priority ladder, and KServe's node cache (charts, node groups, job identity)."""

from __future__ import annotations

import pytest

from components.common import ArgsError
from components.serving import (
    BATCH_PRIORITY,
    CRITICAL_INFERENCE_PRIORITY,
    INFERENCE_PRIORITY,
    MODEL_CACHE_JOB_NAMESPACE,
    ServingPlatform,
    ServingPlatformArgs,
    kserve_values,
    local_model_node_group,
    localmodel_values,
)
from offline import render
from tests import k8s_schemas
from tests.conftest import by_type

RELEASE = "kubernetes:helm.sh/v3:Release"
CACHED = ServingPlatformArgs(
    model_cache_pools={"inference": 200, "batch": 50},
    model_cache_job_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/model-reader"},
)


@pytest.fixture
def cached(mocked):
    return mocked.run(lambda: ServingPlatform("serving", CACHED))


def test_priority_classes_rank_critical_inference_over_inference_over_batch(mocked) -> None:
    regs = mocked.run(lambda: ServingPlatform("serving", ServingPlatformArgs()))
    classes = {
        r.inputs["metadata"]["name"]: r.inputs for r in by_type(regs, "kubernetes:scheduling.k8s.io/v1:PriorityClass")
    }
    assert set(classes) == {CRITICAL_INFERENCE_PRIORITY, INFERENCE_PRIORITY, BATCH_PRIORITY}
    values = [classes[n]["value"] for n in (CRITICAL_INFERENCE_PRIORITY, INFERENCE_PRIORITY, BATCH_PRIORITY)]
    assert values == sorted(values, reverse=True) and values[-1] > 0  # unclassed pods (0) rank below batch
    assert classes[BATCH_PRIORITY]["preemptionPolicy"] == "Never"  # batch waits, it never evicts
    assert not any(c["globalDefault"] for c in classes.values())
    # no cache asked for: nothing of KServe's local model machinery
    assert {r.inputs["name"] for r in by_type(regs, RELEASE)}.isdisjoint(
        {"kserve-localmodel-crd", "kserve-localmodel-resources"}
    )
    assert "localmodel" not in kserve_values(ServingPlatformArgs())["kserve"]


def test_cached_pools_install_kserves_local_model_charts_pinned_after_kserve(cached) -> None:
    releases = {r.inputs["name"]: r for r in by_type(cached, RELEASE)}
    for chart in ("kserve-localmodel-crd", "kserve-localmodel-resources"):
        assert releases[chart].inputs["chart"] == f"oci://ghcr.io/kserve/charts/{chart}"
        assert releases[chart].inputs["version"] == "v0.20.0"
    assert releases["kserve-localmodel-crd"].urn in releases["kserve-localmodel-resources"].depends_on
    assert releases["kserve-resources"].urn in releases["kserve-localmodel-resources"].depends_on
    assert kserve_values(CACHED)["kserve"]["localmodel"] == {"enabled": True, "jobNamespace": MODEL_CACHE_JOB_NAMESPACE}


def test_one_node_group_per_cached_pool_on_that_pools_nodes(cached) -> None:
    groups = {
        r.inputs["metadata"]["name"]: r
        for r in by_type(cached, "kubernetes:serving.kserve.io/v1alpha1:LocalModelNodeGroup")
    }
    assert set(groups) == {"inference", "batch"}
    spec = groups["inference"].inputs["spec"]
    assert spec["storageLimit"] == "200Gi" and spec["persistentVolumeSpec"]["capacity"] == {"storage": "200Gi"}
    # the KServe node agent's DaemonSet keeps models in the host folder /models
    assert spec["persistentVolumeSpec"]["local"] == {"path": "/models"}
    term = spec["persistentVolumeSpec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]
    assert term == {"matchExpressions": [{"key": "ml-platform.io/pool", "operator": "In", "values": ["inference"]}]}
    crd = next(r for r in by_type(cached, RELEASE) if r.inputs["name"] == "kserve-localmodel-crd")
    assert crd.urn in groups["batch"].depends_on


def test_the_download_jobs_get_the_bucket_identity(cached) -> None:
    patch = by_type(cached, "kubernetes:core/v1:ServiceAccountPatch")[0]
    assert patch.inputs["metadata"] == {
        "name": "default",
        "namespace": MODEL_CACHE_JOB_NAMESPACE,
        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/model-reader"},
    }
    namespace = next(
        r
        for r in by_type(cached, "kubernetes:core/v1:Namespace")
        if r.inputs["metadata"]["name"] == MODEL_CACHE_JOB_NAMESPACE
    )
    assert namespace.urn in patch.depends_on


def test_the_node_agent_runs_only_on_the_cached_pools_gpu_nodes() -> None:
    controller = localmodel_values("v0.20.0", ["inference", "batch"])["kserve"]["localmodelnode"]["controller"]
    assert controller["nodeSelector"] == {"kserve/localmodel": None}  # drops the chart's default label selector
    assert controller["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    terms = controller["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["batch", "inference"]


def test_core_objects_validate_and_values_keys_exist(cached) -> None:
    core = [
        render.manifest(r)
        for r in cached
        if render.is_kubernetes_object(r)
        and r.type.split(":")[1].split("/")[0] in ("core", "scheduling.k8s.io", "storage.k8s.io")
    ]
    assert {o["kind"] for o in core} >= {"PriorityClass", "StorageClass", "ServiceAccount", "Namespace"}
    assert [p for o in core for p in k8s_schemas.validate_object(o, "1.35")] == []
    assert k8s_schemas.unknown_values_keys(kserve_values(CACHED), k8s_schemas.chart_values("kserve-resources")) == []


def test_node_group_and_local_model_chart_values_against_upstream() -> None:
    group = local_model_node_group("inference", 200, {})
    assert k8s_schemas.validate_object(group, "1.35") == []
    values = localmodel_values("v0.20.0", ["inference"])
    assert k8s_schemas.unknown_values_keys(values, k8s_schemas.chart_values("kserve-localmodel-resources")) == []


def test_bad_cache_pools_are_refused() -> None:
    with pytest.raises(ArgsError) as err:
        ServingPlatform("serving", ServingPlatformArgs(model_cache_pools={"GPU_pool": 0}))
    assert err.value.problems == [
        "serving.model_cache_pools.GPU_pool: pool name must be a DNS label, got 'GPU_pool'",
        "serving.model_cache_pools.GPU_pool: must be >= 1 GiB, got 0",
    ]
