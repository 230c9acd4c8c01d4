"""Synthetic resources in the engine's form (type token, camelCase inputs) for the rule tests."""

from __future__ import annotations

import copy
from typing import Any

from policies.rules.base import Facts, Res, Rule

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
GPU_SELECTOR = {"nvidia.com/gpu.present": "true"}
PROD = Facts(environment="prod", region="us-east-1")
DEV = Facts(environment="dev", region="us-west-2")


def urn(typ: str, name: str) -> str:
    return f"urn:pulumi:test::ml-platform::{typ}::{name}"


def res(typ: str, name: str, props: dict[str, Any], protect: bool = False, deps: tuple[str, ...] = ()) -> Res:
    return Res(typ, name, urn(typ, name), props, protect, "", deps)


def container(
    name: str = "server",
    image: str = "ghcr.io/acme/iris:1.2.0",
    cpu: Any = ("500m", "1"),
    memory: Any = ("1Gi", "2Gi"),
    gpu: int | None = None,
    security: Any = "default",
) -> dict[str, Any]:
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if cpu:
        requests["cpu"], limits["cpu"] = cpu
    if memory:
        requests["memory"], limits["memory"] = memory
    if gpu:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = gpu
    c: dict[str, Any] = {"name": name, "image": image, "resources": {"requests": requests, "limits": limits}}
    if security == "default":
        c["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    elif security is not None:
        c["securityContext"] = security
    return c


def pod_spec(*containers: dict[str, Any], gpu_scheduling: bool = False, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
        "containers": list(containers) or [container()],
    }
    if gpu_scheduling:
        spec["tolerations"] = [GPU_TOLERATION]
        spec["nodeSelector"] = dict(GPU_SELECTOR)
    spec.update(extra)
    return spec


def k8s(
    kind: str,
    name: str,
    spec: dict[str, Any],
    namespace: str = "serving",
    group: str = "apps/v1",
    labels: dict[str, str] | None = None,
) -> Res:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    typ = f"kubernetes:{group}:{kind}"
    return res(typ, name, {"metadata": meta, "spec": spec})


def deployment(name: str = "iris", pod: dict[str, Any] | None = None, namespace: str = "serving") -> Res:
    return k8s("Deployment", name, {"replicas": 2, "template": {"spec": pod or pod_spec()}}, namespace)


def with_props(r: Res, **changes: Any) -> Res:
    props = copy.deepcopy(dict(r.props))
    props.update(changes)
    return Res(r.type, r.name, r.urn, props, r.protect, r.parent, r.dependencies)


def violations(rule: Rule, target: Any, config: dict[str, Any] | None = None, facts: Facts = DEV) -> list[str]:
    """Violations as the preview prints them: ``[level] rule: message``."""
    return [f"[{rule.enforcement_level}] {rule.name}: {m}" for m, _ in rule.run(target, config, facts)]
