"""Stack config for monitoring, alerting, dashboards and drift detection (``ml-platform:observability``).

Sizes (retention, disk, replicas) default per environment class because that is what differs between a laptop and
production; thresholds default to the platform's SLOs and can be tightened per stack or, for latency, per model.
The Grafana admin password is not here: it is the secret key ``ml-platform:grafana_admin_password`` (or a
generated password when unset), so that no stack file ever holds it in clear.
"""

from __future__ import annotations

import enum

import pydantic

from .base import Environment, Model


class ExporterInstall(str, enum.Enum):
    """Whether to install NVIDIA's dcgm-exporter."""

    AUTO = "auto"
    """On GPU pools of clouds that do not export DCGM metrics themselves (not on GKE, whose managed DCGM package
    does)."""
    ALWAYS = "always"
    NEVER = "never"


class DriftModelConfig(Model):
    """One model whose inputs are checked for drift on a schedule."""

    reference_uri: str
    """Where the reference data (the training inputs) is: a CSV or Parquet file, ``s3://``, ``gs://`` or a path;
    ``{artifact_root}`` is replaced by the MLflow layer's artifact root. Required."""
    current_uri: str
    """Where the recent inputs are logged (same formats, or a folder of Parquet files). Required."""
    schedule: str = "0 * * * *"
    """Cron schedule of the check. Default hourly."""
    threshold: float = pydantic.Field(default=0.3, gt=0, le=1)
    """Share of drifted columns above which the ``ModelInputDrift`` alert fires. Default 0.3."""
    window_hours: int = pydantic.Field(default=24, ge=1)
    """Only rows of the last N hours are compared (needs ``timestamp_column``). Default 24."""
    timestamp_column: str | None = None
    """Column holding each row's time; without it every row of ``current_uri`` is used. Default none."""
    columns: list[str] = pydantic.Field(default_factory=list)
    """Feature columns to compare. Default every column except the timestamp."""
    namespace: str | None = None
    """Namespace the check runs in. Default the observability namespace."""
    service_account: str | None = None
    """Service account with read access to the data (IRSA / Workload Identity). Default the namespace's default."""


class DriftConfig(Model):
    """``observability.drift``."""

    image: str | None = None
    """Image built from ``drift/Dockerfile`` (pinned tag or digest). Required when any model is listed."""
    models: dict[str, DriftModelConfig] = pydantic.Field(default_factory=dict)
    """Models with drift detection, by model name. Default none."""


class ObservabilityConfig(Model):
    """``ml-platform:observability``."""

    enabled: bool = False
    """Whether the stack has monitoring, alerting, dashboards and drift detection. Default False."""
    namespace: str = "monitoring"
    """Namespace of Prometheus, Grafana, Alertmanager, the Pushgateway and dcgm-exporter. Default ``monitoring``."""
    retention_days: int | None = pydantic.Field(default=None, ge=1)
    """Days of metrics Prometheus keeps. Default 1 (local), 7 (dev), 15 (staging), 30 (prod)."""
    storage_gib: int | None = pydantic.Field(default=None, ge=0)
    """Prometheus volume size in GiB; 0 keeps data on an emptyDir.
    Default 0 (local), 20 (dev), 50 (staging), 200 (prod)."""
    storage_class: str | None = None
    """Storage class of the Prometheus volume. Default the cluster's default class."""
    prometheus_replicas: int | None = pydantic.Field(default=None, ge=1, le=5)
    """Prometheus replicas. Default 2 in prod, 1 elsewhere."""
    dcgm_exporter: ExporterInstall = ExporterInstall.AUTO
    """Install dcgm-exporter on the GPU nodes: ``auto`` (not on GKE), ``always`` or ``never``. Default ``auto``."""
    latency_slo_ms: int = pydantic.Field(default=200, ge=1)
    """p95 latency SLO of every model version. Default 200."""
    latency_slo_ms_by_model: dict[str, int] = pydantic.Field(default_factory=dict)
    """Per-model p95 latency SLO overriding ``latency_slo_ms``. Default none."""
    error_rate_percent: float = pydantic.Field(default=1.0, gt=0, lt=100)
    """Error rate above which ``ModelHighErrorRate`` fires. Default 1."""
    canary_latency_margin_percent: float = pydantic.Field(default=30.0, gt=0)
    """How much slower (p95) than the stable version a canary may be. Default 30."""
    gpu_memory_percent: float = pydantic.Field(default=80.0, gt=0, le=100)
    """GPU framebuffer use above which ``GpuMemoryHigh`` fires. Default 80."""
    gpu_idle_percent: float = pydantic.Field(default=5.0, ge=0, lt=100)
    """GPU utilisation under which an allocated GPU counts as idle. Default 5."""
    gpu_idle_minutes: int = pydantic.Field(default=30, ge=5)
    """How long an allocated GPU must stay idle before ``GpuIdleWhileAllocated`` fires. Default 30."""
    scale_from_zero_budget_seconds: int = pydantic.Field(default=300, ge=10)
    """Longest a model server may take from pod creation to ready (a GPU node may have to start). Default 300."""
    drift: DriftConfig = pydantic.Field(default_factory=DriftConfig)
    """Drift detection. Default none."""

    def sized(self, environment: Environment) -> tuple[int, int, int]:
        """``(retention_days, storage_gib, prometheus_replicas)`` with the environment's defaults filled in."""
        defaults = {
            Environment.LOCAL: (1, 0, 1),
            Environment.DEV: (7, 20, 1),
            Environment.STAGING: (15, 50, 1),
            Environment.PROD: (30, 200, 2),
        }[environment]
        return (
            self.retention_days if self.retention_days is not None else defaults[0],
            self.storage_gib if self.storage_gib is not None else defaults[1],
            self.prometheus_replicas if self.prometheus_replicas is not None else defaults[2],
        )
