"""The offline preview as a user runs it: a process, its exit code, what it prints and what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def preview(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "offline.preview", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_dev_prints_the_tree_and_writes_the_build(tmp_path: Path) -> None:
    proc = preview("dev", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("ml-platform · stack dev · aws (us-west-2) · environment dev")
    assert "├─ EksCluster mlp-dev" in out
    assert "GpuNodePool inference" in out
    assert "taints=nvidia.com/gpu=present:NO_SCHEDULE" in out
    assert "chart=nvidia-device-plugin@0.20.0" in out
    build = tmp_path / "dev"
    plan = json.loads((build / "plan.json").read_text())
    assert plan["format"] == "ml-platform/plan@1" and plan["stack"] == "dev"
    values = yaml.safe_load((build / "helm" / "nvidia-device-plugin" / "values.yaml").read_text())
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]
    release = yaml.safe_load((build / "helm" / "nvidia-device-plugin" / "release.yaml").read_text())
    assert release["repository"] == "https://nvidia.github.io/k8s-device-plugin" and release["version"] == "0.20.0"
    assert (build / "manifests" / "all.yaml").exists()


def test_bad_config_lists_every_problem_and_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {
        "aws:region": "us-west-2",
        "ml-platform:environment": "dev",
        "ml-platform:cloud": "aws",
        "ml-platform:gpu_pools": {
            "inference": {"instance_type": "g5.xlarge", "min_size": 2, "max_size": 1},
            "shared": {"instance_type": "g5.xlarg", "sharing": {"mode": "timeslicing"}},
        },
    }}))
    proc = preview("broken", "--stack-file", str(stack_file), "--out", str(tmp_path / "build"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.splitlines() == [
        "error: stack 'broken' has 2 configuration problems:",
        "  - gpu_pools.shared.sharing.mode: must be one of 'none', 'time-slicing' or 'mig', got 'timeslicing'",
        "  - gpu_pools.inference.max_size: must be >= min_size (2), got 1",
    ]
    assert not (tmp_path / "build").exists()


def test_missing_required_key(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.nocloud.yaml"
    stack_file.write_text(yaml.safe_dump({"config": {"ml-platform:environment": "dev"}}))
    proc = preview("nocloud", "--stack-file", str(stack_file), "--out", str(tmp_path))
    assert proc.returncode == 1
    assert "  - cloud: is required but not set (pulumi config set ml-platform:cloud <value>)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_stack_exits_2() -> None:
    proc = preview("nope")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no stack 'nope'; stacks: ")
