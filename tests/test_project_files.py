"""Pulumi.yaml and the stack files: what the Pulumi CLI reads must be right even though the CLI is not here."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_project_file() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "ml-platform"
    assert project["main"] == "infra/" and (ROOT / "infra" / "__main__.py").exists()
    assert project["stackConfigDir"] == "stacks"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    for key, decl in project["config"].items():
        # Project-level declarations accept only these types; structured keys are documented, not declared.
        assert decl["type"] in ("string", "integer", "boolean", "array") and decl["description"], key


def test_stack_files_hold_values_only() -> None:
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert set(doc) <= {"config", "secretsprovider", "encryptionsalt", "environment"}, path.name
        for key, value in doc["config"].items():
            assert ":" in key, f"{path.name}: {key} needs a namespace (ml-platform:{key})"
            assert not (isinstance(value, str) and value.startswith(("${", "{{"))), f"{path.name}: {key} is not a value"


def test_requirements_are_pinned() -> None:
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith(("-r", "-e")):
                assert "==" in line, f"{name}: {line} is not pinned"
