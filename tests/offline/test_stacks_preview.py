"""Every shipped stack previews cleanly, and what it registers is well formed."""

from __future__ import annotations

import pytest

from offline import runner

STACKS = runner.stack_names()


def test_all_five_environments_are_shipped() -> None:
    assert set(STACKS) >= {"local", "dev", "staging", "prod", "gke-dev"}


@pytest.mark.parametrize("stack", STACKS)
def test_stack_previews_without_error(stack_run, stack: str) -> None:
    result = stack_run(stack)
    assert result.error is None, result.error
    assert result.registrations, "the program registered nothing"


@pytest.mark.parametrize("stack", STACKS)
def test_urns_are_unique(stack_run, stack: str) -> None:
    urns = [r.urn for r in stack_run(stack).registrations]
    duplicates = sorted({u for u in urns if urns.count(u) > 1})
    assert not duplicates, f"the engine would refuse duplicate URNs: {duplicates}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_sits_under_a_platform_component(stack_run, stack: str) -> None:
    regs = stack_run(stack).registrations
    urns = {r.urn for r in regs}
    for reg in regs:
        if reg.type.startswith("ml-platform:"):
            continue
        if reg.type == "pulumi:providers:kubernetes" and stack == "local":
            continue  # the provider of an existing cluster belongs to no component
        assert reg.parent in urns, f"{reg.type} {reg.name} has no component parent"
