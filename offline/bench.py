"""``make bench``: how long the offline preview of each stack takes, as a ratio to the Pulumi SDK's own floor.

The floor is a fresh process that registers the same number of bare resources (ConfigMaps) under the same mocks
and monitor; the preview is the real command (``python -m offline.preview <stack> --quiet``). Both are timed from
process start to exit, interleaved and repeated, and the medians compared in one run, so machine noise affects
both sides alike. The ratio is what to watch: 1.0 means the platform adds nothing over registering resources.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import runner

TARGET_RATIO = 1.3


def floor(count: int) -> None:
    """Register ``count`` bare ConfigMaps under the preview's mocks (the SDK floor for that many resources)."""
    import asyncio

    import pulumi_kubernetes as k8s
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from .mocks import PreviewMocks, install

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = install(PreviewMocks(region="us-west-2"), "floor")

    def program() -> None:
        for i in range(count):
            k8s.core.v1.ConfigMap(f"cm-{i}", metadata={"name": f"cm-{i}"}, data={"k": "v"})

    _sync_await(run_pulumi_func(program))
    assert len(monitor.registrations) == count
    loop.close()


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=runner.ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--floor", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("stacks", nargs="*", help="stacks to measure (default: all)")
    args = parser.parse_args(argv)
    if args.floor is not None:
        floor(args.floor)
        return 0

    stacks = args.stacks or runner.stack_names()
    print(f"offline preview vs SDK floor, medians of {args.repeat} interleaved runs (target <= {TARGET_RATIO}x)")
    print(f"{'stack':<10} {'resources':>9} {'preview s':>10} {'floor s':>8} {'ratio':>6}")
    worst = 0.0
    with tempfile.TemporaryDirectory() as out:
        for stack in stacks:
            count = len(runner.run(stack).registrations)
            preview_cmd = [sys.executable, "-m", "offline.preview", stack, "--quiet", "--out", out]
            floor_cmd = [sys.executable, "-m", "offline.bench", "--floor", str(count)]
            previews, floors = [], []
            for _ in range(args.repeat):
                previews.append(_time(preview_cmd))
                floors.append(_time(floor_cmd))
            p, f = statistics.median(previews), statistics.median(floors)
            worst = max(worst, p / f)
            print(f"{stack:<10} {count:>9} {p:>10.2f} {f:>8.2f} {p / f:>5.2f}x")
    print(f"worst ratio {worst:.2f}x ({'within' if worst <= TARGET_RATIO else 'over'} the {TARGET_RATIO}x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
