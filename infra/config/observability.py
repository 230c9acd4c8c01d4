"""Stack config for monitoring, alerting, dashboards and drift detection (``ml-platform:observability``).

The components own the defaults: a key left unset is left to them. Sizes (retention, disk, replicas) depart from
them per environment class because that is what differs between a laptop and production; thresholds default to
the platform's SLOs and can be tightened per stack or, for latency, per model.
The Grafana admin password is not here: it is the secret key ``ml-platform:grafana_admin_password`` (or a
generated password when unset), so that no stack file ever holds it in clear.
"""

from __future__ import annotations

import enum
from typing import ClassVar

import pydantic

from components.observability import AlertRulesArgs, DriftMonitorArgs, MonitoringStackArgs

from .base import Environment, EnvironmentDefaults, Feeds, Model


class ExporterInstall(str, enum.Enum):
    """Whether to install NVIDIA's dcgm-exporter."""

    AUTO = "auto"
    """On GPU pools of clouds that do not export DCGM metrics themselves (not on GKE, whose managed DCGM package
    does)."""
    ALWAYS = "always"
    NEVER = "never"


_DRIFT_KEYS = ("schedule", "threshold", "window_hours", "timestamp_column", "columns", "service_account")


class DriftModelConfig(Model):
    """One model whose inputs are checked for drift on a schedule."""

    feeds: ClassVar[Feeds] = {DriftMonitorArgs: {k: k for k in ("reference_uri", "current_uri", *_DRIFT_KEYS)}}

    reference_uri: str
    """Where the reference data (the training inputs) is: a CSV or Parquet file, ``s3://``, ``gs://`` or a path;
    ``{artifact_root}`` is replaced by the MLflow layer's artifact root. Required."""
    current_uri: str
    """Where the recent inputs are logged (same formats, or a folder of Parquet files). Required."""
    schedule: str | None = None
    """Cron schedule of the check (hourly)."""
    threshold: float | None = pydantic.Field(default=None, gt=0, le=1)
    """Share of drifted columns above which the ``ModelInputDrift`` alert fires."""
    window_hours: int | None = pydantic.Field(default=None, ge=1)
    """Only rows of the last N hours are compared (needs ``timestamp_column``)."""
    timestamp_column: str | None = None
    """Column holding each row's time; without it every row of ``current_uri`` is used."""
    columns: list[str] | None = None
    """Feature columns to compare; none: every column except the timestamp."""
    namespace: str | None = None
    """Namespace the check runs in. Default the observability namespace (not the component's own default)."""
    service_account: str | None = None
    """Service account with read access to the data (IRSA / Workload Identity). Default the namespace's default."""


class DriftConfig(Model):
    """``observability.drift``."""

    image: str | None = None
    """Image built from ``drift/Dockerfile`` (pinned tag or digest). Required when any model is listed."""
    models: dict[str, DriftModelConfig] = pydantic.Field(default_factory=dict)
    """Models with drift detection, by model name. Default none."""


_RULE_KEYS = (
    "latency_slo_ms",
    "latency_slo_ms_by_model",
    "error_rate_percent",
    "canary_latency_margin_percent",
    "gpu_memory_percent",
    "gpu_idle_percent",
    "gpu_idle_minutes",
    "scale_from_zero_budget_seconds",
)


class ObservabilityConfig(Model):
    """``ml-platform:observability``."""

    feeds: ClassVar[Feeds] = {
        MonitoringStackArgs: {
            k: k for k in ("namespace", "retention_days", "storage_gib", "storage_class", "prometheus_replicas")
        },
        AlertRulesArgs: {k: k for k in _RULE_KEYS},
    }
    environment_defaults: ClassVar[EnvironmentDefaults] = {
        Environment.LOCAL: {"retention_days": 1, "storage_gib": 0},
        Environment.STAGING: {"retention_days": 15, "storage_gib": 50},
        Environment.PROD: {"retention_days": 30, "storage_gib": 200, "prometheus_replicas": 2},
    }

    enabled: bool = False
    """Whether the stack has monitoring, alerting, dashboards and drift detection. Default False."""
    namespace: str | None = None
    """Namespace of Prometheus, Grafana, Alertmanager, the Pushgateway, dcgm-exporter, the rules and dashboards."""
    retention_days: int | None = pydantic.Field(default=None, ge=1)
    """Days of metrics Prometheus keeps."""
    storage_gib: int | None = pydantic.Field(default=None, ge=0)
    """Prometheus volume size in GiB; 0 keeps data on an emptyDir."""
    storage_class: str | None = None
    """Storage class of the Prometheus volume. Default the cluster's default class."""
    prometheus_replicas: int | None = pydantic.Field(default=None, ge=1, le=5)
    """Prometheus replicas."""
    dcgm_exporter: ExporterInstall = ExporterInstall.AUTO
    """Install dcgm-exporter on the GPU nodes: ``auto`` (not on GKE), ``always`` or ``never``. Default ``auto``."""
    latency_slo_ms: int | None = pydantic.Field(default=None, ge=1)
    """p95 latency SLO of every model version."""
    latency_slo_ms_by_model: dict[str, int] | None = None
    """Per-model p95 latency SLO overriding ``latency_slo_ms``."""
    error_rate_percent: float | None = pydantic.Field(default=None, gt=0, lt=100)
    """Error rate above which ``ModelHighErrorRate`` fires."""
    canary_latency_margin_percent: float | None = pydantic.Field(default=None, gt=0)
    """How much slower (p95) than the stable version a canary may be."""
    gpu_memory_percent: float | None = pydantic.Field(default=None, gt=0, le=100)
    """GPU framebuffer use above which ``GpuMemoryHigh`` fires."""
    gpu_idle_percent: float | None = pydantic.Field(default=None, ge=0, lt=100)
    """GPU utilisation under which an allocated GPU counts as idle."""
    gpu_idle_minutes: int | None = pydantic.Field(default=None, ge=5)
    """How long an allocated GPU must stay idle before ``GpuIdleWhileAllocated`` fires."""
    scale_from_zero_budget_seconds: int | None = pydantic.Field(default=None, ge=10)
    """Longest a model server may take from pod creation to ready (a GPU node may have to start)."""
    drift: DriftConfig = pydantic.Field(default_factory=DriftConfig)
    """Drift detection. Default none."""
