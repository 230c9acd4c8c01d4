"""What every rule is made of, and the one adapter that turns a rule into a CrossGuard policy.

Why rules are pure functions over a plain :class:`Res`: a rule is then testable with a dictionary, without the
analyzer, the engine or Pulumi's property proxies, and the same function runs under ``pulumi preview`` and under
the offline preview (which drives the pack over the analyzer protocol, exactly as the CLI does). Only
:func:`to_policy` knows about ``pulumi_policy``.

Facts about the stack (its environment, region and cost settings) come from the stack's configuration, which the
Pulumi CLI hands to a policy pack in ``PULUMI_CONFIG``, as it does to the program; a rule's own config (from
``--policy-pack-config``) overrides them. Unknown values (outputs not known during preview) reach rules as the
string ``"[unknown]"``; rules treat them as "cannot tell" and never as a violation.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

PROJECT = "ml-platform"
UNKNOWN = "[unknown]"

MANDATORY = "mandatory"
ADVISORY = "advisory"
DISABLED = "disabled"


@dataclass(frozen=True)
class Res:
    """One resource as the engine shows it to a policy: type token, name, URN, inputs (camelCase), options."""

    type: str
    name: str
    urn: str = ""
    props: Mapping[str, Any] = field(default_factory=dict)
    protect: bool = False
    parent: str = ""
    dependencies: tuple[str, ...] = ()

    @property
    def is_kubernetes(self) -> bool:
        return self.type.startswith("kubernetes:") and not self.type.startswith(
            ("kubernetes:helm.sh", "kubernetes:yaml")
        )

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.props.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def label(self) -> str:
        """How messages name the resource: ``Deployment serving/iris`` or ``aws:rds/instance:Instance mlflow-db``."""
        if self.is_kubernetes:
            ns = self.metadata.get("namespace")
            name = self.metadata.get("name") or self.name
            return f"{self.kind} {ns}/{name}" if ns else f"{self.kind} {name}"
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class Facts:
    """What a rule may know about the stack besides its resources."""

    environment: str | None = None
    """``local``, ``dev``, ``staging`` or ``prod`` (``ml-platform:environment``), or None when not set."""
    region: str | None = None
    """``aws:region`` or ``gcp:region``."""
    cost: Mapping[str, Any] = field(default_factory=dict)
    """``ml-platform:cost`` (budget, price overrides)."""


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def facts_from_config(config: Mapping[str, Any]) -> Facts:
    """Facts from a stack's configuration (``{"ml-platform:environment": "prod", "aws:region": ...}``)."""
    cost = _decode(config.get(f"{PROJECT}:cost"))
    return Facts(
        environment=config.get(f"{PROJECT}:environment") or None,
        region=config.get("aws:region") or config.get("gcp:region") or None,
        cost=cost if isinstance(cost, Mapping) else {},
    )


def facts_from_environment() -> Facts:
    """Facts from ``PULUMI_CONFIG``, the stack configuration the CLI passes to plugins."""
    return _facts_from(os.environ.get("PULUMI_CONFIG") or "{}")


@functools.lru_cache(maxsize=4)
def _facts_from(text: str) -> Facts:
    """Every policy asks for every resource: the stack's configuration is parsed once per text, not each time."""
    try:
        config = json.loads(text)
    except ValueError:
        config = {}
    return facts_from_config(config if isinstance(config, dict) else {})


ResourceCheck = Callable[[Res, Mapping[str, Any], Facts], Iterable[str]]
StackCheck = Callable[[list[Res], Mapping[str, Any], Facts], Iterable[tuple[str, str | None]]]


@dataclass(frozen=True)
class Rule:
    """A policy: name, description, default enforcement level, config schema (JSON schema properties with
    defaults), and a pure check. Resource rules yield messages; stack rules yield ``(message, urn)``."""

    name: str
    description: str
    enforcement_level: str
    config_schema: Mapping[str, Any]
    check: ResourceCheck | StackCheck
    stack: bool = False

    def config(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The schema's defaults with ``overrides`` on top (``enforcementLevel`` dropped)."""
        cfg = {k: v["default"] for k, v in self.config_schema.items() if "default" in v}
        cfg.update({k: v for k, v in (overrides or {}).items() if k != "enforcementLevel"})
        return cfg

    def run(
        self,
        target: Res | list[Res],
        overrides: Mapping[str, Any] | None = None,
        facts: Facts | None = None,
    ) -> list[tuple[str, str | None]]:
        """Apply the rule; ``(message, urn)`` pairs. What the adapter and the tests both call."""
        cfg = self.config(overrides)
        facts = facts or Facts()
        if self.stack:  # the flag says which of the two signatures ``check`` has
            assert not isinstance(target, Res)
            return list(cast(StackCheck, self.check)(list(target), cfg, facts))
        assert isinstance(target, Res)
        return [(message, target.urn or None) for message in cast(ResourceCheck, self.check)(target, cfg, facts)]


# --- from the analyzer's view to plain values ----------------------------------------------------------------


def plain(value: Any) -> Any:
    """Unwrap pulumi_policy's property proxies into plain dicts and lists; unknowns become ``"[unknown]"`` and
    whole numbers become ints again."""
    from pulumi_policy import proxy

    if isinstance(value, proxy._DictProxy):
        value = value["__target"]
    if isinstance(value, proxy._ListProxy):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if proxy._is_unknown(value):
        return UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Structs carry every number as a double; 2.0 replicas is 2
    return value


def to_policy(rule: Rule) -> Any:
    """The CrossGuard policy for ``rule`` (imports pulumi_policy: only the pack's ``__main__`` calls this)."""
    import pulumi_policy as pp

    levels = {
        MANDATORY: pp.EnforcementLevel.MANDATORY,
        ADVISORY: pp.EnforcementLevel.ADVISORY,
        DISABLED: pp.EnforcementLevel.DISABLED,
    }
    schema = pp.PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config_schema.items()})

    if rule.stack:

        def validate_stack(args: Any, report: Callable[..., None]) -> None:
            resources = [
                Res(
                    r.resource_type,
                    r.name,
                    r.urn,
                    plain(r.props),
                    bool(r.opts.protect),
                    r.parent.urn if r.parent is not None else "",
                    tuple(d.urn for d in r.dependencies),
                )
                for r in args.resources
            ]
            for message, urn in rule.run(resources, plain(args.get_config() or {}), facts_from_environment()):
                report(message, urn)

        return pp.StackValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=validate_stack,
            enforcement_level=levels[rule.enforcement_level],
            config_schema=schema,
        )

    def validate_resource(args: Any, report: Callable[..., None]) -> None:
        res = Res(
            args.resource_type, args.name, args.urn, plain(args.props), bool(args.opts.protect), args.opts.parent or ""
        )
        for message, urn in rule.run(res, plain(args.get_config() or {}), facts_from_environment()):
            report(message, urn)

    return pp.ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate_resource,
        enforcement_level=levels[rule.enforcement_level],
        config_schema=schema,
    )


# --- small functions the rules share -------------------------------------------------------------------------


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (absent and unknown properties read as empty)."""
    return value if isinstance(value, Mapping) else {}


def known(value: Any) -> bool:
    return value is not None and value != UNKNOWN


def matches_any(names: Iterable[str], patterns: Iterable[str]) -> str | None:
    """The first pattern (shell glob) any of ``names`` matches, or None."""
    for pattern in patterns:
        for name in names:
            if name and fnmatch.fnmatchcase(str(name), pattern):
                return pattern
    return None


def kubernetes_group_kind(res: Res) -> tuple[str, str]:
    """``("apps", "Deployment")`` for ``kubernetes:apps/v1:Deployment``; ``("core", "Service")``..."""
    if not res.is_kubernetes:
        return "", ""
    group_version = res.type.split(":")[1]
    return group_version.rsplit("/", 1)[0], res.kind


def schema(type_: str | list[str], default: Any, description: str, **extra: Any) -> dict[str, Any]:
    """One config schema property."""
    return {"type": type_, "default": default, "description": description, **extra}
