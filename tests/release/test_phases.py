"""The canary verdict on one window: what breaches, what counts as evidence, and what is too little to judge."""

from __future__ import annotations

from release.phases import judge
from release.queries import VersionNumbers
from release.settings import EndpointRelease


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
