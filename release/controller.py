"""The release state machine: one step per endpoint per tick, every transition written by compare-and-swap.

Phases: pending -> evaluating -> deploying -> load-testing -> canary [-> awaiting-approval] -> promoting -> promoted,
with rolling-back -> rolled-back from the canary and rejected from any gate phase. A handler does its phase's
idempotent side effects and returns the next phase (or the same one to wait); :meth:`Controller.step` writes the
result only if nobody wrote since it read, so a controller killed between an effect and its write redoes that
effect (set weights to X, alias to N) and nothing else. The canary phase re-asserts its weights on every tick, so a
canary is never left without analysis: whoever holds the state after a crash is watching it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from . import audit, traffic
from .kube import Kube
from .phases import HANDLERS, rejected
from .queries import Prometheus
from .settings import EndpointRelease, Settings
from .state import FINAL, Conflict, EndpointState, Release, StateStore

log = logging.getLogger("release")
VERSION_ANNOTATION = "ml-platform.io/registry-version"
CHAMPION, CHALLENGER = "champion", "challenger"


class Controller:
    def __init__(self, settings: Settings, kube: Kube, client: MlflowClient, prometheus: Prometheus) -> None:
        self.settings = settings
        self.kube = kube
        self.client = client
        self.prometheus = prometheus
        self.store = StateStore(kube)
        self.audit = audit.Audit(client, settings.experiment)

    # --- requests from the webhook and the CLI ----------------------------------------------------------------

    def endpoints_for(self, registered_model: str) -> list[EndpointRelease]:
        return [e for e in self.settings.endpoints.values() if e.registered_model == registered_model]

    def request(self, e: EndpointRelease, version: str, trigger: str, delivery_id: str | None = None) -> str:
        """Ask for a release of ``version``; returns started, queued or duplicate. Never acts twice on one request."""
        while True:
            state, rv = self.store.read(e.namespace, e.state_configmap)
            if delivery_id and state.seen(delivery_id):
                return "duplicate"
            if state.knows(str(version)):
                outcome = "duplicate"
            elif state.current is None:
                state.current = Release.new(str(version), trigger)
                outcome = "started"
            else:
                state.queue.append({"version": str(version), "trigger": trigger})
                outcome = "queued"
            if delivery_id:
                state.remember(delivery_id)
            try:
                self.store.write(e.namespace, e.state_configmap, state, rv)
                return outcome
            except Conflict:
                continue

    def poll(self, e: EndpointRelease) -> str | None:
        """What the registry says now, besides the webhook: a ``challenger`` that was never released starts its
        release (a delivery lost while the controller restarted, or after MLflow's retries). A version that already
        carries a decision tag, is the champion, or was released before is left alone."""
        try:
            version = self.client.get_model_version_by_alias(e.registered_model, CHALLENGER)
        except MlflowException as exc:
            # MLflow answers a missing alias with INVALID_PARAMETER_VALUE and a missing model with
            # RESOURCE_DOES_NOT_EXIST: either way there is nothing to release.
            if exc.error_code not in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
                raise
            return None
        number = str(version.version)
        state, _ = self.store.read(e.namespace, e.state_configmap)
        decided = f"{audit.TAG_PREFIX}decision" in (version.tags or {})
        known = state.knows(number) or any(h.get("version") == number for h in state.history)
        if decided or known or number == state.champion_version:
            return None
        outcome = self.request(e, number, "registry")
        log.info("%s: registry names challenger v%s -> %s", e.endpoint, number, outcome)
        return outcome

    def mark(self, e: EndpointRelease, field: str, value: str) -> EndpointState:
        """Set ``approved_by`` / ``abort_reason`` on the current release, or ``revert_requested`` on the endpoint."""
        while True:
            state, rv = self.store.read(e.namespace, e.state_configmap)
            if field == "revert_requested":
                state.revert_requested = value
            elif state.current is None:
                raise LookupError(f"endpoint {e.endpoint!r} has no release in progress")
            else:
                setattr(state.current, field, value)
            try:
                self.store.write(e.namespace, e.state_configmap, state, rv)
                return state
            except Conflict:
                continue

    # --- the loop -----------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        tick = max(0.2, min(10.0, min((e.interval_seconds for e in self.settings.endpoints.values()), default=10) / 4))
        polled = 0.0
        while not stop.is_set():
            poll = (
                self.settings.registry_poll_seconds > 0
                and time.monotonic() - polled >= self.settings.registry_poll_seconds
            )
            polled = time.monotonic() if poll else polled
            for e in self.settings.endpoints.values():
                if poll:
                    self._guarded(self.poll, e)
                self._guarded(self.step, e)
            stop.wait(tick)

    def _guarded(self, action: Callable[[EndpointRelease], object], e: EndpointRelease) -> None:
        try:
            action(e)
        except Conflict:
            log.info("%s: state changed under us; re-reading", e.endpoint)
        except Exception:  # one endpoint's failure must not stop the others; the phase retries next tick
            log.exception("%s: %s failed", e.endpoint, action.__name__)

    def step(self, e: EndpointRelease) -> None:
        """Advance the endpoint's release as far as it can go now."""
        state, rv = self.store.read(e.namespace, e.state_configmap)
        if state.stable_slot is None:
            self.sync(e, state)
            rv = self.store.write(e.namespace, e.state_configmap, state, rv)
        if state.current is None and state.revert_requested:
            self.revert(e, state)
            rv = self.store.write(e.namespace, e.state_configmap, state, rv)
        for _ in range(len(HANDLERS) + 2):
            if state.current is None and state.queue:
                nxt = state.queue.pop(0)
                state.current = Release.new(nxt["version"], nxt["trigger"])
            r = state.current
            if r is None:
                break
            before = (r.phase, len(r.checks))
            nxt_phase = HANDLERS[r.phase](self, e, state, r)
            if nxt_phase != r.phase:
                r.phase, r.phase_since = nxt_phase, time.time()
            if r.phase in FINAL:
                decision = r.phase
                if decision == "rejected":
                    rejected(self, e, state, r)
                state.finish()
                rv = self.store.write(e.namespace, e.state_configmap, state, rv)
                audit.DECISIONS.labels(e.endpoint, decision).inc()
                continue
            if (r.phase, len(r.checks)) == before:
                break
            rv = self.store.write(e.namespace, e.state_configmap, state, rv)
        self.export(e, state)

    def export(self, e: EndpointRelease, state: EndpointState) -> None:
        route = self.kube.read_route(e.namespace, e.route)
        versions = {
            s: (self.kube.read_isvc(e.namespace, e.isvc(s))["metadata"].get("annotations") or {}).get(
                VERSION_ANNOTATION, ""
            )
            for s in e.slots
        }
        audit.export(e, state.current, traffic.weights(e, route), versions)

    # --- effects --------------------------------------------------------------------------------------------

    def set_weights(self, e: EndpointRelease, wanted: dict[str, int]) -> None:
        """Make the split ``wanted``; a no-op when it already is. Only the route's weights change."""
        for _ in range(5):
            route = self.kube.read_route(e.namespace, e.route)
            if traffic.weights(e, route) == wanted:
                return
            try:
                self.kube.replace_route(e.namespace, traffic.with_weights(e, route, wanted))
                return
            except Conflict:
                continue
        raise Conflict(f"HTTPRoute {e.route} kept changing")

    def storage_uri(self, e: EndpointRelease, version: str) -> str:
        uri = self.client.get_model_version_download_uri(e.registered_model, version)
        prefix = "mlflow-artifacts:"
        if uri.startswith(prefix) and self.settings.artifact_destination:
            uri = self.settings.artifact_destination.rstrip("/") + "/" + uri[len(prefix) :].lstrip("/")
        return uri

    def load(self, e: EndpointRelease, slot: str, version: str) -> None:
        isvc = self.kube.read_isvc(e.namespace, e.isvc(slot))
        if (isvc["metadata"].get("annotations") or {}).get(VERSION_ANNOTATION) == version:
            return
        patch = {
            "metadata": {"annotations": {VERSION_ANNOTATION: version}},
            "spec": {"predictor": {"model": {"storageUri": self.storage_uri(e, version)}}},
        }
        self.kube.patch_isvc(e.namespace, e.isvc(slot), patch)

    def ready(self, e: EndpointRelease, slot: str, version: str) -> bool:
        isvc = self.kube.read_isvc(e.namespace, e.isvc(slot))
        meta, status = isvc["metadata"], isvc.get("status") or {}
        if (meta.get("annotations") or {}).get(VERSION_ANNOTATION) != version:
            return False
        if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
            return False
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])

    def event(self, e: EndpointRelease, r: Release, reason: str, message: str, warning: bool = False) -> None:
        self.kube.event(e.namespace, e.route, f"{e.endpoint}.{r.id}.{reason.lower()}", reason, message, warning)

    def sync(self, e: EndpointRelease, state: EndpointState) -> None:
        """First sight of an endpoint: the slot with the traffic is stable; it serves what ``champion`` names."""
        w = traffic.weights(e, self.kube.read_route(e.namespace, e.route))
        state.stable_slot = max(e.slots, key=lambda s: (w[s], -e.slots.index(s)))
        try:
            champion = self.client.get_model_version_by_alias(e.registered_model, CHAMPION).version
        except Exception:
            champion = None
        state.champion_version = str(champion) if champion else None
        if state.champion_version:
            self.load(e, state.stable_slot, state.champion_version)
        other = next(s for s in e.slots if s != state.stable_slot)
        self.set_weights(e, {state.stable_slot: 100, other: 0})

    def revert(self, e: EndpointRelease, state: EndpointState) -> None:
        """A person's rollback after a promotion: traffic back to the other slot, ``champion`` back one version."""
        reason, state.revert_requested = state.revert_requested, None
        previous = state.previous_champion_version
        other = next(s for s in e.slots if s != state.stable_slot)
        if not previous or not self.ready(e, other, previous):
            log.warning("%s: nothing to revert to (previous champion %s not loaded in %s)", e.endpoint, previous, other)
            return
        self.set_weights(e, {other: 100, str(state.stable_slot): 0})
        self.client.set_registered_model_alias(e.registered_model, CHAMPION, previous)
        r = Release.new(previous, f"revert: {reason}")
        self.event(e, r, "ReleaseReverted", f"champion back to v{previous} ({reason}); v{state.champion_version} out")
        state.previous_champion_version, state.champion_version = state.champion_version, previous
        state.stable_slot = other
        state.history.insert(0, {"version": previous, "decision": "reverted", "reason": reason, "decided": time.time()})
