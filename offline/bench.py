"""``make bench``: how long the offline preview of each stack takes, as a ratio to the Pulumi SDK's own floor.

The floor is a fresh process that registers the same number of bare resources (ConfigMaps) under the same mocks,
monitor and garbage-collector settings; the preview is the real command (``python -m offline.preview <stack>
--quiet``). Both are timed from process start to exit, interleaved and repeated, and the medians compared in one
run, so machine noise affects both sides alike. The ratio is what to watch: 1.0 means the platform adds nothing
over registering resources.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import runner

TARGET_RATIO = 1.3


def sdk_classes(plan: dict) -> list[str]:
    """The provider SDK classes of a plan's resource types (``aws:ec2/vpc:Vpc`` -> ``pulumi_aws.ec2:Vpc``).

    Provider SDKs load lazily: a class is built (with its package's input and output types) on first access, so
    the floor must touch the classes, not just import the packages.
    """
    packages = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "kubernetes": "pulumi_kubernetes", "random": "pulumi_random"}
    out = set()
    for res in plan["resources"]:
        package, _, rest = res["type"].partition(":")
        if package not in packages or rest.startswith("providers"):
            continue
        module, _, cls = rest.partition(":")
        if package == "kubernetes":
            group, _, version = module.rpartition("/")
            group = group.replace("helm.sh", "helm").split(".")[0]
            if group not in ("core", "apps", "batch", "policy", "rbac", "networking", "storage", "autoscaling", "helm"):
                out.add("pulumi_kubernetes.apiextensions:CustomResource")
                continue
            out.add(f"pulumi_kubernetes.{group}.{version}:{cls}")
        else:
            module = module.split("/")[0]
            out.add(f"{packages[package]}{'' if module == 'index' else '.' + module}:{cls}")
    return sorted(out)


def floor(count: int, modules: list[str] | None = None) -> None:
    """Register ``count`` bare ConfigMaps under the preview's mocks (the SDK floor for that many resources).

    With ``modules`` (``package.module:Class`` names), first load those provider SDK classes: the same floor, plus
    what merely loading the SDK classes of the stack's resource types costs.
    """
    import importlib

    runner.rare_full_gc()  # as the preview does, so the ratio compares like with like
    for name in modules or []:
        module, _, cls = name.partition(":")
        getattr(importlib.import_module(module), cls)

    import pulumi_kubernetes as k8s
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from .mocks import PreviewMocks, mocked_runtime

    def program() -> None:
        for i in range(count):
            k8s.core.v1.ConfigMap(f"cm-{i}", metadata={"name": f"cm-{i}"}, data={"k": "v"})

    with mocked_runtime(PreviewMocks(region="us-west-2"), "floor") as monitor:
        _sync_await(run_pulumi_func(program))
        assert len(monitor.registrations) == count


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=runner.ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each command (default 5)")
    parser.add_argument("--floor", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--modules", default="", help=argparse.SUPPRESS)
    parser.add_argument("stacks", nargs="*", help="stacks to measure (default: all)")
    args = parser.parse_args(argv)
    if args.floor is not None:
        floor(args.floor, [m for m in args.modules.split(",") if m])
        runner.leave(0)  # as the preview ends: neither side pays the interpreter's teardown

    stacks = args.stacks or runner.stack_names()
    print(f"offline preview vs SDK floor, medians of {args.repeat} interleaved runs (target <= {TARGET_RATIO}x)")
    print("floor: the same number of bare ConfigMaps under the same mocks; floor+SDK: the same, after importing the")
    print("provider SDK classes of the stack's resource types (what loading those classes alone costs)")
    print(
        f"{'stack':<10} {'resources':>9} {'preview s':>10} {'floor s':>8} {'ratio':>6} {'floor+SDK s':>12} {'ratio':>6}"
    )
    worst = 0.0
    with tempfile.TemporaryDirectory() as out:
        for stack in stacks:
            preview_cmd = [sys.executable, "-m", "offline.preview", stack, "--quiet", "--out", out]
            _time(preview_cmd)  # warm-up; also gives the plan
            plan = json.loads((Path(out) / stack / "plan.json").read_text())
            count = len(plan["resources"])
            floor_cmd = [sys.executable, "-m", "offline.bench", "--floor", str(count)]
            sdk_cmd = [*floor_cmd, "--modules", ",".join(sdk_classes(plan))]
            previews, floors, sdk_floors = [], [], []
            for _ in range(args.repeat):
                previews.append(_time(preview_cmd))
                floors.append(_time(floor_cmd))
                sdk_floors.append(_time(sdk_cmd))
            p, f, fs = statistics.median(previews), statistics.median(floors), statistics.median(sdk_floors)
            worst = max(worst, p / f)
            print(f"{stack:<10} {count:>9} {p:>10.2f} {f:>8.2f} {p / f:>5.2f}x {fs:>12.2f} {p / fs:>5.2f}x")
    verdict = "within" if worst <= TARGET_RATIO else "over"
    print(f"worst ratio to the floor {worst:.2f}x ({verdict} the {TARGET_RATIO}x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
