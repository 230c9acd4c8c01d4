"""The policy pack's rules, one module per area; each module exports ``RULES``.

Rule modules are pure: they import neither the program (``infra/``) nor the components, only ``cost/`` for the
price table and cost model, and they never import ``pulumi_policy`` (only :func:`.base.to_policy` does, lazily).
"""

from __future__ import annotations

from . import budget, data, network, nodes, serving, workloads
from .base import Rule

ALL: list[Rule] = [*workloads.RULES, *serving.RULES, *nodes.RULES, *network.RULES, *data.RULES, *budget.RULES]
"""Every rule of the pack, in report order."""

BY_NAME: dict[str, Rule] = {rule.name: rule for rule in ALL}
