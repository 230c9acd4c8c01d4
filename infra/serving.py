"""The serving layer of the program: model serving endpoints.

Placeholder until issue #4: validates nothing and creates nothing.
"""

from __future__ import annotations

from typing import Any, Optional

from components.common import Problems

from .config import StackConfig


def validate(cfg: StackConfig, problems: Problems) -> None:
    """Append every problem with ``cfg.serving`` to ``problems`` (key paths start with ``serving.``)."""


def deploy(cfg: StackConfig, *layers: Any) -> Optional[Any]:
    """Create the serving layer on the given lower layers; None when the stack has none."""
    return None
