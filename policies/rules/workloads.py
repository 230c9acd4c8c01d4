"""Rules over the pods a resource would run: resources and limits, GPU scheduling, pinned images, security context.

Why one extraction for every workload type: a Deployment, a CronJob, a KServe InferenceService and a KEDA
ScaledJob all end as pods, and a rule written per type would silently skip the next type someone adds.
:func:`pod_specs` finds every pod template a resource carries, wherever the type keeps it; the rules then judge
pods and containers only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .base import MANDATORY, UNKNOWN, Facts, Res, Rule, known, kubernetes_group_kind, matches_any, schema
from .base import mapping as _dict

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"

_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}
KSERVE_COMPONENTS = ("predictor", "transformer", "explainer")
KSERVE_MODEL_KEYS = (
    "model",
    "sklearn",
    "xgboost",
    "lightgbm",
    "pytorch",
    "tensorflow",
    "onnx",
    "triton",
    "huggingface",
    "pmml",
    "paddle",
)
"""Keys of a KServe component that hold one container-like spec (the model server)."""


@dataclass(frozen=True)
class Container:
    name: str
    spec: Mapping[str, Any]
    init: bool = False
    image_from_runtime: bool = False
    """A KServe model spec without ``image``: the image comes from the ServingRuntime (judged there)."""

    @property
    def label(self) -> str:
        return f"{'init container' if self.init else 'container'} {self.name!r}"


@dataclass(frozen=True)
class Pod:
    path: str
    """Where the pod spec sits in the resource (``spec.template.spec``)."""
    spec: Mapping[str, Any]
    containers: tuple[Container, ...]


def _containers(spec: Mapping[str, Any], extra: tuple[Container, ...] = ()) -> tuple[Container, ...]:
    out = list(extra)
    for key, init in (("initContainers", True), ("containers", False)):
        for n, c in enumerate(spec.get(key) or []):
            if isinstance(c, Mapping):
                out.append(Container(str(c.get("name") or f"#{n}"), c, init))
    return tuple(out)


def _kserve_pods(spec: Mapping[str, Any], prefix: str) -> Iterator[Pod]:
    for component in KSERVE_COMPONENTS:
        comp = _dict(spec.get(component))
        if not comp:
            continue
        servers = tuple(
            Container(
                key if key == "model" else f"{key} model", _dict(comp[key]), False, not _dict(comp[key]).get("image")
            )
            for key in KSERVE_MODEL_KEYS
            if isinstance(comp.get(key), Mapping)
        )
        yield Pod(f"{prefix}{component}", comp, _containers(comp, servers))
        worker = _dict(comp.get("workerSpec"))
        if worker:
            yield Pod(f"{prefix}{component}.workerSpec", worker, _containers(worker))


def pod_specs(res: Res) -> list[Pod]:
    """Every pod template in a resource (none for types that run no pods)."""
    group, kind = kubernetes_group_kind(res)
    spec = _dict(res.props.get("spec"))
    if not group:
        return []
    if kind == "Pod":
        return [Pod("spec", spec, _containers(spec))]
    if kind in _TEMPLATE_KINDS:
        pod = _dict(_dict(spec.get("template")).get("spec"))
        return [Pod("spec.template.spec", pod, _containers(pod))]
    if kind == "CronJob":
        pod = _dict(_dict(_dict(_dict(spec.get("jobTemplate")).get("spec")).get("template")).get("spec"))
        return [Pod("spec.jobTemplate.spec.template.spec", pod, _containers(pod))]
    if group == "serving.kserve.io" and kind == "InferenceService":
        pods = list(_kserve_pods(spec, "spec."))
        for n, canary in enumerate(spec.get("canary") or []):
            pods.extend(_kserve_pods(_dict(canary), f"spec.canary[{n}]."))
        return pods
    if group == "serving.kserve.io" and kind in ("ServingRuntime", "ClusterServingRuntime"):
        return [Pod("spec", spec, _containers(spec))]
    if group == "keda.sh" and kind == "ScaledJob":
        pod = _dict(_dict(_dict(spec.get("jobTargetRef")).get("template")).get("spec"))
        return [Pod("spec.jobTargetRef.template.spec", pod, _containers(pod))]
    return []


def _names(res: Res) -> list[str]:
    return [str(res.metadata.get("name") or ""), res.name]


# --- quantities -----------------------------------------------------------------------------------------------

_SUFFIX = {
    "m": 1e-3,
    "": 1,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity (``500m``, ``2Gi``, ``1``) as a number, or None when unreadable or unknown."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value or "").strip()
    if not text or text == UNKNOWN:
        return None
    for suffix in sorted(_SUFFIX, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            number, factor = text[: -len(suffix)], _SUFFIX[suffix]
            break
    else:
        number, factor = text, 1
    try:
        return float(number) * factor
    except ValueError:
        return None


def gpu_count(container: Container) -> float:
    res = _dict(container.spec.get("resources"))
    values = [quantity(_dict(res.get(k)).get(GPU_RESOURCE)) for k in ("limits", "requests")]
    return max([v for v in values if v is not None] or [0.0])


def pod_gpus(pod: Pod) -> float:
    """GPUs the pod asks for: the sum over containers, or the largest init container if that is more."""
    regular = sum(gpu_count(c) for c in pod.containers if not c.init)
    init = max([gpu_count(c) for c in pod.containers if c.init] or [0.0])
    return max(regular, init)


# --- container-resources --------------------------------------------------------------------------------------


def check_resources(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    needed = [("requests", "cpu"), ("requests", "memory"), ("limits", "memory")]
    if cfg["requireCpuLimit"]:
        needed.append(("limits", "cpu"))
    for pod in pod_specs(res):
        for c in pod.containers:
            resources = _dict(c.spec.get("resources"))
            if resources.get("requests") == UNKNOWN or resources.get("limits") == UNKNOWN:
                continue
            requests, limits = _dict(resources.get("requests")), _dict(resources.get("limits"))
            missing = [f"{kind}.{what}" for kind, what in needed if what not in _dict(resources.get(kind))]
            if missing:
                yield f"{res.label}: {c.label} in {pod.path} has no {', '.join(missing)}"
            for what in ("cpu", "memory"):
                req, lim = quantity(requests.get(what)), quantity(limits.get(what))
                if req is not None and lim is not None and req > lim:
                    yield (
                        f"{res.label}: {c.label} in {pod.path} requests more {what} than its limit "
                        f"({requests.get(what)} > {limits.get(what)})"
                    )
            if GPU_RESOURCE in requests or GPU_RESOURCE in limits:
                req, lim = requests.get(GPU_RESOURCE), limits.get(GPU_RESOURCE)
                if lim is None:
                    yield f"{res.label}: {c.label} in {pod.path} requests {GPU_RESOURCE} without a limit ({req})"
                elif req is not None and quantity(req) != quantity(lim):
                    yield (
                        f"{res.label}: {c.label} in {pod.path} must request as many {GPU_RESOURCE} as its limit "
                        f"(requests {req}, limits {lim})"
                    )


CONTAINER_RESOURCES = Rule(
    name="container-resources",
    description="Every container and init container sets CPU and memory requests and limits, requests <= limits, "
    "and GPU (nvidia.com/gpu) requests equal limits.",
    enforcement_level=MANDATORY,
    config_schema={
        "requireCpuLimit": schema("boolean", True, "Require a CPU limit (some teams drop it to avoid throttling)."),
    },
    check=check_resources,
)


# --- gpu-scheduling -------------------------------------------------------------------------------------------


def _tolerates(pod: Pod, key: str) -> bool:
    for t in pod.spec.get("tolerations") or []:
        t = _dict(t)
        effect_ok = t.get("effect") in (None, "", "NoSchedule")
        if t.get("operator") == "Exists" and t.get("key") in (None, "") and effect_ok:
            return True
        if t.get("key") == key and effect_ok and (t.get("operator") == "Exists" or t.get("value") == "present"):
            return True
    return False


def _selects(pod: Pod, labels: list[str]) -> bool:
    if any(k in labels for k in _dict(pod.spec.get("nodeSelector"))):
        return True
    required = _dict(
        _dict(_dict(pod.spec.get("affinity")).get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution")
    )
    terms = [_dict(t) for t in required.get("nodeSelectorTerms") or []]
    return bool(terms) and all(
        any(
            _dict(e).get("key") in labels and _dict(e).get("operator") in ("In", "Exists")
            for e in t.get("matchExpressions") or []
        )
        for t in terms
    )


def check_gpu_scheduling(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    for pod in pod_specs(res):
        gpus = pod_gpus(pod)
        if gpus <= 0:
            continue
        if not _tolerates(pod, cfg["taintKey"]):
            yield (
                f"{res.label}: {pod.path} asks for {gpus:g} {GPU_RESOURCE} but does not tolerate the GPU taint "
                f"{cfg['taintKey']}:NoSchedule, so it can never schedule on a GPU node"
            )
        if not _selects(pod, list(cfg["nodeLabels"])):
            yield (
                f"{res.label}: {pod.path} asks for {gpus:g} {GPU_RESOURCE} but selects no GPU nodes "
                f"(nodeSelector or required node affinity on one of {', '.join(cfg['nodeLabels'])})"
            )
        if gpus > cfg["maxGpusPerPod"]:
            yield (
                f"{res.label}: {pod.path} asks for {gpus:g} {GPU_RESOURCE}, "
                f"more than the {cfg['maxGpusPerPod']} allowed per pod"
            )


GPU_SCHEDULING = Rule(
    name="gpu-scheduling",
    description="A pod that asks for nvidia.com/gpu tolerates the GPU taint, selects GPU nodes, and asks for at most "
    "maxGpusPerPod GPUs.",
    enforcement_level=MANDATORY,
    config_schema={
        "maxGpusPerPod": schema("integer", 8, "Most GPUs one pod may ask for.", minimum=1),
        "taintKey": schema("string", GPU_TAINT_KEY, "Key of the taint every GPU node carries."),
        "nodeLabels": schema(
            "array",
            ["nvidia.com/gpu.present", "ml-platform.io/accelerator"],
            "Node labels that select GPU nodes (any one is enough).",
            items={"type": "string"},
        ),
    },
    check=check_gpu_scheduling,
)


# --- image-pinned ---------------------------------------------------------------------------------------------


def image_problem(image: str, require_digest: bool) -> str | None:
    """Why an image reference is not pinned, or None."""
    if "@sha256:" in image:
        return None
    if require_digest:
        return "is not pinned by digest (@sha256:...)"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (it would pull :latest)"
    if last.rsplit(":", 1)[1] in ("latest", ""):
        return "uses the moving tag 'latest'"
    return None


def check_images(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    for pod in pod_specs(res):
        for c in pod.containers:
            image = c.spec.get("image")
            if image is None and c.image_from_runtime:
                continue
            if not known(image) and image is not None:
                continue
            if not image:
                yield f"{res.label}: {c.label} in {pod.path} has no image"
                continue
            problem = image_problem(str(image), cfg["requireDigest"])
            if problem:
                yield f"{res.label}: {c.label} image {image!r} {problem}"


IMAGE_PINNED = Rule(
    name="image-pinned",
    description="Every container image is pinned: a tag other than 'latest', or a digest.",
    enforcement_level=MANDATORY,
    config_schema={"requireDigest": schema("boolean", False, "Accept only digests (@sha256:...), not tags.")},
    check=check_images,
)


# --- container-security ---------------------------------------------------------------------------------------

PRIVILEGED_EXCEPTIONS = [
    "nvidia-device-plugin*",
    "*dcgm-exporter*",
    "nvidia-gpu-feature-discovery*",
    "nvidia-mig-manager*",
]
"""Workloads that must run as root or privileged to reach GPU devices on the host: the NVIDIA device plugin
(registers devices with the kubelet), the DCGM exporter (reads GPU telemetry), GPU feature discovery and the MIG
manager. Matched (shell globs) against the workload's and the container's names."""


HOST_FOLDER_OWNERS = ["model-cache-*"]
"""Workloads that run as user 0 only to own a host folder the kubelet creates as root (the node model cache's
prefetchers, ``model-cache-<pool>``): root is allowed to them with every capability dropped, unprivileged and
without privilege escalation; everything else of the rule still applies."""


def _owns_host_folder(res: Res, c: Container, ctx: Mapping[str, Any]) -> bool:
    caps = _dict(ctx.get("capabilities"))
    return bool(
        matches_any([*_names(res), c.name], HOST_FOLDER_OWNERS)
        and "ALL" in (caps.get("drop") or [])
        and not caps.get("add")
        and ctx.get("privileged") is False
        and ctx.get("allowPrivilegeEscalation") is False
    )


def check_security(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    for pod in pod_specs(res):
        pod_ctx = _dict(pod.spec.get("securityContext"))
        for c in pod.containers:
            if matches_any([*_names(res), c.name], cfg["exceptions"]):
                continue
            ctx = _dict(c.spec.get("securityContext"))
            non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
            uid = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
            if UNKNOWN in (non_root, uid) or _owns_host_folder(res, c, ctx):
                pass  # decided at deployment; or root without any capability, to own a host folder
            elif non_root is not True and not (isinstance(uid, (int, float)) and uid > 0):
                yield f"{res.label}: {c.label} may run as root (set securityContext.runAsNonRoot: true)"
            elif isinstance(uid, (int, float)) and uid == 0:
                yield f"{res.label}: {c.label} runs as user 0 (root)"
            if ctx.get("privileged") is True:
                yield f"{res.label}: {c.label} is privileged"
            if ctx.get("allowPrivilegeEscalation", True) not in (False, UNKNOWN):
                yield (
                    f"{res.label}: {c.label} allows privilege escalation "
                    "(set securityContext.allowPrivilegeEscalation: false)"
                )


CONTAINER_SECURITY = Rule(
    name="container-security",
    description="Containers run as non-root, unprivileged, without privilege escalation. Named exceptions: the "
    "NVIDIA device plugin, the DCGM exporter, GPU feature discovery and the MIG manager "
    f"({', '.join(PRIVILEGED_EXCEPTIONS)}); the node model cache's prefetchers ({', '.join(HOST_FOLDER_OWNERS)}) "
    "may run as user 0 with every capability dropped.",
    enforcement_level=MANDATORY,
    config_schema={
        "exceptions": schema(
            "array",
            PRIVILEGED_EXCEPTIONS,
            "Workload or container names (shell globs) exempt from this rule.",
            items={"type": "string"},
        ),
    },
    check=check_security,
)

# --- helm-chart-pinned ----------------------------------------------------------------------------------------

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def check_chart(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    """CrossGuard cannot see the objects a Helm release renders (the provider renders them at apply time); what it
    can see is the chart and its version, and an unpinned chart makes every other check moot."""
    if res.type != HELM_RELEASE:
        return
    chart = str(res.props.get("chart") or "")
    if matches_any([chart, res.name], cfg["exceptions"]):
        return
    version = res.props.get("version")
    if version == UNKNOWN or (chart.startswith(("./", "/", "oci://")) and "@" in chart):
        return
    if not version or str(version).strip() in ("*", "latest") or any(c in str(version) for c in "^~><*x"):
        yield (
            f"{res.label}: chart {chart!r} is not pinned to an exact version (got {version!r}); an upgrade of the "
            f"chart would change what runs without a change in this program"
        )


HELM_CHART_PINNED = Rule(
    name="helm-chart-pinned",
    description="Every Helm release pins its chart to an exact version (CrossGuard cannot see inside a release; the "
    "offline schema checks of rendered values cover what is inside).",
    enforcement_level=MANDATORY,
    config_schema={
        "exceptions": schema(
            "array", [], "Chart or release names (shell globs) allowed to float.", items={"type": "string"}
        ),
    },
    check=check_chart,
)

RULES = [CONTAINER_RESOURCES, GPU_SCHEDULING, IMAGE_PINNED, CONTAINER_SECURITY, HELM_CHART_PINNED]
