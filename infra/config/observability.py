"""Stack config for the monitoring, alerting, dashboards and drift detection (``ml-platform:observability``).

Placeholder shape until issue #5 defines it: the section exists so that stacks and the program have one place
for it; ``enabled: false`` creates nothing.
"""

from __future__ import annotations

from .base import Model


class ObservabilityConfig(Model):
    """``ml-platform:observability``."""

    enabled: bool = False
    """Whether the stack has monitoring, alerting, dashboards and drift detection. Default False."""
