"""The pack's own files: the project file, its requirements, and rules that stay pure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from policies.rules import ALL

ROOT = Path(__file__).resolve().parents[2]


def test_project_file_runs_the_pack_in_the_projects_virtualenv() -> None:
    doc = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert doc["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "../.venv"}}
    assert doc["version"] == "0.1.0"


def test_pack_requirements_pin_what_the_project_pins() -> None:
    def pins(path: Path) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
        return dict(line.split("==") for line in lines if "==" in line)

    project, pack = pins(ROOT / "requirements.txt"), pins(ROOT / "policies" / "requirements.txt")
    assert set(pack) == {"pulumi", "pulumi-policy", "PyYAML"}
    assert {k: project[k] for k in pack} == pack


def test_rule_modules_are_pure() -> None:
    code = (
        "import sys\nimport policies.rules\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('infra', 'components', 'offline', 'pulumi_policy', 'pulumi')))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_every_rule_has_name_description_level_and_schema_with_defaults() -> None:
    assert len({r.name for r in ALL}) == len(ALL) == 15
    for rule in ALL:
        assert rule.name.replace("-", "").isalnum() and rule.name.islower()
        assert rule.description.endswith(".") or rule.description.endswith(").")
        assert rule.enforcement_level in ("mandatory", "advisory")
        assert rule.config_schema, rule.name
        for key, prop in rule.config_schema.items():
            assert {"type", "default", "description"} <= set(prop), (rule.name, key)
