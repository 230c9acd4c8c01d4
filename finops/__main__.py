"""``make finops``: train and log the models, serve each with MLServer as deployed, load it at rising
concurrency, then write ``build/finops/report.md`` with its charts.

``python -m finops [--out DIR] [--seconds S] [--from-results FILE]``; ``--from-results`` rewrites the report from
an earlier run's ``results.json`` without measuring again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from cost.reference import REFERENCE_PATH

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = (1, 2, 4, 8, 16, 32)
BENCH_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""One math-library thread per process: a 1-vCPU replica gains nothing from more, and on a shared machine extra
threads only add contention (the deployed container leaves these unset)."""


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "unknown",
        ),
    }


def measure(seconds: float) -> dict:
    from .models import MLP_HIDDEN, ROWS_PER_REQUEST, request_rows, train_and_log
    from .serve import Server, request_body

    started = time.time()
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="finops-") as tmp:
        work = Path(tmp)
        t = time.monotonic()
        uri, logged = train_and_log(work)
        train_s = time.monotonic() - t
        rows = request_rows().tolist()
        mlp_macs = ROWS_PER_REQUEST * (64 * MLP_HIDDEN[0] + MLP_HIDDEN[0] * MLP_HIDDEN[1] + MLP_HIDDEN[1] * 10)
        models = []
        for entry in logged:
            body = request_body(rows, entry.input_dtype)
            body_file = work / f"{entry.key}.json"
            body_file.write_bytes(body)
            server = Server(work, uri, entry.registered, BENCH_ENV)
            try:
                cold = server.start(body)
                for _ in range(30):  # warm-up
                    server.infer(body)
                points = [server.load(body_file, c, seconds) for c in CONCURRENCY]
            finally:
                server.stop()
            print(f"  {entry.key}: cold start {cold.total_s:.1f} s, {len(points)} load levels", file=sys.stderr)
            models.append(
                {
                    **asdict(entry),
                    "flops_per_request": 0.0 if entry.key == "logreg" else 2.0 * mlp_macs,
                    "cold_start": {**asdict(cold), "total_s": cold.total_s},
                    "points": [asdict(p) for p in points],
                }
            )
    machine["load_average_after"] = list(os.getloadavg())
    return {
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "elapsed_s": time.time() - started,
        "train_and_log_s": train_s,
        "seconds_per_level": seconds,
        "rows_per_request": ROWS_PER_REQUEST,
        "machine": machine,
        "models": models,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m finops", description=__doc__)
    parser.add_argument("--out", default="build/finops", help="output folder (default build/finops)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per load level (default 3)")
    parser.add_argument("--from-results", help="write the report from this results.json instead of measuring")
    parser.add_argument("--publish", action="store_true", help="also write docs/finops.md and docs/finops/*.png")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_results:
        results = json.loads(Path(args.from_results).read_text())
    else:
        os.environ.update(BENCH_ENV)
        print("finops: training, logging and serving the models (a few minutes)...", file=sys.stderr)
        results = measure(args.seconds)
        (out / "results.json").write_text(json.dumps(results, indent=2))
    from .report import write

    path = write(results, out)
    print(f"finops: wrote {path}", file=sys.stderr)
    if args.publish:
        docs = ROOT / "docs"
        (docs / "finops").mkdir(parents=True, exist_ok=True)
        path = write(results, docs / "finops", docs / "finops.md", image_prefix="finops/")
        print(f"finops: wrote {path}", file=sys.stderr)
        from .report import reference

        REFERENCE_PATH.write_text(json.dumps(reference(results), indent=2, sort_keys=True) + "\n")
        print(f"finops: wrote {REFERENCE_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
