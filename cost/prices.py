"""Look-ups in the price table (``cost/prices.yaml``), with per-stack overrides.

Prices are hourly USD. A missing entry raises :class:`UnknownPrice` naming what is missing, because a budget
check that silently prices an unknown instance at zero would wave through exactly the change it exists to stop.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import yaml

TABLE_PATH = Path(__file__).with_name("prices.yaml")


class UnknownPrice(KeyError):
    """The table has no price for something the stack uses."""

    def __str__(self) -> str:  # KeyError quotes its argument; this is a sentence
        return str(self.args[0])


TABLE_NAME = "cost/prices.yaml"
"""How messages name the table: the path a user edits."""
ROW_SECTIONS = {"instances": "[on_demand, spot] or [on_demand, spot, gpu model]", "accelerators": "[on_demand, spot]"}
PRICE_SECTIONS = ("services", "databases", "storage_gib_month")


class PriceTableError(ValueError):
    """The price table cannot be used; ``problems`` are lines naming the table, the entry and the bad value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _row_ok(row: Any, section: str) -> bool:
    if not isinstance(row, list) or len(row) not in ((2, 3) if section == "instances" else (2,)):
        return False
    return all(_number(v) and v >= 0 for v in row[:2]) and (len(row) < 3 or isinstance(row[2], str))


def _cloud_problems(cloud: str, body: Any) -> list[str]:
    if not isinstance(body, dict):
        return [f"{TABLE_NAME}: {cloud}: must be a mapping of sections, got {body!r}"]
    out: list[str] = []
    for section, entries in body.items():
        if section == "reference_regions":
            continue
        if not isinstance(entries, dict):
            out.append(f"{TABLE_NAME}: {cloud}.{section}: must be a mapping of name to price, got {entries!r}")
            continue
        for name, value in entries.items():
            where = f"{TABLE_NAME}: {cloud}.{section}.{name}"
            if section in ROW_SECTIONS and not _row_ok(value, section):
                out.append(f"{where}: must be {ROW_SECTIONS[section]} in USD per hour (each >= 0), got {value!r}")
            elif section == "region_factor" and not (_number(value) and value > 0):
                out.append(f"{where}: must be a number > 0, got {value!r}")
            elif section in PRICE_SECTIONS and not (_number(value) and value >= 0):
                out.append(f"{where}: must be a price >= 0 in USD, got {value!r}")
    return out


def table_problems(doc: Any) -> list[str]:
    """Every problem of a parsed price table, each naming the table, the entry and the bad value."""
    if not isinstance(doc, dict):
        return [f"{TABLE_NAME}: must be a mapping (currency, hours_per_month, aws, gcp...), got {doc!r}"]
    out: list[str] = []
    hours = doc.get("hours_per_month")
    if not (_number(hours) and 0 < hours <= 744):
        out.append(f"{TABLE_NAME}: hours_per_month: must be a number of hours > 0 and <= 744, got {hours!r}")
    for name, value in (doc.get("assumptions") or {}).items():
        if not (_number(value) and value >= 0):
            out.append(f"{TABLE_NAME}: assumptions.{name}: must be a number >= 0, got {value!r}")
    for cloud in ("aws", "gcp"):
        if cloud in doc:
            out.extend(_cloud_problems(cloud, doc[cloud]))
    return out


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    try:
        doc = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise PriceTableError([f"{TABLE_NAME}: {where}is not valid YAML ({exc.problem})"]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PriceTableError([f"{TABLE_NAME}: is not valid YAML ({exc})"]) from None
    problems = table_problems(doc)
    if problems:
        raise PriceTableError(problems)
    return doc


def check_table() -> None:
    """Raise :class:`PriceTableError` listing every problem of the price table, if it has any."""
    _table()


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
