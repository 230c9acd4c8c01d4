"""One handler per phase: do the phase's idempotent effects, return the phase to be in next.

A handler returns its own phase to wait (a candidate still loading, a canary still under analysis). Decisions
record their reason and numbers on the release before the effects run, so the write that ends a release carries
the evidence with it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from . import audit, gate
from .queries import VersionNumbers
from .settings import EndpointRelease
from .state import EndpointState, Release

CHAMPION = "champion"
log = logging.getLogger("release")


def _other(e: EndpointRelease, slot: str) -> str:
    return next(s for s in e.slots if s != slot)


def _decide(r: Release, decision: str, reason: str) -> None:
    if r.decided is None:
        r.decided, r.decision, r.reason = time.time(), decision, reason


def pending(c: Any, e: EndpointRelease, state: EndpointState, r: Release) -> str:
    r.champion_version = state.champion_version
    r.stable_slot = str(state.stable_slot)
    r.candidate_slot = _other(e, r.stable_slot)
    if r.run_id is None:
        r.run_id = c.audit.open(e, r)
    c.event(e, r, "ReleaseStarted", f"v{r.version} of {e.registered_model} (champion v{r.champion_version}): gate")
    if r.version == r.champion_version:
        _decide(r, "rejected", f"v{r.version} is already the champion")
        return "rejected"
    return "evaluating"


def evaluating(c: Any, e: EndpointRelease, state: EndpointState, r: Release) -> str:
    champion = f"models:/{e.registered_model}/{r.champion_version}" if r.champion_version else None
    ev = gate.evaluate(e, f"models:/{e.registered_model}/{r.version}", champion, f"champion v{r.champion_version}")
    r.gate["evaluation"] = ev.to_dict()
    metrics: dict[str, float | None] = {"accuracy": ev.accuracy, "baseline_accuracy": ev.baseline_accuracy}
    for name, s in ev.slices.items():
        metrics[f"slice_{name}_accuracy"] = s["accuracy"]
        metrics[f"slice_{name}_baseline_accuracy"] = s["baseline_accuracy"]
    c.audit.metrics(r.run_id, metrics)
    if not ev.passed:
        _decide(r, "rejected", f"gate: {ev.reason}")
        return "rejected"
    return "deploying"


def deploying(c: Any, e: EndpointRelease, state: EndpointState, r: Release) -> str:
    # The candidate's slot has no weight while it loads; it gets traffic only after the load test.
    c.set_weights(e, {r.stable_slot: 100, r.candidate_slot: 0})
    c.load(e, r.candidate_slot, r.version)
    if c.ready(e, r.candidate_slot, r.version):
        return "load-testing"
    if time.time() - r.phase_since > e.ready_timeout_seconds:
        _decide(r, "rejected", f"gate: {e.isvc(r.candidate_slot)} not Ready within {e.ready_timeout_seconds:g} s")
        return "rejected"
    return "deploying"


def load_testing(c: Any, e: EndpointRelease, state: EndpointState, r: Release) -> str:
    import mlflow
    import pandas as pd

    data = pd.read_csv(mlflow.artifacts.download_artifacts(artifact_uri=e.heldout_uri))
    rows = data.drop(columns=[e.label_column]).to_dict(orient="records")
    result = gate.load_test(e, c.settings.gateway_url, r.candidate_slot, rows)
    r.gate["load_test"] = result.to_dict()
    c.audit.metrics(
        r.run_id,
        {"load_test_p95_ms": result.p95_ms, "load_test_p50_ms": result.p50_ms, "load_test_errors": result.errors},
    )
    if not result.passed:
        _decide(r, "rejected", f"gate: {result.reason}")
        return "rejected"
    r.canary_started = time.time()
    c.event(
        e,
        r,
        "CanaryStarted",
        f"v{r.version} in {r.candidate_slot} at {e.canary_weight}%: {result.reason or 'gate passed'}",
    )
    return "canary"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def _pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2%}"


def judge(e: EndpointRelease, canary: VersionNumbers, stable: VersionNumbers, elapsed: float) -> dict[str, Any]:
    """The verdict on one window: a breach (error rate as soon as the canary has ``min_requests``; p95 when both
    versions have), whether it holds enough requests, whether it spans the full ``window_seconds``, and whether it
    counts as healthy towards promotion (full, enough, no breach)."""
    enough = canary.requests >= e.min_requests and stable.requests >= e.min_requests
    full = elapsed >= e.window_seconds
    breach = None
    if canary.requests >= e.min_requests and (canary.error_ratio or 0.0) > e.max_error_rate:
        breach = f"canary error rate {canary.error_ratio:.2%} > {e.max_error_rate:.2%} ({canary.requests:.0f} requests)"
    elif enough and canary.p95_seconds is not None and stable.p95_seconds is not None:
        limit = stable.p95_seconds * (1 + e.max_p95_increase)
        if canary.p95_seconds > limit:
            breach = (
                f"canary p95 {canary.p95_seconds * 1000:.1f} ms > {1 + e.max_p95_increase:g} x stable p95 "
                f"{stable.p95_seconds * 1000:.1f} ms"
            )
    healthy = full and enough and breach is None and canary.p95_seconds is not None
    return {"enough": enough, "full": full, "breach": breach, "healthy": healthy}


def _check(c: Any, e: EndpointRelease, r: Release) -> dict[str, Any]:
    # A slot's series also hold what it served before the canary began: the gate's warm-up and load test (a fresh
    # server's first answers are slow) and, after an earlier release, the previous candidate it held. Every window
    # is therefore cut at the canary's start, so only the canary's own requests are judged; promotion counts only
    # windows of the full length.
    elapsed = time.time() - (r.canary_started or r.phase_since)
    window = min(e.window_seconds, elapsed)
    canary = c.prometheus.version(e.namespace, e.endpoint, r.candidate_slot, window)
    stable = c.prometheus.version(e.namespace, e.endpoint, r.stable_slot, window)
    check: dict[str, Any] = {
        "at": time.time(),
        "window_seconds": round(window, 1),
        "canary": {"p95_seconds": canary.p95_seconds, "error_ratio": canary.error_ratio, "requests": canary.requests},
        "stable": {"p95_seconds": stable.p95_seconds, "error_ratio": stable.error_ratio, "requests": stable.requests},
        "queries": {"canary": canary.queries, "stable": stable.queries},
        **judge(e, canary, stable, elapsed),
    }
    log.info(
        "%s v%s window %.0fs: canary p95 %s err %s n=%.0f | stable p95 %s err %s n=%.0f%s",
        e.endpoint,
        r.version,
        window,
        _ms(canary.p95_seconds),
        _pct(canary.error_ratio),
        canary.requests,
        _ms(stable.p95_seconds),
        _pct(stable.error_ratio),
        stable.requests,
        f" BREACH: {check['breach']}" if check["breach"] else "",
    )
    return check


def canary(c: Any, e: EndpointRelease, state: EndpointState, r: Release) -> str:
    c.set_weights(e, {r.candidate_slot: e.canary_weight, r.stable_slot: 100 - e.canary_weight})
    if r.abort_reason:
        _decide(r, "rolled-back", f"rolled back by hand: {r.abort_reason}")
        return "rolling-back"
    last = r.checks[-1]["at"] if r.checks else 0.0
    if time.time() - last < e.interval_seconds:
        return r.phase
    check = _check(c, e, r)
    r.checks.append(check)
    c.audit.metrics(r.run_id, audit.version_numbers(check), step=len(r.checks))
    if check["breach"]:
        _decide(r, "rolled-back", check["breach"])
        return "rolling-back"
    started = r.canary_started or r.phase_since
    # At least half the full windows the analysis time holds must be healthy, and the latest one.
    needed = max(1, int((e.analysis_minutes * 60 - e.window_seconds) / e.interval_seconds / 2))
    healthy = sum(1 for ch in r.checks if ch["healthy"])
    if (
        r.phase == "canary"
        and time.time() - started >= e.analysis_minutes * 60
        and healthy >= needed
        and check["healthy"]
    ):
        if e.mode == "manual":
            c.event(
                e, r, "ApprovalRequired", f"v{r.version} passed {healthy} windows: run `release approve {e.endpoint}`"
            )
            return "awaiting-approval"
        _decide(r, "promoted", f"{healthy} healthy windows over {e.analysis_minutes:g} min")
        return "promoting"
    if r.phase == "awaiting-approval" and r.approved_by:
        _decide(r, "promoted", f"approved by {r.approved_by} after {healthy} healthy windows")
        return "promoting"
    return r.phase


def promoting(c: Any, e: EndpointRelease, state: EndpointState, r: Release) -> str:
    c.set_weights(e, {r.candidate_slot: 100, r.stable_slot: 0})
    c.client.set_registered_model_alias(e.registered_model, CHAMPION, r.version)
    c.audit.close(e, r)
    c.event(
        e, r, "ReleasePromoted", f"v{r.version} is champion ({r.reason}); v{r.champion_version} kept in {r.stable_slot}"
    )
    if state.champion_version != r.version:
        state.previous_champion_version, state.champion_version = state.champion_version, r.version
    state.stable_slot = r.candidate_slot
    return "promoted"


def rolling_back(c: Any, e: EndpointRelease, state: EndpointState, r: Release) -> str:
    c.set_weights(e, {r.stable_slot: 100, r.candidate_slot: 0})
    c.audit.close(e, r)
    c.event(e, r, "ReleaseRolledBack", f"v{r.version}: {r.reason}", warning=True)
    return "rolled-back"


def rejected(c: Any, e: EndpointRelease, state: EndpointState, r: Release) -> str:
    c.audit.close(e, r)
    c.event(e, r, "ReleaseRejected", f"v{r.version}: {r.reason}", warning=True)
    return "rejected"


HANDLERS: dict[str, Callable[[Any, EndpointRelease, EndpointState, Release], str]] = {
    "pending": pending,
    "evaluating": evaluating,
    "deploying": deploying,
    "load-testing": load_testing,
    "canary": canary,
    "awaiting-approval": canary,
    "promoting": promoting,
    "rolling-back": rolling_back,
}
"""Handlers of the active phases; ``rejected`` runs when a gate phase decides to reject."""
