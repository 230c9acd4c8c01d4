"""Markdown building blocks for the plan diff: code spans and blocks that plan text cannot break out of.

Everything a plan holds is untrusted text as far as a pull request comment goes (a fork writes its own plan), so
it reaches the comment only inside a code span or a fenced block whose fence is longer than any backtick run in
it, or as escaped table-cell text.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from typing import Any

import yaml

from .plandiff import UNSET

MAX_VALUE_CHARS = 100
"""Longest value shown inline before it is cut with an ellipsis."""


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
            [f"removed {len(removed)} {value(removed)}"] if removed else []
        )
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


def details(summary_html: str, body: str) -> str:
    """A collapsed block; ``summary_html`` must already be escaped."""
    return f"<details><summary>{summary_html}</summary>\n\n{body}\n\n</details>"


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
