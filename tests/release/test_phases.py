"""The canary verdict on one window (what breaches, what counts as evidence, what is too little to judge), and the
canary phase's decisions: a manual release waits for a person, a breach or an abort rolls back."""

from __future__ import annotations

import time

from release.phases import canary, judge
from release.queries import VersionNumbers
from release.settings import EndpointRelease
from release.state import EndpointState, Release


def endpoint() -> EndpointRelease:
    return EndpointRelease(
        endpoint="iris",
        registered_model="iris",
        model_name="iris",
        heldout_uri="runs:/r/h.csv",
        window_seconds=300,
        min_requests=50,
    )


def numbers(p95_ms: float | None, errors: float | None, requests: float) -> VersionNumbers:
    return VersionNumbers(
        p95_seconds=None if p95_ms is None else p95_ms / 1000, error_ratio=errors, requests=requests, queries={}
    )


def test_a_healthy_full_window_counts_towards_promotion() -> None:
    v = judge(endpoint(), numbers(120, 0.0, 80), numbers(100, 0.0, 720), elapsed=400)
    assert v == {"enough": True, "full": True, "breach": None, "healthy": True}


def test_p95_more_than_30_percent_above_stable_breaches_even_before_the_window_is_full() -> None:
    v = judge(endpoint(), numbers(131, 0.0, 60), numbers(100, 0.0, 500), elapsed=90)
    assert v["breach"] == "canary p95 131.0 ms > 1.3 x stable p95 100.0 ms"
    assert not v["full"] and not v["healthy"]


def test_exactly_30_percent_slower_is_not_a_breach() -> None:
    assert judge(endpoint(), numbers(130, 0.0, 60), numbers(100, 0.0, 500), elapsed=400)["breach"] is None


def test_an_error_rate_above_the_limit_breaches_once_the_canary_alone_has_enough_requests() -> None:
    v = judge(endpoint(), numbers(100, 0.02, 50), numbers(None, None, 0), elapsed=30)
    assert v["breach"] == "canary error rate 2.00% > 1.00% (50 requests)"
    assert not v["enough"]


def test_too_few_requests_is_no_verdict_and_no_evidence() -> None:
    # Silence is not health: 49 requests with every other number bad decides nothing.
    v = judge(endpoint(), numbers(900, 0.5, 49), numbers(100, 0.0, 500), elapsed=400)
    assert v == {"enough": False, "full": True, "breach": None, "healthy": False}


def test_the_stable_side_needs_enough_requests_for_a_latency_verdict() -> None:
    v = judge(endpoint(), numbers(900, 0.0, 80), numbers(100, 0.0, 10), elapsed=400)
    assert v["breach"] is None and not v["healthy"]


def test_a_window_without_a_canary_p95_is_not_healthy() -> None:
    v = judge(endpoint(), numbers(None, 0.0, 80), numbers(100, 0.0, 500), elapsed=400)
    assert v["breach"] is None and not v["healthy"]


class Cluster:
    """The controller's side as the canary phase sees it: Prometheus numbers per slot, and what it was asked to do."""

    def __init__(self, canary: VersionNumbers, stable: VersionNumbers) -> None:
        self.numbers = {"green": canary, "blue": stable}
        self.windows: list[float] = []
        self.weights: list[dict[str, int]] = []
        self.events: list[str] = []
        self.prometheus = self
        self.audit = self

    def version(self, namespace: str, endpoint: str, slot: str, window_seconds: float) -> VersionNumbers:
        self.windows.append(window_seconds)
        return self.numbers[slot]

    def metrics(self, *args: object, **kwargs: object) -> None:
        pass

    def set_weights(self, e: EndpointRelease, wanted: dict[str, int]) -> None:
        self.weights.append(wanted)

    def event(self, e: EndpointRelease, r: Release, reason: str, message: str, warning: bool = False) -> None:
        self.events.append(reason)


def manual_canary_past_its_analysis() -> tuple[EndpointRelease, Release]:
    """A manual endpoint (1 min analysis, 10 s interval, 20 s window: 2 healthy windows needed) whose canary began
    61 s ago with two healthy windows behind it, the last one a full interval ago."""
    e = EndpointRelease(
        endpoint="fraud",
        registered_model="fraud",
        model_name="fraud",
        heldout_uri="runs:/r/h.csv",
        mode="manual",
        canary_weight=5,
        analysis_minutes=1,
        interval_seconds=10,
        window_seconds=20,
        min_requests=50,
    )
    now = time.time()
    r = Release.new("8", "cli")
    r.phase, r.stable_slot, r.candidate_slot, r.canary_started = "canary", "blue", "green", now - 61
    r.checks = [{"at": now - 20, "healthy": True}, {"at": now - 10, "healthy": True}]
    return e, r


def test_a_manual_release_waits_for_a_person_after_a_healthy_analysis_then_promotes() -> None:
    e, r = manual_canary_past_its_analysis()
    c = Cluster(numbers(100, 0.0, 80), numbers(100, 0.0, 900))
    assert canary(c, e, EndpointState(), r) == "awaiting-approval"
    assert c.events == ["ApprovalRequired"] and c.weights[-1] == {"green": 5, "blue": 95} and r.decision is None
    r.phase = "awaiting-approval"
    assert canary(c, e, EndpointState(), r) == "awaiting-approval"  # within the interval: nothing new
    r.checks[-1]["at"] -= 10
    assert canary(c, e, EndpointState(), r) == "awaiting-approval"  # analysed again, still no one approved
    r.approved_by, r.checks[-1]["at"] = "alice", r.checks[-1]["at"] - 10
    assert canary(c, e, EndpointState(), r) == "promoting"
    assert r.decision == "promoted" and r.reason == "approved by alice after 5 healthy windows"


def test_a_release_awaiting_approval_is_still_rolled_back_on_a_breach() -> None:
    e, r = manual_canary_past_its_analysis()
    r.phase = "awaiting-approval"
    c = Cluster(numbers(300, 0.0, 80), numbers(100, 0.0, 900))
    assert canary(c, e, EndpointState(), r) == "rolling-back"
    assert r.decision == "rolled-back" and r.reason == "canary p95 300.0 ms > 1.3 x stable p95 100.0 ms"


def test_a_person_aborting_a_canary_rolls_it_back_at_once() -> None:
    e, r = manual_canary_past_its_analysis()
    r.abort_reason = "wrong feature set"
    c = Cluster(numbers(100, 0.0, 80), numbers(100, 0.0, 900))
    assert canary(c, e, EndpointState(), r) == "rolling-back"
    assert r.reason == "rolled back by hand: wrong feature set"


def test_a_window_never_reaches_back_before_the_canary_began() -> None:
    # The candidate's slot served the load test, or an earlier candidate, before: those requests are not judged.
    e, r = manual_canary_past_its_analysis()
    r.canary_started, r.checks = time.time() - 8, []
    c = Cluster(numbers(100, 0.0, 80), numbers(100, 0.0, 900))
    canary(c, e, EndpointState(), r)
    assert len(c.windows) == 2 and all(7.5 <= w <= 9 for w in c.windows)
    assert r.checks[-1]["full"] is False and r.checks[-1]["healthy"] is False
    r.canary_started, r.checks = time.time() - 61, []
    canary(c, e, EndpointState(), r)
    assert c.windows[-2:] == [20, 20]  # the whole window_seconds once the canary is older than it
