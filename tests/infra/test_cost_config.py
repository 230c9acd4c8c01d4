"""``ml-platform:cost``: the budget and price overrides the cost policy and the preview read."""

from __future__ import annotations

import json

from cost.prices import settings_from_config
from infra.config.cost import CostConfig
from offline import runner


def test_defaults() -> None:
    cfg = CostConfig()
    assert cfg.monthly_budget_usd is None and cfg.bucket_storage_gib is None
    assert cfg.price_overrides.aws.instances == {} and cfg.price_overrides.gcp.services == {}


def test_shipped_stacks_set_a_budget_that_covers_full_scale() -> None:
    for stack in runner.stack_names():
        config, _ = runner.read_stack_file(stack)
        cost = json.loads(config["ml-platform:cost"])
        assert CostConfig.model_validate(cost).monthly_budget_usd is not None, stack


def test_bad_cost_config_is_reported_with_every_problem() -> None:
    result = runner.run(
        "dev",
        overrides={
            "ml-platform:cost": {
                "monthly_budget_usd": -5,
                "budget": 3,
                "price_overrides": {"aws": {"instances": {"g5.xlarge": [1.0]}}, "azure": {}},
            }
        },
    )
    assert result.error == (
        "stack 'dev' has 4 configuration problems:\n"
        "  - cost.monthly_budget_usd: must be >= 0.0, got -5\n"
        "  - cost.price_overrides.aws.instances.g5.xlarge: must be [on_demand, spot] USD per hour, got [1.0]\n"
        "  - cost.price_overrides.azure: is not a known key (check its spelling), got {}\n"
        "  - cost.budget: is not a known key (check its spelling), got 3"
    )


def test_the_validated_shape_is_what_the_cost_model_reads() -> None:
    raw = {
        "monthly_budget_usd": 2500,
        "bucket_storage_gib": 500,
        "price_overrides": {"gcp": {"instances": {"g2-standard-8": [0.7, 0.3]}, "services": {"cloud_nat": 0.05}}},
    }
    CostConfig.model_validate(raw)
    settings = settings_from_config(raw)
    assert settings.monthly_budget_usd == 2500
    assert settings.prices.instance_hourly("gcp", "us-central1", "g2-standard-8", spot=True) == 0.3
    assert settings.prices.assumption("bucket_storage_gib") == 500


def test_negative_prices_are_each_reported() -> None:
    result = runner.run(
        "dev",
        overrides={
            "ml-platform:cost": {
                "price_overrides": {"aws": {"instances": {"g5.xlarge": [1.0, -2]}, "services": {"nat_gateway": -1}}}
            }
        },
    )
    assert result.error == (
        "stack 'dev' has 2 configuration problems:\n"
        "  - cost.price_overrides.aws.instances.g5.xlarge: prices must be >= 0, got [1.0, -2.0]\n"
        "  - cost.price_overrides.aws.services.nat_gateway: prices must be >= 0, got -1.0"
    )
