"""The shape of a Prometheus rule file: alerting and recording rules, groups, and the PromQL helpers they share.

Kept apart from the rule definitions (:mod:`._alert_rules`) so that those read as the list of what is watched.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


def ksm_label(label: str) -> str:
    """The name kube-state-metrics gives a Kubernetes label (``ml-platform.io/model`` →
    ``label_ml_platform_io_model``)."""
    return "label_" + "".join(c if c.isalnum() else "_" for c in label)


class Severity(str, enum.Enum):
    """How urgently a human must act."""

    PAGE = "critical"
    """Users are affected now: page the on-call engineer."""
    TICKET = "warning"
    """Needs attention within working hours."""


@dataclass(frozen=True)
class Alert:
    """One alerting rule."""

    name: str
    expr: str
    for_: str
    severity: Severity
    summary: str
    runbook: str
    """One line: what to check first and what usually fixes it (also printed in docs/monitoring.md)."""
    labels: tuple[tuple[str, str], ...] = ()
    """Extra labels (besides ``severity``)."""

    def to_rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity.value, **dict(self.labels)},
            "annotations": {"summary": self.summary, "runbook": self.runbook},
        }


@dataclass(frozen=True)
class Record:
    """One recording rule."""

    name: str
    expr: str
    labels: tuple[tuple[str, str], ...] = ()

    def to_rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"record": self.name, "expr": self.expr}
        if self.labels:
            rule["labels"] = dict(self.labels)
        return rule


Rule = Alert | Record


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]
    interval: str = "30s"

    def to_group(self) -> dict[str, Any]:
        return {"name": self.name, "interval": self.interval, "rules": [r.to_rule() for r in self.rules]}


def num(value: float) -> str:
    """A threshold as PromQL writes it (no float noise: 0.30000000000000004 → 0.3)."""
    return format(round(value, 6), "g")


def relabel(expr: str, pairs: list[tuple[str, str]]) -> str:
    for target, source in pairs:
        expr = f'label_replace({expr}, "{target}", "$1", "{source}", "(.*)")'
    return expr
