"""The controller refuses a bad settings document at start, naming every problem with its key path and value."""

from __future__ import annotations

from dataclasses import MISSING, fields

import pytest

from components.serving import ReleaseControllerArgs, ReleasePolicy, settings_document
from release.settings import EndpointRelease, Settings, SettingsError


def document(**endpoint: object) -> dict:
    policy = ReleasePolicy(endpoint="iris", registered_model="iris", model_name="iris", heldout_uri="runs:/r/h.csv")
    doc = settings_document(ReleaseControllerArgs(image="x:1", endpoints=[policy]), "s3://bucket/mlflow")
    doc["endpoints"]["iris"].update(endpoint)
    return doc


def test_the_document_the_component_renders_is_what_the_controller_reads() -> None:
    settings = Settings.from_dict(document())
    e = settings.endpoints["iris"]
    assert (e.canary_weight, e.analysis_minutes, e.interval_seconds, e.max_p95_increase, e.max_error_rate) == (
        10,
        30,
        60,
        0.3,
        0.01,
    )
    assert e.slots == ["blue", "green"] and e.state_configmap == "release-iris" and e.isvc("green") == "iris-green"
    assert settings.artifact_destination == "s3://bucket/mlflow"


def test_every_problem_is_named_with_its_key_path_and_value() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_dict(
            document(mode="auto", canary_weight=70, max_error_rate=2, interval_seconds=60, analysis_minutes=1)
        )
    assert err.value.problems == [
        "endpoints.iris.mode: must be 'automatic' or 'manual', got 'auto'",
        "endpoints.iris.canary_weight: must be an integer between 1 and 50, got 70",
        "endpoints.iris.analysis_minutes: must cover at least two intervals (120 s), got 1",
        "endpoints.iris.window_seconds: must be >= interval_seconds (60) and leave at least one interval of the "
        "analysis (60 s) after the first full window, got 300",
        "endpoints.iris.max_error_rate: must be between 0 and 1, got 2",
    ]


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_dict(document(canary_percent=10))
    assert err.value.problems == ["endpoints.iris.canary_percent: unknown setting, got 10"]


def test_the_registry_poll_defaults_to_a_minute_and_refuses_a_negative_period() -> None:
    assert Settings.from_dict(document()).registry_poll_seconds == 60
    doc = document()
    doc["registry_poll_seconds"] = -5
    with pytest.raises(SettingsError) as err:
        Settings.from_dict(doc)
    assert err.value.problems == ["registry_poll_seconds: must be a number >= 0 (0: off), got -5"]


def _defaults(cls: type) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in fields(cls):
        if f.default is not MISSING:
            out[f.name] = getattr(f.default, "value", f.default)
        elif f.default_factory is not MISSING:
            out[f.name] = f.default_factory()
    return out


def test_the_controller_defaults_are_the_components() -> None:
    # The controller's image carries the release package alone, so it states its own defaults for a settings
    # document written by hand; they must be the component's, which owns them.
    endpoint, policy = _defaults(EndpointRelease), _defaults(ReleasePolicy)
    assert {k: endpoint.get(k) for k in policy} == policy
    settings, args = _defaults(Settings), _defaults(ReleaseControllerArgs)
    shared = {"experiment", "registry_poll_seconds", "artifact_destination"}
    assert {k: settings[k] for k in shared} == {k: args[k] for k in shared}
