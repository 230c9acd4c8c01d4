"""``python -m offline.diff BASE_PLAN HEAD_PLAN``: what a pull request changes in one stack, as Markdown.

Compares two offline-preview plans (for example main's and the pull request's) and writes a report for a pull
request comment: resources created/updated/deleted by component with their changed fields, Kubernetes manifests
and Helm values as unified diffs, policy verdicts (new and resolved violations) and the monthly cost at idle and
at full scale. It needs no cloud credentials, which is what lets it run on pull requests from forks.

The report starts with a hidden marker line naming the stack (:func:`marker`): the workflow that posts it finds
and updates its own comment by that line. Everything taken from a plan is shown inside code spans or code
blocks, so a plan cannot inject Markdown structure or a marker. The report is bounded (``--max-chars``, under
GitHub's 65,536-character comment limit): long diffs are cut with a note, and entries that do not fit are counted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .diff_sections import cost_blocks, helm_blocks, manifest_blocks, policy_blocks, resource_blocks, value_blocks
from .markdown import code, fenced
from .plandiff import CREATE, DELETE, UPDATE, PlanError, cost_diff, load_plan, policy_diff, resource_changes

MARKER = "<!-- ml-platform-preview stack={stack} -->"
COMMENT_LIMIT = 65536
"""GitHub's limit on a comment's length."""
DEFAULT_MAX_CHARS = 60000
DEFAULT_MAX_DIFF_LINES = 120


def marker(stack: str) -> str:
    """The hidden first line of a stack's report; the comment workflow matches comments on it."""
    return MARKER.format(stack=stack)


# --- the report ----------------------------------------------------------------------------------------------


def _fit(header: str, blocks: list[str], max_chars: int, full_hint: str) -> str:
    """``header`` and as many whole blocks as fit in ``max_chars`` (0: all), then a note counting the rest."""
    text = header
    for i, block in enumerate(blocks):
        left = len(blocks) - i
        note = f"\n\n> ✂️ {left} more {'entry' if left == 1 else 'entries'} not shown to fit a comment. {full_hint}"
        if max_chars > 0 and len(text) + len(block) + len(note) + 1 > max_chars:
            return text + note
        text += block
    return text


def render(
    base: dict[str, Any] | None,
    head: dict[str, Any] | None,
    *,
    stack: str | None = None,
    base_label: str | None = None,
    head_label: str | None = None,
    base_error: str | None = None,
    head_error: str | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    max_diff_lines: int = DEFAULT_MAX_DIFF_LINES,
    full_hint: str = "The full report is in the workflow run's artifacts.",
) -> str:
    """The Markdown report for one stack. ``base`` None means the base has no plan (a new stack)."""
    stack = stack or (head or base or {}).get("stack") or "?"
    lines = [marker(stack), f"### Offline preview of {code(stack)}"]
    if base_label or head_label:
        lines += ["", f"Comparing {code(base_label or 'base')} → {code(head_label or 'head')}."]
    if head is None:
        lines += ["", "❌ **The offline preview of the head failed**, so there is nothing to compare."]
        if head_error:
            lines += ["", fenced(head_error.rstrip("\n").splitlines(), "text", max_diff_lines)]
        return _fit("\n".join(lines), [], max_chars, full_hint) + "\n"
    if base is None:
        lines += [
            "",
            "_The base has no plan for this stack (a new stack, or its preview failed): everything shows as created._",
        ]
        if base_error:
            lines += ["", fenced(base_error.rstrip("\n").splitlines(), "text", max_diff_lines)]
    old = base or {"resources": [], "config": {}, "outputs": {}}
    changes, unchanged = resource_changes(old, head)
    counts = {op: sum(1 for c in changes if c.op == op) for op in (CREATE, UPDATE, DELETE)}
    if changes:
        lines += [
            "",
            f"Resources: {counts[CREATE]} to create, {counts[UPDATE]} to update, "
            f"{counts[DELETE]} to delete, {unchanged} unchanged.",
        ]
    else:
        lines += ["", f"No resource changes ({unchanged} unchanged)."]
    blocks = (
        policy_blocks(policy_diff(old, head))
        + cost_blocks(cost_diff(old, head))
        + resource_blocks(changes)
        + manifest_blocks(changes, max_diff_lines)
        + helm_blocks(changes, max_diff_lines)
        + value_blocks("Stack config", old.get("config") or {}, head.get("config") or {})
        + value_blocks("Stack outputs", old.get("outputs") or {}, head.get("outputs") or {})
    )
    return _fit("\n".join(lines), blocks, max_chars, full_hint) + "\n"


MAX_ERROR_CHARS = 20000


def _read(path: str | None) -> str | None:
    """A preview's error output (its end, where the problems are, when it is very long)."""
    if not path:
        return None
    p = Path(path)
    text = p.read_text(errors="replace") if p.exists() else None
    return text[-MAX_ERROR_CHARS:] if text else text


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.diff", description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the base plan: plan.json or the folder holding it (missing: a new stack)")
    parser.add_argument("head", help="the head plan: plan.json or the folder holding it")
    parser.add_argument("--out", help="write the Markdown here instead of standard output")
    parser.add_argument("--stack", help="stack name, when neither plan exists")
    parser.add_argument("--base-label", help="what the base is, e.g. a commit")
    parser.add_argument("--head-label", help="what the head is, e.g. a commit")
    parser.add_argument("--base-error", help="file with the base preview's error output, shown when it has no plan")
    parser.add_argument("--head-error", help="file with the head preview's error output, shown when it has no plan")
    parser.add_argument(
        "--max-chars",
        type=int,
        default=DEFAULT_MAX_CHARS,
        help=f"bound on the report's length, 0 for none (default {DEFAULT_MAX_CHARS}; "
        f"GitHub comments hold {COMMENT_LIMIT})",
    )
    parser.add_argument(
        "--max-diff-lines",
        type=int,
        default=DEFAULT_MAX_DIFF_LINES,
        help=f"lines shown per manifest or values diff, 0 for all (default {DEFAULT_MAX_DIFF_LINES})",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        base, head = load_plan(args.base), load_plan(args.head)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if base is None and head is None and not args.stack:
        print(
            f"error: neither {args.base} nor {args.head} holds a plan (give --stack to report a failed preview)",
            file=sys.stderr,
        )
        return 2
    if base is not None and head is not None and base.get("stack") != head.get("stack"):
        print(
            f"error: the plans are of different stacks ({base.get('stack')!r}, {head.get('stack')!r})", file=sys.stderr
        )
        return 2
    text = render(
        base,
        head,
        stack=args.stack,
        base_label=args.base_label,
        head_label=args.head_label,
        base_error=_read(args.base_error),
        head_error=_read(args.head_error),
        max_chars=args.max_chars,
        max_diff_lines=args.max_diff_lines,
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
