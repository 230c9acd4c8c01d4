"""The locked-down security contexts: their exact form, and that every container the platform writes uses them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from components.common import ContainerSecurity, PodSecurity, ScratchDir

RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_container_security_is_the_restricted_set_plus_a_read_only_root() -> None:
    assert ContainerSecurity().render() == RESTRICTED
    assert ContainerSecurity(run_as_user=1000, run_as_group=2000).render() == {
        **RESTRICTED,
        "runAsUser": 1000,
        "runAsGroup": 2000,
    }


def test_renders_are_independent_copies() -> None:
    first = ContainerSecurity().render()
    first["capabilities"]["drop"].append("NOTHING")
    first["seccompProfile"]["type"] = "Unconfined"
    assert ContainerSecurity().render() == RESTRICTED
    pod = PodSecurity().render()
    pod["seccompProfile"]["type"] = "Unconfined"
    assert PodSecurity().render()["seccompProfile"] == {"type": "RuntimeDefault"}


def test_pod_security() -> None:
    assert PodSecurity().render() == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert PodSecurity(run_as_user=10001, run_as_group=10001, fs_group=1000).render() == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def test_scratch_dir() -> None:
    scratch = ScratchDir()
    assert scratch.volume() == {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}
    assert scratch.mount() == {"name": "tmp", "mountPath": "/tmp"}


def containers(obj: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every container spec in a Kubernetes object or Helm values, with where it was found."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for i, c in enumerate(value):
                    yield f"{where}.{key}[{i}]", c
            elif key == "model" and isinstance(value, dict) and "modelFormat" in value:  # InferenceService
                yield f"{where}.model", value
            elif key == "containerSecurityContext":  # a chart's container, as Helm values set it
                yield f"{where}.containerSecurityContext", {"securityContext": value}
            else:
                yield from containers(value, f"{where}.{key}")
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from containers(item, f"{where}[{i}]")


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "gke-dev", "local"])
def test_every_container_of_a_shipped_stack_runs_locked_down(stack: str, stack_run) -> None:
    found = {}
    for reg in stack_run(stack).registrations:
        for where, container in containers(reg.inputs, reg.name):
            found[where] = container.get("securityContext") or {}
    assert found, "no containers found: the walk is broken"
    # The one named exception: the node model cache's prefetchers own a host folder the kubelet creates as root,
    # so they run as user 0, with every other restriction (no capability at all).
    host_folder_owners = {w for w in found if w.startswith("model-cache-") and ".containers[" in w}
    loose = {
        where: ctx
        for where, ctx in found.items()
        if {k: ctx.get(k) for k in RESTRICTED}
        != {**RESTRICTED, **({"runAsNonRoot": False} if where in host_folder_owners else {})}
    }
    assert loose == {}
    assert all(found[w]["runAsUser"] == 0 for w in host_folder_owners)


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_every_read_only_container_has_its_scratch_dir(stack: str, stack_run) -> None:
    """Each pod we write in full mounts a writable /tmp for the processes that need one."""
    checked = 0
    for reg in stack_run(stack).registrations:
        for where, container in containers(reg.inputs, reg.name):
            if "image" in container:
                assert {"name": "tmp", "mountPath": "/tmp"} in container.get("volumeMounts", []), where
                checked += 1
    assert checked >= 2
