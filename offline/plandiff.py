"""Compare two offline-preview plans (``ml-platform/plan@1``): what a reviewer needs to know before merging.

Kept apart from the Markdown (``offline/diff.py``) so the comparison itself is plain data that tests can check
field by field. Resources are matched by URN, as the engine matches them: a renamed resource is a delete and a
create, exactly as ``pulumi preview`` would show it without an alias. Values are compared as the plan holds them,
so secrets stay ``[secret]`` on both sides and never show up in a diff.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .render import HELM_RELEASE, PLAN_FORMAT, helm_release, is_kubernetes_object, manifest

UNSET = object()
"""Marks a field that exists on one side only."""

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class PlanError(ValueError):
    """A file that is not an offline-preview plan."""


def load_plan(path: str | Path) -> dict[str, Any] | None:
    """The plan at ``path`` (a ``plan.json`` or the folder holding it); None when there is none."""
    p = Path(path)
    if p.is_dir():
        p = p / "plan.json"
    if not p.exists():
        return None
    try:
        doc = json.loads(p.read_text())
    except ValueError as exc:
        raise PlanError(f"{p}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != PLAN_FORMAT:
        raise PlanError(f"{p}: not an offline-preview plan (format {PLAN_FORMAT!r} expected)")
    return doc


# --- field-level differences ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    path: str
    """Dotted path (``scalingConfig.maxSize``, ``spec.containers[0].image``, ``labels["app.kubernetes.io/name"]``)."""
    old: Any
    """The base value, or :data:`UNSET`."""
    new: Any
    """The head value, or :data:`UNSET`."""


def join_path(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    key = str(key)
    if _PLAIN_KEY.match(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key)}]"


def _scalar_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)


def field_changes(old: Any, new: Any, prefix: str = "") -> list[FieldChange]:
    """Every leaf that differs between ``old`` and ``new``. Lists of scalars compare as one value."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[FieldChange] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = join_path(prefix, key)
            if key not in old:
                out.append(FieldChange(sub, UNSET, new[key]))
            elif key not in new:
                out.append(FieldChange(sub, old[key], UNSET))
            else:
                out.extend(field_changes(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and not (_scalar_list(old) and _scalar_list(new)):
        out = []
        for i in range(max(len(old), len(new))):
            sub = join_path(prefix, i)
            if i >= len(old):
                out.append(FieldChange(sub, UNSET, new[i]))
            elif i >= len(new):
                out.append(FieldChange(sub, old[i], UNSET))
            else:
                out.extend(field_changes(old[i], new[i], sub))
        return out
    return [FieldChange(prefix, old, new)]


# --- resources -----------------------------------------------------------------------------------------------

CREATE, UPDATE, DELETE = "create", "update", "delete"
_OPTIONS = ("protect", "provider", "dependsOn")
"""Resource options compared besides the inputs, shown as ``options.<name>``."""


@dataclass
class ResourceChange:
    op: str
    """``create``, ``update`` or ``delete``."""
    urn: str
    type: str
    name: str
    component: str
    """The chain of components the resource sits in (``EksCluster mlp-dev › GpuNodePool inference``), or ``stack``."""
    base: dict[str, Any] | None
    head: dict[str, Any] | None
    fields: list[FieldChange] = field(default_factory=list)
    """For updates: changed inputs (paths relative to the inputs) and options (``options.protect``...)."""

    @property
    def current(self) -> dict[str, Any]:
        return self.head if self.head is not None else self.base  # type: ignore[return-value]


def _component_label(resource: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str:
    chain: list[str] = []
    parent = by_urn.get(resource.get("parent", ""))
    seen: set[str] = set()
    while parent is not None and parent["urn"] not in seen:
        seen.add(parent["urn"])
        if not parent.get("custom", True):
            kind = parent["type"].rsplit(":", 1)[-1]
            chain.append(f"{kind} {parent['name']}")
        parent = by_urn.get(parent.get("parent", ""))
    return " › ".join(reversed(chain)) if chain else "stack"


def resource_changes(base: dict[str, Any], head: dict[str, Any]) -> tuple[list[ResourceChange], int]:
    """Created, updated and deleted resources (sorted by component, operation, type, name) and the unchanged count."""
    old = {r["urn"]: r for r in base.get("resources", [])}
    new = {r["urn"]: r for r in head.get("resources", [])}
    head_first, base_first = {**old, **new}, {**new, **old}
    changes: list[ResourceChange] = []
    unchanged = 0
    for urn in sorted(set(old) | set(new)):
        b, h = old.get(urn), new.get(urn)
        current = h if h is not None else b
        assert current is not None
        label = _component_label(current, head_first if h is not None else base_first)
        if b is None:
            changes.append(ResourceChange(CREATE, urn, current["type"], current["name"], label, None, h))
            continue
        if h is None:
            changes.append(ResourceChange(DELETE, urn, current["type"], current["name"], label, b, None))
            continue
        fields = field_changes(b.get("inputs", {}), h.get("inputs", {}))
        for key in _OPTIONS:
            fields.extend(field_changes(b.get(key), h.get(key), f"options.{key}"))
        if fields:
            changes.append(ResourceChange(UPDATE, urn, current["type"], current["name"], label, b, h, fields))
        else:
            unchanged += 1
    order = {CREATE: 0, UPDATE: 1, DELETE: 2}
    changes.sort(key=lambda c: (c.component != "stack", c.component, order[c.op], c.type, c.name))
    return changes, unchanged


def is_k8s_object(resource: dict[str, Any]) -> bool:
    return is_kubernetes_object(SimpleNamespace(type=resource["type"]))


def k8s_manifest(resource: dict[str, Any]) -> dict[str, Any]:
    """The Kubernetes object a plan resource stands for, as the preview writes it under ``manifests/``."""
    return manifest(SimpleNamespace(type=resource["type"], inputs=resource.get("inputs") or {}))


def is_helm_release(resource: dict[str, Any]) -> bool:
    return resource["type"] == HELM_RELEASE


def helm_view(resource: dict[str, Any]) -> dict[str, Any]:
    """Chart, repository, version, namespace and values of a Helm release resource."""
    return helm_release(SimpleNamespace(name=resource["name"], inputs=resource.get("inputs") or {}))


# --- policy verdicts -----------------------------------------------------------------------------------------


@dataclass
class PolicyDiff:
    pack: str
    mandatory_failed: bool
    new: list[dict[str, Any]]
    resolved: list[dict[str, Any]]
    remaining: list[dict[str, Any]]
    base_evaluated: bool


def _violation_key(v: dict[str, Any]) -> tuple[str, str]:
    # A message usually quotes the offending value, so the same violation with a new value is not "new".
    return (str(v.get("policy", "")), str(v.get("urn", "")))


def policy_diff(base: dict[str, Any], head: dict[str, Any]) -> PolicyDiff | None:
    """New, resolved and remaining violations; None when the head plan carries no policy results."""
    hp = head.get("policy")
    if not isinstance(hp, dict):
        return None
    bp = base.get("policy") if isinstance(base.get("policy"), dict) else None
    head_v = list(hp.get("violations") or [])
    base_keys = {_violation_key(v) for v in (bp or {}).get("violations") or []}
    head_keys = {_violation_key(v) for v in head_v}
    level_order: dict[object, int] = {"mandatory": 0, "remediate": 1, "advisory": 2}

    def ordered(vs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(vs, key=lambda v: (level_order.get(v.get("level"), 3), str(v.get("policy")), str(v.get("name"))))

    return PolicyDiff(
        pack=str(hp.get("pack", "")),
        mandatory_failed=bool(hp.get("mandatory_failed")),
        new=ordered([v for v in head_v if _violation_key(v) not in base_keys]),
        resolved=ordered([v for v in (bp or {}).get("violations") or [] if _violation_key(v) not in head_keys]),
        remaining=ordered([v for v in head_v if _violation_key(v) in base_keys]),
        base_evaluated=bp is not None,
    )


# --- cost ----------------------------------------------------------------------------------------------------


@dataclass
class CostItemChange:
    name: str
    what: str
    idle_delta: float
    full_delta: float
    op: str


@dataclass
class CostDiff:
    currency: str
    base_idle: float | None
    base_full: float | None
    head_idle: float
    head_full: float
    budget: float | None
    items: list[CostItemChange]


def cost_diff(base: dict[str, Any], head: dict[str, Any]) -> CostDiff | None:
    """Totals on both sides and the items whose monthly price moved; None when the head has no estimate."""
    hc = head.get("cost")
    if not isinstance(hc, dict):
        return None
    bc = base.get("cost") if isinstance(base.get("cost"), dict) else None

    def items(c: dict[str, Any] | None) -> dict[tuple[str, str], dict[str, Any]]:
        return {(str(i.get("urn")), str(i.get("what"))): i for i in (c or {}).get("items") or []}

    old, new = items(bc), items(hc)
    changed: list[CostItemChange] = []
    for key in set(old) | set(new):
        o, n = old.get(key), new.get(key)
        oi, of = (float(o.get("monthly_idle", 0)), float(o.get("monthly_full", 0))) if o else (0.0, 0.0)
        ni, nf = (float(n.get("monthly_idle", 0)), float(n.get("monthly_full", 0))) if n else (0.0, 0.0)
        if o and n and round(oi, 2) == round(ni, 2) and round(of, 2) == round(nf, 2):
            continue
        src = n or o
        assert src is not None
        op = CREATE if o is None else DELETE if n is None else UPDATE
        changed.append(CostItemChange(str(src.get("name")), str(src.get("what")), ni - oi, nf - of, op))
    changed.sort(key=lambda c: (-abs(c.full_delta), -abs(c.idle_delta), c.name, c.what))
    budget = hc.get("budget")
    return CostDiff(
        currency=str(hc.get("currency", "USD")),
        base_idle=float(bc["monthly_idle"]) if bc else None,
        base_full=float(bc["monthly_full"]) if bc else None,
        head_idle=float(hc.get("monthly_idle", 0)),
        head_full=float(hc.get("monthly_full", 0)),
        budget=float(budget) if budget is not None else None,
        items=changed,
    )
