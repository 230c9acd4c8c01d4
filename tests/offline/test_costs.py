"""The preview's cost lines: the same budget and prices the cost-budget policy uses."""

from __future__ import annotations

import json

from cost.model import CostItem, CostReport
from offline.costs import cost_lines, stack_cost


def report() -> CostReport:
    return CostReport(
        items=[
            CostItem("u1", "gpu", "0..2 x g5.xlarge spot", 0.0, 602.92),
            CostItem("u2", "eks", "EKS control plane", 73.0, 73.0),
        ],
        problems=["aws:rds/instance:Instance db: no aws price for database class 'db.x'"],
    )


def test_lines_with_and_without_budget() -> None:
    assert cost_lines(report(), 600.0) == [
        "Cost (USD per month): idle $73.00 · full scale $675.92 · budget $600.00 (OVER, 113% of it)",
        "  gpu                                     $0.00      $602.92  0..2 x g5.xlarge spot",
        "  eks                                    $73.00       $73.00  EKS control plane",
        "  cannot price: aws:rds/instance:Instance db: no aws price for database class 'db.x'",
    ]
    assert cost_lines(report(), None)[0].endswith("· no budget set (ml-platform:cost.monthly_budget_usd)")


def test_policy_config_budget_and_prices_win_over_the_stack(stack_run) -> None:
    run = stack_run("dev")
    assert stack_cost(run)[1] == 1200
    cheap = {"cost-budget": {"monthlyBudgetUsd": 900, "prices": {"aws": {"instances": {"g5.xlarge": [0.5, 0.1]}}}}}
    report_, budget = stack_cost(run, cheap)
    assert budget == 900
    assert report_.monthly_full < stack_cost(run)[0].monthly_full
    assert json.loads(run.config["ml-platform:cost"]) == {"monthly_budget_usd": 1200}
