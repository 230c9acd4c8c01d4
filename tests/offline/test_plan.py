"""plan.json: stable from run to run, secrets masked, every resource with type, name, parent and inputs."""

from __future__ import annotations

import json

from offline import render, runner


def test_two_runs_give_the_same_plan(stack_run) -> None:
    first = json.dumps(render.plan(stack_run("dev")), sort_keys=True)
    second = json.dumps(render.plan(runner.run("dev")), sort_keys=True)
    assert first == second


def test_plan_lists_every_resource_with_its_parent(stack_run) -> None:
    result = stack_run("dev")
    plan = render.plan(result)
    assert len(plan["resources"]) == len(result.registrations)
    urns = {r["urn"] for r in plan["resources"]}
    for res in plan["resources"]:
        keys = {"urn", "type", "name", "parent", "custom", "provider", "protect", "dependsOn", "inputs"}
        assert set(res) - {"ignoreChanges", "deleteBeforeReplace"} == keys  # only where a resource has them
        assert res.get("ignoreChanges", ["-"]) and res.get("deleteBeforeReplace", True) is True
        assert res["parent"] in urns or res["parent"].endswith("::ml-platform-dev")
    assert [r["urn"] for r in plan["resources"]] == sorted(urns)


def test_delete_before_replace_shows_only_on_the_pool_that_chose_it() -> None:
    pools = {"inference": {"instance_type": "g5.xlarge", "delete_before_replace": True}}
    plan = render.plan(runner.run("dev", overrides={"ml-platform:gpu_pools": pools}))
    assert [r["name"] for r in plan["resources"] if "deleteBeforeReplace" in r] == ["inference-nodegroup"]


def test_secure_config_values_and_secret_inputs_are_masked() -> None:
    result = runner.run("dev", overrides={"aws:secretKey": {"secure": "v1:c2VjcmV0"}})
    plan = render.plan(result)
    assert plan["config"]["aws:secretKey"] == "[secret]"
    text = json.dumps(plan)
    assert "c2VjcmV0" not in text and "[secret aws:secretKey]" not in text
    provider = next(r for r in plan["resources"] if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    assert plan["outputs"]["kubeconfig"] == "[secret]"


def test_secure_values_reach_the_program_as_visible_placeholders() -> None:
    config, secrets = runner.read_stack_file("dev", overrides={"ml-platform:some_password": {"secure": "v1:x"}})
    assert config["ml-platform:some_password"] == "[secret ml-platform:some_password]"
    assert secrets == ["ml-platform:some_password", "ml-platform:mlflow_admin_password"]  # + declared secret keys
