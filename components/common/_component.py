"""The base every platform component stands on: validate first, create after.

Each component checks its arguments before it registers itself, so a bad argument costs no resource and the
user sees every problem at once, each under the component's name (``inference.max_size: must be >= min_size
(2), got 1``). Written once here, the order cannot differ from one component to the next.
"""

from __future__ import annotations

from typing import Protocol

import pulumi

from ._base import Problems


class SelfValidating(Protocol):
    """Component arguments that report their own problems (every ``*Args`` of the platform)."""

    def validate(self, problems: Problems) -> None: ...


class PlatformComponent(pulumi.ComponentResource):
    """A ``ComponentResource`` whose arguments are validated before it registers.

    Raises :class:`ArgsError` listing every problem, subject ``"<Class> '<name>'"``, and creates nothing then.
    """

    def __init__(
        self,
        type_token: str,
        name: str,
        args: SelfValidating,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = Problems(prefix=name)
        self._validate_name(name, args, problems)
        args.validate(problems)
        problems.raise_if_any(f"{type(self).__name__} {name!r}")
        super().__init__(type_token, name, None, opts)

    def _validate_name(self, name: str, args: SelfValidating, problems: Problems) -> None:
        """Append problems with the component's own name (``problems`` is at the name's level); any name is fine
        unless a component says otherwise, e.g. when a cloud name is made from it."""
