"""Stack config for the cost model and budget (``ml-platform:cost``).

Placeholder shape until issue #6 defines it.
"""

from __future__ import annotations

from typing import Optional

from .base import Model


class CostConfig(Model):
    """``ml-platform:cost``."""

    monthly_budget_usd: Optional[float] = None
    """Monthly budget of the stack at full scale, USD. Default none (no budget check)."""
