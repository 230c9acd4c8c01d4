"""Stack config for the cost model and budget (``ml-platform:cost``).

Why in the stack file: the budget belongs to an environment, and reviewing a budget change next to the pool sizes
it pays for is the point. The policy pack reads the same key (the CLI hands the stack's configuration to policy
packs as it does to programs) through ``cost.prices.settings_from_config``; this model checks its shape when the
program runs, so a misspelt override fails the preview instead of being ignored by the budget.
"""

from __future__ import annotations

from typing import Any

import pydantic

from .base import Model


class CloudPrices(Model):
    """Overrides for one cloud's section of ``cost/prices.yaml``; an entry replaces the table's entry."""

    region_factor: dict[str, float] = pydantic.Field(default_factory=dict)
    """Price multiplier per region. Default none (the table's)."""
    instances: dict[str, tuple[float, float]] = pydantic.Field(default_factory=dict)
    """Instance or machine type: ``[on_demand, spot]`` USD per hour. Default none."""
    accelerators: dict[str, tuple[float, float]] = pydantic.Field(default_factory=dict)
    """GCP accelerator attached per GPU: ``[on_demand, spot]`` USD per hour. Default none."""
    services: dict[str, float] = pydantic.Field(default_factory=dict)
    """Hourly services (``eks_cluster``, ``nat_gateway``, ``load_balancer``...), USD per hour. Default none."""
    databases: dict[str, float] = pydantic.Field(default_factory=dict)
    """Database instance class or tier, USD per hour. Default none."""
    storage_gib_month: dict[str, float] = pydantic.Field(default_factory=dict)
    """Storage kind (``gp3``, ``s3_standard``, ``pd-balanced``...), USD per GiB-month. Default none."""

    @pydantic.field_validator("instances", "accelerators", mode="before")
    @classmethod
    def _rows(cls, rows: Any) -> Any:
        for name, row in rows.items() if isinstance(rows, dict) else ():
            if not (isinstance(row, (list, tuple)) and len(row) == 2):
                raise ValueError(f"{name}: must be [on_demand, spot] USD per hour, got {row!r}")
        return rows

    @pydantic.field_validator("*")
    @classmethod
    def _no_negative_prices(cls, prices: dict[str, Any]) -> dict[str, Any]:
        for name, price in prices.items():
            if min(price if isinstance(price, tuple) else (price,)) < 0:
                shown = list(price) if isinstance(price, tuple) else price
                raise ValueError(f"{name}: prices must be >= 0, got {shown}")
        return prices


class PriceOverrides(Model):
    """``ml-platform:cost.price_overrides``: negotiated rates or types the table does not list yet."""

    aws: CloudPrices = pydantic.Field(default_factory=CloudPrices)
    """AWS prices. Default none."""
    gcp: CloudPrices = pydantic.Field(default_factory=CloudPrices)
    """GCP prices. Default none."""


class CostConfig(Model):
    """``ml-platform:cost``: the monthly budget and the cost model's overrides."""

    monthly_budget_usd: float | None = pydantic.Field(default=None, ge=0)
    """Most the stack may cost per month at full scale (every node pool at ``max_size``), USD. The ``cost-budget``
    policy blocks a prod change that exceeds it and warns elsewhere. Default none (prod then fails the policy)."""
    price_overrides: PriceOverrides = pydantic.Field(default_factory=PriceOverrides)
    """Replacements for entries of ``cost/prices.yaml``. Default none."""
    bucket_storage_gib: float | None = pydantic.Field(default=None, ge=0)
    """Data each bucket is assumed to hold, GiB (usage, not configuration). Default the table's (100)."""
