"""Each default and each name has one owner: the component. The stack config leaves what it feeds unset.

The models declare which component argument each key feeds (``Model.feeds``); these tests read those declarations
and the Args dataclasses and fail when a default is written in both places, when an environment's departure merely
repeats the component's value, or when a key and the argument it feeds go by different names.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from components.serving import ModelEndpointArgs
from infra.config import StackConfig, component_default, key_paths
from infra.config.base import Model
from infra.config.observability import DriftModelConfig, ObservabilityConfig
from infra.config.serving import EndpointConfig, PlatformConfig


def _models(root: type[Model] = StackConfig) -> list[type[Model]]:
    """Every model a stack file can reach, ``root`` first."""
    seen: list[type[Model]] = []
    todo = [root]
    while todo:
        model = todo.pop(0)
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            for part in (field.annotation, *typing.get_args(field.annotation)):
                if isinstance(part, type) and issubclass(part, Model):
                    todo.append(part)
    return seen


MODELS = _models()
FEEDS = [(model, args, key, target) for model in MODELS for args, m in model.feeds.items() for key, target in m.items()]

WIRED = {
    (DriftModelConfig, "namespace"): "unset, the check runs in the observability namespace, not the component's",
    (PlatformConfig, "namespace"): "endpoints live in the platform's namespace (wiring, not a default)",
    (EndpointConfig, "versions"): "a map by name that becomes the list of ModelVersion, each fed by VersionConfig",
    (EndpointConfig, "warm_windows"): "a list of WarmWindowConfig that the program turns into WarmWindow values",
    (ObservabilityConfig, "dcgm_exporter"): "auto | always | never, which the program turns into the yes or no",
}
"""Keys named like an argument of a component their model feeds, passed on by the program as wiring."""


def _id(item: tuple) -> str:
    model, args, key, target = item
    return f"{model.__name__}.{key}->{args.__name__}.{target}"


def test_the_declarations_cover_the_config() -> None:
    assert len(FEEDS) > 80, "the models declare fewer fed keys than the stack config has"
    fed = {model for model, *_ in FEEDS}
    assert {m.__name__ for m in fed} >= {"ClusterConfig", "GpuPoolConfig", "MlflowConfig", "EndpointConfig"}


@pytest.mark.parametrize("item", FEEDS, ids=_id)
def test_a_fed_key_carries_no_default_of_its_own(item: tuple) -> None:
    model, args, key, target = item
    assert key in model.model_fields, f"{model.__name__} has no key {key!r}"
    assert target in {f.name for f in dataclasses.fields(args)}, f"{args.__name__} has no field {target!r}"
    field = model.model_fields[key]
    if field.is_required():
        return
    assert field.default is None and field.default_factory is None, (
        f"{model.__name__}.{key} defaults to {field.get_default(call_default_factory=True)!r}; "
        f"leave it None: {args.__name__}.{target} owns the default ({component_default(args, target)!r})"
    )


def test_an_unmapped_key_named_like_an_argument_is_declared_wiring() -> None:
    for model in MODELS:
        mapped = {key for mapping in model.feeds.values() for key in mapping}
        for args in model.feeds:
            names = {f.name for f in dataclasses.fields(args)}
            for key in model.model_fields:
                if key in names and key not in mapped:
                    assert (model, key) in WIRED, f"{model.__name__}.{key} looks like {args.__name__}.{key}: map it"


def test_environment_classes_state_only_departures() -> None:
    for model in MODELS:
        for environment, departures in model.environment_defaults.items():
            for key, value in departures.items():
                targets = [(a, m[key]) for a, m in model.feeds.items() if key in m]
                assert targets, f"{model.__name__}.{key}: an environment default for a key that feeds nothing"
                for args, target in targets:
                    assert value != component_default(args, target), (
                        f"{model.__name__}.{key} in {environment.value} repeats {args.__name__}'s default {value!r}"
                    )


def _roots() -> list[type[Model]]:
    """Where key paths start: the stack file's top level and each model that is the value of a map."""
    roots: list[type[Model]] = [StackConfig]
    for model in MODELS:
        for field in model.model_fields.values():
            if typing.get_origin(field.annotation) is dict:
                roots += [a for a in typing.get_args(field.annotation) if isinstance(a, type) and issubclass(a, Model)]
    return roots


def _one_name(path: str, target: str) -> bool:
    parts = path.split(".")
    return target in {"_".join(parts[k:]) for k in range(len(parts))}


def test_a_key_and_its_argument_have_one_name() -> None:
    """The flat argument is the key path joined with underscores; leading groups may be dropped."""
    bad = []
    checked = 0
    for root in _roots():
        for args in {a for m in _models(root) for a in m.feeds}:
            for target, path in key_paths(root, args).items():
                checked += 1
                if not _one_name(path, target):
                    bad.append(f"{root.__name__}: {path} -> {args.__name__}.{target}")
    assert not bad
    assert checked >= len(FEEDS)


def test_the_name_rule_catches_a_rename() -> None:
    assert not _one_name("gpu_pools.sharing.replicas", "time_slicing_replicas")
    assert not _one_name("cluster.system_nodes.min_size", "system_min_size")
    assert _one_name("sharing.replicas", "sharing_replicas") and _one_name("auth.jwt_issuer", "jwt_issuer")
    assert key_paths(PlatformConfig, ModelEndpointArgs) == {"prometheus_address": "prometheus_address"}
