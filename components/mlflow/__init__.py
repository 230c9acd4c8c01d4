"""MLflow tracking and model registry: the server, its PostgreSQL database and its artifact bucket, each with
the least-privilege identity of its cloud.

This module is the domain's public surface; the underscored modules beside it are internals.
"""

from ._bucket import (
    ArtifactBucket,
    ArtifactBucketArgs,
)
from ._identity import s3_policy
from ._mlflow import (
    Mlflow,
    MlflowArgs,
)
from ._postgres import (
    PostgresDatabase,
    PostgresDatabaseArgs,
)
from ._server import (
    AUTH_CONFIG_PATH,
    MlflowServer,
    MlflowServerArgs,
    Permission,
    ServerCommand,
    allowed_hosts,
    auth_config,
    secret_name,
    server_command,
)

__all__ = [
    "AUTH_CONFIG_PATH",
    "ArtifactBucket",
    "ArtifactBucketArgs",
    "Mlflow",
    "MlflowArgs",
    "MlflowServer",
    "MlflowServerArgs",
    "Permission",
    "PostgresDatabase",
    "PostgresDatabaseArgs",
    "ServerCommand",
    "allowed_hosts",
    "auth_config",
    "s3_policy",
    "secret_name",
    "server_command",
]
