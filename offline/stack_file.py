"""Read a stack file the way the Pulumi CLI does, and say exactly where it is broken when it cannot be read.

Why not ``yaml.safe_load``: it keeps the last of two equal keys and drops the first without a word, so a second
``inference:`` pool or ``iris:`` endpoint silently replaces the first (the CLI's own YAML reader refuses such a
file). Its errors also arrive as Python exceptions; here every problem becomes one line with the line and column
and what to fix, and the preview prints it with the file's name and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class StackFileError(Exception):
    """The stack file is not a readable stack file; the text says where and why."""


class _Loader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys instead of keeping the last one."""


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise StackFileError(f"{_where(key_node)}: a key must be a plain value, got {key!r}") from None
        if key in seen:
            raise StackFileError(
                f"{_where(key_node)}: {_path(loader, key_node)}: duplicate key (first on line "
                f"{seen[key].start_mark.line + 1}); YAML keeps only the last, dropping the first"
            )
        seen[key] = key_node
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _where(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


def _path(loader: _Loader, key_node: yaml.Node) -> str:
    """The dotted path of a key, from the composed document (``config.ml-platform:gpu_pools.inference``)."""
    parts: list[str] = []

    def walk(node: yaml.Node, trail: list[str]) -> bool:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k is key_node:
                    parts.extend([*trail, str(k.value)])
                    return True
                if walk(v, [*trail, str(getattr(k, "value", "?"))]):
                    return True
        elif isinstance(node, yaml.SequenceNode):
            return any(walk(v, [*trail[:-1], f"{trail[-1] if trail else ''}[{i}]"]) for i, v in enumerate(node.value))
        return False

    root = getattr(loader, "_root", None)
    if root is not None:
        walk(root, [])
    return ".".join(parts) if parts else str(key_node.value)


def _yaml_error(exc: yaml.YAMLError) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return f"is not valid YAML ({exc})"
    mark = exc.problem_mark
    text = f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    if "'\\t'" in (exc.problem or ""):
        return text + " (YAML indents with spaces, never tabs)"
    if exc.context and exc.context_mark is not None:
        text += (
            f" ({exc.context} that starts on line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        )
    return text


def _kind(value: Any) -> str:
    names: dict[type, str] = {list: "a list", str: repr(value)}
    return names.get(type(value), type(value).__name__ if value is not None else "null")


def load(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file, or :class:`StackFileError` saying what is wrong and where."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StackFileError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        loader._root = node  # type: ignore[attr-defined]  # for the key paths of duplicate keys
        doc = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise StackFileError(_yaml_error(exc)) from None
    finally:
        loader.dispose()
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise StackFileError(f"must be a mapping with a 'config' key, got {_kind(doc)}")
    config = doc.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackFileError(f"config: must be a mapping of keys to values, got {_kind(config)}")
    for key in config:
        if not isinstance(key, str):
            raise StackFileError(f"config: keys must be strings like ml-platform:cluster, got {key!r}")
    return config
