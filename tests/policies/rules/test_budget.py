"""The cost budget: full-scale monthly cost against the stack's budget, from the stack config or the policy config."""

from __future__ import annotations

from policies.rules.base import Facts
from policies.rules.budget import COST_BUDGET
from tests.policies.builders import res, violations

HOURS = 730


def stack(max_size: int = 2) -> list:
    return [
        res("aws:eks/cluster:Cluster", "eks", {"version": "1.35"}),
        res(
            "aws:eks/nodeGroup:NodeGroup",
            "gpu",
            {
                "instanceTypes": ["g5.xlarge"],
                "capacityType": "ON_DEMAND",
                "diskSize": 100,
                "scalingConfig": {"minSize": 0, "maxSize": max_size},
            },
        ),
    ]


def full_cost(max_size: int) -> float:
    return round(0.10 * HOURS + max_size * (1.006 * HOURS + 100 * 0.08), 2)


def facts(budget: float | None, **cost: object) -> Facts:
    if budget is not None:
        cost["monthly_budget_usd"] = budget
    return Facts(environment="prod", region="us-east-1", cost=cost)


def test_within_budget() -> None:
    assert full_cost(2) == 1557.76
    assert violations(COST_BUDGET, stack(2), facts=facts(1600)) == []


def test_over_budget_names_cost_budget_and_biggest_items() -> None:
    assert violations(COST_BUDGET, stack(4), facts=facts(1600)) == [
        "[mandatory] cost-budget: monthly cost at full scale $3,042.52 exceeds the budget $1,600.00 by $1,442.52 "
        "(idle $73.00). Largest: gpu $2,969.52 (0..4 x g5.xlarge on-demand + 100 GiB gp3 each); "
        "eks $73.00 (EKS control plane)"
    ]
    assert full_cost(4) == 3042.52


def test_missing_budget_fails_in_prod_only() -> None:
    assert violations(COST_BUDGET, stack(), facts=facts(None)) == [
        "[mandatory] cost-budget: the prod stack has no monthly budget (set ml-platform:cost.monthly_budget_usd); its "
        "full-scale cost is $1,557.76 per month"
    ]
    assert violations(COST_BUDGET, stack(), facts=Facts(environment="dev")) == []


def test_unknown_instance_type_is_a_violation_not_zero() -> None:
    odd = [
        *stack(),
        res(
            "aws:eks/nodeGroup:NodeGroup",
            "odd",
            {"instanceTypes": ["x9.huge"], "scalingConfig": {"minSize": 0, "maxSize": 1}},
        ),
    ]
    assert violations(COST_BUDGET, odd, facts=facts(10_000)) == [
        "[mandatory] cost-budget: cannot price aws:eks/nodeGroup:NodeGroup odd: no aws price for instance type "
        "'x9.huge' in cost/prices.yaml; add it to cost/prices.yaml or ml-platform:cost.price_overrides"
    ]


def test_config_override_budget_and_prices() -> None:
    assert violations(COST_BUDGET, stack(2), {"monthlyBudgetUsd": 1000}, facts=facts(1600))
    discounted = {"aws": {"instances": {"g5.xlarge": [0.5, 0.2]}}}
    assert violations(COST_BUDGET, stack(2), {"monthlyBudgetUsd": 1000, "prices": discounted}, facts=facts(1600)) == []


def test_stack_price_overrides_apply() -> None:
    cheap = facts(1000, price_overrides={"aws": {"instances": {"g5.xlarge": [0.5, 0.2]}}})
    assert violations(COST_BUDGET, stack(2), facts=cheap) == []
