"""The locked-down security context every container and pod of the platform runs with, written once.

Written out by hand in each workload, the contexts drift apart: one forgets ``readOnlyRootFilesystem``, another
the seccomp profile, and nothing notices, because a container runs just as well with more rights than it needs.
Here they are value objects rendered in one place, so every workload gets the same restricted set (the
Kubernetes Pod Security Standard "restricted", plus a read-only root filesystem). A process that must write gets
a :class:`ScratchDir` (an ``emptyDir``) at the path it writes, never a writable root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RUNTIME_DEFAULT_SECCOMP = {"type": "RuntimeDefault"}


def _non_root(run_as_user: int | None, run_as_group: int | None) -> dict[str, Any]:
    """``runAsNonRoot`` with the UID and GID where set: the part pod and container contexts share."""
    context: dict[str, Any] = {"runAsNonRoot": True}
    if run_as_user is not None:
        context["runAsUser"] = run_as_user
    if run_as_group is not None:
        context["runAsGroup"] = run_as_group
    return context


@dataclass(frozen=True)
class ContainerSecurity:
    """A container's ``securityContext``: non-root, no privilege escalation, no capabilities, read-only root.

    Complete on its own (it restates ``runAsNonRoot`` and the seccomp profile the pod sets too), so a container
    stays locked down when a chart or an operator copies it into a pod of its own.
    """

    run_as_user: int | None = None
    """UID to run as; None keeps the image's (which ``runAsNonRoot`` still requires to be non-zero)."""
    run_as_group: int | None = None
    """GID to run as; None keeps the image's."""

    def render(self) -> dict[str, Any]:
        """Kubernetes API form."""
        context = _non_root(self.run_as_user, self.run_as_group)
        context.update(
            {
                "allowPrivilegeEscalation": False,
                "privileged": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": dict(RUNTIME_DEFAULT_SECCOMP),
            }
        )
        return context


@dataclass(frozen=True)
class PodSecurity:
    """A pod's ``securityContext``: non-root and the runtime's default seccomp profile for every container."""

    run_as_user: int | None = None
    """UID for every container; None keeps each image's."""
    run_as_group: int | None = None
    """GID for every container; None keeps each image's."""
    fs_group: int | None = None
    """Group that owns mounted volumes, so a non-root process can write its data volume; None leaves them."""

    def render(self) -> dict[str, Any]:
        """Kubernetes API form."""
        context = _non_root(self.run_as_user, self.run_as_group)
        if self.fs_group is not None:
            context["fsGroup"] = self.fs_group
        context["seccompProfile"] = dict(RUNTIME_DEFAULT_SECCOMP)
        return context


@dataclass(frozen=True)
class ScratchDir:
    """A writable ``emptyDir`` at the one path a process writes, under a read-only root filesystem."""

    path: str = "/tmp"
    """Where it is mounted."""
    name: str = "tmp"
    """Volume name within the pod."""
    size_limit: str = "1Gi"
    """Most it may hold; the kubelet evicts the pod beyond it rather than let it fill the node's disk."""

    def volume(self) -> dict[str, Any]:
        """The pod's volume entry."""
        return {"name": self.name, "emptyDir": {"sizeLimit": self.size_limit}}

    def mount(self) -> dict[str, Any]:
        """The container's volume mount."""
        return {"name": self.name, "mountPath": self.path}
