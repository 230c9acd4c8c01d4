"""Run the policy pack the way the Pulumi engine does: as its own process, over the analyzer gRPC protocol.

Why not call the rules directly: the verdict a user sees offline must come from the same code path as
``pulumi preview --policy-pack policies``. So this module starts ``python -m pulumi.policy <engine> policies/``
(the command the CLI's Python policy host runs), with the stack's configuration in ``PULUMI_CONFIG``, reads the
port the pack prints, and calls the analyzer service: ``GetAnalyzerInfo``, ``Configure`` (the policy config
file, checked against each policy's schema with its defaults filled in, as the CLI does), ``ConfigureStack``,
``Analyze`` once per resource and ``AnalyzeStack`` once with all of them. Properties travel as
``google.protobuf.Struct``; values the preview cannot know are sent as the engine's unknown sentinel.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import grpc  # imported when a pack starts, not with this module

ROOT = Path(__file__).resolve().parents[1]
PACK_DIR = ROOT / "policies"
CONFIG_DIR = PACK_DIR / "config"
PROJECT = "ml-platform"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's sentinel for a string not known during preview (``pulumi_policy.proxy.UNKNOWN_STRING_VALUE``)."""
START_TIMEOUT_SECONDS = 60
CALL_TIMEOUT_SECONDS = 60

LEVELS = {"advisory": 0, "mandatory": 1, "disabled": 2, "remediate": 3}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


class PolicyConfigError(ValueError):
    """The policy config file does not fit the pack (unknown policy, bad level, or a value against the schema)."""


@dataclass
class Violation:
    policy: str
    level: str
    urn: str
    name: str
    type: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "level": self.level,
            "urn": self.urn,
            "name": self.name,
            "type": self.type,
            "message": self.message,
        }


@dataclass
class PolicyResult:
    pack: str
    version: str
    violations: list[Violation] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)

    @property
    def mandatory_failed(self) -> bool:
        return any(v.level == "mandatory" for v in self.violations)

    def to_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "violations": [v.to_json() for v in self.violations],
            "mandatory_failed": self.mandatory_failed,
        }


def config_path(environment: str | None) -> Path | None:
    """``policies/config/<environment>.json`` when it exists."""
    path = CONFIG_DIR / f"{environment}.json"
    return path if environment and path.exists() else None


def pack_version(pack_dir: Path = PACK_DIR) -> str | None:
    """The version in ``PulumiPolicy.yaml``: the CLI reports it (a Python pack's own answer is always 0.0.1)."""
    import yaml

    doc = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
    return str(doc["version"]) if doc.get("version") else None


def _wire(value: Any) -> Any:
    """The preview's plain values in engine form: ``"[unknown]"`` back to the engine's unknown sentinel."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if value == "[unknown]":
        return UNKNOWN_STRING
    return value


def _struct(value: Mapping[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    s = struct_pb2.Struct()
    s.update(_wire(dict(value)))
    return s


def read_config_file(path: Path) -> dict[str, Any]:
    """A ``--policy-pack-config`` file as a JSON object, or :class:`PolicyConfigError` saying what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyConfigError("no such file") from None
    except UnicodeDecodeError:
        raise PolicyConfigError("is not UTF-8 text") from None
    if not text.strip():
        raise PolicyConfigError('is empty; it must be a JSON object like {"cost-budget": "mandatory"}')
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyConfigError(f"line {exc.lineno}, column {exc.colno}: is not JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else repr(document)
        raise PolicyConfigError(f"must be a JSON object of policy name to level or settings, got {kind}")
    return document


def build_policy_config(
    document: Mapping[str, Any], policies: Iterable[Any]
) -> dict[str, tuple[int | None, dict[str, Any]]]:
    """The CLI's reading of a ``--policy-pack-config`` file: per policy, (enforcement level, properties with the
    schema's defaults filled in), validated against each policy's config schema; ``all`` sets every level first.
    A policy the file does not mention keeps the level the pack declares for it (the analyzer would otherwise
    read proto's 0, advisory). Stricter than the CLI on purpose: a policy name or key the pack does not have is
    an error here, where the CLI would pass it on and the pack would ignore it, so a misspelling cannot quietly
    switch a check back to its default."""
    import jsonschema
    from google.protobuf import json_format

    infos = {p.name: p for p in policies}
    all_level = document.get("all")
    out: dict[str, tuple[int | None, dict[str, Any]]] = {}
    unknown = sorted(set(document) - set(infos) - {"all"})
    if unknown:
        raise PolicyConfigError(f"the policy config names policies the pack does not have: {', '.join(unknown)}")
    for name, info in infos.items():
        schema = json_format.MessageToDict(info.configSchema, preserving_proto_field_name=True)
        props_schema = schema.get("properties") or {}
        entry = document.get(name, all_level)
        level: str | None = LEVEL_NAMES.get(info.enforcementLevel)
        props: dict[str, Any] = {k: v["default"] for k, v in props_schema.items() if "default" in v}
        if isinstance(entry, str):
            level = entry
        elif isinstance(entry, Mapping):
            level = entry.get("enforcementLevel", all_level if isinstance(all_level, str) else level)
            props.update({k: v for k, v in entry.items() if k != "enforcementLevel"})
        elif entry is not None:
            raise PolicyConfigError(f"{name}: must be an enforcement level or an object, got {entry!r}")
        if level is not None and level not in LEVELS:
            raise PolicyConfigError(f"{name}.enforcementLevel: must be one of {', '.join(LEVELS)}, got {level!r}")
        full_schema = {"type": "object", "properties": props_schema, "additionalProperties": False}
        errors = sorted(jsonschema.Draft7Validator(full_schema).iter_errors(props), key=lambda e: list(e.path))
        if errors:
            raise PolicyConfigError(
                "; ".join(f"{name}.{'.'.join(str(p) for p in e.path) or '(config)'}: {e.message}" for e in errors)
            )
        out[name] = (LEVELS[level] if level is not None else None, props)
    return out


class Analyzer:
    """A running policy pack process and its gRPC client. Use as a context manager."""

    def __init__(self, stack: str, stack_config: Mapping[str, str], pack_dir: Path = PACK_DIR) -> None:
        self.stack = stack
        self.stack_config = dict(stack_config)
        self.pack_dir = pack_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None

    def __enter__(self) -> Analyzer:
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        env = dict(os.environ)
        env.update(
            {
                "PULUMI_CONFIG": json.dumps(self.stack_config),
                "PULUMI_PROJECT": PROJECT,
                "PULUMI_STACK": self.stack,
                "PULUMI_DRY_RUN": "true",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("PULUMI_CONFIG_SECRET_KEYS", None)
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(self.pack_dir)],
            cwd=self.pack_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            err = self.process.stderr.read().decode() if self.process.stderr else ""
            self.close()
            raise RuntimeError(f"the policy pack did not start (no port on stdout): {line}\n{err}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        try:
            grpc.channel_ready_future(self.channel).result(timeout=START_TIMEOUT_SECONDS)
        except grpc.FutureTimeoutError:
            self.close()
            raise RuntimeError(f"the policy pack listens on port {line} but does not answer") from None
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
            self.process = None

    def info(self) -> Any:
        from google.protobuf import empty_pb2

        return self.stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=CALL_TIMEOUT_SECONDS)

    def configure(self, document: Mapping[str, Any], policies: Iterable[Any]) -> None:
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in build_policy_config(document, policies).items():
            config = analyzer_pb2.PolicyConfig(properties=_struct(props))
            if level is not None:
                config.enforcementLevel = analyzer_pb2.EnforcementLevel.ValueType(level)
            request.policyConfig[name].CopyFrom(config)
        self.stub.Configure(request, timeout=CALL_TIMEOUT_SECONDS)
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.stack,
                project=PROJECT,
                organization="organization",
                dry_run=True,
                config=self.stack_config,
            ),
            timeout=CALL_TIMEOUT_SECONDS,
        )

    def analyze(self, registrations: list[Any]) -> list[Any]:
        """Every diagnostic: ``Analyze`` per resource, then ``AnalyzeStack`` once."""
        providers = {r.name: r for r in registrations if r.type.startswith("pulumi:providers:")}
        diagnostics: list[Any] = []
        stack_resources = []
        for reg in registrations:
            found, resource = self.analyze_resource(reg, providers)
            diagnostics.extend(found)
            stack_resources.append(resource)
        diagnostics.extend(self.analyze_stack(stack_resources))
        return diagnostics

    def analyze_resource(self, reg: Any, providers: Mapping[str, Any]) -> tuple[list[Any], Any]:
        """``Analyze`` one resource (``providers``: provider registrations by name). Returns the diagnostics and
        the resource as ``AnalyzeStack`` takes it."""
        from pulumi.runtime.proto import analyzer_pb2

        options = analyzer_pb2.AnalyzerResourceOptions(protect=reg.protect, parent=reg.parent or "")
        provider = providers.get(reg.provider)
        provider_msg = (
            analyzer_pb2.AnalyzerProviderResource(
                type=provider.type, properties=_struct(provider.inputs), urn=provider.urn, name=provider.name
            )
            if provider is not None
            else None
        )
        properties = _struct(reg.inputs)
        request = analyzer_pb2.AnalyzeRequest(
            type=reg.type, properties=properties, urn=reg.urn, name=reg.name, options=options, provider=provider_msg
        )
        diagnostics = list(self.stub.Analyze(request, timeout=CALL_TIMEOUT_SECONDS).diagnostics)
        resource = analyzer_pb2.AnalyzerResource(
            type=reg.type,
            properties=properties,
            urn=reg.urn,
            name=reg.name,
            options=options,
            provider=provider_msg,
            parent=reg.parent or "",
            dependencies=list(reg.depends_on),
        )
        return diagnostics, resource

    def analyze_stack(self, resources: list[Any]) -> list[Any]:
        """``AnalyzeStack`` over every resource, in registration order."""
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.AnalyzeStackRequest(resources=resources)
        return list(self.stub.AnalyzeStack(request, timeout=CALL_TIMEOUT_SECONDS).diagnostics)


class PolicyRun:
    """The policy pack working alongside the program, as the engine runs it alongside a deployment.

    A thread starts the pack's process, asks for its policies and configures it, then analyzes each resource
    handed to :meth:`analyze` as it is registered; the offline preview hands them over from the mock monitor
    while the program runs, so the pack's start-up and its per-resource checks overlap the program instead of
    following it. :meth:`verdicts` analyzes whatever was not handed over, runs ``AnalyzeStack`` and raises what
    went wrong on the thread (:class:`PolicyConfigError`, a pack that does not start). Use as a context manager:
    the process ends even when the verdicts are never asked for.
    """

    def __init__(
        self,
        stack: str,
        stack_config: Mapping[str, str],
        policy_config: Mapping[str, Any] | None = None,
        pack_dir: Path = PACK_DIR,
    ) -> None:
        self.pack_dir = pack_dir
        self._analyzer = Analyzer(stack, stack_config, pack_dir)
        self._policy_config = dict(policy_config or {})
        self._info: Any = None
        self._error: BaseException | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._analyzed: dict[str, tuple[Any, list[Any], Any]] = {}
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="policy-pack", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        providers: dict[str, Any] = {}
        try:
            self._analyzer.__enter__()
            self._info = self._analyzer.info()
            self._analyzer.configure(self._policy_config, self._info.policies)
            # A resource is registered only after its provider, so the provider is here when a resource needs it.
            while (reg := self._queue.get()) is not None and not self._closing:
                if reg.type.startswith("pulumi:providers:"):
                    providers[reg.name] = reg
                self._analyzed[reg.urn] = (reg, *self._analyzer.analyze_resource(reg, providers))
        except BaseException as exc:  # handed to the caller's thread by verdicts()
            self._error = exc

    def analyze(self, registration: Any) -> None:
        """Check ``registration`` as soon as the pack is ready (callable from any thread)."""
        self._queue.put(registration)

    def __enter__(self) -> PolicyRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop checking (what is still queued is dropped), end the pack's process."""
        self._closing = True
        self._queue.put(None)
        self._thread.join()
        self._analyzer.close()

    def verdicts(self, registrations: list[Any]) -> PolicyResult:
        """The violations over ``registrations`` (in registration order); the pack's process ends."""
        try:
            self._queue.put(None)
            self._thread.join()
            if self._error is not None:
                raise self._error
            providers = {r.name: r for r in registrations if r.type.startswith("pulumi:providers:")}
            diagnostics: list[Any] = []
            resources = []
            for reg in registrations:
                analyzed, found, resource = self._analyzed.get(reg.urn) or (None, [], None)
                if analyzed is not reg:
                    found, resource = self._analyzer.analyze_resource(reg, providers)
                diagnostics.extend(found)
                resources.append(resource)
            diagnostics.extend(self._analyzer.analyze_stack(resources))
        finally:
            self.close()
        return _result(self._info, diagnostics, registrations, self.pack_dir)


def run(
    stack: str,
    stack_config: Mapping[str, str],
    registrations: list[Any],
    policy_config: Mapping[str, Any] | None = None,
    pack_dir: Path = PACK_DIR,
) -> PolicyResult:
    """Start the pack, configure it, analyze ``registrations`` and return the violations."""
    with PolicyRun(stack, stack_config, policy_config, pack_dir) as policy_run:
        return policy_run.verdicts(registrations)


def _result(info: Any, diagnostics: list[Any], registrations: list[Any], pack_dir: Path) -> PolicyResult:
    by_urn = {r.urn: r for r in registrations}
    result = PolicyResult(
        pack=info.name, version=pack_version(pack_dir) or info.version, policies=[p.name for p in info.policies]
    )
    for d in diagnostics:
        reg = by_urn.get(d.urn)
        # pulumi_policy prefixes the policy's description to the message; keep the rule's own sentence.
        message = d.message[len(d.description) + 1 :] if d.message.startswith(d.description + "\n") else d.message
        result.violations.append(
            Violation(
                policy=d.policyName,
                level=LEVEL_NAMES.get(d.enforcementLevel, str(d.enforcementLevel)),
                urn=d.urn,
                name=reg.name if reg is not None else "",
                type=reg.type if reg is not None else "",
                message=message,
            )
        )
    result.violations.sort(key=lambda v: (v.level != "mandatory", v.policy, v.urn, v.message))
    return result


def run_for(result: Any, config_file: Path | None = None) -> PolicyResult:
    """Policies over an offline run (:class:`offline.runner.RunResult`), with the environment's config file
    (``policies/config/<environment>.json``) unless ``config_file`` names another."""
    path = config_file or config_path(result.config.get(f"{PROJECT}:environment"))
    document = json.loads(path.read_text()) if path is not None else {}
    return run(result.stack, result.config, result.registrations, document)
