"""``python -m offline.preview <stack>``: what ``pulumi preview`` would create, without a cloud or the CLI.

Runs the real program under Pulumi's mock runtime with the stack's config, prints every resource in a tree
under its component, writes the plan, manifests and Helm releases under ``build/<stack>/``, and exits non-zero
when the configuration is invalid (printing every problem, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import render, runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.preview", description=__doc__.splitlines()[0])
    parser.add_argument("stack", help=f"stack name ({', '.join(runner.stack_names())})")
    parser.add_argument("--out", default=str(runner.ROOT / "build"), help="output folder (default build/)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary line")
    parser.add_argument("--stack-file", type=Path, help="read this stack file instead of stacks/Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)

    if args.stack_file is None and args.stack not in runner.stack_names():
        print(f"error: no stack {args.stack!r}; stacks: {', '.join(runner.stack_names())}", file=sys.stderr)
        return 2
    if args.stack_file is not None and not args.stack_file.exists():
        print(f"error: no stack file {args.stack_file}", file=sys.stderr)
        return 2
    result = runner.run(args.stack, stack_file=args.stack_file)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 1
    out_dir = Path(args.out) / args.stack
    counts = render.write(result, out_dir)
    if not args.quiet:
        cfg = result.config
        where = cfg.get("aws:region") or cfg.get("gcp:region") or "kubeconfig"
        print(f"ml-platform · stack {args.stack} · {cfg.get('ml-platform:cloud')} ({where}) · "
              f"environment {cfg.get('ml-platform:environment')}")
        for line in render.tree_lines(result.registrations):
            print(line)
        print()
        print("Outputs:")
        for key, value in result.outputs.items():
            print(f"  {key}: {value}")
        print()
    rel = out_dir.relative_to(runner.ROOT) if out_dir.is_relative_to(runner.ROOT) else out_dir
    print(f"{args.stack}: {counts['resources']} resources, {counts['objects']} Kubernetes objects, "
          f"{counts['releases']} Helm releases -> {rel}/ (plan.json, manifests/, helm/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
