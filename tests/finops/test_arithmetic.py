"""The FinOps arithmetic, checked on given measurements (no timing: the benchmark measures, these compute)."""

from __future__ import annotations

import math

import pytest

from finops.arithmetic import (
    LoadPoint,
    best_under_slo,
    break_even_rps,
    cost_per_1k,
    cost_per_1k_at,
    gpu_node_capacity_rps,
    node_capacity_rps,
    nodes_needed,
    percentile,
    replica_hourly_usd,
    replicas_per_node,
    scale_to_zero_savings,
)


def point(c: int, ok: int, p95: float, cpu_s: float, errors: int = 0, seconds: float = 10.0) -> LoadPoint:
    return LoadPoint(c, ok, errors, seconds, p50_ms=p95 / 2, p95_ms=p95, p99_ms=p95 * 1.5, server_cpu_s=cpu_s)


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile(values, 100) == 100 and percentile([7.0], 99) == 7
    with pytest.raises(ValueError):
        percentile([], 50)


def test_a_load_point_derives_throughput_and_throughput_per_vcpu() -> None:
    p = point(8, ok=2000, p95=40, cpu_s=5.0)  # 200 req/s on 0.5 vCPU
    assert (p.throughput_rps, p.vcpus_used, p.rps_per_vcpu) == (200, 0.5, 400)


def test_best_under_slo_is_the_most_efficient_level_that_keeps_p95_and_has_no_errors() -> None:
    points = [
        point(1, ok=1000, p95=10, cpu_s=4.0),  # 100 req/s, 250 per vCPU
        point(4, ok=3000, p95=60, cpu_s=9.0),  # 300 req/s, 333 per vCPU
        point(16, ok=4000, p95=250, cpu_s=10.0),  # over the SLO
        point(8, ok=3500, p95=90, cpu_s=9.0, errors=3),  # errors
    ]
    assert best_under_slo(points, 200).concurrency == 4
    assert best_under_slo(points, 5) is None


def test_node_capacity_counts_whole_replicas_after_what_the_node_keeps() -> None:
    assert replicas_per_node(node_vcpus=2, replica_vcpus=1, reserved_vcpus=0.5) == 1
    assert replicas_per_node(node_vcpus=4, replica_vcpus=1, reserved_vcpus=0.5) == 3
    assert replicas_per_node(node_vcpus=2, replica_vcpus=0.5, reserved_vcpus=0.5) == 3
    assert node_capacity_rps(rps_per_vcpu=300, node_vcpus=4, replica_vcpus=1, reserved_vcpus=0.5) == 900


def test_cost_per_thousand_inferences() -> None:
    # 0.096 $/h for 100 req/s = 360,000 inferences an hour: 0.000267 $ per thousand
    assert cost_per_1k(0.096, 100) == pytest.approx(0.096 / 360)
    assert cost_per_1k(1.0, 0) == math.inf
    assert nodes_needed(250, 100) == 3 and nodes_needed(0.1, 100) == 1 and nodes_needed(200, 100) == 2
    # 250 req/s needs 3 nodes at 0.1 $/h: 0.3 $/h for 900,000 an hour
    assert cost_per_1k_at(250, node_rps=100, node_hourly_usd=0.1) == pytest.approx(0.3 / 900)


def test_break_even_is_where_the_cpu_fleet_outgrows_one_gpu_node() -> None:
    # A GPU node at 1.0 $/h against CPU nodes at 0.1 $/h serving 100 req/s each: ten CPU nodes (1,000 req/s)
    # cost as much as the GPU node, so above 1,000 req/s the GPU node is cheaper if it can carry that.
    assert break_even_rps(100, 0.1, gpu_node_rps=5000, gpu_hourly_usd=1.0) == 1000
    assert break_even_rps(100, 0.1, gpu_node_rps=1000, gpu_hourly_usd=1.0) is None  # saturates first
    assert break_even_rps(100, 0.3, gpu_node_rps=5000, gpu_hourly_usd=1.0) == 300  # 3 CPU nodes < 1 GPU node


def test_gpu_node_capacity_is_bounded_by_its_vcpus_serving_path() -> None:
    assert gpu_node_capacity_rps(3.5, 400, gpu_model_rps=None) == 1400
    assert gpu_node_capacity_rps(3.5, 400, gpu_model_rps=10_000) == 1400
    assert gpu_node_capacity_rps(3.5, 400, gpu_model_rps=500) == 500


def test_scale_to_zero_saves_the_idle_hours_of_one_warm_replica() -> None:
    hourly = replica_hourly_usd(0.192, share=0.25)  # 1 vCPU of an m6i.xlarge
    assert hourly == pytest.approx(0.048)
    assert scale_to_zero_savings(hourly, 730) == pytest.approx(35.04)
    assert scale_to_zero_savings(hourly, 730 - 176) == pytest.approx(0.048 * 554)
    assert scale_to_zero_savings(hourly, 1000) == pytest.approx(35.04)  # never more than a month
    with pytest.raises(ValueError):
        replica_hourly_usd(1.0, 1.5)
