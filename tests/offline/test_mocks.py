"""The mock runtime the preview, the bench floor and the tests run programs under."""

from __future__ import annotations

import asyncio
import gc
import json

import pulumi_kubernetes as k8s
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import PreviewMocks, Registration, engine_form, mocked_runtime


def _open_loops() -> set[int]:
    return {id(o) for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()}


def _program() -> None:
    for i in range(12):
        k8s.core.v1.ConfigMap(f"cm-{i}", metadata={"name": f"cm-{i}"}, data={"k": "v"})


def test_a_run_leaves_no_event_loop_open() -> None:
    """Loops left open are finalised at interpreter exit, where they print "Exception ignored ... Invalid file
    descriptor": the main loop and the loops of the SDK's executor threads are all closed when the run ends."""
    before = _open_loops()
    with mocked_runtime(PreviewMocks(region="us-west-2"), "loops") as monitor:
        _sync_await(run_pulumi_func(_program))
        assert len(monitor.registrations) == 12
    assert _open_loops() - before == set()


def test_each_registration_is_handed_over_as_it_is_recorded() -> None:
    seen: list[Registration] = []
    with mocked_runtime(PreviewMocks(region="us-west-2"), "hook", on_register=seen.append) as monitor:
        _sync_await(run_pulumi_func(_program))
    assert sorted(map(id, seen)) == sorted(map(id, monitor.registrations))
    assert {r.name for r in seen} >= {f"cm-{i}" for i in range(12)}


def _wire(keys: list[str]) -> dict:
    """What the monitor reads from a request: a Struct holding ``keys`` (inserted in that order) in dict form."""
    from google.protobuf import json_format, struct_pb2

    struct = struct_pb2.Struct()
    for key in keys:
        struct[key] = {"b": 1, "a": [{"y": 2, "x": 3}]}
    return json_format.MessageToDict(struct, preserving_proto_field_name=True)


def test_the_engine_form_keeps_one_key_order_however_the_struct_was_built() -> None:
    keys = ["apiVersion", "kind", "metadata", "spec", "groups", "rules", "alert", "expr", "for", "labels"]
    forward, backward = _wire(keys), _wire(keys[::-1])
    assert list(forward) != list(backward)  # the Struct itself gives the same keys back in another order
    assert json.dumps(engine_form(forward)) == json.dumps(engine_form(backward))
    assert list(engine_form(forward)) == sorted(keys)
