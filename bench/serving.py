"""The serving benchmark: cold start with and without the node's model cache, latency and memory with and without
the concurrency cap, and the warm-up gate, on real MLflow, S3 API (moto) and MLServer processes on loopback.

Why a tool of its own rather than a test: it measures, and its numbers depend on the machine; it prints them as
JSON (several minutes) for docs/serving.md to quote. The integration tests check the same behaviour without
asserting any timing. Run it as ``python -m bench.serving`` (``make bench-serving``), or
``python -m bench.serving concurrency MODEL_DIR`` to measure only the cap on a model already pulled.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from loopback.services import workspace
from loopback.serving import SAMPLE, Registry, closed_loop, endpoint_args, serving


def bench_cold_start(registry: Registry, model_uri: str, root: Path, runs: int) -> dict[str, Any]:
    """Start to first warm answer: pulled from MLflow (no cache) vs already on the node's disk (cache)."""
    args = endpoint_args(warmup_request=json.dumps(SAMPLE))
    cached = root / "node-cache" / "slow"
    registry.download(model_uri, cached)
    out: dict[str, list[float]] = {"pull_s": [], "no_cache_s": [], "cache_s": []}
    for i in range(runs):
        for mode in ("no_cache", "cache"):
            start = time.monotonic()
            model_dir = cached
            if mode == "no_cache":
                model_dir = root / f"pulled-{i}"
                out["pull_s"].append(registry.download(model_uri, model_dir))
            with serving(args, model_dir, root / f"{mode}-{i}") as server:
                server.started = start
                server.wait_until(lambda s=server: s.gate().returncode == 0)
                out[f"{mode}_s"].append(time.monotonic() - start)
    return {k: {"median": round(statistics.median(v), 2), "runs": [round(x, 2) for x in v]} for k, v in out.items()}


def bench_cap(
    model_dir: Path, root: Path, levels: list[int], per_client: int, uncapped_workers: int, record: Any
) -> None:
    """Latency and memory at rising concurrency: capped at the machine's cores vs a worker per request."""
    for label, workers in (("cap", os.cpu_count() or 2), ("no_cap", uncapped_workers)):
        args = endpoint_args(concurrency_limit=workers, warmup_request=json.dumps(SAMPLE))
        with serving(args, model_dir, root / f"load-{label}") as server:
            server.wait_until(lambda s=server: s.gate().returncode == 0)
            out: dict[str, Any] = {"workers": workers, "idle_rss_mb": round(server.rss_mb())}
            out["levels"] = [closed_loop(server, c, per_client).row() for c in levels]
            record(f"concurrency_{label}", out)


def bench_warmup(model_dir: Path, root: Path) -> dict[str, Any]:
    """When traffic could arrive with a process-level readiness check vs the platform's warm-up gate."""
    args = endpoint_args(warmup_request=json.dumps(SAMPLE))
    out: dict[str, Any] = {}
    with serving(args, model_dir, root / "warm-process") as server:
        out["process_ready_s"] = round(server.wait_until(lambda: server.status("/v2/health/ready") == 200), 2)
        status, seconds = server.infer()
        out["first_request_at_process_ready_s"] = round(seconds, 3) if status == 200 else f"HTTP {status}"
    with serving(args, model_dir, root / "warm-gate") as server:
        out["gate_passed_s"] = round(server.wait_until(lambda: server.gate().returncode == 0), 2)
        out["inferences_before_traffic"] = server.metric("model_infer_request_success_total")
        status, seconds = server.infer()
        out["first_request_after_gate_s"] = round(seconds, 3) if status == 200 else f"HTTP {status}"
    return out


def main() -> None:
    root = workspace()
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}}

    def record(key: str, value: Any) -> None:
        results[key] = value
        (root / "results.json").write_text(json.dumps(results, indent=2))  # partial results survive a failure
        print(f"{key}: {json.dumps(value)}", file=sys.stderr, flush=True)

    model_dir = Path(sys.argv[2]) if sys.argv[1:2] == ["concurrency"] else root / "node-cache" / "slow"
    if sys.argv[1:2] != ["concurrency"]:  # `concurrency MODEL_DIR` measures only the cap, on a model already pulled
        registry = Registry(root).start()
        try:
            logged = registry.log_slow_model()
            record("cold_start", bench_cold_start(registry, logged["registered"], root, runs=2))
        finally:
            registry.stop()
        record("warmup", bench_warmup(model_dir, root))
    bench_cap(model_dir, root, levels=[1, 2, 4, 6], per_client=3, uncapped_workers=6, record=record)
    results["machine"]["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
