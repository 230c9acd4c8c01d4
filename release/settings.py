"""What the controller is told: one JSON document (a ConfigMap key) with the endpoints it releases.

Why a plain JSON file: the Pulumi component renders it from the stack's ``release`` settings, the controller reads
it at start, and a test can hand the controller the very document a stack renders. Every rule is checked here too
(the controller must refuse a bad file at start with every problem named, not fail mid-release).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

MODES = ("automatic", "manual")


@dataclass(kw_only=True)
class EndpointRelease:
    """How one endpoint is released. Every duration is configurable so a test can compress time."""

    endpoint: str
    """Endpoint name: the HTTPRoute's name and the ``endpoint`` label of its series. Required."""
    registered_model: str
    """MLflow registered model the endpoint follows. Required."""
    model_name: str
    """Model name in the public path ``/v2/models/<model_name>``. Required."""
    namespace: str = "ml-serving"
    """Namespace of the route, the InferenceServices, the state ConfigMap and the Events. Default ``ml-serving``."""
    slots: list[str] = field(default_factory=lambda: ["blue", "green"])
    """The endpoint's two version slots (each an InferenceService ``<endpoint>-<slot>``). Default blue, green."""
    scale_to_zero: bool = False
    """Whether the slots are reached through the KEDA HTTP add-on interceptor. Default False."""
    mode: str = "automatic"
    """``automatic`` promotes after a healthy analysis; ``manual`` waits for ``approve``. Default automatic."""
    canary_weight: int = 10
    """Share of traffic (%) the candidate gets during the canary. Default 10."""
    analysis_minutes: float = 30
    """How long the canary is watched before it may be promoted. Default 30."""
    interval_seconds: float = 60
    """Time between two comparisons. Default 60."""
    window_seconds: float = 300
    """Range of the PromQL rates (the alert rules use 5m). Default 300."""
    max_p95_increase: float = 0.3
    """Roll back when the canary's p95 exceeds the stable one's by more than this share. Default 0.3."""
    max_error_rate: float = 0.01
    """Roll back when the canary fails more than this share of requests. Default 0.01."""
    min_requests: int = 50
    """Requests each version must have served in a window for the window to count. Default 50."""
    max_p95_ms: float = 200
    """Gate: p95 latency of the candidate's load test must stay under this. Default 200."""
    load_test_requests: int = 200
    """Gate: requests of the load test. Default 200."""
    load_test_concurrency: int = 4
    """Gate: parallel clients of the load test. Default 4."""
    heldout_uri: str = ""
    """Gate: CSV of the held-out set (a URI MLflow downloads: ``runs:/``, ``mlflow-artifacts:/``...). Required."""
    label_column: str = "label"
    """Gate: the held-out set's label column; every other column is a model input. Default ``label``."""
    slices: dict[str, str] = field(default_factory=dict)
    """Gate: named slices as pandas queries over the held-out set (``"petal_length < 2.5"``). Default none."""
    slice_tolerance: float = 0.05
    """Gate: largest accuracy drop a slice may show against the baseline. Default 0.05."""
    baseline_accuracy: float = 0.0
    """Gate: the accuracy a first model (no champion yet) must reach. Default 0."""
    ready_timeout_seconds: float = 900
    """Longest wait for the candidate's InferenceService to be Ready. Default 900."""
    stuck_margin_minutes: float = 15
    """Time past the analysis after which a release without decision counts as stuck. Default 15."""

    @property
    def route(self) -> str:
        return self.endpoint

    def isvc(self, slot: str) -> str:
        return f"{self.endpoint}-{slot}"

    def service(self, slot: str) -> str:
        return f"{self.endpoint}-{slot}-predictor"

    def backend_id(self, slot: str) -> str:
        """The interceptor header value naming a slot (the route's filter sets it for scale-to-zero versions)."""
        return f"{self.namespace}.{self.isvc(slot)}"

    @property
    def state_configmap(self) -> str:
        return f"release-{self.endpoint}"

    def deadline_seconds(self) -> float:
        """From the start of the canary to the moment a release without decision is stuck."""
        return (self.analysis_minutes + self.stuck_margin_minutes) * 60

    def problems(self, at: str) -> list[str]:
        out: list[str] = []

        def check(ok: bool, key: str, rule: str, value: Any) -> None:
            if not ok:
                out.append(f"{at}.{key}: {rule}, got {value!r}")

        check(self.mode in MODES, "mode", "must be 'automatic' or 'manual'", self.mode)
        check(
            isinstance(self.canary_weight, int) and 1 <= self.canary_weight <= 50,
            "canary_weight",
            "must be an integer between 1 and 50",
            self.canary_weight,
        )
        check(_pos(self.interval_seconds), "interval_seconds", "must be > 0", self.interval_seconds)
        check(
            _pos(self.analysis_minutes) and self.analysis_minutes * 60 >= 2 * self.interval_seconds,
            "analysis_minutes",
            f"must cover at least two intervals ({2 * self.interval_seconds:g} s)",
            self.analysis_minutes,
        )
        check(
            _pos(self.window_seconds)
            and self.interval_seconds <= self.window_seconds <= self.analysis_minutes * 60 - self.interval_seconds,
            "window_seconds",
            f"must be >= interval_seconds ({self.interval_seconds:g}) and leave at least one interval of the analysis "
            f"({self.analysis_minutes * 60:g} s) after the first full window",
            self.window_seconds,
        )
        check(
            _pos(self.max_p95_increase), "max_p95_increase", "must be > 0 (0.3 means 30% slower)", self.max_p95_increase
        )
        check(0 < self.max_error_rate < 1, "max_error_rate", "must be between 0 and 1", self.max_error_rate)
        check(
            isinstance(self.min_requests, int) and self.min_requests >= 1,
            "min_requests",
            "must be >= 1",
            self.min_requests,
        )
        check(_pos(self.max_p95_ms), "max_p95_ms", "must be > 0", self.max_p95_ms)
        check(self.load_test_requests >= 20, "load_test_requests", "must be >= 20", self.load_test_requests)
        check(self.load_test_concurrency >= 1, "load_test_concurrency", "must be >= 1", self.load_test_concurrency)
        check(bool(self.heldout_uri), "heldout_uri", "is required (the gate evaluates on it)", self.heldout_uri)
        check(0 <= self.slice_tolerance < 1, "slice_tolerance", "must be in [0, 1)", self.slice_tolerance)
        check(0 <= self.baseline_accuracy <= 1, "baseline_accuracy", "must be in [0, 1]", self.baseline_accuracy)
        check(len(set(self.slots)) == 2, "slots", "must name two different slots", self.slots)
        return out


def _pos(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@dataclass(kw_only=True)
class Settings:
    """The controller's whole configuration."""

    tracking_uri: str
    """MLflow server. Required."""
    prometheus_url: str
    """Prometheus HTTP API base URL. Required."""
    gateway_url: str
    """The Gateway as the controller reaches it (the gate's load test goes through the route). Required."""
    artifact_destination: str = ""
    """What ``mlflow-artifacts:/`` stands for (the server's ``--artifacts-destination``). Default none."""
    experiment: str = "releases"
    """MLflow experiment of the audit runs. Default ``releases``."""
    registry_poll_seconds: float = 60
    """How often each endpoint's ``challenger`` alias is also read (a lost webhook still starts its release); 0:
    never. Default 60."""
    endpoints: dict[str, EndpointRelease] = field(default_factory=dict)
    """Released endpoints by name."""

    def problems(self) -> list[str]:
        out: list[str] = []
        for key in ("tracking_uri", "prometheus_url", "gateway_url"):
            if not str(getattr(self, key)).startswith(("http://", "https://")):
                out.append(f"{key}: must be an http(s) URL, got {getattr(self, key)!r}")
        poll = self.registry_poll_seconds
        if isinstance(poll, bool) or not isinstance(poll, (int, float)) or not math.isfinite(poll) or poll < 0:
            out.append(f"registry_poll_seconds: must be a number >= 0 (0: off), got {poll!r}")
        for name, e in self.endpoints.items():
            out += e.problems(f"endpoints.{name}")
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(EndpointRelease)}
        endpoints = {}
        for name, e in (data.get("endpoints") or {}).items():
            unknown = set(e) - known
            if unknown:
                raise SettingsError([f"endpoints.{name}.{k}: unknown setting, got {e[k]!r}" for k in sorted(unknown)])
            endpoints[name] = EndpointRelease(**e)
        top = {k: v for k, v in data.items() if k != "endpoints"}
        settings = cls(**top, endpoints=endpoints)
        problems = settings.problems()
        if problems:
            raise SettingsError(problems)
        return settings

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        return cls.from_dict(json.loads(Path(path).read_text()))


class SettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("bad release settings:\n" + "\n".join(f"  - {p}" for p in problems))
