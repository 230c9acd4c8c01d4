"""docs/components.md is exactly what the components say (regenerate: python -m components._reference)."""

from __future__ import annotations

import dataclasses
import enum
import re
from pathlib import Path

import pytest

import components
from components import _reference as reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "components.md"
COMPONENTS = [c for domain, _ in reference.DOMAINS for c in reference.components_of(domain)]


def test_reference_is_up_to_date() -> None:
    assert DOC.read_text() == reference.render(), (
        "docs/components.md is stale: run `.venv/bin/python -m components._reference > docs/components.md`"
    )


def test_every_public_component_is_in_the_reference() -> None:
    public = {name for name in components.__all__ if name in {c.__name__ for c in COMPONENTS}}
    assert len(public) == len(COMPONENTS) == 18
    text = reference.render()
    for component in COMPONENTS:
        assert f"### `{component.__name__}`" in text
        assert f"#### `{reference.args_of(component).__name__}`" in text


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_every_argument_states_its_meaning(component: type) -> None:
    args = reference.args_of(component)
    docs = reference.attribute_docs(args)
    undocumented = [f.name for f in dataclasses.fields(args) if not docs.get(f.name)]
    assert not undocumented, f"{args.__name__}: fields without a docstring: {undocumented}"


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.__name__)
def test_outputs_are_declared_documented_and_set(component: type) -> None:
    declared = set(reference.declared_outputs(component))
    assigned = reference.assigned_attributes(component)
    docs = reference.attribute_docs(component)
    assert assigned - declared == set(), "set in the constructor but not declared as an output"
    assert declared - assigned == set(), "declared as an output but never set"
    assert declared - set(docs) == set(), "declared outputs without a docstring"


def test_docstrings_are_read_from_the_source() -> None:
    docs = reference.attribute_docs(components.GpuNodePoolArgs)
    assert docs["sharing_replicas"].startswith("Pods per GPU")
    assert reference.args_of(components.ModelEndpoint) is components.ModelEndpointArgs


STATED_DEFAULT = re.compile(r"Default (``[^`<]*``|-?[0-9][0-9.]*[0-9]|-?[0-9]|True|False|None)(?![0-9A-Za-z])")
"""A literal default a field's docstring states: ``Default ``1.35``.``, ``Default 4.``, ``Default False.``"""


def _agrees(stated: str, value: object) -> bool:
    if isinstance(value, enum.Enum):
        value = value.value
    if stated == str(value):
        return True
    try:
        return float(stated) == float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def test_a_default_stated_in_a_docstring_is_the_default() -> None:
    """The docstring repeats the default for readers of the source; it must not disagree with the code."""
    checked, wrong = 0, []
    for domain, _ in reference.DOMAINS:
        for obj in reference.public(domain):
            if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
                continue
            docs = reference.attribute_docs(obj)
            for f in dataclasses.fields(obj):
                match = STATED_DEFAULT.search(docs.get(f.name, ""))
                if match is None or f.default is dataclasses.MISSING:
                    continue
                checked += 1
                if not _agrees(match.group(1).strip("`"), f.default):
                    wrong.append(f"{obj.__name__}.{f.name}: docstring says {match.group(1)}, code says {f.default!r}")
    assert not wrong
    assert checked > 150
