"""Shared fixtures: Pulumi mocks with a fresh event loop per test, and cached offline runs of the shipped stacks.

Mocks are installed inside fixtures, never at import: ``set_mocks`` binds to the current event loop, and a
loop shared between tests lets one test's queued registrations leak into the next.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offline import runner  # noqa: E402
from offline.mocks import PreviewMocks, RecordingMonitor, Registration, mocked_runtime  # noqa: E402

# The session keeps every provider SDK class it loads; full collections would walk them all again and again.
runner.rare_full_gc()


class Harness:
    """Runs a function that creates resources under mocks and returns what it registered."""

    def __init__(self, monitor: RecordingMonitor) -> None:
        self.monitor = monitor

    def run(self, fn: Callable[[], Any]) -> list[Registration]:
        from pulumi.runtime.stack import run_pulumi_func
        from pulumi.runtime.sync_await import _sync_await

        start = len(self.monitor.registrations)
        _sync_await(run_pulumi_func(fn))
        return self.monitor.registrations[start:]


@pytest.fixture
def mocked() -> Any:
    """A :class:`Harness` on fresh mocks and a fresh event loop (region us-west-2, project ml-platform-test)."""
    from pulumi.runtime import config as runtime_config

    runtime_config.set_all_config({}, [])
    with mocked_runtime(PreviewMocks(region="us-west-2", project="ml-platform-test"), "test") as monitor:
        yield Harness(monitor)


_RUNS: dict[str, runner.RunResult] = {}


@pytest.fixture(scope="session")
def stack_run() -> Callable[[str], runner.RunResult]:
    """The offline run of a shipped stack (computed once per test session; each run has its own loop and mocks)."""

    def get(stack: str) -> runner.RunResult:
        if stack not in _RUNS:
            _RUNS[stack] = runner.run(stack)
        return _RUNS[stack]

    return get


def by_type(regs: list[Registration], typ: str) -> list[Registration]:
    return [r for r in regs if r.type == typ]


def one(regs: list[Registration], typ: str, name: str | None = None) -> Registration:
    found = [r for r in regs if r.type == typ and (name is None or r.name == name)]
    assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
    return found[0]
