"""Every Kubernetes object any shipped stack renders is valid against its schema and schedules GPUs correctly."""

from __future__ import annotations

import pytest

from offline import render, runner
from tests import k8s_schemas
from tests.workloads import gpu_scheduling_problems

STACKS = runner.stack_names()


def objects(result) -> list[dict]:
    return [render.manifest(r) for r in result.registrations if render.is_kubernetes_object(r)]


def k8s_version(result) -> str:
    import json

    cluster = json.loads(result.config.get("ml-platform:cluster", "{}"))
    return cluster.get("kubernetes_version", "1.35")


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_validates_against_its_schema(stack_run, stack: str) -> None:
    result = stack_run(stack)
    objs = objects(result)
    problems = [p for o in objs for p in k8s_schemas.validate_object(o, k8s_version(result))]
    assert problems == []


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_workloads_tolerate_the_taint_and_select_gpu_nodes(stack_run, stack: str) -> None:
    problems = [p for o in objects(stack_run(stack)) for p in gpu_scheduling_problems(o)]
    assert problems == []


def test_the_gpu_check_catches_a_workload_without_toleration_or_selector() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "m"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "c", "image": "i:1", "resources": {"limits": {"nvidia.com/gpu": 1}}}]}
            }
        },
    }
    assert gpu_scheduling_problems(deployment) == [
        "Deployment m: spec.template.spec requests nvidia.com/gpu but does not tolerate the nvidia.com/gpu taint",
        "Deployment m: spec.template.spec requests nvidia.com/gpu but does not select GPU nodes "
        "(nvidia.com/gpu.present)",
    ]
    pod = deployment["spec"]["template"]["spec"]
    pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    pod["nodeSelector"] = {"nvidia.com/gpu.present": "true"}
    assert gpu_scheduling_problems(deployment) == []


def test_schema_validation_catches_a_bad_object() -> None:
    bad = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}, "spec": {"finalizers": "kubernetes"}}
    assert k8s_schemas.validate_object(bad, "1.35") != []


def test_crd_validation_catches_a_bad_custom_resource() -> None:
    bad = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "x"},
        "spec": {"scaleTargetRef": {"name": "d"}, "minReplicaCount": "zero", "triggers": []},
    }
    assert any("minReplicaCount" in p for p in k8s_schemas.validate_object(bad, "1.35"))


@pytest.mark.parametrize("stack", STACKS)
def test_helm_values_use_only_keys_the_charts_have(stack_run, stack: str) -> None:
    for reg in stack_run(stack).registrations:
        if reg.type == render.HELM_RELEASE:
            release = render.helm_release(reg)
            folder = k8s_schemas.CHART_FOLDERS.get(release["chart"])
            if folder is None:
                continue  # no upstream values saved for this chart (e.g. cert-manager)
            assert k8s_schemas.unknown_values_keys(release["values"], k8s_schemas.chart_values(folder)) == [], release[
                "name"
            ]
