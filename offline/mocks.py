"""Pulumi's mock runtime, set up to record everything a program registers and to answer its cloud look-ups.

Why record at the monitor: ``Mocks.new_resource`` sees neither a resource's parent nor its options, and sees
secret inputs already unwrapped. The monitor sees the engine's own request, so :class:`RecordingMonitor` keeps
the parent (for the component tree), ``protect``, the provider and explicit dependencies (for the policy pack),
and the inputs in engine form with every secret still marked, which is what lets the plan mask them.

The answers to cloud look-ups (:data:`INVOKES`) and the outputs clouds would compute (ids, ARNs, endpoints) are
fixed, documented in ``docs/offline-preview.md``, and the same on every run, so two plans differ only where the
program's inputs differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
ASSET_SIGS = {"c44067f5952c0a294b673a41bacd8c17", "0def7320c3a5731c473e5ecbe6d01bc7"}
SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

MASK = "[secret]"
GENERATED_AT = "20260101000000"
"""The UTC time (``YYYYmmddHHMMSS``) in names the providers generate from a prefix, fixed so plans are stable."""
ACCOUNT_ID = "123456789012"
GCP_PROJECT_NUMBER = "100000000001"


def engine_form(value: Any, mask: bool = True) -> Any:
    """Turn a value from the wire (dict form of a protobuf Struct) into plain JSON, keys sorted.

    Secrets become ``"[secret]"`` (or their value when ``mask`` is False), resource references become
    ``{"$ref": urn}``, unknowns ``"[unknown]"``. Keys are sorted because a Struct keeps no order of its own: the
    order it gives back depends on protobuf's backend and on how the map was built (the same keys inserted in
    another order, or copied, come back in another order), so only a sorted plan is the same on every machine.
    """
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == SECRET_SIG:
            return MASK if mask else engine_form(value.get("value"), mask)
        if sig == RESOURCE_SIG:
            return {"$ref": value.get("urn", "")}
        if sig in ASSET_SIGS:
            return {"$asset": value.get("path") or value.get("uri") or "text"}
        return {k: engine_form(value[k], mask) for k in sorted(value)}
    if isinstance(value, list):
        return [engine_form(v, mask) for v in value]
    if value == UNKNOWN:
        return "[unknown]"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Registration:
    """One resource as the engine was asked to register it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    protect: bool
    depends_on: list[str]
    inputs: dict[str, Any]
    """Inputs in engine (camelCase) form, secrets masked."""
    raw_inputs: dict[str, Any] = field(repr=False, default_factory=dict)
    """The same with secret values visible (placeholders only: the preview never holds real secrets)."""
    ignore_changes: list[str] = field(default_factory=list)
    """Input paths Pulumi leaves to someone else after creation (``ignoreChanges``): who owns which field."""
    delete_before_replace: bool = False
    """Whether a replacement deletes the old resource before creating the new one (``deleteBeforeReplace``)."""
    outputs: dict[str, Any] = field(repr=False, default_factory=dict)
    """What the mocks answered as the resource's state (ids, ARNs, emails), secrets masked; not in the plan."""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "protect": self.protect,
            "dependsOn": self.depends_on,
            "inputs": self.inputs,
            **({"ignoreChanges": self.ignore_changes} if self.ignore_changes else {}),
            **({"deleteBeforeReplace": True} if self.delete_before_replace else {}),
        }


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps every registration in order.

    The SDK calls the monitor on its executor's threads, and its mock monitor gives each such thread an event loop
    that nothing closes. Such a loop is finalised at interpreter exit, where closing it can fail and print
    "Exception ignored ... Invalid file descriptor". So this monitor creates the threads' loops itself, before the
    SDK looks for one, and :meth:`close` closes them (:func:`mocked_runtime` does, after the executor has stopped).
    """

    def __init__(self, mocks: pulumi_mocks.Mocks, on_register: Callable[[Registration], None] | None = None) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.on_register = on_register
        """Called with each registration as it is recorded, on the thread that registers it."""
        self._thread_loops: list[asyncio.AbstractEventLoop] = []
        self._local = threading.local()
        self._lock = threading.Lock()

    def _thread_loop(self) -> None:
        """Give the calling executor thread an event loop of its own that :meth:`close` will close."""
        if threading.current_thread() is threading.main_thread() or getattr(self._local, "loop", None) is not None:
            return
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._local.loop = loop
        with self._lock:
            self._thread_loops.append(loop)

    def close(self) -> None:
        """Close the event loops of the executor threads (call once the executor has shut down)."""
        with self._lock:
            loops, self._thread_loops = self._thread_loops, []
        for loop in loops:
            loop.close()

    def Invoke(self, request: Any) -> Any:
        self._thread_loop()
        return super().Invoke(request)

    def ReadResource(self, request: Any) -> Any:
        self._thread_loop()
        return super().ReadResource(request)

    def RegisterResource(self, request: Any) -> Any:
        self._thread_loop()
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            wire = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
            registration = Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=bool(request.custom),
                provider=request.provider.split("::")[-2] if request.provider else "",
                protect=bool(request.protect),
                depends_on=sorted(request.dependencies),
                inputs=engine_form(wire),
                raw_inputs=engine_form(wire, mask=False),
                ignore_changes=list(request.ignoreChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                outputs={
                    "id": response.id,
                    **engine_form(json_format.MessageToDict(response.object, preserving_proto_field_name=True)),
                },
            )
            self.registrations.append(registration)
            if self.on_register is not None:
                self.on_register(registration)
        return response


# --- answers to cloud look-ups -------------------------------------------------------------------------------


def _zones(args: dict[str, Any], ctx: PreviewMocks) -> dict[str, Any]:
    region = ctx.region or "us-west-2"
    return {"names": [f"{region}{s}" for s in "abc"], "zoneIds": [f"use-az{i}" for i in (1, 2, 3)], "id": region}


INVOKES: dict[str, Callable[[dict[str, Any], PreviewMocks], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:index/getRegion:getRegion": lambda a, c: {
        "name": c.region,
        "region": c.region,
        "id": c.region,
        "description": c.region,
        "endpoint": f"ec2.{c.region}.amazonaws.com",
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a, c: {
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/preview",
        "userId": "PREVIEW",
        "id": ACCOUNT_ID,
    },
    "aws:index/getPartition:getPartition": lambda a, c: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "gcp:organizations/getProject:getProject": lambda a, c: {
        "projectId": a.get("projectId") or c.project,
        "number": GCP_PROJECT_NUMBER,
        "id": f"projects/{c.project}",
    },
    "gcp:organizations/getClientConfig:getClientConfig": lambda a, c: {
        "project": c.project,
        "region": c.region,
        "accessToken": "preview",
        "id": "preview",
    },
}
"""Every cloud look-up the program may make, with its fixed answer. An unknown one fails the preview loudly."""


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class PreviewMocks(pulumi_mocks.Mocks):
    """Deterministic stand-ins for what the clouds would compute."""

    def __init__(self, region: str | None = None, project: str | None = None) -> None:
        self.region: str | None = region
        self.project: str | None = project

    def call(self, args: pulumi_mocks.MockCallArgs) -> Any:
        answer = INVOKES.get(args.token)
        if answer is None:
            raise NotImplementedError(
                f"the offline preview has no answer for the look-up {args.token}; add one to offline/mocks.py INVOKES"
            )
        return answer(args.args, self)

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        typ, name = args.typ, args.name
        state = dict(args.inputs)
        rid = f"{name}-{_short_hash(typ + name)}"
        package = typ.split(":", 1)[0]
        if package == "aws":
            service = typ.split(":")[1].split("/")[0]
            state.setdefault("arn", f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{typ.split(':')[-1].lower()}/{name}")
            state.setdefault("name", name)
        elif package == "gcp":
            state.setdefault("name", name)
            state.setdefault("selfLink", f"https://www.googleapis.com/compute/v1/projects/{self.project}/{name}")
        special = _SPECIAL.get(typ)
        if special is not None:
            state.update(special(name, state, self))
        return rid, state


def _eks_cluster(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    cluster = state.get("name", name)
    issuer = f"https://oidc.eks.{m.region}.amazonaws.com/id/{_short_hash(cluster).upper()}"
    return {
        "endpoint": f"https://{_short_hash(cluster).upper()}.gr7.{m.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": "UFJFVklFVy1DQQ=="},
        "identities": [{"oidcs": [{"issuer": issuer}]}],
        "vpcConfig": {**state.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{_short_hash(cluster)}"},
    }


def _eks_nodegroup(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    out: dict[str, Any] = {"resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{_short_hash(name)}"}]}]}
    prefix = state.get("nodeGroupNamePrefix")
    if prefix and not state.get("nodeGroupName"):
        # The provider's unique suffix: an 18-digit UTC timestamp and an 8-hex-digit counter (26 characters).
        out["nodeGroupName"] = f"{prefix}{GENERATED_AT}0000{_short_hash(name)}"
    return out


def _gke_nodepool(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    prefix = state.get("namePrefix")
    if not prefix or state.get("name") not in (None, name):
        return {}
    # The provider's suffix: a short prefix gets a 16-digit timestamp and an 8-digit counter, a longer one 9 random
    # lowercase characters, so that the name stays within GKE's 40.
    if len(prefix) <= 14:
        return {"name": f"{prefix}{GENERATED_AT}00{int(_short_hash(name), 16) % 10**8:08d}"}
    return {"name": f"{prefix}{_short_hash(name)}x"}


def _gke_cluster(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    return {"endpoint": "203.0.113.10", "masterAuth": {"clusterCaCertificate": "UFJFVklFVy1DQQ=="}}


def _gcp_service_account(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    account = state.get("accountId", name)
    return {
        "email": f"{account}@{m.project}.iam.gserviceaccount.com",
        "member": f"serviceAccount:{account}@{m.project}.iam.gserviceaccount.com",
    }


def _random_password(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    return {"result": f"[random {name}]", "bcryptHash": f"[bcrypt {name}]"}


def _s3_bucket(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    bucket = state.get("bucket") or f"{name}-{_short_hash(name)}"
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "id": bucket}


def _rds_instance(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    address = f"{name}.c{_short_hash(name)}.{m.region}.rds.amazonaws.com"
    return {"address": address, "endpoint": f"{address}:5432", "port": 5432}


def _cloud_sql_instance(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    return {"privateIpAddress": "10.100.0.3", "connectionName": f"{m.project}:{state.get('region')}:{name}"}


def _random_id(name: str, state: dict[str, Any], m: PreviewMocks) -> dict[str, Any]:
    return {"hex": _short_hash(name), "b64Url": _short_hash(name), "dec": str(int(_short_hash(name), 16))}


_SPECIAL: dict[str, Callable[[str, dict[str, Any], PreviewMocks], dict[str, Any]]] = {
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_nodegroup,
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:container/nodePool:NodePool": _gke_nodepool,
    "gcp:serviceaccount/account:Account": _gcp_service_account,
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomId:RandomId": _random_id,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:rds/instance:Instance": _rds_instance,
    "gcp:sql/databaseInstance:DatabaseInstance": _cloud_sql_instance,
}
"""Outputs a cloud computes that the program reads back, by resource type."""


def install(
    mocks: PreviewMocks,
    stack: str,
    project: str = "ml-platform",
    on_register: Callable[[Registration], None] | None = None,
) -> RecordingMonitor:
    """Install fresh mocks and a recording monitor for ``stack``, with a new root stack resource.

    ``set_mocks`` keeps an existing root stack, so without the reset a second program run in the same process
    would register its resources under the first run's stack.
    """
    import pulumi
    from pulumi.runtime import settings

    settings.ROOT.set(None)
    monitor = RecordingMonitor(mocks, on_register)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    return monitor


@contextlib.contextmanager
def mocked_runtime(
    mocks: PreviewMocks,
    stack: str,
    project: str = "ml-platform",
    on_register: Callable[[Registration], None] | None = None,
) -> Iterator[RecordingMonitor]:
    """A fresh event loop with fresh mocks installed on it (:func:`install`), torn down in full on exit.

    Teardown waits for the SDK's executor threads to stop, closes the event loops they were given and then the
    main loop, so nothing is left for the interpreter to finalise at exit.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = install(mocks, stack, project, on_register)
    try:
        yield monitor
    finally:
        try:
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            monitor.close()
            loop.close()
            asyncio.set_event_loop(None)
