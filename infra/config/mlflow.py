"""Stack config for the MLflow tracking server and model registry (``ml-platform:mlflow``).

Placeholder shape until issue #3 defines it: the section exists so that stacks and the program have one place
for it; ``enabled: false`` creates nothing.
"""

from __future__ import annotations

from .base import Model


class MlflowConfig(Model):
    """``ml-platform:mlflow``."""

    enabled: bool = False
    """Whether the stack has MLflow tracking server and model registry. Default False."""
