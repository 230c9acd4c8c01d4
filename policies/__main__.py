"""The ml-platform policy pack: builds the PolicyPack from the rule modules, and nothing else.

``pulumi preview --policy-pack policies [--policy-pack-config policies/config/<env>.json]`` runs this file as its
own process (the offline preview does the same, see ``offline/policy_run.py``). The CLI starts it with the pack
folder as working directory, so the repository root is put on ``sys.path`` first: the rules import the shared
cost model from ``cost/`` (never ``infra/`` or ``components/``).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.rules import ALL  # noqa: E402
from policies.rules.base import to_policy  # noqa: E402

PolicyPack(
    name="ml-platform",
    description="Resource limits, GPU scheduling, security and cost budgets for the ml-platform stacks.",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[to_policy(rule) for rule in ALL],
)
