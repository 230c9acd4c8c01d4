"""Find pod specs in rendered objects and check the GPU scheduling contract on them.

A workload that asks for ``nvidia.com/gpu`` must tolerate the GPU taint (or it never schedules) and select GPU
nodes (or, with the toleration alone, it may hold a CPU node while the autoscaler never adds a GPU one).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from components.common import GPU_NODE_LABEL, GPU_RESOURCE, GPU_TAINT_EFFECT, GPU_TAINT_KEY


def pod_specs(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(where, pod-spec-like dict, containers) for every pod template in a Kubernetes object."""
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Pod":
        yield "spec", spec, spec.get("containers", []) + spec.get("initContainers", [])
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        pod = (spec.get("template") or {}).get("spec") or {}
        yield "spec.template.spec", pod, pod.get("containers", []) + pod.get("initContainers", [])
    elif kind == "CronJob":
        pod = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec") or {}
        yield "spec.jobTemplate.spec.template.spec", pod, pod.get("containers", []) + pod.get("initContainers", [])
    elif kind == "InferenceService":
        for part in ("predictor", "transformer", "explainer"):
            comp = spec.get(part)
            if comp:
                containers = list(comp.get("containers", []))
                if comp.get("model"):
                    containers.append(comp["model"])
                yield f"spec.{part}", comp, containers


def requests_gpu(containers: list[dict[str, Any]]) -> bool:
    for c in containers:
        res = c.get("resources") or {}
        if GPU_RESOURCE in (res.get("limits") or {}) or GPU_RESOURCE in (res.get("requests") or {}):
            return True
    return False


def gpu_scheduling_problems(obj: dict[str, Any]) -> list[str]:
    name = f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name')}"
    out = []
    for where, pod, containers in pod_specs(obj):
        if not requests_gpu(containers):
            continue
        tolerated = any(
            t.get("key") == GPU_TAINT_KEY
            and t.get("effect") in (GPU_TAINT_EFFECT, None)
            and (t.get("operator") == "Exists" or t.get("value") == "present")
            for t in pod.get("tolerations") or []
        )
        if not tolerated:
            out.append(f"{name}: {where} requests {GPU_RESOURCE} but does not tolerate the {GPU_TAINT_KEY} taint")
        selected = (pod.get("nodeSelector") or {}).get(GPU_NODE_LABEL) == "true" or any(
            e.get("key") == GPU_NODE_LABEL
            for term in (
                ((pod.get("affinity") or {}).get("nodeAffinity") or {}).get(
                    "requiredDuringSchedulingIgnoredDuringExecution"
                )
                or {}
            ).get("nodeSelectorTerms", [])
            for e in term.get("matchExpressions", [])
        )
        if not selected:
            out.append(f"{name}: {where} requests {GPU_RESOURCE} but does not select GPU nodes ({GPU_NODE_LABEL})")
    return out
