"""Run the real Pulumi program for one stack under the mock runtime and return what it registered.

The stack file is read the way the Pulumi CLI hands config to a program: every value as a string, objects and
lists as JSON text, and each ``secure:`` value replaced by a visible placeholder (``[secret ml-platform:key]``)
that is marked secret, so the program's secret handling runs as it would for real and no secret is needed.
The program is entered through ``infra/__main__.py`` itself, so a bad configuration takes the same path as under
``pulumi preview`` and ends in the same :class:`pulumi.RunError`.
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from infra.secret_keys import PREVIEW_SECRET_KEYS

from . import stack_file as stack_file_module

ROOT = Path(__file__).resolve().parents[1]
STACKS = ROOT / "stacks"
PROJECT = "ml-platform"


def rare_full_gc() -> None:
    """Keep young garbage collections, make full ones rare: for one-shot commands (the preview, the bench floor).

    The provider SDKs load a few hundred thousand long-lived objects (their type classes). CPython walks all of them
    in a full collection each time the heap has grown by a quarter, which is about a fifth of a preview's CPU time
    and frees almost nothing: the peak memory of a preview is the same without it.
    """
    gc.set_threshold(10_000, 50, 1_000)


def leave(code: int) -> NoReturn:
    """End a one-shot command now: flush its output and exit without the interpreter's teardown.

    After a preview the heap holds a few hundred thousand long-lived objects (the provider SDKs' type classes, the
    registrations). Freeing them one by one at exit, with the garbage collector's passes over them, took longer
    than the preview's own policy checks and rendering together (measured with ``make bench``). Every file the
    command wrote is closed and the policy pack's process has ended by the time it returns, so nothing is lost.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def stack_names() -> list[str]:
    """Every stack that has a file in ``stacks/``."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS.glob("Pulumi.*.yaml"))


def read_stack_file(
    stack: str, overrides: dict[str, Any] | None = None, stack_file: Path | None = None
) -> tuple[dict[str, str], list[str]]:
    """The stack's config as the CLI passes it (strings; JSON for structures) and the list of secret keys.

    ``overrides`` replaces or adds keys (``{"ml-platform:gpu_pools": {...}}``, a None value removes the key);
    tests use it to vary a stack. ``stack_file`` reads another file than ``stacks/Pulumi.<stack>.yaml``.
    """
    path = stack_file or STACKS / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path} (stacks: {', '.join(stack_names())})")
    raw: dict[str, Any] = dict(stack_file_module.load(path))
    raw.update(overrides or {})
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in raw.items():
        if ":" not in key:
            key = f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = f"[secret {key}]"
            secrets.append(key)
        elif value is None:
            continue
        elif isinstance(value, (dict, list)):
            config[key] = json.dumps(value)
        elif isinstance(value, bool):
            config[key] = "true" if value else "false"
        else:
            config[key] = str(value)
    # Secret keys a real stack sets with `pulumi config set --secret` cannot sit in a stack file without its
    # encryption key: the preview stands in the same placeholder for them (a None override leaves one unset).
    for key in PREVIEW_SECRET_KEYS:
        if key not in config and key not in (overrides or {}):
            config[key] = f"[secret {key}]"
            secrets.append(key)
    return config, secrets


@dataclass
class RunResult:
    """What one run of the program registered."""

    stack: str
    config: dict[str, str]
    secret_keys: list[str]
    registrations: list[Any]
    outputs: dict[str, Any]
    error: str | None = None
    """The configuration error the program stopped with, if any."""


def run(
    stack: str,
    overrides: dict[str, Any] | None = None,
    stack_file: Path | None = None,
    on_register: Callable[[Any], None] | None = None,
) -> RunResult:
    """Run ``infra/__main__.py`` for ``stack`` under mocks. Installs fresh mocks and a fresh event loop.

    ``on_register`` is called with each registration as the program makes it (from the SDK's threads)."""
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from .mocks import PreviewMocks, engine_form, mocked_runtime

    config, secret_keys = read_stack_file(stack, overrides, stack_file)
    region = config.get("aws:region") or config.get("gcp:region")
    runtime_config.set_all_config(config, secret_keys)
    try:
        mocks = PreviewMocks(region=region, project=config.get("gcp:project"))
        with mocked_runtime(mocks, stack, PROJECT, on_register) as monitor:
            error: str | None = None
            env_before = os.environ.get("PULUMI_CONFIG")
            os.environ.pop("PULUMI_CONFIG", None)
            try:
                _sync_await(run_pulumi_func(_program))
            except pulumi.RunError as exc:
                error = str(exc)
            finally:
                if env_before is not None:
                    os.environ["PULUMI_CONFIG"] = env_before
            outputs: dict[str, Any] = {}
            root = settings.get_root_resource()
            for key, value in sorted((getattr(root, "outputs", None) or {}).items()):
                outputs[key] = _resolve(value)
            return RunResult(stack, config, secret_keys, list(monitor.registrations), engine_form(outputs), error)
    finally:
        runtime_config.set_all_config({}, [])


def _program() -> None:
    runpy.run_path(str(ROOT / "infra" / "__main__.py"), run_name="__main__")


def _resolve(value: Any) -> Any:
    """A stack output's value, with secrets masked."""
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    if isinstance(value, pulumi.Output):
        if _sync_await(value.is_secret()):
            return "[secret]"
        return _resolve(_sync_await(value.future()))
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value
