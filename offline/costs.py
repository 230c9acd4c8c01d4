"""The cost lines of the offline preview: the stack's monthly cost, idle and at full scale, against its budget.

The numbers come from :func:`cost.model.estimate`, and the budget and prices are chosen by the budget policy's own
function (:func:`policies.rules.budget.budget_and_prices`), so the preview's cost lines and the ``cost-budget``
verdict cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cost.model import CostReport, Resource, estimate
from policies.rules import BY_NAME
from policies.rules.base import facts_from_config
from policies.rules.budget import budget_and_prices, money

from .policy_run import PolicyConfigError


def stack_cost(result: Any, policy_document: Mapping[str, Any] | None = None) -> tuple[CostReport, float | None]:
    """The cost report of an offline run and the budget it is judged against."""
    entry = (policy_document or {}).get("cost-budget")
    rule = BY_NAME["cost-budget"]
    if isinstance(entry, Mapping):
        check_entry(rule.name, entry, rule.config_schema)
    cfg = rule.config(entry if isinstance(entry, Mapping) else None)
    facts = facts_from_config(result.config)
    budget, prices = budget_and_prices(cfg, facts)
    resources = [Resource(r.type, r.name, r.urn, r.inputs) for r in result.registrations]
    return estimate(resources, prices, region=cfg.get("region") or facts.region), budget


def check_entry(name: str, entry: Mapping[str, Any], properties: Mapping[str, Any]) -> None:
    """Raise :class:`PolicyConfigError` when a policy's settings do not fit its schema (before they are used)."""
    import jsonschema

    schema = {"type": "object", "properties": {**properties, "enforcementLevel": {"type": "string"}}}
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(dict(entry)), key=lambda e: list(e.path))
    if errors:
        raise PolicyConfigError(
            "; ".join(f"{name}.{'.'.join(str(p) for p in e.path) or '(config)'}: {e.message}" for e in errors)
        )


def cost_lines(report: CostReport, budget: float | None) -> list[str]:
    """What the preview prints: one summary line, then the items that cost something, largest first."""
    head = f"Cost (USD per month): idle {money(report.monthly_idle)} · full scale {money(report.monthly_full)}"
    if budget is None:
        head += " · no budget set (ml-platform:cost.monthly_budget_usd)"
    else:
        share = f", {report.monthly_full / budget:.0%} of it" if budget else ""
        verdict = "within" if report.monthly_full <= budget else "OVER"
        head += f" · budget {money(budget)} ({verdict}{share})"
    lines = [head]
    for item in sorted(report.items, key=lambda i: (-i.monthly_full, i.name)):
        if item.monthly_full > 0 or item.monthly_idle > 0:
            lines.append(
                f"  {item.name:<32} {money(item.monthly_idle):>12} {money(item.monthly_full):>12}  {item.what}"
            )
    lines.extend(f"  cannot price: {p}" for p in report.problems)
    return lines
