"""Workload rules: resources and limits, GPU scheduling, pinned images, container security."""

from __future__ import annotations

import pytest

from policies.rules.workloads import (
    CONTAINER_RESOURCES,
    CONTAINER_SECURITY,
    GPU_SCHEDULING,
    IMAGE_PINNED,
    PRIVILEGED_EXCEPTIONS,
    pod_specs,
    quantity,
)
from tests.policies.builders import container, deployment, k8s, pod_spec, violations

# --- pod templates are found in every workload type ------------------------------------------------------------


@pytest.mark.parametrize(
    "kind,group,spec,path",
    [
        ("Pod", "core/v1", pod_spec(), "spec"),
        ("StatefulSet", "apps/v1", {"template": {"spec": pod_spec()}}, "spec.template.spec"),
        ("DaemonSet", "apps/v1", {"template": {"spec": pod_spec()}}, "spec.template.spec"),
        ("Job", "batch/v1", {"template": {"spec": pod_spec()}}, "spec.template.spec"),
        (
            "CronJob",
            "batch/v1",
            {"jobTemplate": {"spec": {"template": {"spec": pod_spec()}}}},
            "spec.jobTemplate.spec.template.spec",
        ),
        (
            "ScaledJob",
            "keda.sh/v1alpha1",
            {"jobTargetRef": {"template": {"spec": pod_spec()}}},
            "spec.jobTargetRef.template.spec",
        ),
        ("InferenceService", "serving.kserve.io/v1beta1", {"predictor": pod_spec()}, "spec.predictor"),
    ],
)
def test_pod_templates_are_found_in_every_workload_type(kind: str, group: str, spec: dict, path: str) -> None:
    pods = pod_specs(k8s(kind, "w", spec, group=group))
    assert [p.path for p in pods] == [path]
    assert [c.name for c in pods[0].containers] == ["server"]


def test_kserve_model_container_counts_as_a_container() -> None:
    isvc = k8s(
        "InferenceService",
        "iris",
        {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}},
        group="serving.kserve.io/v1beta1",
    )
    (pod,) = pod_specs(isvc)
    assert [(c.name, c.image_from_runtime) for c in pod.containers] == [("model", True)]
    assert violations(CONTAINER_RESOURCES, isvc) == [
        "[mandatory] container-resources: InferenceService serving/iris: container 'model' in spec.predictor has no "
        "requests.cpu, requests.memory, limits.memory, limits.cpu"
    ]
    assert violations(IMAGE_PINNED, isvc) == []  # the image comes from the ServingRuntime


def test_quantities() -> None:
    assert quantity("500m") == 0.5
    assert quantity("2Gi") == 2 * 2**30
    assert quantity(1) == 1.0
    assert quantity("[unknown]") is None


# --- container-resources ---------------------------------------------------------------------------------------


def test_resources_compliant() -> None:
    assert violations(CONTAINER_RESOURCES, deployment()) == []


def test_resources_missing_limits_and_requests() -> None:
    pod = pod_spec(container(cpu=None), initContainers=[container("fetch", memory=None)])
    assert violations(CONTAINER_RESOURCES, deployment(pod=pod)) == [
        "[mandatory] container-resources: Deployment serving/iris: init container 'fetch' in spec.template.spec has "
        "no requests.memory, limits.memory",
        "[mandatory] container-resources: Deployment serving/iris: container 'server' in spec.template.spec has no "
        "requests.cpu, limits.cpu",
    ]


def test_resources_missing_resources_block() -> None:
    c = container()
    del c["resources"]
    (message,) = violations(CONTAINER_RESOURCES, deployment(pod=pod_spec(c)))
    assert "has no requests.cpu, requests.memory, limits.memory, limits.cpu" in message


def test_resources_requests_above_limits() -> None:
    pod = pod_spec(container(cpu=("2", "1"), memory=("4Gi", "2Gi")))
    assert violations(CONTAINER_RESOURCES, deployment(pod=pod)) == [
        "[mandatory] container-resources: Deployment serving/iris: container 'server' in spec.template.spec requests "
        "more cpu than its limit (2 > 1)",
        "[mandatory] container-resources: Deployment serving/iris: container 'server' in spec.template.spec requests "
        "more memory than its limit (4Gi > 2Gi)",
    ]


def test_resources_gpu_requests_must_equal_limits() -> None:
    c = container(gpu=1)
    c["resources"]["requests"]["nvidia.com/gpu"] = 2
    (message,) = violations(CONTAINER_RESOURCES, deployment(pod=pod_spec(c, gpu_scheduling=True)))
    assert message.endswith("must request as many nvidia.com/gpu as its limit (requests 2, limits 1)")
    c = container()
    c["resources"]["requests"]["nvidia.com/gpu"] = 1
    (message,) = violations(CONTAINER_RESOURCES, deployment(pod=pod_spec(c, gpu_scheduling=True)))
    assert message.endswith("requests nvidia.com/gpu without a limit (1)")


def test_resources_config_override_drops_the_cpu_limit() -> None:
    pod = pod_spec(container(cpu=None))
    pod["containers"][0]["resources"]["requests"]["cpu"] = "500m"
    assert violations(CONTAINER_RESOURCES, deployment(pod=pod))
    assert violations(CONTAINER_RESOURCES, deployment(pod=pod), {"requireCpuLimit": False}) == []


def test_resources_unknown_during_preview_is_not_a_violation() -> None:
    c = container()
    c["resources"] = {"requests": "[unknown]", "limits": "[unknown]"}
    assert violations(CONTAINER_RESOURCES, deployment(pod=pod_spec(c))) == []


# --- gpu-scheduling -------------------------------------------------------------------------------------------


def test_gpu_scheduling_compliant() -> None:
    assert violations(GPU_SCHEDULING, deployment(pod=pod_spec(container(gpu=1), gpu_scheduling=True))) == []


def test_gpu_scheduling_node_affinity_counts_as_selection() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": "ml-platform.io/accelerator", "operator": "In", "values": ["nvidia-l4"]}
                        ]
                    }
                ]
            }
        }
    }
    pod = pod_spec(
        container(gpu=1),
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}],
        affinity=affinity,
    )
    assert violations(GPU_SCHEDULING, deployment(pod=pod)) == []


def test_gpu_scheduling_missing_toleration_and_selector() -> None:
    assert violations(GPU_SCHEDULING, deployment(pod=pod_spec(container(gpu=1)))) == [
        "[mandatory] gpu-scheduling: Deployment serving/iris: spec.template.spec asks for 1 nvidia.com/gpu but does "
        "not tolerate the GPU taint nvidia.com/gpu:NoSchedule, so it can never schedule on a GPU node",
        "[mandatory] gpu-scheduling: Deployment serving/iris: spec.template.spec asks for 1 nvidia.com/gpu but "
        "selects no GPU nodes (nodeSelector or required node affinity on one of nvidia.com/gpu.present, "
        "ml-platform.io/accelerator)",
    ]


def test_gpu_scheduling_too_many_gpus_and_config_override() -> None:
    pod = pod_spec(container("a", gpu=4), container("b", gpu=4), gpu_scheduling=True)
    assert violations(GPU_SCHEDULING, deployment(pod=pod)) == []
    assert violations(GPU_SCHEDULING, deployment(pod=pod), {"maxGpusPerPod": 4}) == [
        "[mandatory] gpu-scheduling: Deployment serving/iris: spec.template.spec asks for 8 nvidia.com/gpu, more "
        "than the 4 allowed per pod"
    ]


def test_gpu_scheduling_ignores_pods_without_gpus() -> None:
    assert violations(GPU_SCHEDULING, deployment(pod=pod_spec(container()))) == []


# --- image-pinned ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["ghcr.io/acme/iris:1.2.0", "localhost:5000/iris:v1", "python@sha256:" + "a" * 64])
def test_images_pinned(image: str) -> None:
    assert violations(IMAGE_PINNED, deployment(pod=pod_spec(container(image=image)))) == []


@pytest.mark.parametrize(
    "image,why",
    [
        ("ghcr.io/acme/iris:latest", "uses the moving tag 'latest'"),
        ("ghcr.io/acme/iris", "has no tag (it would pull :latest)"),
        ("localhost:5000/iris", "has no tag (it would pull :latest)"),
    ],
)
def test_images_not_pinned(image: str, why: str) -> None:
    assert violations(IMAGE_PINNED, deployment(pod=pod_spec(container(image=image)))) == [
        f"[mandatory] image-pinned: Deployment serving/iris: container 'server' image {image!r} {why}"
    ]


def test_image_missing() -> None:
    c = container()
    del c["image"]
    assert violations(IMAGE_PINNED, deployment(pod=pod_spec(c))) == [
        "[mandatory] image-pinned: Deployment serving/iris: container 'server' in spec.template.spec has no image"
    ]


def test_image_config_override_requires_digest() -> None:
    (message,) = violations(IMAGE_PINNED, deployment(), {"requireDigest": True})
    assert message.endswith("is not pinned by digest (@sha256:...)")


# --- container-security ---------------------------------------------------------------------------------------


def test_security_compliant() -> None:
    assert violations(CONTAINER_SECURITY, deployment()) == []


def test_security_missing_security_context() -> None:
    pod = pod_spec(container(security=None))
    del pod["securityContext"]
    assert violations(CONTAINER_SECURITY, deployment(pod=pod)) == [
        "[mandatory] container-security: Deployment serving/iris: container 'server' may run as root (set "
        "securityContext.runAsNonRoot: true)",
        "[mandatory] container-security: Deployment serving/iris: container 'server' allows privilege escalation "
        "(set securityContext.allowPrivilegeEscalation: false)",
    ]


def test_security_privileged_and_root() -> None:
    pod = pod_spec(container(security={"privileged": True, "runAsUser": 0, "allowPrivilegeEscalation": False}))
    assert violations(CONTAINER_SECURITY, deployment(pod=pod)) == [
        "[mandatory] container-security: Deployment serving/iris: container 'server' runs as user 0 (root)",
        "[mandatory] container-security: Deployment serving/iris: container 'server' is privileged",
    ]


def test_security_named_exceptions_are_listed_in_the_rule() -> None:
    assert "nvidia-device-plugin*" in CONTAINER_SECURITY.description
    assert "*dcgm-exporter*" in CONTAINER_SECURITY.description
    privileged = pod_spec(container("collector", security={"privileged": True}))
    del privileged["securityContext"]
    ds = k8s("DaemonSet", "nvidia-device-plugin", {"template": {"spec": privileged}})
    assert violations(CONTAINER_SECURITY, ds) == []
    dcgm = k8s("DaemonSet", "monitoring-dcgm-exporter", {"template": {"spec": privileged}})
    assert violations(CONTAINER_SECURITY, dcgm) == []
    other = k8s("DaemonSet", "log-shipper", {"template": {"spec": privileged}})
    assert len(violations(CONTAINER_SECURITY, other)) == 3
    assert CONTAINER_SECURITY.config()["exceptions"] == PRIVILEGED_EXCEPTIONS


def test_security_lets_the_model_cache_prefetcher_be_root_only_without_any_capability() -> None:
    from components.serving import ModelCacheArgs, prefetch_daemon_set

    rendered = prefetch_daemon_set(ModelCacheArgs(pools={"batch": 20}), "batch", ["s3://b/m"])
    ds = k8s("DaemonSet", "model-cache-batch", rendered["spec"], namespace="ml-platform-model-cache")
    assert violations(CONTAINER_SECURITY, ds) == []
    ctx = rendered["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    ctx["capabilities"] = {"drop": ["ALL"], "add": ["CHOWN"]}
    assert violations(CONTAINER_SECURITY, k8s("DaemonSet", "model-cache-batch", rendered["spec"])) == [
        "[mandatory] container-security: DaemonSet serving/model-cache-batch: container 'prefetch' may run as root "
        "(set securityContext.runAsNonRoot: true)"
    ]
    # the same root container under another name is refused
    ctx["capabilities"] = {"drop": ["ALL"]}
    assert len(violations(CONTAINER_SECURITY, k8s("DaemonSet", "log-shipper", rendered["spec"]))) == 1


def test_security_config_override_adds_an_exception() -> None:
    pod = pod_spec(container(security={"privileged": True, "allowPrivilegeEscalation": False}))
    assert violations(CONTAINER_SECURITY, deployment("node-tuner", pod=pod))
    assert violations(CONTAINER_SECURITY, deployment("node-tuner", pod=pod), {"exceptions": ["node-tuner"]}) == []


# --- helm-chart-pinned ----------------------------------------------------------------------------------------

from policies.rules.workloads import HELM_CHART_PINNED  # noqa: E402
from tests.policies.builders import res  # noqa: E402


def release(version=None, chart="kube-prometheus-stack"):
    props = {
        "chart": chart,
        "name": "monitoring",
        "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
    }
    if version is not None:
        props["version"] = version
    return res("kubernetes:helm.sh/v3:Release", "monitoring", props)


def test_helm_chart_pinned() -> None:
    assert violations(HELM_CHART_PINNED, release("77.0.1")) == []


def test_helm_chart_floating_or_missing_version() -> None:
    assert violations(HELM_CHART_PINNED, release("^77.0.0")) == [
        "[mandatory] helm-chart-pinned: kubernetes:helm.sh/v3:Release monitoring: chart 'kube-prometheus-stack' is not "
        "pinned to an exact version (got '^77.0.0'); an upgrade of the chart would change what runs without a change "
        "in this program"
    ]
    (message,) = violations(HELM_CHART_PINNED, release())
    assert "(got None)" in message


def test_helm_chart_config_override() -> None:
    assert violations(HELM_CHART_PINNED, release(), {"exceptions": ["kube-prometheus-*"]}) == []
