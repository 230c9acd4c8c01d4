"""The offline job of preview.yml, run for real: its scripts build both plans, compare them and write the comment.

The workspace is laid out as the job lays it out: ``base/`` (here this repository) beside ``head/`` (a copy of
``offline/`` with the rest linked, and its own ``stacks/``: dev with a bigger GPU pool, and a new stack whose
configuration is wrong). The scripts run under bash as GitHub runs them, with the runner's variables set.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import diff

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def steps() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    return {s["name"]: s for s in doc["jobs"]["offline"]["steps"] if "name" in s}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("workspace")
    # The job runs `.venv/bin/python` in each checkout (what `make setup` creates there); here both are the
    # environment running the tests, wherever it lives (the Makefile's VENV).
    venv = Path(sys.prefix)
    base = ws / "base"
    base.mkdir()
    for entry in ROOT.iterdir():
        if entry.name != ".venv":
            (base / entry.name).symlink_to(entry)
    (base / ".venv").symlink_to(venv)
    head = ws / "head"
    head.mkdir()
    shutil.copytree(ROOT / "offline", head / "offline", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("infra", "components", "cost", "policies", "Pulumi.yaml"):
        (head / name).symlink_to(ROOT / name)
    (head / ".venv").symlink_to(venv)
    (head / "stacks").mkdir()
    dev = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    dev["config"]["ml-platform:gpu_pools"]["inference"]["max_size"] = 4
    (head / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump(dev))
    broken = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    broken["config"]["ml-platform:gpu_pools"] = {"a": {"instance_type": "g5.xlarge", "min_size": 3, "max_size": 1}}
    (head / "stacks" / "Pulumi.broken.yaml").write_text(yaml.safe_dump(broken))
    return ws


def run_job(ws: Path, stack: str) -> dict[str, Any]:
    temp = ws / f"temp-{stack}"
    temp.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(ws),
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(temp / "output"),
        "GITHUB_STEP_SUMMARY": str(temp / "summary"),
        "STACK": stack,
        "PR_NUMBER": "42",
        "BASE_REF": "main",
        "HEAD_SHA": "abcdef0" + "1" * 33,
    }
    job = steps()
    for name in ("Build both plans with the offline preview", "Compare the plans"):
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", job[name]["run"]],
            cwd=ws,
            env=env,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, f"{name}: {proc.stdout}{proc.stderr}"
    outputs = dict(line.split("=", 1) for line in (temp / "output").read_text().split())
    return {"temp": temp, "outputs": outputs, "comment": (temp / "comment" / f"{stack}.md").read_text()}


def test_changed_stack_gets_a_comment_a_full_report_and_the_pr_number(workspace: Path) -> None:
    result = run_job(workspace, "dev")
    temp = result["temp"]
    assert result["outputs"] == {"base": "0", "head": "0"}
    lines = result["comment"].splitlines()
    base_plan = json.loads((temp / "plans" / "base" / "dev" / "plan.json").read_text())
    base_commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert lines[:6] == [
        diff.marker("dev"),
        "### Offline preview of `dev`",
        "",
        f"Comparing `main at {base_commit}` → `#42 at abcdef0, merged into main`.",
        "",
        f"Resources: 0 to create, 1 to update, 0 to delete, {len(base_plan['resources']) - 1} unchanged.",
    ]
    assert "  - `scalingConfig.maxSize`: `2` → `4`" in lines
    assert (temp / "comment" / "pr-number").read_text() == "42\n"
    assert (temp / "full" / "dev.md").read_text() == result["comment"]  # small enough: nothing cut
    assert (temp / "summary").read_text() == result["comment"]
    assert (temp / "plans" / "base" / "dev" / "plan.json").exists()
    assert (temp / "plans" / "head" / "dev" / "manifests" / "all.yaml").exists()


def test_new_stack_with_a_bad_config_reports_the_error_and_fails_the_job(workspace: Path) -> None:
    result = run_job(workspace, "broken")
    assert result["outputs"] == {"base": "absent", "head": "1"}
    lines = result["comment"].splitlines()
    assert lines[:3] == [diff.marker("broken"), "### Offline preview of `broken`", ""]
    assert lines[3].startswith("Comparing `main at ") and lines[3].endswith("` → `#42 at abcdef0, merged into main`.")
    assert "❌ **The offline preview of the head failed**, so there is nothing to compare." in lines
    assert "  - gpu_pools.a.max_size: must be >= min_size (3), got 1" in lines
    fail = steps()["Fail when the head's preview failed"]
    assert fail["if"] == "steps.plans.outputs.head != '0' && steps.plans.outputs.head != 'absent'"
