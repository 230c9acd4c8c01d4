"""The observability layer of the program: monitoring, alerting, dashboards and drift detection.

Placeholder until issue #5: validates nothing and creates nothing.
"""

from __future__ import annotations

from typing import Any, Optional

from components.common import Problems

from .config import StackConfig


def validate(cfg: StackConfig, problems: Problems) -> None:
    """Append every problem with ``cfg.observability`` to ``problems`` (key paths start with ``observability.``)."""


def deploy(cfg: StackConfig, *layers: Any) -> Optional[Any]:
    """Create the observability layer on the given lower layers; None when the stack has none."""
    return None
