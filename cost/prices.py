"""Look-ups in the price table (``cost/prices.yaml``), with per-stack overrides.

Prices are hourly USD. A missing entry raises :class:`UnknownPrice` naming what is missing, because a budget
check that silently prices an unknown instance at zero would wave through exactly the change it exists to stop.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TABLE_PATH = Path(__file__).with_name("prices.yaml")


class UnknownPrice(KeyError):
    """The table has no price for something the stack uses."""

    def __str__(self) -> str:  # KeyError quotes its argument; this is a sentence
        return str(self.args[0])


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    return yaml.safe_load(TABLE_PATH.read_text())


@dataclass(frozen=True)
class PriceTable:
    """The table, optionally with overrides (``{"aws": {"instances": {"g5.xlarge": [1.0, 0.4]}}}``).

    Overrides have the table's own shape, section by section (``region_factor``, ``instances``, ``accelerators``,
    ``services``, ``databases``, ``storage_gib_month``, and top-level ``assumptions``); an entry replaces the
    table's entry of the same name, so a negotiated discount or a new instance type needs no code change.
    """

    overrides: Mapping[str, Any] | None = None

    def _section(self, cloud: str, section: str) -> dict[str, Any]:
        base = dict((_table().get(cloud) or {}).get(section) or {})
        base.update(((self.overrides or {}).get(cloud) or {}).get(section) or {})
        return base

    @property
    def hours_per_month(self) -> float:
        return float(_table()["hours_per_month"])

    def region_factor(self, cloud: str, region: str | None) -> float:
        factors = self._section(cloud, "region_factor")
        return float(factors.get(region or "", 1.0))

    def instance_hourly(self, cloud: str, region: str | None, instance_type: str, spot: bool = False) -> float:
        prices = self._section(cloud, "instances")
        if instance_type not in prices:
            raise UnknownPrice(f"no {cloud} price for instance type {instance_type!r} in cost/prices.yaml")
        on_demand, spot_price = prices[instance_type][:2]
        return float(spot_price if spot else on_demand) * self.region_factor(cloud, region)

    def gpu_model(self, cloud: str, instance_type: str) -> str | None:
        """The GPU model built into an instance or machine type (third column of the table), or None."""
        for entry in (
            self._section(cloud, "instances").get(instance_type),
            ((_table().get(cloud) or {}).get("instances") or {}).get(instance_type),
        ):
            if entry is not None and len(entry) > 2:
                return str(entry[2])
        return None

    def accelerators(self, cloud: str) -> set[str]:
        """Accelerators priced per GPU (attached to machines whose price does not include them)."""
        return set(self._section(cloud, "accelerators"))

    def storage_kinds(self, cloud: str) -> set[str]:
        return set(self._section(cloud, "storage_gib_month"))

    def assumption(self, name: str) -> float:
        """A quantity the model assumes (``bucket_storage_gib``), overridable under ``assumptions``."""
        merged = dict(_table().get("assumptions") or {})
        merged.update((self.overrides or {}).get("assumptions") or {})
        if name not in merged:
            raise UnknownPrice(f"no assumption {name!r} in cost/prices.yaml")
        return float(merged[name])

    def accelerator_hourly(self, cloud: str, region: str | None, accelerator: str, spot: bool = False) -> float:
        prices = self._section(cloud, "accelerators")
        if accelerator not in prices:
            raise UnknownPrice(f"no {cloud} price for accelerator {accelerator!r} in cost/prices.yaml")
        on_demand, spot_price = prices[accelerator][:2]
        return float(spot_price if spot else on_demand) * self.region_factor(cloud, region)

    def service_hourly(self, cloud: str, region: str | None, service: str) -> float:
        prices = self._section(cloud, "services")
        if service not in prices:
            raise UnknownPrice(f"no {cloud} price for service {service!r} in cost/prices.yaml")
        return float(prices[service]) * self.region_factor(cloud, region)

    def database_hourly(self, cloud: str, region: str | None, instance_class: str) -> float:
        prices = self._section(cloud, "databases")
        if instance_class not in prices:
            raise UnknownPrice(f"no {cloud} price for database class {instance_class!r} in cost/prices.yaml")
        return float(prices[instance_class]) * self.region_factor(cloud, region)

    def storage_gib_month(self, cloud: str, region: str | None, kind: str) -> float:
        prices = self._section(cloud, "storage_gib_month")
        if kind not in prices:
            raise UnknownPrice(f"no {cloud} price for storage {kind!r} in cost/prices.yaml")
        return float(prices[kind]) * self.region_factor(cloud, region)


@dataclass(frozen=True)
class CostSettings:
    """A stack's cost settings (``ml-platform:cost``) as the cost model and the budget policy read them."""

    monthly_budget_usd: float | None = None
    prices: PriceTable = PriceTable()


def settings_from_config(raw: Mapping[str, Any] | None) -> CostSettings:
    """Read ``ml-platform:cost`` (already decoded from JSON). The program validates its shape (see
    ``infra/config/cost.py``); the policy pack, which must not import the program, reads it through here."""
    raw = raw or {}
    overrides: dict[str, Any] = {k: v for k, v in (raw.get("price_overrides") or {}).items()}
    if raw.get("bucket_storage_gib") is not None:
        overrides["assumptions"] = {
            **(overrides.get("assumptions") or {}),
            "bucket_storage_gib": raw["bucket_storage_gib"],
        }
    budget = raw.get("monthly_budget_usd")
    return CostSettings(float(budget) if budget is not None else None, PriceTable(overrides or None))
