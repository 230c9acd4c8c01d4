"""The ml-platform program: compose the components a stack's configuration asks for.

The order is the dependency order of the platform: the cluster layer first (cluster, GPU pools, device plugin),
then the layers that run on it. Every component's validation runs before the first resource is created, so a
bad stack file costs one preview and reports every problem at once.
"""

from __future__ import annotations

import pulumi

from components.common import ArgsError, Problems
from cost import prices

from . import cluster, mlflow, observability, serving
from .config import PROJECT, SECRET_KEYS, ConfigError, StackConfig, inputs, parse_partial, read_raw


def problems_of(cfg: StackConfig) -> list[str]:
    """Every semantic problem in this configuration: values a cloud or Kubernetes would refuse, secrets in
    plain text, and what the components find, each under the stack file's key path."""
    problems = Problems()
    problems.items.extend(inputs.problems(cfg) + inputs.secret_problems(SECRET_KEYS, PROJECT))
    cluster.validate(cfg, problems)
    mlflow.validate(cfg, problems)
    serving.validate(cfg, problems)
    observability.validate(cfg, problems)
    return inputs.user_facing(problems.items)


def validate(cfg: StackConfig) -> None:
    """Raise :class:`ConfigError` with every semantic problem the components find in this configuration."""
    problems = problems_of(cfg)
    if problems:
        raise ConfigError(cfg.stack, problems)


def price_table_problems() -> list[str]:
    """What is wrong with the cost model's price table (``cost/prices.yaml``), which the program prices pools with."""
    try:
        prices.check_table()
    except prices.PriceTableError as exc:
        return exc.problems
    return []


def load() -> StackConfig:
    """The running stack's configuration, or :class:`ConfigError` with every shape and semantic problem at once."""
    stack, raw = read_raw()
    cfg, problems = parse_partial(stack, raw)
    table_problems = price_table_problems()
    if table_problems:  # the components' checks price the pools: they wait for a usable table
        raise ConfigError(stack, table_problems + problems)
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
