"""The policy pack run as the engine runs it: its own process, driven over the analyzer gRPC protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cost.model import Resource, estimate
from offline import policy_run, runner
from offline.mocks import Registration
from policies.rules import BY_NAME
from policies.rules.budget import money

ROOT = Path(__file__).resolve().parents[2]
STACKS = runner.stack_names()
_VERDICTS: dict[str, policy_run.PolicyResult] = {}


@pytest.fixture
def verdicts(stack_run):
    def get(stack: str) -> policy_run.PolicyResult:
        if stack not in _VERDICTS:
            _VERDICTS[stack] = policy_run.run_for(stack_run(stack))
        return _VERDICTS[stack]

    return get


@pytest.mark.integration
def test_analyzer_describes_every_rule_with_level_and_schema() -> None:
    from pulumi.runtime.proto import analyzer_pb2

    with policy_run.Analyzer("test", {}) as analyzer:
        info = analyzer.info()
    assert info.name == "ml-platform"
    assert [p.name for p in info.policies] == list(BY_NAME)
    for policy in info.policies:
        rule = BY_NAME[policy.name]
        assert policy.description == rule.description
        assert policy_run.LEVEL_NAMES[policy.enforcementLevel] == rule.enforcement_level
        assert set(policy.configSchema.properties) == set(rule.config_schema)
        kind = analyzer_pb2.POLICY_TYPE_STACK if rule.stack else analyzer_pb2.POLICY_TYPE_RESOURCE
        assert policy.policy_type == kind
    stack_rules = {p.name for p in info.policies if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK}
    assert stack_rules == {"route-authentication", "bucket-security", "cost-budget"}


@pytest.mark.integration
@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_passes_every_mandatory_rule(verdicts, stack: str) -> None:
    result = verdicts(stack)
    assert result.pack == "ml-platform" and result.version == "0.1.0"
    assert len(result.policies) == len(BY_NAME)
    mandatory = [f"{v.policy}: {v.message}" for v in result.violations if v.level == "mandatory"]
    assert mandatory == []
    assert not result.mandatory_failed


@pytest.mark.integration
def test_prod_passes_with_the_pack_defaults_too(stack_run) -> None:
    """``pulumi preview --stack prod --policy-pack policies`` without a config file."""
    run = stack_run("prod")
    result = policy_run.run(run.stack, run.config, run.registrations, {})
    assert [v for v in result.violations if v.level == "mandatory"] == []


@pytest.mark.integration
def test_prod_gpu_pool_max_size_over_budget_fails_with_cost_and_budget() -> None:
    pools = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())["config"]["ml-platform:gpu_pools"]
    pools["inference"]["max_size"] = 8  # within the GPU pool cap of 8: only the budget stops it
    run = runner.run("prod", overrides={"ml-platform:gpu_pools": pools})
    assert run.error is None
    result = policy_run.run_for(run)
    full = estimate([Resource(r.type, r.name, r.urn, r.inputs) for r in run.registrations], region="us-east-1")
    assert full.monthly_full > 7000
    (violation,) = [v for v in result.violations if v.level == "mandatory"]
    assert violation.policy == "cost-budget" and violation.urn == ""
    assert violation.message.startswith(
        f"monthly cost at full scale {money(full.monthly_full)} exceeds the budget $7,000.00 by "
        f"{money(full.monthly_full - 7000)} (idle {money(full.monthly_idle)}). Largest: inference-nodegroup "
    )
    assert result.mandatory_failed


@pytest.mark.integration
def test_same_change_in_dev_config_is_advisory(stack_run) -> None:
    run = stack_run("dev")
    config = dict(run.config, **{"ml-platform:cost": json.dumps({"monthly_budget_usd": 100})})
    document = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    result = policy_run.run(run.stack, config, run.registrations, document)
    (violation,) = result.violations
    assert (violation.policy, violation.level) == ("cost-budget", "advisory")
    assert "exceeds the budget $100.00" in violation.message
    assert not result.mandatory_failed


@pytest.mark.integration
@pytest.mark.parametrize(
    "change,policy,level,fragment",
    [
        # Serving is left out where the pools change: prod's GPU endpoint names the `batch` pool.
        (
            {
                "ml-platform:gpu_pools": {"inference": {"instance_type": "g5.xlarge", "max_size": 12}},
                "ml-platform:serving": None,
            },
            "node-pool-max-size",
            "mandatory",
            "inference-nodegroup: max_size 12 is above the cap of 8 nodes per GPU pool",
        ),
        ({"ml-platform:cost": None}, "cost-budget", "mandatory", "the prod stack has no monthly budget"),
        (
            {
                "ml-platform:gpu_pools": {"big": {"instance_type": "p5.48xlarge", "max_size": 1}},
                "ml-platform:serving": None,
            },
            "cost-budget",
            "mandatory",
            "exceeds the budget $7,000.00",
        ),
    ],
)
def test_bad_prod_stack_configs_are_rejected(change: dict, policy: str, level: str, fragment: str) -> None:
    run = runner.run("prod", overrides=change)
    assert run.error is None, run.error
    result = policy_run.run_for(run)
    assert any(v.policy == policy and v.level == level and fragment in v.message for v in result.violations), [
        f"{v.policy}: {v.message}" for v in result.violations
    ]


@pytest.mark.integration
def test_on_demand_gpus_in_dev_are_an_advisory_finding() -> None:
    run = runner.run("dev", overrides={"ml-platform:gpu_pools": {"inference": {"instance_type": "g5.xlarge"}}})
    result = policy_run.run_for(run)
    assert [(v.policy, v.level, v.name) for v in result.violations] == [
        ("gpu-spot-nonprod", "advisory", "inference-nodegroup")
    ]
    assert not result.mandatory_failed


@pytest.mark.integration
def test_resources_checked_while_the_program_runs_get_the_verdicts_of_a_check_afterwards() -> None:
    """The preview hands each resource to the pack as it is registered; the verdicts are those of the batch."""
    overrides = {"ml-platform:gpu_pools": {"inference": {"instance_type": "g5.xlarge"}}}
    config, _ = runner.read_stack_file("dev", overrides)
    document = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    with policy_run.PolicyRun("dev", config, document) as pack:
        run = runner.run("dev", overrides=overrides, on_register=pack.analyze)
        streamed = pack.verdicts(run.registrations)
    batch = policy_run.run_for(runner.run("dev", overrides=overrides))
    assert streamed.violations and [v.to_json() for v in streamed.violations] == [v.to_json() for v in batch.violations]


@pytest.mark.integration
def test_unknown_values_reach_the_pack_as_the_engine_sentinel() -> None:
    group = Registration(
        urn="urn:pulumi:t::ml-platform::aws:eks/nodeGroup:NodeGroup::g",
        type="aws:eks/nodeGroup:NodeGroup",
        name="g",
        parent="",
        custom=True,
        provider="",
        protect=False,
        depends_on=[],
        inputs={
            "instanceTypes": ["g5.xlarge"],
            "amiType": "AL2023_x86_64_NVIDIA",
            "taints": "[unknown]",
            "scalingConfig": {"minSize": 0, "maxSize": 1},
            "capacityType": "SPOT",
        },
    )
    assert policy_run._wire(group.inputs)["taints"] == policy_run.UNKNOWN_STRING
    result = policy_run.run("t", {"ml-platform:environment": "dev"}, [group], {})
    assert result.violations == []


@pytest.mark.integration
def test_all_sets_every_level_and_the_config_is_checked_like_the_cli_does(stack_run) -> None:
    run = stack_run("dev")
    config = dict(run.config, **{"ml-platform:cost": json.dumps({"monthly_budget_usd": 100})})
    result = policy_run.run(run.stack, config, run.registrations, {"all": "advisory"})
    # with the pack's defaults (7 days of backups), dev's 3-day MLflow database is reported too
    assert [(v.policy, v.level) for v in result.violations] == [
        ("cost-budget", "advisory"),
        ("database-security", "advisory"),
    ]
    with pytest.raises(policy_run.PolicyConfigError, match="names policies the pack does not have: no-such-rule"):
        policy_run.run(run.stack, run.config, run.registrations, {"no-such-rule": "advisory"})
    with pytest.raises(
        policy_run.PolicyConfigError, match=r"gpu-scheduling.maxGpusPerPod: 'eight' is not of type 'integer'"
    ):
        policy_run.run(run.stack, run.config, run.registrations, {"gpu-scheduling": {"maxGpusPerPod": "eight"}})
    with pytest.raises(policy_run.PolicyConfigError, match=r"cost-budget\.enforcementLevel: must be one of"):
        policy_run.run(run.stack, run.config, run.registrations, {"cost-budget": {"enforcementLevel": "strict"}})


@pytest.fixture(scope="module")
def pack_policies() -> list:
    with policy_run.Analyzer("test", {}) as analyzer:
        return list(analyzer.info().policies)


@pytest.mark.integration
@pytest.mark.parametrize("env", ["local", "dev", "staging", "prod"])
def test_shipped_policy_configs_fit_the_pack(pack_policies: list, env: str) -> None:
    document = json.loads((ROOT / "policies" / "config" / f"{env}.json").read_text())
    config = policy_run.build_policy_config(document, pack_policies)
    expected = "mandatory" if env == "prod" else "advisory"
    assert policy_run.LEVEL_NAMES[config["cost-budget"][0]] == expected
    assert policy_run.LEVEL_NAMES[config["container-resources"][0]] == "mandatory"
    assert config["gpu-scheduling"][1] == {
        "maxGpusPerPod": 8,
        "taintKey": "nvidia.com/gpu",
        "nodeLabels": ["nvidia.com/gpu.present", "ml-platform.io/accelerator"],
    }


def test_the_pack_main_only_builds_the_pack() -> None:
    main = (ROOT / "policies" / "__main__.py").read_text()
    assert "PolicyPack(" in main and "def " not in main and "class " not in main


@pytest.mark.integration
def test_a_pack_that_does_not_start_is_reported(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("raise SystemExit('no pack here')\n")
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    with pytest.raises(RuntimeError, match="the policy pack did not start"):
        policy_run.run("t", {}, [], {}, pack_dir=tmp_path)
