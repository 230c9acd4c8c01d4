"""The mlflow layer of the program: MLflow tracking server and model registry.

Placeholder until issue #3: validates nothing and creates nothing.
"""

from __future__ import annotations

from typing import Any, Optional

from components.common import Problems

from .config import StackConfig


def validate(cfg: StackConfig, problems: Problems) -> None:
    """Append every problem with ``cfg.mlflow`` to ``problems`` (key paths start with ``mlflow.``)."""


def deploy(cfg: StackConfig, *layers: Any) -> Optional[Any]:
    """Create the mlflow layer on the given lower layers; None when the stack has none."""
    return None
