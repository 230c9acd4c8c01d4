"""Stack config for the model serving endpoints (``ml-platform:serving``).

Placeholder shape until issue #4 defines it: the section exists so that stacks and the program have one place
for it; ``enabled: false`` creates nothing.
"""

from __future__ import annotations

from .base import Model


class ServingConfig(Model):
    """``ml-platform:serving``."""

    enabled: bool = False
    """Whether the stack has model serving endpoints. Default False."""
