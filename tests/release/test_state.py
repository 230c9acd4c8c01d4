"""Release state on a ConfigMap: compare-and-swap against the API double, and requests that never act twice."""

from __future__ import annotations

import pytest

from components.serving import ReleaseControllerArgs, ReleasePolicy, role_rules
from release.controller import Controller
from release.kube import Kube
from release.settings import EndpointRelease, Settings
from release.state import Conflict, EndpointState, Release, StateStore
from tests.integration.kube_double import KubeDouble


@pytest.fixture
def kube():
    from kubernetes import client

    policy = ReleasePolicy(endpoint="iris", registered_model="iris", model_name="iris", heldout_uri="runs:/r/h.csv")
    double = KubeDouble(role_rules(ReleaseControllerArgs(image="x:1", endpoints=[policy])))
    config = client.Configuration()
    config.host = double.url
    try:
        yield double, Kube(client.ApiClient(config))
    finally:
        double.close()


def endpoint() -> EndpointRelease:
    return EndpointRelease(endpoint="iris", registered_model="iris", model_name="iris", heldout_uri="runs:/r/h.csv")


def test_a_stale_write_is_refused(kube) -> None:
    _, api = kube
    store = StateStore(api)
    state, rv = store.read("ml-serving", "release-iris")
    assert rv is None and state == EndpointState()
    rv1 = store.write("ml-serving", "release-iris", EndpointState(stable_slot="blue"), rv)
    store.write("ml-serving", "release-iris", EndpointState(stable_slot="green"), rv1)
    with pytest.raises(Conflict):
        store.write("ml-serving", "release-iris", EndpointState(stable_slot="blue"), rv1)
    assert store.read("ml-serving", "release-iris")[0].stable_slot == "green"


def test_requests_start_queue_and_never_repeat(kube) -> None:
    double, api = kube
    e = endpoint()
    settings = Settings(
        tracking_uri="http://m", prometheus_url="http://p", gateway_url="http://g", endpoints={"iris": e}
    )
    c = Controller(settings, api, client=None, prometheus=None)  # type: ignore[arg-type]
    assert c.request(e, "5", "webhook:d1", "d1") == "started"
    assert c.request(e, "5", "webhook:d1", "d1") == "duplicate"  # the same delivery again
    assert c.request(e, "5", "cli") == "duplicate"  # the same version again
    assert c.request(e, "6", "webhook:d2", "d2") == "queued"
    state, _ = c.store.read(e.namespace, e.state_configmap)
    assert state.current.version == "5" and state.queue == [{"version": "6", "trigger": "webhook:d2"}]
    assert state.deliveries == ["d2", "d1"]
    c.mark(e, "approved_by", "alice")
    assert c.store.read(e.namespace, e.state_configmap)[0].current.approved_by == "alice"
    assert double.denied == [] and double.invalid == []


def test_a_finished_release_moves_to_the_history() -> None:
    state = EndpointState(current=Release.new("5", "cli"))
    state.current.checks = [{"at": 1}, {"at": 2}]
    state.finish()
    assert state.current is None and state.history[0]["version"] == "5" and state.history[0]["checks"] == 2
    assert EndpointState.from_json(state.to_json()) == state
