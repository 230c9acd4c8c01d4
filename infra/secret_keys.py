"""The secret ``ml-platform:`` keys, by name only.

They live apart from the configuration models so that a reader of stack files (the offline preview) can name
them without loading the models, which costs a preview about half a second before anything else can start.
"""

from __future__ import annotations

PROJECT = "ml-platform"

MLFLOW_ADMIN_PASSWORD_KEY = "mlflow_admin_password"
"""MLflow's admin password (basic auth), read by the MLflow layer with ``pulumi.Config.get_secret``."""
GRAFANA_ADMIN_PASSWORD_KEY = "grafana_admin_password"
"""Grafana's admin password, generated when absent, read by the observability layer."""

SECRET_KEYS = frozenset({GRAFANA_ADMIN_PASSWORD_KEY, MLFLOW_ADMIN_PASSWORD_KEY})
"""Secret ``ml-platform:`` keys read by their layer with ``pulumi.Config.get_secret``, never parsed into the model."""

PREVIEW_SECRET_KEYS = (f"{PROJECT}:{MLFLOW_ADMIN_PASSWORD_KEY}",)
"""Secret keys a stack needs (where the feature is on) that only ``pulumi config set --secret`` can set: the
offline preview stands in ``[secret <key>]`` for any the stack file lacks (optional ones, like Grafana's
password that is generated when absent, are left out so that the preview shows the default path)."""
