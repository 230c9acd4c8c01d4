"""Pure arithmetic from measurements to costs: percentiles, capacity at a latency target, cost per 1,000
inferences, the CPU/GPU break-even and what scaling to zero saves.

Why pure functions: the report's conclusions rest on them, and they are checked by unit tests on given
measurements, independent of the machine the benchmark ran on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

HOURS_PER_MONTH = 730.0
"""The cost model's month (``hours_per_month`` in cost/prices.yaml)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values`` by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be in [0, 100], got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class LoadPoint:
    """One load level: a closed loop of ``concurrency`` clients sending requests for ``duration_s``."""

    concurrency: int
    ok: int
    """Requests answered with HTTP 200."""
    errors: int
    duration_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_cpu_s: float
    """CPU seconds the server's processes used during the level (user + system, all processes)."""

    @property
    def throughput_rps(self) -> float:
        return self.ok / self.duration_s

    @property
    def vcpus_used(self) -> float:
        return self.server_cpu_s / self.duration_s

    @property
    def rps_per_vcpu(self) -> float:
        return self.throughput_rps / self.vcpus_used if self.vcpus_used > 0 else 0.0


def best_under_slo(points: Sequence[LoadPoint], p95_slo_ms: float = 200.0) -> LoadPoint | None:
    """The load level with the highest throughput per vCPU among those that keep p95 under the SLO and had no
    errors; None when none does."""
    ok = [p for p in points if p.p95_ms < p95_slo_ms and p.errors == 0 and p.ok > 0]
    return max(ok, key=lambda p: (p.rps_per_vcpu, p.throughput_rps), default=None)


def replicas_per_node(node_vcpus: float, replica_vcpus: float, reserved_vcpus: float) -> int:
    """Model replicas that fit on one node by CPU requests, after what the node keeps for itself."""
    if replica_vcpus <= 0:
        raise ValueError(f"replica_vcpus must be > 0, got {replica_vcpus}")
    return max(0, math.floor((node_vcpus - reserved_vcpus) / replica_vcpus + 1e-9))


def node_capacity_rps(rps_per_vcpu: float, node_vcpus: float, replica_vcpus: float, reserved_vcpus: float) -> float:
    """Requests per second one CPU node sustains at the latency target: replicas that fit x what one replica's
    vCPUs serve."""
    return replicas_per_node(node_vcpus, replica_vcpus, reserved_vcpus) * replica_vcpus * rps_per_vcpu


def cost_per_1k(hourly_usd: float, rps: float) -> float:
    """USD per 1,000 inferences for capacity costing ``hourly_usd`` that serves ``rps`` requests per second."""
    if rps <= 0:
        return math.inf
    return hourly_usd / (rps * 3600) * 1000


def nodes_needed(rps: float, node_rps: float) -> int:
    """Nodes needed to serve ``rps`` when one node sustains ``node_rps`` (at least one)."""
    if node_rps <= 0:
        raise ValueError(f"node_rps must be > 0, got {node_rps}")
    return max(1, math.ceil(rps / node_rps - 1e-9))


def cost_per_1k_at(rps: float, node_rps: float, node_hourly_usd: float) -> float:
    """USD per 1,000 inferences when whole nodes serve a sustained ``rps`` (the last node may be part idle)."""
    return cost_per_1k(nodes_needed(rps, node_rps) * node_hourly_usd, rps)


def break_even_rps(
    cpu_node_rps: float, cpu_hourly_usd: float, gpu_node_rps: float, gpu_hourly_usd: float
) -> float | None:
    """The sustained rate above which one GPU node is cheaper than the CPU nodes serving the same rate.

    The CPU fleet costs more than one GPU node once it needs more than ``floor(gpu / cpu price)`` nodes, that is
    above ``floor(gpu / cpu) x cpu_node_rps``. That only helps if one GPU node can carry that rate: None when
    it cannot (a GPU node saturates before it pays for itself).
    """
    if cpu_hourly_usd <= 0 or cpu_node_rps <= 0:
        raise ValueError("CPU price and capacity must be > 0")
    rate = math.floor(gpu_hourly_usd / cpu_hourly_usd + 1e-9) * cpu_node_rps
    return rate if rate < gpu_node_rps else None


def gpu_node_capacity_rps(node_vcpus: float, serving_rps_per_vcpu: float, gpu_model_rps: float | None) -> float:
    """Requests per second a GPU node can serve: the least of what its vCPUs can push through the HTTP serving
    path (measured on CPU with a model whose compute is negligible) and what its GPU computes (published, or None
    when the model's compute on the GPU is negligible too)."""
    serving = node_vcpus * serving_rps_per_vcpu
    return serving if gpu_model_rps is None else min(serving, gpu_model_rps)


def scale_to_zero_savings(replica_hourly_usd: float, idle_hours_per_month: float) -> float:
    """USD a month saved by a version that scales to zero instead of keeping one warm replica, for the hours it
    sits idle (at least one replica runs whenever there is traffic either way)."""
    idle = min(max(idle_hours_per_month, 0.0), HOURS_PER_MONTH)
    return replica_hourly_usd * idle


def replica_hourly_usd(node_hourly_usd: float, share: float) -> float:
    """The part of a node's price one replica holds: its requests' share of the node (GPUs for a GPU replica,
    vCPUs for a CPU one), the same attribution the cost recording rules make."""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1], got {share}")
    return node_hourly_usd * share
