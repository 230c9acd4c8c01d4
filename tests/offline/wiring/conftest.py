"""Renders of the shipped stacks as plain resource lists, to break one connection at a time."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from offline import wiring


def resources_of(result: Any) -> list[dict[str, Any]]:
    """A run's registrations as plan entries with the mocks' outputs, deep-copied so a test may break them."""
    return [copy.deepcopy({**r.to_json(), "outputs": r.outputs}) for r in result.registrations]


def find(resources: list[dict[str, Any]], type_suffix: str, name: str) -> dict[str, Any]:
    """The one resource of a type (its last segment, ``:HTTPRoute``) and registration name."""
    hits = [r for r in resources if r["type"].endswith(type_suffix) and r["name"] == name]
    assert len(hits) == 1, (type_suffix, name, [r["name"] for r in resources if r["type"].endswith(type_suffix)])
    return hits[0]


@pytest.fixture
def broken(stack_run) -> Callable[..., list[wiring.Finding]]:
    """``broken(stack, rule, mutate)``: the findings of one rule on a stack's render after ``mutate(resources)``."""

    def run(stack: str, rule: str, mutate: Callable[[list[dict[str, Any]]], None]) -> list[wiring.Finding]:
        result = stack_run(stack)
        resources = resources_of(result)
        mutate(resources)
        return wiring.check(resources, result.config, only=[rule])

    return run
