"""Stack config for the MLflow tracking server and model registry (``ml-platform:mlflow``).

Why the fields default to None: the :class:`Mlflow` component owns the defaults, and what is safe depends on the
environment class. Production gets two replicas behind a PodDisruptionBudget, a Multi-AZ / regional database
with two weeks of backups and deletion protection, and basic auth; dev keeps the component's single replica and
can be torn down. ``None`` means "the component's default, unless this environment departs from it"; the
departures are one table (:attr:`MlflowConfig.environment_defaults`) that the program, the docs and the tests
share. Any field set in the stack file wins.

The basic-auth admin password is not a field: it is the Pulumi secret ``ml-platform:mlflow_admin_password``
(``pulumi config set --secret``), read by the program where it is needed, never parsed into this model.
"""

from __future__ import annotations

from typing import ClassVar

import pydantic

from components.mlflow import MlflowArgs

from .base import Environment, EnvironmentDefaults, Feeds, Model

_SERVER_KEYS = (
    "namespace",
    "image",
    "replicas",
    "workers",
    "cpu_request",
    "cpu_limit",
    "memory_request",
    "memory_limit",
    "basic_auth",
    "allowed_hosts",
    "postgres_version",
    "db_instance_class",
    "db_tier",
    "db_storage_gib",
    "backup_retention_days",
    "deletion_protection",
    "high_availability",
    "bucket_name",
    "force_destroy",
    "noncurrent_version_expiration_days",
    "storage_class",
    "object_store_storage_gib",
    "cnpg_chart_version",
    "object_store_image",
)


class MlflowConfig(Model):
    """``ml-platform:mlflow``."""

    feeds: ClassVar[Feeds] = {MlflowArgs: {k: k for k in _SERVER_KEYS}}
    environment_defaults: ClassVar[EnvironmentDefaults] = {
        Environment.LOCAL: dict(backup_retention_days=1, force_destroy=True),
        Environment.DEV: dict(backup_retention_days=3, force_destroy=True),
        Environment.STAGING: dict(
            replicas=2, basic_auth=True, db_instance_class="db.t4g.medium", db_tier="db-custom-2-7680"
        ),
        Environment.PROD: dict(
            replicas=2,
            workers=4,
            backup_retention_days=14,
            deletion_protection=True,
            high_availability=True,
            basic_auth=True,
            db_instance_class="db.m6g.large",
            db_tier="db-custom-2-7680",
        ),
    }

    enabled: bool = False
    """Whether the stack has an MLflow tracking server and model registry. Default False."""
    namespace: str | None = None
    """Kubernetes namespace of the server (and, on ``existing`` clusters, of its database and object store)."""
    image: str | None = None
    """MLflow server image, pinned by tag (the ``-full`` variant carries the PostgreSQL driver and S3/GCS clients)."""
    replicas: int | None = pydantic.Field(default=None, ge=1, le=10)
    """Server pods; two or more get a PodDisruptionBudget."""
    workers: int | None = pydantic.Field(default=None, ge=1, le=16)
    """uvicorn workers per pod."""
    cpu_request: str | None = None
    """CPU request per pod."""
    cpu_limit: str | None = None
    """CPU limit per pod."""
    memory_request: str | None = None
    """Memory request per pod."""
    memory_limit: str | None = None
    """Memory limit per pod."""
    basic_auth: bool | None = None
    """Run MLflow's basic-auth app; needs the secret ``ml-platform:mlflow_admin_password``."""
    allowed_hosts: list[str] | None = None
    """Extra Host headers the server accepts (gateway hostnames); in-cluster names are always allowed."""
    postgres_version: str | None = None
    """PostgreSQL major version of the backend store."""
    db_instance_class: str | None = None
    """AWS: RDS instance class."""
    db_tier: str | None = None
    """GCP: Cloud SQL tier."""
    db_storage_gib: int | None = pydantic.Field(default=None, ge=10, le=16384)
    """Initial database storage in GiB (grows automatically on the clouds)."""
    backup_retention_days: int | None = pydantic.Field(default=None, ge=0, le=35)
    """Days of automated database backups; at least 7 in prod."""
    deletion_protection: bool | None = None
    """Refuse to delete the database (and protect it in Pulumi)."""
    high_availability: bool | None = None
    """Multi-AZ RDS / regional Cloud SQL / two PostgreSQL instances in the cluster."""
    bucket_name: str | None = None
    """Artifact bucket name. Default a generated, unique name."""
    force_destroy: bool | None = None
    """Let ``pulumi destroy`` delete a non-empty bucket."""
    noncurrent_version_expiration_days: int | None = pydantic.Field(default=None, ge=1)
    """Days an overwritten or deleted artifact version is kept before it expires."""
    storage_class: str | None = None
    """``existing`` clusters: storage class of the database and object store volumes. Default the cluster's default."""
    object_store_storage_gib: int | None = pydantic.Field(default=None, ge=1)
    """``existing`` clusters: volume size of the in-cluster object store in GiB."""
    cnpg_chart_version: str | None = None
    """``existing`` clusters: CloudNativePG operator chart version."""
    object_store_image: str | None = None
    """``existing`` clusters: SeaweedFS image of the in-cluster S3 store."""
