"""The observability layer of the program: monitoring, alerting, dashboards and drift detection.

It composes :class:`MonitoringStack`, :class:`ScrapeTargets`, :class:`AlertRules`, :class:`Dashboards` and one
:class:`DriftMonitor` per model with drift enabled. What it reads from the other layers (MLflow's pods, the serving
layer's gateway and KEDA namespaces) goes through :func:`peers` alone, typed by the layers' own dataclasses.
Node-pool prices for the cost rules come from the cost model (``cost/prices.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pulumi

from components.cluster import GpuNodePoolArgs
from components.common import MODEL_LABEL, Capacity, Cloud, Problems
from components.observability import (
    DASHBOARD_LABEL,
    MLFLOW_JOB,
    AlertRules,
    AlertRulesArgs,
    ClusterDns,
    Dashboards,
    DashboardsArgs,
    DriftMonitor,
    DriftMonitorArgs,
    MonitoringStack,
    MonitoringStackArgs,
    ScrapeTargets,
    ScrapeTargetsArgs,
)
from cost.prices import UnknownPrice, settings_from_config
from cost.reference import reference_per_1k

from . import cluster
from .cluster import ClusterLayer
from .config import (
    PROJECT,
    Environment,
    GpuPoolConfig,
    StackConfig,
    args_kwargs,
    component_default,
    key_paths,
)
from .config.base import effective
from .config.observability import DriftModelConfig, ExporterInstall, ObservabilityConfig
from .mlflow import ARTIFACT_ROOT, MlflowLayer, with_artifact_root
from .secret_keys import GRAFANA_ADMIN_PASSWORD_KEY
from .serving import ServingEndpoint, ServingLayer

PLACEHOLDER_PUSHGATEWAY = "http://prometheus-pushgateway.monitoring.svc:9091"
"""Placeholder in a drift model's data URIs for the MLflow layer's artifact root (as in serving's storage URIs)."""


@dataclass
class ObservabilityLayer:
    """What the observability layer created (for exports and for programs that import it)."""

    stack: MonitoringStack
    rules: AlertRules
    dashboards: Dashboards
    drift: dict[str, DriftMonitor] = field(default_factory=dict)


@dataclass(frozen=True)
class Peers:
    """What the observability layer needs from the MLflow and serving layers."""

    mlflow_namespace: str | None = None
    mlflow_pod_labels: dict[str, str] = field(default_factory=dict)
    mlflow_port: int | None = None
    """Port of MLflow's ``/metrics`` (None: no MLflow layer; the scrape component's default stands)."""
    mlflow_basic_auth_secret: str | None = None
    gateway_namespace: str | None = None
    keda_namespace: str | None = None
    interceptor_namespace: str | None = None
    models: frozenset[str] | None = None
    """Models the serving layer serves (None: no serving layer, nothing to compare with)."""


def peers(tracking: MlflowLayer | None, endpoints: ServingLayer | None) -> Peers:
    """What this layer reads of the MLflow and serving layers (None when the stack has no such layer)."""
    mlflow = Peers()
    if tracking is not None:
        mlflow = Peers(
            mlflow_namespace=tracking.namespace,
            mlflow_pod_labels=dict(tracking.pod_labels),
            mlflow_port=tracking.metrics_port or tracking.port,
            mlflow_basic_auth_secret=tracking.auth_secret_name if tracking.basic_auth else None,
        )
    if endpoints is None:
        return mlflow
    return replace(
        mlflow,
        models=frozenset(name for e in endpoints.endpoints for name in served_models(e)),
        gateway_namespace=endpoints.gateway_namespace,
        keda_namespace=endpoints.keda_namespace,
        interceptor_namespace=endpoints.interceptor_namespace or endpoints.namespace,
    )


def served_models(endpoint: ServingEndpoint) -> set[str]:
    """The model names an endpoint's versions are labelled with (the endpoint's name where a label is missing)."""
    return {v.labels.get(MODEL_LABEL) or endpoint.name for v in endpoint.versions} or {endpoint.name}


def _capacity(pool: GpuPoolConfig) -> Capacity:
    """How the pool buys its nodes: the stack file's choice or the node pool component's default."""
    return pool.capacity or component_default(GpuNodePoolArgs, "capacity")


SYSTEM_POOL = "system"
"""``ml-platform.io/pool`` of the system nodes (both clouds), where CPU model pods run."""


def _system_node_type(cfg: StackConfig) -> str | None:
    if cfg.cloud == Cloud.AWS:
        return cluster.eks_args(cfg).system_nodes_instance_type
    if cfg.cloud == Cloud.GCP:
        return cluster.gke_args(cfg).system_nodes_instance_type
    return None  # an existing cluster: its owner pays for its nodes


def reference_figures(cfg: StackConfig) -> dict[str, float]:
    """The FinOps report's cost per 1,000 inferences for this stack's node types (system nodes on-demand, GPU
    pools as bought), for the cost dashboard; empty until ``make finops`` has published them."""
    nodes = {pool.instance_type: _capacity(pool) == Capacity.SPOT for pool in cfg.gpu_pools.values()}
    system = _system_node_type(cfg)
    if system is not None:
        nodes[system] = False
    return reference_per_1k(nodes)


def pool_prices(cfg: StackConfig, problems: Problems | None = None) -> dict[str, float]:
    """Hourly price of one node of each node pool (the GPU pools and the on-demand system pool), from the cost
    model and the stack's ``cost.price_overrides`` (unknown prices reported to ``problems``)."""
    table = settings_from_config(cfg.cost.model_dump(exclude_none=True)).prices  # with the stack's price overrides
    prices: dict[str, float] = {}
    system = _system_node_type(cfg)
    if system is not None:
        try:
            prices[SYSTEM_POOL] = table.instance_hourly(cfg.cloud.value, cfg.region, system)
        except UnknownPrice as exc:
            if problems is not None:
                problems.add("cluster.system_nodes.instance_type", f"has no price for the cost rules ({exc})", system)
    for name, pool in cfg.gpu_pools.items():
        try:
            prices[name] = table.instance_hourly(
                cfg.cloud.value, cfg.region, pool.instance_type, spot=_capacity(pool) == Capacity.SPOT
            )
        except UnknownPrice as exc:
            if problems is not None:
                problems.add(
                    f"gpu_pools.{name}.instance_type", f"has no price for the cost rules ({exc})", pool.instance_type
                )
    return prices


def dcgm_wanted(cfg: StackConfig) -> bool:
    """dcgm-exporter goes on GPU pools, except on GKE (its managed DCGM package exports the same metrics)."""
    mode = cfg.observability.dcgm_exporter
    if mode != ExporterInstall.AUTO:
        return mode == ExporterInstall.ALWAYS
    return cfg.cloud == Cloud.AWS and bool(cfg.gpu_pools)


PROMETHEUS_MEMORY_GIB = {Environment.LOCAL: 1, Environment.PROD: 4}
"""Where an environment class departs from the component's Prometheus memory (not a stack-file key)."""


def stack_args(cfg: StackConfig, password: pulumi.Input[str] | None = None) -> MonitoringStackArgs:
    o = cfg.observability.for_environment(cfg.environment)
    memory = PROMETHEUS_MEMORY_GIB.get(cfg.environment)
    departures: dict[str, Any] = {"prometheus_memory_gib": memory} if memory is not None else {}
    return MonitoringStackArgs(
        grafana_admin_password=password,
        dcgm_exporter=dcgm_wanted(cfg),
        cluster_dns=ClusterDns.KUBE_DNS if cfg.cloud == Cloud.GCP else ClusterDns.COREDNS,
        **departures,
        **args_kwargs(o, MonitoringStackArgs, nested=False),
    )


def monitoring_namespace(cfg: StackConfig) -> str:
    """Where the monitoring stack runs; rules, scrape objects, dashboards and drift checks go there too."""
    return stack_args(cfg).namespace


def rules_args(cfg: StackConfig, p: Peers, selector: dict[str, str], prices: dict[str, float]) -> AlertRulesArgs:
    return AlertRulesArgs(
        mlflow_job=MLFLOW_JOB if p.mlflow_namespace else None,
        pool_hourly_prices_usd=prices,
        namespace=monitoring_namespace(cfg),
        selector_labels=selector,
        **args_kwargs(cfg.observability, AlertRulesArgs, nested=False),
    )


def scrape_args(cfg: StackConfig, p: Peers, selector: dict[str, str]) -> ScrapeTargetsArgs:
    return ScrapeTargetsArgs(
        namespace=monitoring_namespace(cfg),
        selector_labels=selector,
        mlflow_namespace=p.mlflow_namespace,
        mlflow_pod_labels=p.mlflow_pod_labels,
        **({"mlflow_port": p.mlflow_port} if p.mlflow_port is not None else {}),
        mlflow_basic_auth_secret=p.mlflow_basic_auth_secret,
        gateway_namespace=p.gateway_namespace,
        keda_namespace=p.keda_namespace,
        interceptor_namespace=p.interceptor_namespace,
        model_servers=p.models is not None,
        release_controller_namespace=(
            effective(cfg.serving.platform, "namespace")
            if cfg.serving.enabled and any(e.release is not None for e in cfg.serving.endpoints.values())
            else None
        ),
    )


def drift_args(
    cfg: StackConfig,
    model: str,
    d: DriftModelConfig,
    pushgateway_url: str,
    artifact_root: pulumi.Input[str] | None = None,
) -> DriftMonitorArgs:
    return DriftMonitorArgs(
        model=model,
        image=cfg.observability.drift.image or "",
        pushgateway_url=pushgateway_url,
        namespace=d.namespace or monitoring_namespace(cfg),
        **{
            **args_kwargs(d, DriftMonitorArgs),
            "reference_uri": with_artifact_root(d.reference_uri, artifact_root),
            "current_uri": with_artifact_root(d.current_uri, artifact_root),
        },
    )


def _password_problems(problems: Problems) -> None:
    from pulumi.runtime import config as runtime_config

    key = f"{PROJECT}:{GRAFANA_ADMIN_PASSWORD_KEY}"
    if runtime_config.get_config(key) is not None and not runtime_config.is_config_secret(key):
        problems.items.append(
            f"{GRAFANA_ADMIN_PASSWORD_KEY}: must be a secret (pulumi config set --secret {key} <password>), "
            "got a plaintext value"
        )


def validate(cfg: StackConfig, problems: Problems) -> None:
    """Append every problem with ``cfg.observability`` to ``problems`` (key paths start with ``observability.``)."""
    o = cfg.observability
    if not o.enabled:
        return
    _password_problems(problems)
    at = problems.at("observability")
    stack_args(cfg).validate(problems.at("observability", key_paths(ObservabilityConfig, MonitoringStackArgs)))
    prices = pool_prices(cfg, problems)
    rules_args(cfg, Peers(), {}, prices).validate(
        problems.at("observability", key_paths(ObservabilityConfig, AlertRulesArgs))
    )
    if o.drift.models and not o.drift.image:
        at.add("drift.image", "is required when drift.models is set (build drift/Dockerfile)", None)
    for model, d in o.drift.models.items():
        args = drift_args(cfg, model, d, PLACEHOLDER_PUSHGATEWAY, artifact_root="s3://artifact-root")
        if o.drift.image:
            args.validate(at.at(f"drift.models.{model}", key_paths(DriftModelConfig, DriftMonitorArgs)))
        for key, uri in (("reference_uri", d.reference_uri), ("current_uri", d.current_uri)):
            if ARTIFACT_ROOT in uri and not cfg.mlflow.enabled:
                at.add(
                    f"drift.models.{model}.{key}",
                    f"uses {ARTIFACT_ROOT} but the stack has no MLflow layer (mlflow.enabled: false)",
                    uri,
                )


def unserved(cfg: StackConfig, p: Peers) -> list[str]:
    """Models named in the observability config (drift, per-model SLOs) that no endpoint serves."""
    if p.models is None:
        return []
    named = set(cfg.observability.drift.models) | set(cfg.observability.latency_slo_ms_by_model or {})
    return sorted(named - p.models)


def deploy(
    cfg: StackConfig,
    layer: ClusterLayer,
    tracking: MlflowLayer | None = None,
    endpoints: ServingLayer | None = None,
) -> ObservabilityLayer | None:
    """Create the observability layer on the cluster layer; None when the stack has none."""
    o = cfg.observability
    if not o.enabled:
        return None
    provider = pulumi.ResourceOptions(provider=layer.provider)
    password = pulumi.Config(PROJECT).get_secret(GRAFANA_ADMIN_PASSWORD_KEY)
    stack = MonitoringStack("monitoring", stack_args(cfg, password), opts=provider)
    after = pulumi.ResourceOptions(provider=layer.provider, depends_on=[stack.release])
    p = peers(tracking, endpoints)
    for model in unserved(cfg, p):
        pulumi.log.warn(f"observability: {model!r} is configured for monitoring but no endpoint serves it")
    selector = stack.selector_labels
    ScrapeTargets("scrape", scrape_args(cfg, p, selector), opts=after)
    rules = AlertRules("ml-platform", rules_args(cfg, p, selector, pool_prices(cfg)), opts=after)
    dashboards = Dashboards(
        "dashboards",
        DashboardsArgs(
            namespace=stack.namespace, sidecar_label=DASHBOARD_LABEL, reference_per_1k_usd=reference_figures(cfg)
        ),
        opts=after,
    )
    out = ObservabilityLayer(stack=stack, rules=rules, dashboards=dashboards)
    for model, d in o.drift.models.items():
        out.drift[model] = DriftMonitor(
            f"drift-{model}",
            drift_args(
                cfg,
                model,
                d,
                stack.pushgateway_url or PLACEHOLDER_PUSHGATEWAY,
                tracking.artifact_root if tracking is not None else None,
            ),
            opts=after,
        )
    pulumi.export("grafana_admin_password", stack.grafana_admin_password)
    pulumi.export("prometheus_url", stack.prometheus_url)
    return out
