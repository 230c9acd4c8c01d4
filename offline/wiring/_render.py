"""One preview's render as the wiring rules read it: objects, Helm releases, cloud resources, and what runs.

Every schema check looks at one object; the wiring rules look at how objects meet. To do that they need more than
the registrations: the pods a Deployment, a chart or a controller will run, the Services and PodMonitors a chart
creates from its values, the webhooks that will validate a kind. :class:`Render` builds that picture once from the
registrations (:mod:`._charts` says what each installed chart creates, :mod:`._controllers` what the controllers
create from our custom resources) and answers the questions the rules ask: which pods a selector matches, which
ports a pod declares, whether one resource waits for another.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


@dataclass
class Res:
    """One registered resource (a plan entry, plus the outputs the preview's mocks computed when known)."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    depends_on: list[str]
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.type.split(':')[-1]} {self.name}"


@dataclass
class Obj:
    """A Kubernetes object: rendered by the program, or created by a chart or a controller (``source``)."""

    kind: str
    api_version: str
    namespace: str | None
    name: str
    body: dict[str, Any]
    source: str
    """``render``, ``chart <release>`` or ``controller <kind>``."""
    urn: str | None = None
    """The registration that brings it (the object itself, the Helm release, or the custom resource)."""

    @property
    def group(self) -> str:
        return self.api_version.rsplit("/", 1)[0] if "/" in self.api_version else ""

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.body.get("metadata") or {}).get("labels") or {})

    @property
    def spec(self) -> dict[str, Any]:
        return self.body.get("spec") or {}

    @property
    def ref(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        origin = "" if self.source == "render" else f" (from {self.source})"
        return f"{self.kind} {where}{self.name}{origin}"


@dataclass
class Pod:
    """Pods of one workload, as far as wiring goes: where, labels, identity, ports, what storage they touch."""

    namespace: str
    labels: dict[str, str]
    workload: str
    """``Deployment mlflow/mlflow``, ``InferenceService ml-serving/iris-v1 (predictor)``, ..."""
    urn: str | None
    service_account: str = "default"
    ports: dict[str, int] = field(default_factory=dict)
    """Declared container ports, name -> number (unnamed ports under ``#<number>``)."""
    listens: set[int] = field(default_factory=set)
    """Ports the process listens on without declaring them (documented upstream)."""
    reads: list[str] = field(default_factory=list)
    """Bucket URIs the pod reads (``s3://bucket/prefix``)."""
    writes: list[str] = field(default_factory=list)
    """Bucket URIs the pod writes."""
    env_credentials: bool = False
    """Whether the pod gets static bucket credentials from a Secret (in-cluster object stores)."""
    env_values: list[str] = field(default_factory=list)
    """Plain environment values of its containers (where it finds other Services: URLs, hosts)."""

    def port(self, port: int | str) -> int | None:
        """The number of a declared port given by number or name, None when not declared."""
        if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
            number = int(port)
            return number if number in self.ports.values() else None
        return self.ports.get(port)


@dataclass
class Webhook:
    """An admission webhook or aggregated API a chart runs."""

    release: str
    """URN of the Helm release that runs it."""
    release_name: str
    namespace: str
    port: int
    """Container port the API server connects to."""
    kinds: set[tuple[str, str]] = field(default_factory=set)
    """(API group, kind) it validates or mutates; empty for an aggregated API."""
    what: str = "admission webhook"


@dataclass
class Claim:
    """A PersistentVolumeClaim the render causes, with the StorageClass it names (None: the default)."""

    what: str
    storage_class: str | None
    urn: str | None


class Render:
    """The render of one preview, indexed for the wiring rules."""

    def __init__(self, resources: Iterable[Any], config: dict[str, str]) -> None:
        """Index the registrations; :func:`._build.build` adds what charts and controllers create."""
        self.config = dict(config)
        self.resources = [_res(r) for r in resources]
        self.by_urn = {r.urn: r for r in self.resources}
        self.cloud = self.config.get("ml-platform:cloud", "existing")
        cluster = _json(self.config.get("ml-platform:cluster")) or {}
        self.kubernetes_version = str(cluster.get("kubernetes_version") or "")
        self.objects: list[Obj] = []
        self.pods: list[Pod] = []
        self.webhooks: list[Webhook] = []
        self.claims: list[Claim] = []
        self.crd_groups: dict[str, set[str]] = {}
        """Release URN -> API groups whose CRDs it installs."""
        self.needs_groups: dict[str, set[str]] = {}
        """Release URN -> API groups of the custom resources its chart creates (or its controller needs)."""
        self.releases = [r for r in self.resources if r.type == HELM_RELEASE]
        for r in self.resources:
            if _is_kubernetes_object(r.type):
                self.objects.append(_object(r))
        self.namespace_labels: dict[str, dict[str, str]] = {}
        for o in self.objects:
            if o.kind == "Namespace":
                self.namespace_labels[o.name] = {**o.labels, "kubernetes.io/metadata.name": o.name}
        for rel in self.releases:
            ns = rel.inputs.get("namespace", "default")
            self.namespace_labels.setdefault(ns, {"kubernetes.io/metadata.name": ns})
        self._closure: dict[str, set[str]] = {}

    # --- look-ups ----------------------------------------------------------------------------------------------

    def of_kind(self, kind: str, group: str | None = None) -> list[Obj]:
        return [o for o in self.objects if o.kind == kind and (group is None or o.group == group)]

    def of_type(self, type_: str) -> list[Res]:
        return [r for r in self.resources if r.type == type_]

    def namespace_matches(self, namespace: str, selector: dict[str, Any] | None) -> bool:
        labels = self.namespace_labels.get(namespace, {"kubernetes.io/metadata.name": namespace})
        return selector_matches(selector or {}, labels)

    def pods_matching(self, namespaces: set[str] | None, selector: dict[str, Any] | None) -> list[Pod]:
        """Pods in ``namespaces`` (None: any) whose labels match a label selector (None matches nothing)."""
        if selector is None:
            return []
        return [
            p
            for p in self.pods
            if (namespaces is None or p.namespace in namespaces) and selector_matches(selector, p.labels)
        ]

    def release_label(self, urn: str | None) -> str:
        res = self.by_urn.get(urn or "")
        return res.label if res else str(urn)

    # --- ordering ----------------------------------------------------------------------------------------------

    def waits_for(self, urn: str, other: str) -> bool:
        """Whether the engine creates ``urn`` only after ``other`` exists.

        A resource waits for its own dependencies and for its ancestors' (the SDK registers a child only after its
        parent, and a parent only after the parent's dependencies); a dependency on a component is one on all its
        children. The relation is transitive.
        """
        return other in self._waits(urn)

    def _waits(self, urn: str) -> set[str]:
        if urn in self._closure:
            return self._closure[urn]
        children: dict[str, list[str]] = {}
        for r in self.resources:
            children.setdefault(r.parent, []).append(r.urn)

        def expand(dep: str) -> set[str]:
            out = {dep}
            res = self.by_urn.get(dep)
            if res is not None and not res.custom:
                for kid in children.get(dep, []):
                    out |= expand(kid)
            return out

        def direct(u: str) -> set[str]:
            deps: set[str] = set()
            node = self.by_urn.get(u)
            while node is not None:
                for d in node.depends_on:
                    deps |= expand(d)
                node = self.by_urn.get(node.parent)
            return deps

        seen: set[str] = set()
        todo = list(direct(urn))
        while todo:
            u = todo.pop()
            if u in seen:
                continue
            seen.add(u)
            todo.extend(direct(u) - seen)
        self._closure[urn] = seen
        return seen


# --- selectors -------------------------------------------------------------------------------------------------


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (``matchLabels`` and ``matchExpressions``; empty matches everything)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# --- building ----------------------------------------------------------------------------------------------------


def _res(r: Any) -> Res:
    if isinstance(r, Res):
        return r
    if isinstance(r, dict):
        return Res(
            r["urn"],
            r["type"],
            r["name"],
            r.get("parent", ""),
            bool(r.get("custom", True)),
            list(r.get("dependsOn") or []),
            copy.deepcopy(r.get("inputs") or {}),
            copy.deepcopy(r.get("outputs") or {}),
        )
    return Res(
        r.urn,
        r.type,
        r.name,
        r.parent,
        r.custom,
        list(r.depends_on),
        copy.deepcopy(r.inputs),
        copy.deepcopy(getattr(r, "outputs", None) or {}),
    )


def _is_kubernetes_object(t: str) -> bool:
    return (
        t.startswith("kubernetes:")
        and "/" in t.split(":")[1]
        and not t.startswith(("kubernetes:helm.sh", "kubernetes:yaml"))
    )


def _object(r: Res) -> Obj:
    group_version, kind = r.type.split(":")[1], r.type.split(":")[2]
    group, version = group_version.rsplit("/", 1)
    body = dict(r.inputs)
    api_version = body.get("apiVersion") or (version if group == "core" else f"{group}/{version}")
    kind = body.get("kind") or kind
    meta = body.get("metadata") or {}
    return Obj(kind, api_version, meta.get("namespace"), meta.get("name", r.name), body, "render", r.urn)


def _json(text: str | None) -> Any:
    import json

    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
