"""Look-ups in the price table (``cost/prices.yaml``), with per-stack overrides.

Prices are hourly USD. A missing entry raises :class:`UnknownPrice` naming what is missing, because a budget
check that silently prices an unknown instance at zero would wave through exactly the change it exists to stop.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

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
    """The table, optionally with overrides (``{"aws": {"instances": {"g5.xlarge": [1.0, 0.4]}}}``)."""

    overrides: Optional[Mapping[str, Any]] = None

    def _section(self, cloud: str, section: str) -> dict[str, Any]:
        base = dict((_table().get(cloud) or {}).get(section) or {})
        base.update(((self.overrides or {}).get(cloud) or {}).get(section) or {})
        return base

    @property
    def hours_per_month(self) -> float:
        return float(_table()["hours_per_month"])

    @property
    def as_of(self) -> str:
        return str(_table()["as_of"])

    def region_factor(self, cloud: str, region: Optional[str]) -> float:
        factors = self._section(cloud, "region_factor")
        return float(factors.get(region or "", 1.0))

    def instance_hourly(self, cloud: str, region: Optional[str], instance_type: str, spot: bool = False) -> float:
        prices = self._section(cloud, "instances")
        if instance_type not in prices:
            raise UnknownPrice(f"no {cloud} price for instance type {instance_type!r} in cost/prices.yaml")
        on_demand, spot_price = prices[instance_type]
        return float(spot_price if spot else on_demand) * self.region_factor(cloud, region)

    def accelerator_hourly(self, cloud: str, region: Optional[str], accelerator: str, spot: bool = False) -> float:
        prices = self._section(cloud, "accelerators")
        if accelerator not in prices:
            raise UnknownPrice(f"no {cloud} price for accelerator {accelerator!r} in cost/prices.yaml")
        on_demand, spot_price = prices[accelerator]
        return float(spot_price if spot else on_demand) * self.region_factor(cloud, region)

    def service_hourly(self, cloud: str, region: Optional[str], service: str) -> float:
        prices = self._section(cloud, "services")
        if service not in prices:
            raise UnknownPrice(f"no {cloud} price for service {service!r} in cost/prices.yaml")
        return float(prices[service]) * self.region_factor(cloud, region)

    def database_hourly(self, cloud: str, region: Optional[str], instance_class: str) -> float:
        prices = self._section(cloud, "databases")
        if instance_class not in prices:
            raise UnknownPrice(f"no {cloud} price for database class {instance_class!r} in cost/prices.yaml")
        return float(prices[instance_class]) * self.region_factor(cloud, region)

    def storage_gib_month(self, cloud: str, region: Optional[str], kind: str) -> float:
        prices = self._section(cloud, "storage_gib_month")
        if kind not in prices:
            raise UnknownPrice(f"no {cloud} price for storage {kind!r} in cost/prices.yaml")
        return float(prices[kind]) * self.region_factor(cloud, region)
