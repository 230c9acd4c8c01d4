"""A release's state, kept in one ConfigMap per endpoint and written only by compare-and-swap.

Why a ConfigMap of our own, and not annotations on the HTTPRoute: the route is Pulumi's object (everything but its
weights), so ``pulumi up`` may rewrite its metadata; a ConfigMap only the controller writes is never touched by a
deploy. Every write is a ``replace`` carrying the ``resourceVersion`` that was read, so two writers (a restarted
controller beside a dying one, the CLI beside the controller) cannot both move a release: the loser gets 409,
re-reads and re-decides from the new state. Each phase's side effects are idempotent (set the weights to X, set
the alias to N) and the phase that follows is written only after they succeeded, so a process killed at any
instant resumes by redoing at most the current phase's effects.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

ACTIVE = (
    "pending",
    "evaluating",
    "deploying",
    "load-testing",
    "canary",
    "awaiting-approval",
    "promoting",
    "rolling-back",
)
FINAL = ("promoted", "rolled-back", "rejected")
PHASES = ACTIVE + FINAL
MAX_HISTORY = 20
MAX_DELIVERIES = 100
MAX_CHECKS = 60
MAX_SUMMARY_CHECKS = 3


@dataclass
class Release:
    """One attempt to bring ``version`` of the registered model to production."""

    id: str
    version: str
    trigger: str
    """``webhook:<delivery id>`` or ``cli``."""
    phase: str = "pending"
    champion_version: str | None = None
    stable_slot: str = ""
    candidate_slot: str = ""
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    phase_since: float = field(default_factory=time.time)
    canary_started: float | None = None
    decided: float | None = None
    decision: str | None = None
    reason: str | None = None
    gate: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    run_id: str | None = None
    approved_by: str | None = None
    abort_reason: str | None = None

    @classmethod
    def new(cls, version: str, trigger: str) -> Release:
        return cls(id=uuid.uuid4().hex[:10], version=str(version), trigger=trigger)

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE


@dataclass
class EndpointState:
    """Everything the controller knows about one endpoint."""

    stable_slot: str | None = None
    champion_version: str | None = None
    previous_champion_version: str | None = None
    current: Release | None = None
    queue: list[dict[str, str]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)
    revert_requested: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> EndpointState:
        if not text:
            return cls()
        data = json.loads(text)
        current = data.pop("current", None)
        return cls(**data, current=Release(**current) if current else None)

    def finish(self) -> None:
        """Move the decided release to the history."""
        if self.current is not None:
            summary = {k: v for k, v in asdict(self.current).items() if k not in ("checks",)}
            summary["checks"] = len(self.current.checks)
            summary["last_checks"] = [
                {k: v for k, v in c.items() if k != "queries"} for c in self.current.checks[-MAX_SUMMARY_CHECKS:]
            ]
            self.history = ([summary, *self.history])[:MAX_HISTORY]
            self.current = None

    def seen(self, delivery_id: str) -> bool:
        return delivery_id in self.deliveries

    def remember(self, delivery_id: str) -> None:
        self.deliveries = ([delivery_id, *self.deliveries])[:MAX_DELIVERIES]

    def knows(self, version: str) -> bool:
        """Whether ``version`` is already released, queued, or being released (a second request changes nothing)."""
        if self.current is not None and self.current.version == version:
            return True
        return any(q["version"] == version for q in self.queue)


class Conflict(Exception):
    """Someone else wrote the state since it was read."""


class StateStore:
    """Read and compare-and-swap the ConfigMap ``release-<endpoint>``."""

    KEY = "state.json"

    def __init__(self, kube: Any) -> None:
        self.kube = kube

    def read(self, namespace: str, name: str) -> tuple[EndpointState, str | None]:
        cm = self.kube.read_configmap(namespace, name)
        if cm is None:
            return EndpointState(), None
        return EndpointState.from_json((cm.get("data") or {}).get(self.KEY)), cm["metadata"]["resourceVersion"]

    def write(self, namespace: str, name: str, state: EndpointState, resource_version: str | None) -> str:
        """Write ``state`` if nobody wrote since ``resource_version`` was read; returns the new resourceVersion."""
        if state.current is not None:
            state.current.updated = time.time()
            state.current.checks = state.current.checks[-MAX_CHECKS:]
        data = {self.KEY: state.to_json()}
        return self.kube.write_configmap(namespace, name, data, resource_version)
