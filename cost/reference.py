"""The FinOps report's cost per 1,000 inferences per node type (``cost/finops_reference.json``), for dashboards.

Why here: ``make finops`` measures serving on CPU and estimates it for GPU types, and writes the figures next to
the price table they were computed from; the monitoring layer shows them on the cost dashboard beside what
production measures, so a team sees at a glance whether its endpoints run near the benchmark's cost.
"""

from __future__ import annotations

import json
from pathlib import Path

REFERENCE_PATH = Path(__file__).with_name("finops_reference.json")


def reference_per_1k(nodes: dict[str, bool], path: Path = REFERENCE_PATH) -> dict[str, float]:
    """For each node type (instance type → spot or not) the report priced: a legend naming it and its cost per
    1,000 inferences. Empty when the report has not been published."""
    if not path.exists():
        return {}
    doc = json.loads(path.read_text())
    out = {}
    for instance, spot in sorted(nodes.items()):
        entry = doc["nodes"].get(instance)
        if entry is None:
            continue
        how = "measured" if entry["hardware"] == "cpu" else "estimated"
        capacity = "spot" if spot else "on-demand"
        label = f"report: {entry['hardware']} {instance} {capacity} ({how}, {doc['model']}, {doc['as_of']})"
        out[label] = float(entry["spot_per_1k" if spot else "on_demand_per_1k"])
    return out
