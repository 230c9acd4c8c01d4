"""The ml-platform program: compose the components a stack's configuration asks for.

The order is the dependency order of the platform: the cluster layer first (cluster, GPU pools, device plugin),
then the layers that run on it. Every component's validation runs before the first resource is created, so a
bad stack file costs one preview and reports every problem at once.
"""

from __future__ import annotations

import pulumi

from components.common import ArgsError, Problems

from . import cluster, mlflow, observability, serving
from .config import ConfigError, StackConfig, parse_partial, read_raw


def problems_of(cfg: StackConfig) -> list[str]:
    """Every semantic problem the components find in this configuration."""
    problems = Problems()
    cluster.validate(cfg, problems)
    mlflow.validate(cfg, problems)
    serving.validate(cfg, problems)
    observability.validate(cfg, problems)
    return problems.items


def validate(cfg: StackConfig) -> None:
    """Raise :class:`ConfigError` with every semantic problem the components find in this configuration."""
    problems = problems_of(cfg)
    if problems:
        raise ConfigError(cfg.stack, problems)


def load() -> StackConfig:
    """The running stack's configuration, or :class:`ConfigError` with every shape and semantic problem at once."""
    stack, raw = read_raw()
    cfg, problems = parse_partial(stack, raw)
    if cfg is not None:
        problems = problems + problems_of(cfg)
    if problems or cfg is None:
        raise ConfigError(stack, problems)
    return cfg


def run(cfg: StackConfig) -> None:
    """Create the platform for one stack and export its outputs."""
    validate(cfg)
    try:
        layer = cluster.deploy(cfg)
        tracking = mlflow.deploy(cfg, layer)
        endpoints = serving.deploy(cfg, layer, tracking)
        observability.deploy(cfg, layer, tracking, endpoints)
    except ArgsError as exc:  # a component found something the config model let through
        raise ConfigError(cfg.stack, exc.problems) from None

    pulumi.export("environment", cfg.environment.value)
    pulumi.export("cloud", cfg.cloud.value)
    pulumi.export("cluster_name", layer.cluster_name)
    if layer.eks is not None:
        pulumi.export("kubeconfig", layer.eks.kubeconfig)
    if layer.gke is not None:
        pulumi.export("kubeconfig", layer.gke.kubeconfig)
    pulumi.export("gpu_pools", {name: pool.name for name, pool in layer.gpu_pools.items()})
