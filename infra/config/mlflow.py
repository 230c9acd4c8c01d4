"""Stack config for the MLflow tracking server and model registry (``ml-platform:mlflow``).

Why most fields default to None: what is safe depends on the environment class. Production gets two replicas
behind a PodDisruptionBudget, a Multi-AZ / regional database with two weeks of backups and deletion protection,
and basic auth; dev gets one of each and can be torn down. ``None`` means "the default for this environment",
resolved once by :meth:`MlflowConfig.resolved` so that the program, the docs and the tests agree on one table
(:data:`ENVIRONMENT_DEFAULTS`). Any field set in the stack file wins.

The basic-auth admin password is not a field: it is the Pulumi secret ``ml-platform:mlflow_admin_password``
(``pulumi config set --secret``), read by the program where it is needed, never parsed into this model.
"""

from __future__ import annotations

from typing import Any

import pydantic

from .base import Environment, Model

ADMIN_PASSWORD_KEY = "mlflow_admin_password"
"""Pulumi secret config key (``ml-platform:mlflow_admin_password``) holding the basic-auth admin password."""

ENVIRONMENT_DEFAULTS: dict[Environment, dict[str, Any]] = {
    Environment.LOCAL: dict(
        replicas=1,
        workers=2,
        backup_retention_days=1,
        deletion_protection=False,
        high_availability=False,
        basic_auth=False,
        force_destroy=True,
    ),
    Environment.DEV: dict(
        replicas=1,
        workers=2,
        backup_retention_days=3,
        deletion_protection=False,
        high_availability=False,
        basic_auth=False,
        force_destroy=True,
    ),
    Environment.STAGING: dict(
        replicas=2,
        workers=2,
        backup_retention_days=7,
        deletion_protection=False,
        high_availability=False,
        basic_auth=True,
        force_destroy=False,
    ),
    Environment.PROD: dict(
        replicas=2,
        workers=4,
        backup_retention_days=14,
        deletion_protection=True,
        high_availability=True,
        basic_auth=True,
        force_destroy=False,
    ),
}
"""What a ``None`` field means in each environment class."""

DB_SIZE_DEFAULTS: dict[Environment, dict[str, str]] = {
    Environment.LOCAL: dict(db_instance_class="db.t4g.small", db_tier="db-custom-1-3840"),
    Environment.DEV: dict(db_instance_class="db.t4g.small", db_tier="db-custom-1-3840"),
    Environment.STAGING: dict(db_instance_class="db.t4g.medium", db_tier="db-custom-2-7680"),
    Environment.PROD: dict(db_instance_class="db.m6g.large", db_tier="db-custom-2-7680"),
}
"""Database size per environment class when ``db_instance_class`` / ``db_tier`` are not set."""


class MlflowConfig(Model):
    """``ml-platform:mlflow``."""

    enabled: bool = False
    """Whether the stack has an MLflow tracking server and model registry. Default False."""
    namespace: str = "mlflow"
    """Kubernetes namespace of the server (and, on ``existing`` clusters, of its database and object store).
    Default ``mlflow``."""
    image: str = "ghcr.io/mlflow/mlflow:v3.17.2-full"
    """MLflow server image, pinned by tag (the ``-full`` variant carries the PostgreSQL driver and S3/GCS clients).
    Default ``ghcr.io/mlflow/mlflow:v3.17.2-full``."""
    replicas: int | None = pydantic.Field(default=None, ge=1, le=10)
    """Server pods. Default 2 in staging and prod (with a PodDisruptionBudget), else 1."""
    workers: int | None = pydantic.Field(default=None, ge=1, le=16)
    """uvicorn workers per pod. Default 4 in prod, else 2."""
    cpu_request: str = "500m"
    """CPU request per pod. Default ``500m``."""
    cpu_limit: str = "2"
    """CPU limit per pod. Default ``2``."""
    memory_request: str = "1Gi"
    """Memory request per pod. Default ``1Gi``."""
    memory_limit: str = "2Gi"
    """Memory limit per pod. Default ``2Gi``."""
    basic_auth: bool | None = None
    """Run MLflow's basic-auth app; needs the secret ``ml-platform:mlflow_admin_password``.
    Default True in staging and prod."""
    allowed_hosts: list[str] = pydantic.Field(default_factory=list)
    """Extra Host headers the server accepts (gateway hostnames); in-cluster names are always allowed. Default none."""
    postgres_version: str = "16"
    """PostgreSQL major version of the backend store. Default ``16``."""
    db_instance_class: str | None = None
    """AWS: RDS instance class.
    Default ``db.m6g.large`` in prod, ``db.t4g.medium`` in staging, else ``db.t4g.small``."""
    db_tier: str | None = None
    """GCP: Cloud SQL tier. Default ``db-custom-2-7680`` in staging and prod, else ``db-custom-1-3840``."""
    db_storage_gib: int = pydantic.Field(default=20, ge=10, le=16384)
    """Initial database storage in GiB (grows automatically on the clouds). Default 20."""
    backup_retention_days: int | None = pydantic.Field(default=None, ge=0, le=35)
    """Days of automated database backups; at least 7 in prod. Default 14 in prod, 7 in staging, 3 in dev."""
    deletion_protection: bool | None = None
    """Refuse to delete the database (and protect it in Pulumi). Default True in prod."""
    high_availability: bool | None = None
    """Multi-AZ RDS / regional Cloud SQL / two PostgreSQL instances in the cluster. Default True in prod."""
    bucket_name: str | None = None
    """Artifact bucket name. Default a generated, unique name."""
    force_destroy: bool | None = None
    """Let ``pulumi destroy`` delete a non-empty bucket. Default False in staging and prod."""
    noncurrent_version_expiration_days: int = pydantic.Field(default=30, ge=1)
    """Days an overwritten or deleted artifact version is kept before it expires. Default 30."""
    storage_class: str | None = None
    """``existing`` clusters: storage class of the database and object store volumes. Default the cluster's default."""
    object_store_storage_gib: int = pydantic.Field(default=20, ge=1)
    """``existing`` clusters: volume size of the in-cluster object store in GiB. Default 20."""
    cnpg_chart_version: str = "0.29.0"
    """``existing`` clusters: CloudNativePG operator chart version. Default ``0.29.0``."""
    object_store_image: str = "chrislusf/seaweedfs:4.47"
    """``existing`` clusters: SeaweedFS image of the in-cluster S3 store. Default ``chrislusf/seaweedfs:4.47``."""

    def resolved(self, environment: Environment) -> MlflowConfig:
        """This config with every environment-dependent ``None`` replaced by the environment's default."""
        defaults = {**ENVIRONMENT_DEFAULTS[environment], **DB_SIZE_DEFAULTS[environment]}
        return self.model_copy(update={k: v for k, v in defaults.items() if getattr(self, k) is None})
