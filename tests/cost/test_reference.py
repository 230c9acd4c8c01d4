"""The FinOps report's figures as the cost dashboard reads them."""

from __future__ import annotations

import json
from pathlib import Path

from cost.reference import reference_per_1k


def test_figures_per_node_type_with_how_they_were_obtained(tmp_path: Path) -> None:
    path = tmp_path / "finops_reference.json"
    path.write_text(
        json.dumps(
            {
                "model": "mlp",
                "as_of": "2026-11-30",
                "nodes": {
                    "m6i.large": {"hardware": "cpu", "on_demand_per_1k": 0.0002, "spot_per_1k": 0.0001},
                    "g5.xlarge": {"hardware": "gpu", "on_demand_per_1k": 0.002, "spot_per_1k": 0.0008},
                },
            }
        )
    )
    assert reference_per_1k({"m6i.large": False, "g5.xlarge": True, "p5.48xlarge": False}, path) == {
        "report: cpu m6i.large on-demand (measured, mlp, 2026-11-30)": 0.0002,
        "report: gpu g5.xlarge spot (estimated, mlp, 2026-11-30)": 0.0008,
    }


def test_nothing_until_the_report_is_published(tmp_path: Path) -> None:
    assert reference_per_1k({"m6i.large": False}, tmp_path / "absent.json") == {}
