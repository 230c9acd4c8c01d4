"""Turn one run's registrations into what a reviewer reads: a tree, Kubernetes YAML, Helm releases and a plan.

``build/<stack>/`` after a preview:

* ``plan.json``: the machine-readable plan (format in ``docs/offline-preview.md``), stable from run to run;
* ``manifests/<component>/<Kind>-<namespace>-<name>.yaml``: every Kubernetes object the program creates, and
  ``manifests/all.yaml`` with all of them, for ``kubectl diff``, schema checks and scanners;
* ``helm/<release>/release.yaml`` and ``values.yaml``: every Helm release's chart, repository, version and values.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

PLAN_FORMAT = "ml-platform/plan@1"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def is_kubernetes_object(reg: Any) -> bool:
    """A plain Kubernetes object (not a provider, a Helm release or a helm/kustomize/yaml wrapper)."""
    t = reg.type
    return (
        t.startswith("kubernetes:")
        and "/" in t.split(":")[1]
        and not t.startswith(("kubernetes:helm.sh", "kubernetes:yaml"))
    )


def manifest(reg: Any) -> dict[str, Any]:
    """The Kubernetes object a registration stands for, as it would be applied (secrets masked)."""
    obj = dict(reg.inputs)
    raw = getattr(reg, "raw_inputs", None) or {}
    for key in ("data", "stringData"):
        # The Kubernetes SDK marks a Secret's whole data map secret: show its keys, each value masked.
        if obj.get(key) == "[secret]" and isinstance(raw.get(key), dict):
            obj[key] = {k: "[secret]" for k in raw[key]}
    group_version, kind = reg.type.split(":")[1], reg.type.split(":")[2]
    if kind.endswith("Patch") and kind != "Patch":
        kind = kind.removesuffix("Patch")  # a server-side apply patch (ServiceAccountPatch) of that kind's object
    group, version = group_version.rsplit("/", 1)
    obj.setdefault("apiVersion", version if group == "core" else f"{group}/{version}")
    obj.setdefault("kind", kind)
    ordered = {"apiVersion": obj.pop("apiVersion"), "kind": obj.pop("kind")}
    if "metadata" in obj:
        ordered["metadata"] = obj.pop("metadata")
    ordered.update(obj)
    if kind == "Secret":
        # The Kubernetes SDK marks a Secret's whole data map secret: show its keys, never its values.
        for key in ("data", "stringData"):
            raw = (getattr(reg, "raw_inputs", None) or {}).get(key)
            if ordered.get(key) == "[secret]" and isinstance(raw, dict):
                ordered[key] = {k: "[secret]" for k in raw}
    return ordered


def helm_release(reg: Any) -> dict[str, Any]:
    i = reg.inputs
    return {
        "name": i.get("name", reg.name),
        "namespace": i.get("namespace", "default"),
        "chart": i.get("chart"),
        "repository": (i.get("repositoryOpts") or {}).get("repo"),
        "version": i.get("version"),
        "values": i.get("values") or {},
    }


def _component_of(reg: Any, by_urn: dict[str, Any]) -> str:
    parent = by_urn.get(reg.parent)
    while parent is not None and parent.custom:
        parent = by_urn.get(parent.parent)
    return parent.name if parent is not None else "stack"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def plan(result: Any) -> dict[str, Any]:
    """The plan document for a run (see ``docs/offline-preview.md``)."""
    config = {
        k: ("[secret]" if k in result.secret_keys else _json_or_text(v)) for k, v in sorted(result.config.items())
    }
    return {
        "format": PLAN_FORMAT,
        "project": "ml-platform",
        "stack": result.stack,
        "config": config,
        "resources": sorted((r.to_json() for r in result.registrations), key=lambda r: r["urn"]),
        "outputs": result.outputs,
    }


def _json_or_text(value: str) -> Any:
    if value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def write(result: Any, out_dir: Path, extra: dict[str, Any] | None = None) -> dict[str, int]:
    """Write plan, manifests and Helm releases under ``out_dir`` (emptied first). Returns counts."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    (out_dir / "manifests").mkdir(parents=True)
    by_urn = {r.urn: r for r in result.registrations}
    objects = []
    for reg in result.registrations:
        if is_kubernetes_object(reg):
            obj = manifest(reg)
            meta = obj.get("metadata") or {}
            folder = out_dir / "manifests" / _safe(_component_of(reg, by_urn))
            folder.mkdir(parents=True, exist_ok=True)
            stem = "-".join(_safe(x) for x in (obj["kind"], meta.get("namespace", ""), meta.get("name", reg.name)) if x)
            text = yaml.safe_dump(obj, sort_keys=False)
            (folder / f"{stem}.yaml").write_text(text)
            objects.append((reg.urn, text))
    # In URN order: the engine registers resources in no fixed order, and a diffable file must not move. Each
    # object is dumped once: for documents that are mappings, safe_dump_all writes exactly this text.
    objects.sort(key=lambda pair: pair[0])
    (out_dir / "manifests" / "all.yaml").write_text("---\n".join(text for _, text in objects))
    releases = 0
    for reg in result.registrations:
        if reg.type == HELM_RELEASE:
            rel = helm_release(reg)
            folder = out_dir / "helm" / _safe(rel["name"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "release.yaml").write_text(
                yaml.safe_dump({k: v for k, v in rel.items() if k != "values"}, sort_keys=False)
            )
            (folder / "values.yaml").write_text(yaml.safe_dump(rel["values"], sort_keys=False))
            releases += 1
    document = plan(result)
    document.update(extra or {})
    (out_dir / "plan.json").write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return {"resources": len(result.registrations), "objects": len(objects), "releases": releases}


# --- the tree ------------------------------------------------------------------------------------------------


def _summary(reg: Any) -> str:
    """A few settings worth seeing in the tree, per resource type."""
    i = reg.inputs
    t = reg.type
    if t == HELM_RELEASE:
        return f"chart={i.get('chart')}@{i.get('version')} ns={i.get('namespace')}"
    if is_kubernetes_object(reg):
        meta = i.get("metadata") or {}
        ns = meta.get("namespace")
        return f"{meta.get('name', reg.name)}" + (f" ns={ns}" if ns else "")
    picks: list[str] = []
    for key in (
        "cidrBlock",
        "version",
        "instanceTypes",
        "capacityType",
        "amiType",
        "machineType",
        "location",
        "releaseChannel",
        "addonName",
        "engineVersion",
        "instanceClass",
    ):
        if key in i and i[key] not in (None, "", [], {}):
            value = i[key]
            if isinstance(value, dict):
                value = value.get("channel", value)
            if isinstance(value, list):
                value = ",".join(str(v) for v in value)
            picks.append(f"{key}={value}")
    scaling = i.get("scalingConfig") or i.get("autoscaling")
    if scaling:
        lo = scaling.get("minSize", scaling.get("totalMinNodeCount", scaling.get("minNodeCount")))
        hi = scaling.get("maxSize", scaling.get("totalMaxNodeCount", scaling.get("maxNodeCount")))
        picks.append(f"size={lo}..{hi}")
    taints = i.get("taints") or (i.get("nodeConfig") or {}).get("taints")
    if taints:
        picks.append("taints=" + ",".join(f"{x.get('key')}={x.get('value')}:{x.get('effect')}" for x in taints))
    node_config = i.get("nodeConfig") or {}
    if node_config.get("machineType"):
        picks.append(f"machineType={node_config['machineType']}")
    if node_config.get("spot"):
        picks.append("spot")
    for acc in node_config.get("guestAccelerators") or []:
        sharing = acc.get("gpuSharingConfig") or {}
        mode = (
            f"time-sharing x{sharing.get('maxSharedClientsPerGpu')}"
            if sharing
            else f"mig {acc['gpuPartitionSize']}"
            if acc.get("gpuPartitionSize")
            else "exclusive"
        )
        picks.append(f"accelerator={acc.get('count')}x{acc.get('type')} ({mode})")
    if reg.protect:
        picks.append("protect")
    return " ".join(picks)


def tree_lines(registrations: Iterable[Any]) -> list[str]:
    regs = list(registrations)
    children: dict[str, list[Any]] = {}
    for reg in regs:
        children.setdefault(reg.parent, []).append(reg)
    order = lambda r: (r.custom, r.type, r.name)  # noqa: E731 - components first, then by type and name
    for kids in children.values():
        kids.sort(key=order)
    roots = sorted((r for r in regs if r.parent not in {x.urn for x in regs}), key=order)
    lines: list[str] = []

    def walk(node: Any, prefix: str, last: bool) -> None:
        branch = "└─ " if last else "├─ "
        label = node.type.split(":")[-1] if node.type.startswith("ml-platform:") else node.type
        summary = _summary(node)
        lines.append(f"{prefix}{branch}{label} {node.name}" + (f"  {summary}" if summary else ""))
        kids = children.get(node.urn, [])
        for n, kid in enumerate(kids):
            walk(kid, prefix + ("   " if last else "│  "), n == len(kids) - 1)

    for n, root in enumerate(roots):
        walk(root, "", n == len(roots) - 1)
    return lines
