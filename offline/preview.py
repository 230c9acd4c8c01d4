"""``python -m offline.preview <stack>``: what ``pulumi preview`` would create, without a cloud or the CLI.

Runs the real program under Pulumi's mock runtime with the stack's config, prints every resource in a tree
under its component, runs the policy pack over them as the engine does (its own process, analyzer gRPC protocol,
``policies/config/<environment>.json``), prints the verdicts and the stack's monthly cost against its budget,
writes the plan, manifests and Helm releases under ``build/<stack>/``, and exits non-zero when the configuration
is invalid (printing every problem, no traceback) or, like ``pulumi preview``, when a mandatory policy fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from . import costs, policy_run, render, runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.preview", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help=f"stack name ({', '.join(runner.stack_names())})")
    parser.add_argument("--out", default=str(runner.ROOT / "build"), help="output folder (default build/)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.add_argument("--stack-file", type=Path, help="read this stack file instead of stacks/Pulumi.<stack>.yaml")
    parser.add_argument(
        "--policy-pack-config", type=Path, help="policy config file (default policies/config/<environment>.json)"
    )
    parser.add_argument("--skip-policies", action="store_true", help="do not run the policy pack")
    args = parser.parse_args(argv)
    runner.rare_full_gc()

    if args.stack_file is None and args.stack not in runner.stack_names():
        print(f"error: no stack {args.stack!r}; stacks: {', '.join(runner.stack_names())}", file=sys.stderr)
        return 2
    if args.stack_file is not None and not args.stack_file.exists():
        print(f"error: no stack file {args.stack_file}", file=sys.stderr)
        return 2
    # The pack starts (its own process, driven from a thread) before the program runs and checks each resource as
    # the program registers it, so its work overlaps the program's instead of following it.
    config, _ = runner.read_stack_file(args.stack, stack_file=args.stack_file)
    config_file = args.policy_pack_config or policy_run.config_path(config.get("ml-platform:environment"))
    document = json.loads(config_file.read_text()) if config_file is not None else {}
    with contextlib.ExitStack() as pack:
        started = None if args.skip_policies else pack.enter_context(policy_run.PolicyRun(args.stack, config, document))
        result = runner.run(args.stack, stack_file=args.stack_file, on_register=started and started.analyze)
        if result.error:
            print(f"error: {result.error}", file=sys.stderr)
            return 1
        verdicts = None
        if started is not None:
            try:
                verdicts = started.verdicts(result.registrations)
            except policy_run.PolicyConfigError as exc:
                print(f"error: {config_file}: {exc}", file=sys.stderr)
                return 2
    out_dir = Path(args.out) / args.stack
    report, budget = costs.stack_cost(result, document)
    extra = {"cost": report.to_json(budget)}
    if verdicts is not None:
        extra["policy"] = verdicts.to_json()
    counts = render.write(result, out_dir, extra)
    if not args.quiet:
        cfg = result.config
        where = cfg.get("aws:region") or cfg.get("gcp:region") or "kubeconfig"
        print(
            f"ml-platform · stack {args.stack} · {cfg.get('ml-platform:cloud')} ({where}) · "
            f"environment {cfg.get('ml-platform:environment')}"
        )
        for line in render.tree_lines(result.registrations):
            print(line)
        print()
        print("Outputs:")
        for key, value in result.outputs.items():
            print(f"  {key}: {value}")
        print()
    if verdicts is not None and (verdicts.violations or not args.quiet):
        where = (
            config_file.relative_to(runner.ROOT)
            if config_file and config_file.is_relative_to(runner.ROOT)
            else config_file
        )
        print(
            f"Policies: {verdicts.pack} {verdicts.version}, {len(verdicts.policies)} policies, "
            f"config {where or 'defaults'}"
        )
        for v in verdicts.violations:
            print(f"  [{v.level}] {v.policy}: {v.message}")
        if not verdicts.violations and not args.quiet:
            print("  no violations")
    for line in costs.cost_lines(report, budget)[: 1 if args.quiet else None]:
        print(line)
    rel = out_dir.relative_to(runner.ROOT) if out_dir.is_relative_to(runner.ROOT) else out_dir
    print(
        f"{args.stack}: {counts['resources']} resources, {counts['objects']} Kubernetes objects, "
        f"{counts['releases']} Helm releases -> {rel}/ (plan.json, manifests/, helm/)"
    )
    if verdicts is not None and verdicts.mandatory_failed:
        failed = sorted({v.policy for v in verdicts.violations if v.level == "mandatory"})
        print(f"error: mandatory policy violations: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
