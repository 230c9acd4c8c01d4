"""scripts/trim_schemas.py and the trimmed schemas it wrote to tests/schemas/ (which the schema tests read)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas"
SPEC = importlib.util.spec_from_file_location("trim_schemas", ROOT / "scripts" / "trim_schemas.py")
assert SPEC is not None and SPEC.loader is not None
trim_schemas = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(trim_schemas)

CRD = """\
# upstream comment
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget}
  versions:
    - name: v1
      schema:
        openAPIV3Schema:
          description: A widget, explained at length.
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                description: {type: string, description: "a field named description stays"}
                size: {type: integer, minimum: 1, description: How big.}
                mode: {type: string, enum: [a, b], pattern: "^[ab]$"}
              x-kubernetes-validations:
                - {rule: "self.size < 10", message: "size must be small"}
"""
SOURCES_ROWS = [
    "| saved file | bytes | upstream repository | upstream path | ref | commit (date) | git blob sha1 (verified) "
    "| chart version / appVersion |",
    "|---|---:|---|---|---|---|---|---|",
    "| `crds/widgets.yaml` | 1 | acme/widgets | `config/crd/widgets.yaml` | tag v1.2.3 | `{c}` (2026-08-01) "
    "| `{c}` ✓ |  |",
    "| `charts/widget/values.yaml` | 1 | acme/charts | `widget/values.yaml` | HEAD of default branch "
    "| `{c}` (2026-08-01) | `{c}` ✓ | 1.2.3 / 1.2.3 |",
]
SOURCES = "".join(row + "\n" for row in SOURCES_ROWS).replace("{c}", "0123456789abcdef0123456789abcdef01234567")


def prose(node: Any, parent: str = "") -> list[str]:
    """Prose keys left anywhere in a schema (a property may be *named* description)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if parent != "properties" and key in trim_schemas.PROSE_KEYS:
                found.append(key)
            found += prose(value, key)
    elif isinstance(node, list):
        for value in node:
            found += prose(value, parent)
    return found


def test_the_script_keeps_structure_drops_prose_and_records_the_source(tmp_path: Path) -> None:
    ref = tmp_path / "reference"
    (ref / "crds").mkdir(parents=True)
    (ref / "charts" / "widget").mkdir(parents=True)
    (ref / "crds" / "widgets.yaml").write_text(CRD)
    (ref / "charts" / "widget" / "values.yaml").write_text("# How many.\nreplicas: 1  # one\nimage: {tag: ''}\n")
    (ref / "SOURCES.md").write_text(SOURCES)
    out = tmp_path / "out"
    assert trim_schemas.main([str(ref), "--out", str(out)]) == 0
    doc = json.loads((out / "crds" / "widgets.json").read_text())
    assert doc["source"] == {
        "repository": "acme/widgets",
        "path": "config/crd/widgets.yaml",
        "ref": "tag v1.2.3",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "version": "",
    }
    assert doc["crds"][0]["group"] == "example.com" and doc["crds"][0]["kind"] == "Widget"
    assert doc["crds"][0]["versions"]["v1"]["properties"]["spec"] == {
        "type": "object",
        "required": ["size"],
        "properties": {
            "description": {"type": "string"},
            "size": {"type": "integer", "minimum": 1},
            "mode": {"type": "string", "enum": ["a", "b"], "pattern": "^[ab]$"},
        },
        "x-kubernetes-validations": [{"rule": "self.size < 10"}],
    }
    values = (out / "charts" / "widget" / "values.yaml").read_text()
    assert "How many" not in values and "# one" not in values
    assert "acme/charts widget/values.yaml at 0123456789abcdef0123456789abcdef01234567" in values
    assert yaml.safe_load(values) == {"replicas": 1, "image": {"tag": ""}}
    assert trim_schemas.main([str(ref), "--out", str(out), "--check"]) == 0
    (out / "charts" / "widget" / "values.yaml").write_text("replicas: 2\n")
    assert trim_schemas.main([str(ref), "--out", str(out), "--check"]) == 1


def test_a_file_without_a_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "other.yaml").write_text(CRD)
    (tmp_path / "SOURCES.md").write_text(SOURCES)
    with pytest.raises(SystemExit, match=r"does not say where crds/other\.yaml comes from"):
        trim_schemas.generate(tmp_path)


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("crds/*.json")), ids=lambda p: p.stem)
def test_every_committed_crd_names_its_source_and_holds_no_prose(path: Path) -> None:
    doc = json.loads(path.read_text())
    source = doc["source"]
    assert source["repository"].count("/") == 1 and len(source["commit"]) == 40 and source["path"].endswith(".yaml")
    assert doc["crds"] and all(c["versions"] for c in doc["crds"])
    assert prose(doc["crds"]) == []


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("charts/*/values*.yaml")), ids=lambda p: p.parent.name)
def test_every_committed_chart_values_file_names_its_source(path: Path) -> None:
    first, second = path.read_text().splitlines()[:2]
    assert first.startswith("# Generated by scripts/trim_schemas.py")
    assert second.startswith("# Source: ") and "chart version / appVersion: " in second
    assert isinstance(yaml.safe_load(path.read_text()), dict)
