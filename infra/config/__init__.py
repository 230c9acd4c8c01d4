"""The stack configuration as one typed, validated object.

A stack file (``stacks/Pulumi.<stack>.yaml``) holds values only. :func:`parse` reads every ``ml-platform:`` key
and the provider keys the platform needs (``aws:region``, ``gcp:project``, ``gcp:region``) once, validates them
all together and returns a :class:`StackConfig`, or raises :class:`ConfigError` listing every problem, each with
its key path and bad value. Nothing after this point reads raw configuration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pydantic

from components.cluster import EksClusterArgs, GkeClusterArgs, GpuNodePoolArgs
from components.common import Cloud
from components.mlflow import MlflowArgs

from ..secret_keys import PREVIEW_SECRET_KEYS, PROJECT, SECRET_KEYS
from .base import Environment, Feeds, Model, args_kwargs, component_default, describe, key_paths
from .cluster import ClusterConfig, DevicePluginConfig, GpuPoolConfig, SharingConfig, SystemNodes
from .cost import CostConfig
from .mlflow import MlflowConfig
from .observability import ObservabilityConfig
from .serving import ServingConfig

__all__ = [
    "PREVIEW_SECRET_KEYS",
    "SECRET_KEYS",
    "ClusterConfig",
    "ConfigError",
    "DevicePluginConfig",
    "Environment",
    "GpuPoolConfig",
    "SharingConfig",
    "StackConfig",
    "SystemNodes",
    "args_kwargs",
    "component_default",
    "key_paths",
    "parse",
    "parse_partial",
    "read_raw",
]


class ConfigError(Exception):
    """Every problem with a stack's configuration; its text is what the user sees."""

    def __init__(self, stack: str, problems: list[str]) -> None:
        self.stack = stack
        self.problems = problems
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(
            f"stack {stack!r} has {len(problems)} configuration {noun}:\n" + "\n".join(f"  - {p}" for p in problems)
        )


class StackConfig(Model):
    """Everything one stack configures. Keys are the stack file's ``ml-platform:<key>`` names."""

    feeds: ClassVar[Feeds] = {
        EksClusterArgs: {"tags": "tags"},
        GkeClusterArgs: {"tags": "tags", "region": "region", "project": "project"},
        GpuNodePoolArgs: {"tags": "tags", "cloud": "cloud"},
        MlflowArgs: {"tags": "tags", "region": "region", "project": "project", "cloud": "cloud"},
    }

    stack: str
    """Stack name (from Pulumi, not from the file)."""
    environment: Environment
    """``local``, ``dev``, ``staging`` or ``prod``. Required."""
    cloud: Cloud
    """``aws``, ``gcp`` or ``existing``. Required."""
    region: str | None = None
    """From ``aws:region`` or ``gcp:region``; required on those clouds."""
    project: str | None = None
    """From ``gcp:project``; required on GCP."""
    cluster: ClusterConfig = pydantic.Field(default_factory=ClusterConfig)
    """The cluster. Defaults as documented on :class:`ClusterConfig`."""
    gpu_pools: dict[str, GpuPoolConfig] = pydantic.Field(default_factory=dict)
    """GPU node pools by name. Default none."""
    device_plugin: DevicePluginConfig = pydantic.Field(default_factory=DevicePluginConfig)
    """The NVIDIA device plugin."""
    mlflow: MlflowConfig = pydantic.Field(default_factory=MlflowConfig)
    """MLflow tracking server and model registry."""
    serving: ServingConfig = pydantic.Field(default_factory=ServingConfig)
    """Model serving endpoints."""
    observability: ObservabilityConfig = pydantic.Field(default_factory=ObservabilityConfig)
    """Monitoring, alerting, dashboards, drift detection."""
    cost: CostConfig = pydantic.Field(default_factory=CostConfig)
    """Cost model overrides and the monthly budget."""
    tags: dict[str, str] | None = None
    """Tags (AWS) or labels (GCP) on every cloud resource."""

    @pydantic.model_validator(mode="after")
    def _cloud_keys(self) -> StackConfig:
        if self.cloud == Cloud.AWS and not self.region:
            raise ValueError("region: is required on aws (set aws:region), got None")
        if self.cloud == Cloud.GCP and not (self.region and self.project):
            missing = "gcp:region" if not self.region else "gcp:project"
            raise ValueError(
                f"{'region' if not self.region else 'project'}: is required on gcp (set {missing}), got None"
            )
        if self.cloud == Cloud.EXISTING and self.gpu_pools:
            raise ValueError(
                "gpu_pools: an existing cluster brings its own nodes; declare no GPU pools, "
                f"got {sorted(self.gpu_pools)}"
            )
        return self

    @property
    def cluster_name(self) -> str:
        return self.cluster.name or f"mlp-{self.stack}"


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to programs as JSON text; plain strings stay strings."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _document(stack: str, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    doc: dict[str, Any] = {"stack": stack}
    problems: list[str] = []
    known = set(StackConfig.model_fields) - {"stack", "region", "project"}
    for key, value in raw.items():
        namespace, _, name = key.partition(":")
        if namespace == PROJECT:
            if name in SECRET_KEYS:
                continue
            if name not in known:
                problems.append(f"{name}: is not a known key (check its spelling), got {key!r}")
                continue
            doc[name] = _decode(value)
        elif key in ("aws:region", "gcp:region"):
            doc["region"] = _decode(value)
        elif key == "gcp:project":
            doc["project"] = _decode(value)
    return doc, problems


def _hint(message: str) -> str:
    """Point a missing top-level key at the command that sets it."""
    name = message.split(":", 1)[0]
    if message.endswith("is required but not set") and name in StackConfig.model_fields:
        return f"{message} (pulumi config set {PROJECT}:{name} <value>)"
    return message


def parse_partial(stack: str, raw: Mapping[str, Any]) -> tuple[StackConfig | None, list[str]]:
    """Parse what can be parsed: the config with every invalid part left out (or None), and the problems found.

    Leaving out only the invalid parts lets the program still run the components' own checks on the rest, so
    one run reports shape errors and semantic errors together.
    """
    doc, problems = _document(stack, raw)
    try:
        return StackConfig.model_validate(doc), problems
    except pydantic.ValidationError as exc:
        errors = exc.errors()
    problems.extend(_hint(describe(e)) for e in errors)
    pruned = dict(doc)
    for error in errors:
        loc = error.get("loc") or ()
        if not loc or loc[0] in ("stack", "environment", "cloud", "region", "project"):
            return None, problems
        if loc[0] == "gpu_pools" and len(loc) > 1 and isinstance(pruned.get("gpu_pools"), dict):
            pruned["gpu_pools"] = {k: v for k, v in pruned["gpu_pools"].items() if k != loc[1]}
        else:
            pruned.pop(str(loc[0]), None)
    try:
        return StackConfig.model_validate(pruned), problems
    except pydantic.ValidationError:
        return None, problems


def parse(stack: str, raw: Mapping[str, Any]) -> StackConfig:
    """Validate a stack's raw config (``{"ml-platform:cluster": ..., "aws:region": ...}``) into a model."""
    config, problems = parse_partial(stack, raw)
    if problems or config is None:
        raise ConfigError(stack, problems)
    return config


def read_raw() -> tuple[str, dict[str, Any]]:
    """The running program's stack name and raw configuration (under the Pulumi CLI or the offline preview)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    raw = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    return pulumi.get_stack(), raw
