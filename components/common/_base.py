"""Helpers every component shares, kept in one place so that no component imports another's internals.

Two concerns live here:

* argument validation that collects *every* problem before anything is created, each message naming the
  property path and the bad value (``gpu_pools.inference.max_size: must be >= min_size (2), got 1``), so a
  user fixes a bad configuration in one round instead of one error per ``pulumi up``;
* the GPU scheduling contract (taint, node label, toleration, node selector) that node pools, the device
  plugin and every GPU workload must agree on. Defining it once is what keeps them agreeing.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# --- GPU scheduling contract -------------------------------------------------------------------------------

GPU_RESOURCE = "nvidia.com/gpu"
"""Extended resource name the NVIDIA device plugin advertises."""

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NoSchedule"
"""Every GPU node carries ``nvidia.com/gpu=present:NoSchedule`` so that only pods that ask for GPUs land there."""

GPU_NODE_LABEL = "nvidia.com/gpu.present"
"""Label set on every GPU node; the device plugin chart's default node affinity already accepts it."""

POOL_LABEL = "ml-platform.io/pool"
"""Label naming the node pool a node belongs to."""

ACCELERATOR_LABEL = "ml-platform.io/accelerator"
"""Label naming the GPU model of a node (``nvidia-a10g``, ``nvidia-l4``, ...)."""


def gpu_toleration() -> dict[str, str]:
    """The toleration every GPU workload carries (Kubernetes API form)."""
    return {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT}


def gpu_node_selector() -> dict[str, str]:
    """The node selector every GPU workload carries."""
    return {GPU_NODE_LABEL: "true"}


def gpu_node_affinity() -> dict[str, Any]:
    """A required node affinity equivalent to :func:`gpu_node_selector`, for charts that take an affinity."""
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": GPU_NODE_LABEL, "operator": "In", "values": ["true"]}]}
                ]
            }
        }
    }


# --- closed sets shared by several components ----------------------------------------------------------------


class Cloud(str, enum.Enum):
    """Where a cluster or node pool runs."""

    AWS = "aws"
    GCP = "gcp"
    EXISTING = "existing"


class Capacity(str, enum.Enum):
    """How node capacity is bought."""

    ON_DEMAND = "on-demand"
    SPOT = "spot"


class GpuSharing(str, enum.Enum):
    """How one physical GPU is shared between pods."""

    NONE = "none"
    """One pod per GPU."""
    TIME_SLICING = "time-slicing"
    """Several pods take turns on one GPU (no memory isolation); ``replicas`` pods per GPU."""
    MIG = "mig"
    """Multi-Instance GPU: the GPU is cut into isolated partitions of one ``profile`` (A100/H100 only)."""


# --- validation ---------------------------------------------------------------------------------------------


class ArgsError(ValueError):
    """Raised before any resource is created when arguments are invalid; carries every problem found."""

    def __init__(self, problems: Iterable[str], subject: str = "invalid arguments") -> None:
        self.problems = list(problems)
        self.subject = subject
        super().__init__(f"{subject}:\n" + "\n".join(f"  - {p}" for p in self.problems))


def show(value: Any) -> str:
    """Render a bad value the way the messages quote it: strings quoted, everything else as written."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return repr(value)
    return str(value)


@dataclass
class Problems:
    """Collects validation problems under a path prefix (``gpu_pools.inference``) and raises them together."""

    prefix: str = ""
    items: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    """How the caller spells argument names (``sharing_replicas`` -> ``sharing.replicas``): a program that builds
    the arguments from its own file reports problems with that file's key paths. Applies to this level only."""

    def path(self, name: str) -> str:
        head = name.split(".", 1)[0].split("[", 1)[0]
        if head in self.names:
            name = self.names[head] + name[len(head) :]
        if not name:
            return self.prefix  # a problem with the thing at this level itself (a name, say)
        return f"{self.prefix}.{name}" if self.prefix else name

    def add(self, name: str, message: str, got: Any) -> None:
        self.items.append(f"{self.path(name)}: {message}, got {show(got)}")

    def check(self, ok: bool, name: str, message: str, got: Any) -> None:
        if not ok:
            self.add(name, message, got)

    def at(self, name: str, names: dict[str, str] | None = None) -> Problems:
        """A collector for a nested path that appends to the same list (``names``: see :attr:`names`)."""
        return Problems(prefix=self.path(name), items=self.items, names=dict(names or {}))

    def raise_if_any(self, subject: str) -> None:
        if self.items:
            raise ArgsError(self.items, subject)


def merge_labels(*parts: dict[str, str] | None) -> dict[str, str]:
    """Merge label maps left to right (later wins)."""
    out: dict[str, str] = {}
    for part in parts:
        out.update(part or {})
    return out


# --- device plugin configuration, chosen per node ----------------------------------------------------------

DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
"""Node label the NVIDIA device plugin reads to pick one of its named configurations for that node."""


def device_plugin_config_name(sharing: GpuSharing, replicas: int = 1) -> str:
    """Name of the device plugin configuration that realises a sharing mode (pools label nodes with it)."""
    if sharing == GpuSharing.TIME_SLICING:
        return f"time-slicing-{replicas}"
    if sharing == GpuSharing.MIG:
        return "mig-single"
    return "exclusive"


def device_plugin_config(sharing: GpuSharing, replicas: int = 1) -> dict[str, Any]:
    """The device plugin's own config document (``version: v1``) for a sharing mode."""
    doc: dict[str, Any] = {
        "version": "v1",
        "flags": {"migStrategy": "single" if sharing == GpuSharing.MIG else "none"},
    }
    if sharing == GpuSharing.TIME_SLICING:
        doc["sharing"] = {"timeSlicing": {"resources": [{"name": GPU_RESOURCE, "replicas": replicas}]}}
    return doc


# --- labels that tie model servers, routes, scaling objects and monitoring together --------------------------

MODEL_LABEL = "ml-platform.io/model"
"""Model name of a serving workload (and of its Service, route, scaling and monitoring objects)."""

MODEL_VERSION_LABEL = "ml-platform.io/model-version"
"""Version name within the model (``v1``, ``challenger``...)."""

ENDPOINT_LABEL = "ml-platform.io/endpoint"
"""Endpoint (route) a model version serves behind."""

CRITICAL_LABEL = "ml-platform.io/critical"
"""``"true"`` for endpoints that must never scale to zero."""

MANAGED_BY_LABELS = {"app.kubernetes.io/managed-by": "ml-platform"}
"""Labels every Kubernetes object created by the platform carries."""


# --- cloud identity for pods ----------------------------------------------------------------------------------


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer: str, namespace: str, service_account: str) -> str:
    """IAM trust policy letting exactly one Kubernetes service account assume a role (IRSA), as JSON.

    ``oidc_issuer`` is the issuer without ``https://``. Pinning both ``sub`` and ``aud`` is what keeps every other
    pod in the cluster, and every other audience, from assuming the role.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{oidc_issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{oidc_issuer}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


# --- Helm releases ---------------------------------------------------------------------------------------------


def chart_release(
    resource_name: str,
    *,
    release_name: str,
    chart: str,
    version: str,
    repo: str | None,
    namespace: str,
    values: Any,
    opts: Any,
    timeout_seconds: int | None = None,
    create_namespace: bool | None = None,
) -> Any:
    """A pinned chart installed the platform's way: atomic, cleaned up on failure, so a bad upgrade rolls back.

    ``repo`` None means ``chart`` is a full reference (``oci://...``). ``timeout_seconds`` None keeps Helm's default.
    """
    import pulumi_kubernetes as k8s

    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        chart=chart,
        version=version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repo) if repo else None,
        namespace=namespace,
        create_namespace=create_namespace,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        timeout=timeout_seconds,
        opts=opts,
    )
