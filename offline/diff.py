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
import difflib
import html
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterable

import yaml

from .plandiff import (
    CREATE,
    DELETE,
    UPDATE,
    UNSET,
    CostDiff,
    PlanError,
    PolicyDiff,
    ResourceChange,
    cost_diff,
    field_changes,
    helm_view,
    is_helm_release,
    is_k8s_object,
    k8s_manifest,
    load_plan,
    policy_diff,
    resource_changes,
)

MARKER = "<!-- ml-platform-preview stack={stack} -->"
COMMENT_LIMIT = 65536
DEFAULT_MAX_CHARS = 60000
DEFAULT_MAX_DIFF_LINES = 120
MAX_FIELDS = 25
MAX_VALUE_CHARS = 100
MAX_COST_ITEMS = 10


def marker(stack: str) -> str:
    """The hidden first line of a stack's report; the comment workflow matches comments on it."""
    return MARKER.format(stack=stack)


# --- Markdown helpers ----------------------------------------------------------------------------------------


def code(text: Any) -> str:
    """``text`` as one inline code span, whatever backticks it holds."""
    s = " ".join(str(text).split("\n"))
    longest = max((len(run) for run in re.findall("`+", s)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{ticks}{pad}{s}{pad}{ticks}"


def short(v: Any) -> Any:
    """``v`` with every URN shortened to ``type::name`` minus the stack and parent chain (what a reviewer reads)."""
    if isinstance(v, str) and v.startswith("urn:pulumi:"):
        parts = v.split("::")
        return f"{parts[-2].rsplit('$', 1)[-1]}::{parts[-1]}" if len(parts) >= 4 else v
    if isinstance(v, dict):
        return {k: short(x) for k, x in v.items()}
    if isinstance(v, list):
        return [short(x) for x in v]
    return v


def value(v: Any) -> str:
    if v is UNSET:
        return "(unset)"
    text = json.dumps(short(v), sort_keys=True, ensure_ascii=False)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return code(text)


def change(old: Any, new: Any) -> str:
    """``old → new``; two longer lists as the items added and removed."""
    if isinstance(old, list) and isinstance(new, list) and max(len(old), len(new)) > 3:
        added = [x for x in new if x not in old]
        removed = [x for x in old if x not in new]
        parts = ([f"added {len(added)} {value(added)}"] if added else []) + (
            [f"removed {len(removed)} {value(removed)}"] if removed else [])
        return ", ".join(parts) or "reordered"
    return f"{value(old)} → {value(new)}"


def cell(text: Any) -> str:
    """Plain text for a table cell: no pipes, no line breaks, no HTML."""
    return html.escape(" ".join(str(text).split())).replace("|", "\\|")


def fenced(lines: list[str], lang: str, max_lines: int) -> str:
    """A fenced code block (fence longer than any backtick run inside), cut to ``max_lines`` with a note."""
    shown = lines if max_lines <= 0 or len(lines) <= max_lines else lines[:max_lines]
    longest = max((len(run) for line in shown for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    text = "\n".join([fence + lang, *shown, fence])
    if len(shown) < len(lines):
        text += f"\n\n_{len(lines) - len(shown)} more lines not shown._"
    return text


def money(amount: float, currency: str) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}" if currency == "USD" else f"{sign}{abs(amount):,.2f} {currency}"


def delta(amount: float, currency: str, base: float | None = None) -> str:
    if round(amount, 2) == 0:
        return money(0, currency)
    text = ("+" if amount > 0 else "") + money(amount, currency)
    if base:
        text += f" ({amount / base:+.1%})"
    return text


def unified(old: str, new: str, label: str) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"base/{label}", f"head/{label}", lineterm=""))


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (embedded configs, scripts) as literal blocks, so their diff reads line by line."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data and not data[:1].isspace() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return "" if obj is None else yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


# --- sections ------------------------------------------------------------------------------------------------

def _section(title: str, entries: list[str]) -> list[str]:
    """Blocks of a section whose entries are separated by blank lines, the first under the heading."""
    return [f"\n\n#### {title}\n\n{e}" if i == 0 else f"\n\n{e}" for i, e in enumerate(entries)]


VERB = {CREATE: "**create**", UPDATE: "**update**", DELETE: "**delete**"}


def resource_blocks(changes: list[ResourceChange]) -> list[str]:
    """One block per entry (a component's first carries its heading), so truncation never splits an entry.

    Every block starts with its own separator: a blank line before a heading, a line break inside a list.
    """
    blocks: list[str] = []
    current = None
    for ch in changes:
        lines = [f"- {VERB[ch.op]} {code(ch.name)} ({code(ch.type)})"]
        for f in ch.fields[:MAX_FIELDS]:
            lines.append(f"  - {code(f.path)}: {change(f.old, f.new)}")
        if len(ch.fields) > MAX_FIELDS:
            lines.append(f"  - … {len(ch.fields) - MAX_FIELDS} more fields")
        entry = "\n".join(lines)
        if ch.component != current:
            current = ch.component
            heading = "\n\n#### Resources" if not blocks else ""
            blocks.append(f"{heading}\n\n**{code(ch.component)}**\n\n{entry}")
        else:
            blocks.append("\n" + entry)
    return blocks


def _object_label(obj: dict[str, Any], fallback: str) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name', fallback)}"


def manifest_blocks(changes: list[ResourceChange], max_lines: int) -> list[str]:
    blocks = []
    for ch in changes:
        if not is_k8s_object(ch.current):
            continue
        old = k8s_manifest(ch.base) if ch.base else None
        new = k8s_manifest(ch.head) if ch.head else None
        label = _object_label(new or old or {}, ch.name)
        lines = unified(to_yaml(old), to_yaml(new), label.replace(" ", "/"))
        blocks.append(
            f"<details><summary><b>{ch.op}</b> <code>{html.escape(label)}</code></summary>\n\n"
            f"{fenced(lines, 'diff', max_lines)}\n\n</details>"
        )
    return _section("Kubernetes manifests", blocks)


def helm_blocks(changes: list[ResourceChange], max_lines: int) -> list[str]:
    blocks = []
    for ch in changes:
        if not is_helm_release(ch.current):
            continue
        old = helm_view(ch.base) if ch.base else None
        new = helm_view(ch.head) if ch.head else None
        rel = new or old
        assert rel is not None
        line = f"- {VERB[ch.op]} release {code(rel['name'])} in namespace {code(rel['namespace'])}: chart {code(rel['chart'])}"
        if old and new and old["version"] != new["version"]:
            line += f" {code(old['version'])} → {code(new['version'])}"
        else:
            line += f" {code(rel['version'])}"
        if old and new and old["repository"] != new["repository"]:
            line += f" from {code(old['repository'])} → {code(new['repository'])}"
        else:
            line += f" from {code(rel['repository'])}"
        if old and new and old["chart"] != new["chart"]:
            line += f" (was chart {code(old['chart'])})"
        text = line
        old_values, new_values = (old or {}).get("values"), (new or {}).get("values")
        if old_values != new_values:
            count = len(field_changes(old_values or {}, new_values or {}))
            summary = "values" if not (old and new) else f"values: {count} {'field' if count == 1 else 'fields'} changed"
            lines = unified(
                to_yaml(old_values) if old else "", to_yaml(new_values) if new else "", f"{rel['name']}/values.yaml"
            )
            text += (
                f"\n\n<details><summary>{summary}</summary>\n\n"
                f"{fenced(lines, 'diff', max_lines)}\n\n</details>"
            )
        blocks.append(text)
    return _section("Helm releases", blocks)


def policy_blocks(p: PolicyDiff | None) -> list[str]:
    """The verdict and new/resolved violations; nothing when the head plan carries no policy results."""
    if p is None:
        return []
    verdict = (
        "❌ **Mandatory policies fail: `pulumi up` would stop.**" if p.mandatory_failed else "✅ No mandatory violation."
    )
    text = f"\n\n#### Policies ({code(p.pack)})\n\n{verdict}"
    if not p.base_evaluated:
        text += "\n\n_The base plan carries no policy results: every violation shows as new._"
    rows = [("new", v) for v in p.new] + [("resolved", v) for v in p.resolved]
    if rows:
        table = ["| | level | policy | resource | message |", "|---|---|---|---|---|"]
        for status, v in rows:
            table.append(
                f"| {status} | {cell(v.get('level', ''))} | {code(v.get('policy', ''))} | "
                f"{code(v.get('name', ''))} | {cell(v.get('message', ''))} |"
            )
        text += "\n\n" + "\n".join(table)
    if p.remaining:
        n = len(p.remaining)
        items = "\n".join(
            f"- {cell(v.get('level', ''))} {code(v.get('policy', ''))} on {code(v.get('name', ''))}: {cell(v.get('message', ''))}"
            for v in p.remaining
        )
        text += (
            f"\n\n<details><summary>{n} {'violation' if n == 1 else 'violations'} unchanged from the base</summary>"
            f"\n\n{items}\n\n</details>"
        )
    elif not rows:
        text += "\n\nNo violations."
    return [text]


def cost_blocks(c: CostDiff | None) -> list[str]:
    if c is None:
        return []
    cur = c.currency

    def row(label: str, base: float | None, head: float) -> str:
        if base is None:
            return f"| {label} | — | {money(head, cur)} | — |"
        return f"| {label} | {money(base, cur)} | {money(head, cur)} | {delta(head - base, cur, base)} |"

    text = "\n".join(
        [
            f"\n\n#### Monthly cost ({cur})",
            "",
            "| | base | head | change |",
            "|---|---:|---:|---:|",
            row("idle (every pool at its minimum)", c.base_idle, c.head_idle),
            row("full scale (every pool at its maximum)", c.base_full, c.head_full),
        ]
    )
    if c.base_idle is None:
        text += "\n\n_The base plan carries no cost estimate._"
    if c.budget is not None:
        if c.head_full > c.budget:
            text += (
                f"\n\n⚠️ Full scale exceeds the budget of {money(c.budget, cur)} "
                f"by {money(c.head_full - c.budget, cur)}."
            )
        else:
            text += f"\n\nFull scale stays within the budget of {money(c.budget, cur)}."
    if c.items:
        table = ["| item | what | idle | full scale |", "|---|---|---:|---:|"]
        for item in c.items[:MAX_COST_ITEMS]:
            name = code(item.name) + ("" if item.op == UPDATE else f" ({item.op})")
            table.append(f"| {name} | {cell(item.what)} | {delta(item.idle_delta, cur)} | {delta(item.full_delta, cur)} |")
        if len(c.items) > MAX_COST_ITEMS:
            table.append(f"| … {len(c.items) - MAX_COST_ITEMS} more items | | | |")
        text += "\n\n" + "\n".join(table)
    return [text]


def value_blocks(title: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            changes.append((key, UNSET, new[key]))
        elif key not in new:
            changes.append((key, old[key], UNSET))
        else:
            changes.extend((key + f.path if f.path.startswith("[") else f"{key}.{f.path}" if f.path else key, f.old, f.new)
                           for f in field_changes(old[key], new[key]))
    if not changes:
        return []
    lines = [f"- {code(path)}: {change(o, n)}" for path, o, n in changes]
    return [f"\n\n#### {title}\n\n" + "\n".join(lines)]


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
        lines += ["", "_The base has no plan for this stack (a new stack, or its preview failed): "
                      "everything shows as created._"]
        if base_error:
            lines += ["", fenced(base_error.rstrip("\n").splitlines(), "text", max_diff_lines)]
    old = base or {"resources": [], "config": {}, "outputs": {}}
    changes, unchanged = resource_changes(old, head)
    counts = {op: sum(1 for c in changes if c.op == op) for op in (CREATE, UPDATE, DELETE)}
    if changes:
        lines += ["", f"Resources: {counts[CREATE]} to create, {counts[UPDATE]} to update, "
                      f"{counts[DELETE]} to delete, {unchanged} unchanged."]
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


def _read(path: str | None) -> str | None:
    if not path:
        return None
    p = Path(path)
    return p.read_text(errors="replace") if p.exists() else None


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
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS,
                        help=f"bound on the report's length, 0 for none (default {DEFAULT_MAX_CHARS}; "
                             f"GitHub comments hold {COMMENT_LIMIT})")
    parser.add_argument("--max-diff-lines", type=int, default=DEFAULT_MAX_DIFF_LINES,
                        help=f"lines shown per manifest or values diff, 0 for all (default {DEFAULT_MAX_DIFF_LINES})")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        base, head = load_plan(args.base), load_plan(args.head)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if base is None and head is None and not args.stack:
        print(f"error: neither {args.base} nor {args.head} holds a plan (give --stack to report a failed preview)",
              file=sys.stderr)
        return 2
    if base is not None and head is not None and base.get("stack") != head.get("stack"):
        print(f"error: the plans are of different stacks ({base.get('stack')!r}, {head.get('stack')!r})", file=sys.stderr)
        return 2
    text = render(
        base, head, stack=args.stack, base_label=args.base_label, head_label=args.head_label,
        base_error=_read(args.base_error), head_error=_read(args.head_error),
        max_chars=args.max_chars, max_diff_lines=args.max_diff_lines,
    )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
