"""The base every stack-config model shares, and the translation of validation errors into user messages.

Why pydantic underneath: the stack file is parsed once into typed objects (nothing downstream indexes raw
dicts), and pydantic reports *all* shape errors of a document in one pass. Its messages are written for Python
developers, so :func:`describe` rewrites each into the platform's form, ``<key path>: <what is wrong>, got
<value>``, which is what a platform engineer needs to fix a YAML file.
"""

from __future__ import annotations

import enum
from typing import Any

import pydantic


class Model(pydantic.BaseModel):
    """Strict base: unknown keys are errors (a misspelt key must not be silently ignored).

    Field docstrings are not read at import (pydantic's ``use_attribute_docstrings`` parses each model's source,
    a tenth of a second on every preview); the reference generator reads them itself.
    """

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Environment(str, enum.Enum):
    """The class of environment a stack is; it picks safe defaults for HA, backups and protection."""

    LOCAL = "local"
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


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


def describe(error: dict[str, Any], prefix: tuple[Any, ...] = ()) -> str:
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
