"""The sections of a plan diff report, each a list of self-contained Markdown blocks.

A block never splits an entry, and starts with its own separator (a blank line before a heading, a line break
inside a list), so the report can stop after any block when it must fit a comment.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

from .markdown import cell, change, code, delta, details, fenced, money, to_yaml, unified
from .plandiff import (
    CREATE,
    DELETE,
    UNSET,
    UPDATE,
    CostDiff,
    PolicyDiff,
    ResourceChange,
    field_changes,
    helm_view,
    is_helm_release,
    is_k8s_object,
    k8s_manifest,
)

MAX_FIELDS = 25
"""Changed fields listed per resource; the rest are counted."""
MAX_COST_ITEMS = 10
"""Cost items listed (largest change first); the rest are counted."""


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


def _sides(
    changes: list[ResourceChange], keep: Callable[[dict[str, Any]], bool], view: Callable[[dict[str, Any]], Any]
) -> Iterator[tuple[ResourceChange, Any, Any]]:
    """The changes ``keep`` selects, each with ``view`` of its base and head (None where it does not exist)."""
    for ch in changes:
        if keep(ch.current):
            yield ch, view(ch.base) if ch.base else None, view(ch.head) if ch.head else None


def manifest_blocks(changes: list[ResourceChange], max_lines: int) -> list[str]:
    blocks = []
    for ch, old, new in _sides(changes, is_k8s_object, k8s_manifest):
        label = _object_label(new or old or {}, ch.name)
        lines = unified(to_yaml(old), to_yaml(new), label.replace(" ", "/"))
        blocks.append(details(f"<b>{ch.op}</b> <code>{html.escape(label)}</code>", fenced(lines, "diff", max_lines)))
    return _section("Kubernetes manifests", blocks)


def helm_blocks(changes: list[ResourceChange], max_lines: int) -> list[str]:
    blocks = []
    for ch, old, new in _sides(changes, is_helm_release, helm_view):
        rel = new or old
        assert rel is not None
        line = (
            f"- {VERB[ch.op]} release {code(rel['name'])} in namespace {code(rel['namespace'])}: "
            f"chart {code(rel['chart'])}"
        )
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
            summary = (
                "values" if not (old and new) else f"values: {count} {'field' if count == 1 else 'fields'} changed"
            )
            lines = unified(
                to_yaml(old_values) if old else "", to_yaml(new_values) if new else "", f"{rel['name']}/values.yaml"
            )
            text += "\n\n" + details(summary, fenced(lines, "diff", max_lines))
        blocks.append(text)
    return _section("Helm releases", blocks)


def policy_blocks(p: PolicyDiff | None) -> list[str]:
    """The verdict and new/resolved violations; nothing when the head plan carries no policy results."""
    if p is None:
        return []
    verdict = (
        "❌ **Mandatory policies fail: `pulumi up` would stop.**"
        if p.mandatory_failed
        else "✅ No mandatory violation."
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
            f"- {cell(v.get('level', ''))} {code(v.get('policy', ''))} on {code(v.get('name', ''))}: "
            f"{cell(v.get('message', ''))}"
            for v in p.remaining
        )
        text += "\n\n" + details(f"{n} {'violation' if n == 1 else 'violations'} unchanged from the base", items)
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
            table.append(
                f"| {name} | {cell(item.what)} | {delta(item.idle_delta, cur)} | {delta(item.full_delta, cur)} |"
            )
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
            changes.extend(
                (key + f.path if f.path.startswith("[") else f"{key}.{f.path}" if f.path else key, f.old, f.new)
                for f in field_changes(old[key], new[key])
            )
    if not changes:
        return []
    lines = [f"- {code(path)}: {change(o, n)}" for path, o, n in changes]
    return [f"\n\n#### {title}\n\n" + "\n".join(lines)]
