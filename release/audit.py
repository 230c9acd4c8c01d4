"""The record a release leaves: an MLflow run in the ``releases`` experiment, tags on the model version, and the
release's phase and weights as Prometheus metrics.

Why an MLflow run: the evidence (held-out accuracy per slice, load test, every analysis window with its PromQL,
the decision and its timestamps) sits next to the model version it judged, in the registry people already read.
Run, tags and metrics are all written by idempotent calls or guarded by the release state, so a resumed phase does
not duplicate them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from mlflow import MlflowClient
from prometheus_client import Counter, Gauge

from .settings import EndpointRelease
from .state import PHASES, Release

PHASE = Gauge(
    "ml_platform_release_phase", "1 for the phase the endpoint's current release is in", ["endpoint", "phase"]
)
ACTIVE = Gauge("ml_platform_release_active", "1 while the endpoint has a release without decision", ["endpoint"])
WEIGHT = Gauge("ml_platform_release_weight", "Traffic weight per slot of the endpoint's route", ["endpoint", "slot"])
SLOT_VERSION = Gauge("ml_platform_release_slot_version", "Registry version loaded in each slot", ["endpoint", "slot"])
DEADLINE = Gauge(
    "ml_platform_release_deadline_timestamp_seconds",
    "When the current release is stuck if it has no decision (canary start + analysis + margin)",
    ["endpoint"],
)
DECISIONS = Counter("ml_platform_release_decisions_total", "Releases decided", ["endpoint", "decision"])
TAG_PREFIX = "release."


def export(e: EndpointRelease, release: Release | None, weights: dict[str, int], slot_versions: dict[str, str]) -> None:
    for phase in PHASES:
        PHASE.labels(e.endpoint, phase).set(1 if release is not None and release.phase == phase else 0)
    ACTIVE.labels(e.endpoint).set(1 if release is not None and release.active else 0)
    for slot, w in weights.items():
        WEIGHT.labels(e.endpoint, slot).set(w)
    for slot, v in slot_versions.items():
        if v and v.isdigit():
            SLOT_VERSION.labels(e.endpoint, slot).set(int(v))
    if release is not None and release.active:
        start = release.canary_started or release.created
        DEADLINE.labels(e.endpoint).set(start + e.deadline_seconds())
    else:
        DEADLINE.labels(e.endpoint).set(0)


class Audit:
    def __init__(self, client: MlflowClient, experiment: str) -> None:
        self.client = client
        self.experiment = experiment

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        return found.experiment_id if found else self.client.create_experiment(self.experiment)

    def open(self, e: EndpointRelease, r: Release) -> str:
        run = self.client.create_run(
            self._experiment_id(),
            run_name=f"{e.endpoint}-v{r.version}-{r.id}",
            tags={
                f"{TAG_PREFIX}endpoint": e.endpoint,
                f"{TAG_PREFIX}model": e.registered_model,
                f"{TAG_PREFIX}version": r.version,
                f"{TAG_PREFIX}id": r.id,
                f"{TAG_PREFIX}trigger": r.trigger,
            },
        )
        run_id = run.info.run_id
        settings = {k: v for k, v in asdict(e).items() if k not in ("slices", "slots")}
        for key, value in settings.items():
            self.client.log_param(run_id, key, str(value)[:500])
        self.client.log_dict(run_id, {"slices": e.slices, "slots": e.slots}, "settings.json")
        return run_id

    def metrics(self, run_id: str | None, values: dict[str, float | None], step: int = 0) -> None:
        if not run_id:
            return
        now = int(time.time() * 1000)
        for key, value in values.items():
            if value is not None:
                self.client.log_metric(run_id, key, float(value), timestamp=now, step=step)

    def close(self, e: EndpointRelease, r: Release) -> None:
        """Decision, reason and the whole record on the run; decision and reason on the model version."""
        tags = {
            "decision": r.decision or "",
            "reason": (r.reason or "")[:4000],
            "release_id": r.id,
            "decided_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r.decided or time.time())),
        }
        for key, value in tags.items():
            self.client.set_model_version_tag(e.registered_model, r.version, f"{TAG_PREFIX}{key}", value)
        if r.run_id:
            for key, value in tags.items():
                self.client.set_tag(r.run_id, f"{TAG_PREFIX}{key}", value)
            self.client.log_dict(r.run_id, json.loads(json.dumps(asdict(r), default=str)), "release.json")
            self.client.set_terminated(r.run_id, "FINISHED" if r.decision == "promoted" else "FAILED")


def version_numbers(check: dict[str, Any]) -> dict[str, float | None]:
    """The metric values of one analysis window, as MLflow metrics."""
    out: dict[str, float | None] = {}
    for side in ("canary", "stable"):
        nums = check.get(side) or {}
        p95 = nums.get("p95_seconds")
        out[f"{side}_p95_ms"] = p95 * 1000 if p95 is not None else None
        out[f"{side}_error_ratio"] = nums.get("error_ratio")
        out[f"{side}_requests"] = nums.get("requests")
    return out
