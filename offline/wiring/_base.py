"""The rule registry: every wiring rule is a named function from a :class:`Render` to findings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ._render import Render


@dataclass(frozen=True)
class Finding:
    """One broken connection, with the objects it involves."""

    rule: str
    message: str
    objects: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "message": self.message, "objects": list(self.objects)}

    def line(self) -> str:
        return f"[{self.rule}] {self.message}" + (f" ({'; '.join(self.objects)})" if self.objects else "")


RuleFn = Callable[[Render], list[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    area: str
    summary: str
    fn: RuleFn


RULES: dict[str, Rule] = {}
"""Every rule by name, in registration order (documented in ``docs/wiring.md``)."""


def rule(name: str, area: str, summary: str) -> Callable[[RuleFn], RuleFn]:
    def register(fn: RuleFn) -> RuleFn:
        RULES[name] = Rule(name, area, summary, fn)
        return fn

    return register
