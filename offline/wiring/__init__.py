"""The wiring check: rules over a whole render that no per-object schema check can see.

Every rule is named, documented in ``docs/wiring.md`` and takes the :class:`Render` of one preview (what the
program registers, what its charts and controllers will create from it). :func:`check` runs them all; the offline
preview runs it on every stack, prints each finding with the objects it involves, records them in ``plan.json``
and exits 1 when there is any, as it does for a mandatory policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import (  # noqa: F401 - registers rules
    _rules_cache,
    _rules_network,
    _rules_order,
    _rules_routes,
    _rules_scrape,
    _rules_storage,
)
from ._base import RULES, Finding, Rule
from ._build import build
from ._render import Render

__all__ = ["RULES", "Finding", "Render", "Rule", "build", "check", "to_json"]

AREAS = ("scraping", "services and routes", "storage", "volumes", "ordering", "reachability", "network isolation")
"""The order rules run and are listed in (as ``docs/wiring.md`` lists them)."""
for _name, _rule in sorted(RULES.items(), key=lambda item: AREAS.index(item[1].area)):
    RULES.pop(_name)
    RULES[_name] = _rule


def check(resources: Iterable[Any], config: dict[str, str], only: Iterable[str] | None = None) -> list[Finding]:
    """Every finding of every rule (or of the rules named in ``only``) over one preview's registrations."""
    render = build(resources, config)
    names = list(only) if only is not None else list(RULES)
    findings: list[Finding] = []
    for name in names:
        findings += RULES[name].fn(render)
    return findings


def to_json(findings: list[Finding]) -> dict[str, Any]:
    """The ``wiring`` section of ``plan.json``."""
    return {"rules": list(RULES), "findings": [f.to_json() for f in findings]}
