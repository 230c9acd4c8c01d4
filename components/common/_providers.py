"""The cloud provider SDKs, each imported on first use.

Why: importing ``pulumi_aws`` or ``pulumi_gcp`` costs tens of milliseconds each, and a stack uses one cloud (the
local stack none). Every domain module imports both, so without this an AWS preview pays for the GCP SDK and the
local preview for both. Attribute access goes through :func:`importlib.import_module`, so the first use anywhere
imports the package under the interpreter's import lock, and ``aws.ec2.Vpc`` is the SDK's own class.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any


class _OnFirstUse:
    """A stand-in for a module that imports it when one of its attributes is first read."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


if TYPE_CHECKING:
    import pulumi_aws as aws
    import pulumi_gcp as gcp
else:
    aws = _OnFirstUse("pulumi_aws")
    gcp = _OnFirstUse("pulumi_gcp")
