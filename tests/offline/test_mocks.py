"""The mock runtime the preview, the bench floor and the tests run programs under."""

from __future__ import annotations

import asyncio
import gc

import pulumi_kubernetes as k8s
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import PreviewMocks, Registration, mocked_runtime


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
