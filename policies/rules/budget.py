"""The cost budget: a stack's monthly cost at full scale must fit the environment's budget.

Why full scale: autoscaling makes the idle bill a poor guide to the worst month. A change that raises a GPU
pool's ``max_size`` from 4 to 40 costs nothing on the day it is applied and a fortune the day traffic arrives, so
the budget judges every pool at ``max_size`` (and reports the idle cost next to it). The cost comes from
:func:`cost.model.estimate`, the function the offline preview prints, over the resources the engine sends.

The budget is ``ml-platform:cost.monthly_budget_usd`` from the stack's configuration, or ``monthlyBudgetUsd``
in the policy config; price overrides likewise (``ml-platform:cost.price_overrides``, or ``prices``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from cost.model import Resource, estimate
from cost.prices import PriceTable, settings_from_config

from .base import MANDATORY, Facts, Res, Rule, schema


def budget_and_prices(cfg: Mapping[str, Any], facts: Facts) -> tuple[float | None, PriceTable]:
    """The budget and price table for a stack: the policy config's values, else the stack's ``ml-platform:cost``."""
    settings = settings_from_config(facts.cost)
    budget = cfg.get("monthlyBudgetUsd")
    budget = float(budget) if budget is not None else settings.monthly_budget_usd
    prices = PriceTable(cfg["prices"]) if cfg.get("prices") else settings.prices
    return budget, prices


def money(value: float) -> str:
    return f"${value:,.2f}"


def check_budget(resources: list[Res], cfg: Mapping[str, Any], facts: Facts) -> Iterator[tuple[str, str | None]]:
    budget, prices = budget_and_prices(cfg, facts)
    report = estimate(
        (Resource(r.type, r.name, r.urn, r.props) for r in resources), prices, region=cfg.get("region") or facts.region
    )
    for problem in report.problems:
        yield f"cannot price {problem}; add it to cost/prices.yaml or ml-platform:cost.price_overrides", None
    if budget is None:
        if (facts.environment or "") in cfg["requireBudgetEnvironments"]:
            yield (
                f"the {facts.environment} stack has no monthly budget (set ml-platform:cost.monthly_budget_usd); "
                f"its full-scale cost is {money(report.monthly_full)} per month",
                None,
            )
        return
    if report.monthly_full > budget:
        top = sorted(report.items, key=lambda i: -i.monthly_full)[:3]
        biggest = "; ".join(f"{i.name} {money(i.monthly_full)} ({i.what})" for i in top)
        yield (
            f"monthly cost at full scale {money(report.monthly_full)} exceeds the budget {money(budget)} by "
            f"{money(report.monthly_full - budget)} (idle {money(report.monthly_idle)}). Largest: {biggest}",
            None,
        )


COST_BUDGET = Rule(
    name="cost-budget",
    description="The stack's monthly cost at full scale (node pools at max_size, databases, clusters, NAT and load "
    "balancers, storage) is within the environment's budget.",
    enforcement_level=MANDATORY,
    config_schema={
        "monthlyBudgetUsd": schema(
            ["number", "null"], None, "Budget in USD per month; default ml-platform:cost.monthly_budget_usd.", minimum=0
        ),
        "prices": schema("object", {}, "Price table overrides, in cost/prices.yaml's shape."),
        "region": schema(["string", "null"], None, "Region to price in; default aws:region or gcp:region."),
        "requireBudgetEnvironments": schema(
            "array", ["prod"], "Environments that must set a budget.", items={"type": "string"}
        ),
    },
    check=check_budget,
    stack=True,
)

RULES = [COST_BUDGET]
