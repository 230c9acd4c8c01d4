"""The FinOps report from given measurements: its tables carry the arithmetic's numbers, its charts exist."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from finops.analysis import (
    RESERVED_VCPUS,
    Measured,
    break_even_rows,
    cost_rows,
    scale_to_zero_rows,
    serving_rps_per_vcpu,
)
from finops.arithmetic import LoadPoint
from finops.report import reference, write
from finops.stacks import NodeType, inventory

pytest.importorskip("matplotlib", reason="matplotlib is not installed (make setup installs requirements-test.txt)")


def levels(rps_per_vcpu: float, p95s: list[float]) -> list[LoadPoint]:
    """Load levels at 1, 2, 4... clients, each 10 s on 0.5 vCPU, with the given p95s."""
    return [LoadPoint(2**i, int(rps_per_vcpu * 5), 0, 10.0, p95 / 2, p95, p95 * 1.2, 5.0) for i, p95 in enumerate(p95s)]


SERVING = Measured("logreg", 0.0, levels(400, [5, 8, 30, 250]), 20.0)
MLP = Measured("mlp", 1e7, levels(100, [20, 40, 150, 400]), 30.0)
CPU = NodeType("aws", "us-west-2", "m6i.large", 2, None, 0, 0.096, 0.04, ("dev",))
GPU = NodeType("aws", "us-west-2", "g5.xlarge", 4, "nvidia-a10g", 1, 1.006, 0.402, ("dev",))
A10G = {"fp32_tflops": 31.2}


def test_cost_rows_price_a_cpu_node_by_its_replicas_and_a_gpu_node_by_its_serving_path() -> None:
    assert serving_rps_per_vcpu([SERVING, MLP], 200) == 400  # the serving path: the best any model reached
    rows = {
        (r["model"], r["node"]): r
        for r in cost_rows(
            [SERVING, MLP], serving_rps_per_vcpu([SERVING, MLP], 200), [CPU, GPU], {"nvidia-a10g": A10G}, 1.0, 200
        )
    }
    # m6i.large: one 1-vCPU replica after 0.5 vCPU kept, at 100 req/s per vCPU.
    assert rows[("mlp", "m6i.large")]["capacity_rps"] == 100
    assert rows[("mlp", "m6i.large")]["on_demand_per_1k"] == pytest.approx(0.096 / 360)
    # g5.xlarge: 3.5 vCPUs of serving path at 400 req/s each; the GPU computes far more (31.2 TFLOPS x 10% / 1e7).
    assert rows[("mlp", "g5.xlarge")]["capacity_rps"] == pytest.approx((4 - RESERVED_VCPUS) * 400)
    assert rows[("mlp", "g5.xlarge")]["spot_per_1k"] == pytest.approx(0.402 / (1400 * 3.6))


def test_break_even_rows_say_never_when_the_gpu_node_saturates_first() -> None:
    rows = cost_rows([MLP], 400.0, [CPU, GPU], {"nvidia-a10g": A10G}, 1.0, 200)
    [on_demand, spot] = break_even_rows(rows, [CPU, GPU])
    # floor(1.006 / 0.096) = 10 CPU nodes = 1,000 req/s, and one g5.xlarge carries 1,400: it pays above 1,000.
    assert on_demand["break_even_rps"] == 1000 and on_demand["speedup_needed"] == pytest.approx(1.006 / 0.096)
    # spot: floor(0.402 / 0.04) = 10 nodes as well.
    assert spot["break_even_rps"] == 1000
    slow = NodeType("aws", "us-west-2", "g5.xlarge", 2, "nvidia-a10g", 1, 1.006, 0.402, ("dev",))
    rows = cost_rows([MLP], 400.0, [CPU, slow], {"nvidia-a10g": A10G}, 1.0, 200)
    assert break_even_rows(rows, [CPU, slow])[0]["break_even_rps"] is None  # 600 req/s < 1,000


def test_scale_to_zero_rows_for_the_shipped_stacks() -> None:
    nodes, endpoints = inventory()
    rows = {(r["stack"], r["endpoint"]): r for r in scale_to_zero_rows(endpoints, nodes, 42.0)}
    assert set(rows) == {("dev", "iris"), ("gke-dev", "iris"), ("prod", "churn")}
    # dev iris: two versions, each 0.5 of an m6i.large's 2 vCPUs (0.096 $/h) warm all month.
    assert rows[("dev", "iris")]["warm_monthly_usd"] == pytest.approx(2 * 0.25 * 0.096 * 730)
    # prod churn: one version, 1 of an m6i.xlarge's 4 vCPUs (0.192 $/h), idle outside 176 working hours.
    assert rows[("prod", "churn")]["saved_business_hours_usd"] == pytest.approx(0.25 * 0.192 * (730 - 176))
    assert rows[("prod", "churn")]["cold_start_s"] == 42.0


def test_the_report_is_written_with_its_charts(tmp_path: Path) -> None:
    def model(m: Measured, title: str, accuracy: float) -> dict:
        return {
            "key": m.key,
            "title": title,
            "registered": f"finops-{m.key}",
            "accuracy": accuracy,
            "size_kib": 10.0,
            "input_dtype": "FP64",
            "flops_per_request": m.flops_per_request,
            "cold_start": {"pull_s": 5.0, "ready_s": 10.0, "first_inference_s": 0.1, "total_s": 15.1},
            "points": [asdict(p) for p in m.points],
        }

    results = {
        "started": "2026-11-30 10:00 UTC",
        "elapsed_s": 200.0,
        "train_and_log_s": 30.0,
        "seconds_per_level": 3.0,
        "rows_per_request": 16,
        "machine": {"cpus": 2, "model": "test CPU", "load_average": [3.0, 0, 0], "load_average_after": [4.0, 0, 0]},
        "models": [model(SERVING, "logistic regression", 0.97), model(MLP, "MLP", 0.98)],
    }
    report = write(results, tmp_path, tmp_path / "finops.md", image_prefix="finops/")
    figures = reference(results)  # what the cost dashboard shows beside production
    assert figures["model"] == "mlp" and figures["as_of"] == "2026-11-30"
    assert figures["nodes"]["m6i.large"] == {
        "hardware": "cpu",
        "capacity_rps": 100.0,
        "on_demand_per_1k": round(0.096 / 360, 8),
        "spot_per_1k": round(0.04 / 360, 8),
    }
    text = report.read_text()
    assert {p.name for p in tmp_path.glob("*.png")} == {"throughput-latency.png", "cost-per-1k.png", "cold-start.png"}
    assert "(finops/cost-per-1k.png)" in text and "NOT MEASURED HERE" in text and "shared with other work" in text
    # every mlp level serves 100 req/s per vCPU: the first is the best; on m6i.large, 0.096 $/h / 360 thousand
    assert "| 1 | 50 | 10.0 | 20.0 | 24.0 | 0 | 0.50 | 100 **best** |" in text
    assert "| mlp | m6i.large | cpu | dev, staging | 100 | $0.00027 | $0.00011 |" in text
    assert "## When is GPU serving worth its cost?" in text
