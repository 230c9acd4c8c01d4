"""The base every stack-config model shares, and the translation of validation errors into user messages.

Why pydantic underneath: the stack file is parsed once into typed objects (nothing downstream indexes raw
dicts), and pydantic reports *all* shape errors of a document in one pass. Its messages are written for Python
developers, so :func:`describe` rewrites each into the platform's form, ``<key path>: <what is wrong>, got
<value>``, which is what a platform engineer needs to fix a YAML file.

Why keys that feed a component default to None: a component owns its defaults. A model declares which component
argument each of its keys feeds (:attr:`Model.feeds`); such a key stays None unless the stack file sets it, and
:func:`args_kwargs` passes on only what was set, so the component's own default applies and is written once.
The flat argument name is the key path joined with underscores (``sharing.replicas`` feeds ``sharing_replicas``;
a leading group may be dropped where the rest is unambiguous, as in ``auth.jwt_issuer`` -> ``jwt_issuer``).
Where an environment class departs from a component default (two replicas in prod), the model says so in
:attr:`Model.environment_defaults`, which holds only departures, never a copy of the component's value.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import pydantic


class Environment(str, enum.Enum):
    """The class of environment a stack is; it picks safe defaults for HA, backups and protection."""

    LOCAL = "local"
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


Feeds = Mapping[type, Mapping[str, str]]
"""``{component Args class: {config key: Args field}}``."""
EnvironmentDefaults = Mapping[Environment, Mapping[str, Any]]
"""``{environment class: {config key: value}}``."""


class Model(pydantic.BaseModel):
    """Strict base: unknown keys are errors (a misspelt key must not be silently ignored).

    Field docstrings are not read at import (pydantic's ``use_attribute_docstrings`` parses each model's source,
    a tenth of a second on every preview); the reference generator reads them itself.
    """

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    feeds: ClassVar[Feeds] = {}
    """Component arguments this model's keys feed: ``{Args class: {key: Args field}}``. Such keys default to None."""
    environment_defaults: ClassVar[EnvironmentDefaults] = {}
    """Where an environment class departs from the component's default: ``{environment: {key: value}}``."""

    def for_environment(self, environment: Environment) -> Any:
        """This model with every unset key that the environment class departs on filled in (set keys win)."""
        departures = self.environment_defaults.get(environment, {})
        return self.model_copy(update={k: v for k, v in departures.items() if getattr(self, k) is None})


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def args_kwargs(model: Model, args: type, nested: bool = True) -> dict[str, Any]:
    """The keyword arguments of ``args`` that ``model`` (and with ``nested`` the models in it) sets; None keys are
    left out, so the component's default applies."""
    out: dict[str, Any] = {}
    for key, target in type(model).feeds.get(args, {}).items():
        value = getattr(model, key)
        if value is not None:
            out[target] = _copy(value)
    for key in type(model).model_fields if nested else ():
        value = getattr(model, key)
        if isinstance(value, Model):
            out.update(args_kwargs(value, args))
    return out


def key_paths(model: type[Model], args: type, prefix: str = "") -> dict[str, str]:
    """``{Args field: key path}`` for the keys of ``model`` (and its nested models) that feed ``args``: how a
    component's problem names translate into the stack file's key paths."""
    out = {target: prefix + key for key, target in model.feeds.get(args, {}).items()}
    for key, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Model):
            out.update(key_paths(annotation, args, f"{prefix}{key}."))
    return out


def effective(model: Model, key: str) -> Any:
    """The value ``key`` has for the component it feeds: the stack file's, else that argument's default."""
    value = getattr(model, key)
    if value is not None:
        return value
    for args, fields in type(model).feeds.items():
        if key in fields:
            default = component_default(args, fields[key])
            return None if default is dataclasses.MISSING else default
    return None


def component_default(args: type, name: str) -> Any:
    """The default a component's Args dataclass declares for ``name`` (``dataclasses.MISSING`` when required)."""
    for f in dataclasses.fields(args):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
            return dataclasses.MISSING
    raise KeyError(f"{args.__name__} has no field {name!r}")


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def describe(error: Mapping[str, Any], prefix: tuple[Any, ...] = ()) -> str:
    """One pydantic error as ``path: message, got value``."""
    loc = prefix + tuple(error.get("loc", ()))
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    # Errors raised by our own validators name a sub-key: "max_size: must be >= ...".
    if kind == "value_error":
        message = str(ctx.get("error", error.get("msg", "")))
        if ": " in message and message.split(": ", 1)[0].replace("_", "").replace(".", "").isalnum():
            sub, message = message.split(": ", 1)
            loc = loc + tuple(sub.split("."))
        if ", got " in message:
            return f"{_path(loc)}: {message}"
        return f"{_path(loc)}: {message}, got {_show(value)}"
    if kind == "missing":
        return f"{_path(loc)}: is required but not set"
    if kind == "extra_forbidden":
        return f"{_path(loc)}: is not a known key (check its spelling), got {_show(value)}"
    if kind == "enum":
        return f"{_path(loc)}: must be one of {ctx.get('expected', '')}, got {_show(value)}"
    if kind == "literal_error":
        return f"{_path(loc)}: must be {ctx.get('expected', '')}, got {_show(value)}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()), "")
        return f"{_path(loc)}: must be {op} {bound}, got {_show(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{_path(loc)}: must be a mapping, got {_show(value)}"
    message = str(error.get("msg", "is invalid"))
    message = message[0].lower() + message[1:] if message else message
    message = message.replace("input should be", "must be").replace("Input should be", "must be")
    return f"{_path(loc)}: {message}, got {_show(value)}"
