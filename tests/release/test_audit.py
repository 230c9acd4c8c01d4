"""The release metrics the dashboards and the ReleaseStuck alert read are the ones the controller exports."""

from __future__ import annotations

from prometheus_client import REGISTRY

import release.audit  # noqa: F401  (registers the metrics)
from release.audit import export
from release.settings import EndpointRelease
from release.state import Release
from tests.metric_catalog import EXPORTED


def test_the_catalogued_release_metrics_are_exported() -> None:
    exported = {m.name + ("_total" if m.type == "counter" else "") for m in REGISTRY.collect()}
    catalogued = {name for name in EXPORTED if name.startswith("ml_platform_release_")}
    assert catalogued <= exported


def test_an_open_canary_exports_its_phase_weights_and_deadline() -> None:
    e = EndpointRelease(
        endpoint="unit", registered_model="m", model_name="m", analysis_minutes=30, stuck_margin_minutes=15
    )
    r = Release.new("7", "cli")
    r.phase, r.canary_started = "canary", 1000.0
    export(e, r, {"blue": 90, "green": 10}, {"blue": "6", "green": "7"})
    value = REGISTRY.get_sample_value
    assert value("ml_platform_release_phase", {"endpoint": "unit", "phase": "canary"}) == 1
    assert value("ml_platform_release_phase", {"endpoint": "unit", "phase": "promoting"}) == 0
    assert value("ml_platform_release_weight", {"endpoint": "unit", "slot": "green"}) == 10
    assert value("ml_platform_release_slot_version", {"endpoint": "unit", "slot": "green"}) == 7
    assert value("ml_platform_release_deadline_timestamp_seconds", {"endpoint": "unit"}) == 1000 + 45 * 60
    export(e, None, {"blue": 100, "green": 0}, {})
    assert value("ml_platform_release_active", {"endpoint": "unit"}) == 0
