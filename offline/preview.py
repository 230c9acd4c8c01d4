"""``python -m offline.preview <stack>``: what ``pulumi preview`` would create, without a cloud or the CLI.

Runs the real program under Pulumi's mock runtime with the stack's config, prints every resource in a tree
under its component, runs the policy pack over them as the engine does (its own process, analyzer gRPC protocol,
``policies/config/<environment>.json``), prints the verdicts and the stack's monthly cost against its budget,
runs the wiring check over the whole render (``offline/wiring``: rules no single object's schema can see),
writes the plan, manifests and Helm releases under ``build/<stack>/``, and exits non-zero when the configuration
is invalid (printing every problem, no traceback), when a wiring rule is broken (printed with the objects it
involves, recorded in ``plan.json``) or, like ``pulumi preview``, when a mandatory policy fails.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from . import costs, policy_run, render, runner, wiring
from . import stack_file as stack_file_module


def _shown(path: Path) -> Path:
    """A path as the user knows it: relative to the repository when it lies inside."""
    return path.relative_to(runner.ROOT) if path.is_relative_to(runner.ROOT) else path


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    runner.rare_full_gc()

    if args.stack_file is None and args.stack not in runner.stack_names():
        print(f"error: no stack {args.stack!r}; stacks: {', '.join(runner.stack_names())}", file=sys.stderr)
        return 2
    if args.stack_file is not None and not args.stack_file.exists():
        print(f"error: no stack file {args.stack_file}", file=sys.stderr)
        return 2
    stack_file = args.stack_file or _shown(runner.STACKS / f"Pulumi.{args.stack}.yaml")
    document: dict | None = {}
    if args.policy_pack_config is not None:  # checked before the program runs: a bad file costs no run
        document = _policy_document(args.policy_pack_config)
        if document is None:
            return 1
    try:
        config, _ = runner.read_stack_file(args.stack, stack_file=args.stack_file)
    except stack_file_module.StackFileError as exc:
        print(f"error: {stack_file}: {exc}", file=sys.stderr)
        return 1
    config_file = args.policy_pack_config or policy_run.config_path(config.get("ml-platform:environment"))
    document_error = None
    if args.policy_pack_config is None and config_file is not None:
        document, document_error = _environment_document(config_file)
    # The pack starts (its own process, driven from a thread) before the program runs and checks each resource as
    # the program registers it, so its work overlaps the program's instead of following it.
    with contextlib.ExitStack() as pack:
        started = None
        if not args.skip_policies and document_error is None:
            started = pack.enter_context(policy_run.PolicyRun(args.stack, config, document))
        result = runner.run(
            args.stack, stack_file=args.stack_file, on_register=started.analyze if started is not None else None
        )
        if result.error:
            print(f"error: {stack_file}: {result.error}", file=sys.stderr)
            return 1
        out_dir = Path(args.out) / args.stack
        if document_error is not None and config_file is not None:
            print(f"error: {_shown(config_file)}: {document_error}", file=sys.stderr)
            return 1
        try:
            report, budget = costs.stack_cost(result, document)
        except policy_run.PolicyConfigError as exc:
            print(f"error: {_shown(config_file) if config_file else 'policy config'}: {exc}", file=sys.stderr)
            return 1
        findings = wiring.check(result.registrations, result.config)
        extra = {"cost": report.to_json(budget), "wiring": wiring.to_json(findings)}
        verdicts = None
        if started is not None:
            try:
                verdicts = started.verdicts(result.registrations)
            except policy_run.PolicyConfigError as exc:
                print(f"error: {config_file}: {exc}", file=sys.stderr)
                return 1
            extra["policy"] = verdicts.to_json()
    counts = render.write(result, out_dir, extra)
    if not args.quiet:
        _print_tree(args.stack, result)
    if verdicts is not None and (verdicts.violations or not args.quiet):
        _print_verdicts(verdicts, config_file, args.quiet)
    _print_wiring(findings, args.quiet)
    for line in costs.cost_lines(report, budget)[: 1 if args.quiet else None]:
        print(line)
    rel = out_dir.relative_to(runner.ROOT) if out_dir.is_relative_to(runner.ROOT) else out_dir
    print(
        f"{args.stack}: {counts['resources']} resources, {counts['objects']} Kubernetes objects, "
        f"{counts['releases']} Helm releases -> {rel}/ (plan.json, manifests/, helm/)"
    )
    if findings:
        print(f"error: broken wiring: {', '.join(sorted({f.rule for f in findings}))}", file=sys.stderr)
        return 1
    if verdicts is not None and verdicts.mandatory_failed:
        failed = sorted({v.policy for v in verdicts.violations if v.level == "mandatory"})
        print(f"error: mandatory policy violations: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m offline.preview", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help=f"stack name ({', '.join(runner.stack_names())})")
    parser.add_argument("--out", default=str(runner.ROOT / "build"), help="output folder (default build/)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.add_argument("--stack-file", type=Path, help="read this stack file instead of stacks/Pulumi.<stack>.yaml")
    parser.add_argument(
        "--policy-pack-config", type=Path, help="policy config file (default policies/config/<environment>.json)"
    )
    parser.add_argument("--skip-policies", action="store_true", help="do not run the policy pack")
    return parser


def _environment_document(path: Path) -> tuple[dict, policy_run.PolicyConfigError | None]:
    """The environment's policy config file, or what is wrong with it: reported after the program's own errors,
    as when the file was read after the run."""
    try:
        return policy_run.read_config_file(path), None
    except policy_run.PolicyConfigError as exc:
        return {}, exc


def _policy_document(path: Path) -> dict | None:
    """The policy config file's document, or None after printing what is wrong with it."""
    try:
        return policy_run.read_config_file(path)
    except policy_run.PolicyConfigError as exc:
        print(f"error: {_shown(path)}: {exc}", file=sys.stderr)
        return None


def _print_tree(stack: str, result: runner.RunResult) -> None:
    cfg = result.config
    where = cfg.get("aws:region") or cfg.get("gcp:region") or "kubeconfig"
    print(
        f"ml-platform · stack {stack} · {cfg.get('ml-platform:cloud')} ({where}) · "
        f"environment {cfg.get('ml-platform:environment')}"
    )
    for line in render.tree_lines(result.registrations):
        print(line)
    print()
    print("Outputs:")
    for key, value in result.outputs.items():
        print(f"  {key}: {value}")
    print()


def _print_verdicts(verdicts: policy_run.PolicyResult, config_file: Path | None, quiet: bool) -> None:
    where = _shown(config_file) if config_file else None
    print(
        f"Policies: {verdicts.pack} {verdicts.version}, {len(verdicts.policies)} policies, config {where or 'defaults'}"
    )
    for v in verdicts.violations:
        print(f"  [{v.level}] {v.policy}: {v.message}")
    if not verdicts.violations and not quiet:
        print("  no violations")


def _print_wiring(findings: list[wiring.Finding], quiet: bool) -> None:
    """The wiring check's findings, each with the objects it involves (a summary line when there is none)."""
    if findings or not quiet:
        print(f"Wiring: {len(wiring.RULES)} rules, {len(findings) or 'no'} finding{'' if len(findings) == 1 else 's'}")
        for f in findings:
            print(f"  {f.line()}")


if __name__ == "__main__":
    runner.leave(main())
