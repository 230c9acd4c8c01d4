"""Rules over model servers on GPUs: a GPU model server must cap how many inferences it runs at once.

Why a rule and not only the component's default: average GPU memory looks healthy until concurrent requests push
one pod over the edge, and only a cap on concurrent inferences per replica (MLServer's parallel workers, each with
its own copy of the model) keeps the peak bounded. The serving component always sets the cap; this rule stops an
InferenceService written elsewhere, or a cap removed by hand, from reaching a GPU pool without one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .base import MANDATORY, UNKNOWN, Facts, Res, Rule, kubernetes_group_kind, schema
from .base import mapping as _dict
from .workloads import gpu_count, pod_specs

CAP_ENV = "MLSERVER_PARALLEL_WORKERS"


def _env(spec: Mapping[str, Any], name: str) -> Any:
    for item in spec.get("env") or []:
        item = _dict(item)
        if item.get("name") == name:
            return item.get("value", UNKNOWN if "valueFrom" in item else None)
    return None


def check_concurrency_cap(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    group, kind = kubernetes_group_kind(res)
    if (group, kind) != ("serving.kserve.io", "InferenceService"):
        return
    env_name = cfg["capEnv"]
    for pod in pod_specs(res):
        for c in pod.containers:
            if c.init or gpu_count(c) <= 0:
                continue
            value = _env(c.spec, env_name)
            if value == UNKNOWN:
                continue
            try:
                cap = int(str(value))
            except ValueError:
                cap = 0
            if value is None or cap < 1:
                yield (
                    f"{res.label}: {c.label} in {pod.path} runs on a GPU with no concurrency cap (set {env_name} to "
                    f"1..{cfg['maxConcurrency']}, got {value!r}); concurrent requests can push the pod out of GPU "
                    "memory"
                )
            elif cap > cfg["maxConcurrency"]:
                yield (
                    f"{res.label}: {c.label} in {pod.path} allows {cap} concurrent inferences on a GPU "
                    f"({env_name}), more than the {cfg['maxConcurrency']} allowed"
                )


GPU_CONCURRENCY_CAP = Rule(
    name="gpu-concurrency-cap",
    description="A KServe InferenceService whose model server asks for nvidia.com/gpu caps its concurrent "
    "inferences per replica (MLSERVER_PARALLEL_WORKERS between 1 and maxConcurrency).",
    enforcement_level=MANDATORY,
    config_schema={
        "maxConcurrency": schema("integer", 8, "Most concurrent inferences one GPU replica may run.", minimum=1),
        "capEnv": schema("string", CAP_ENV, "Variable of the model container that carries the cap."),
    },
    check=check_concurrency_cap,
)

RULES = [GPU_CONCURRENCY_CAP]
