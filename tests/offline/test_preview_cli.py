"""The offline preview as a user runs it: a process, its exit code, what it prints and what it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def preview(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "offline.preview", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_dev_prints_the_tree_and_writes_the_build(tmp_path: Path) -> None:
    proc = preview("dev", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    # Nothing is left for the interpreter to finalise noisily at exit (event loops, the pack's process).
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
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
    stack_file.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "aws:region": "us-west-2",
                    "ml-platform:environment": "dev",
                    "ml-platform:cloud": "aws",
                    "ml-platform:gpu_pools": {
                        "inference": {"instance_type": "g5.xlarge", "min_size": 2, "max_size": 1},
                        "shared": {"instance_type": "g5.xlarg", "sharing": {"mode": "timeslicing"}},
                    },
                }
            }
        )
    )
    proc = preview("broken", "--stack-file", str(stack_file), "--out", str(tmp_path / "build"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.splitlines() == [
        f"error: {stack_file}: stack 'broken' has 2 configuration problems:",
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


# --- policy verdicts and cost lines ---------------------------------------------------------------


def test_prod_prints_verdicts_and_cost_and_writes_them_to_the_plan(tmp_path: Path) -> None:
    proc = preview("prod", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (
        "Policies: ml-platform 0.1.0, 15 policies, config policies/config/prod.json\n  no violations\n" in proc.stdout
    )
    assert (
        "Cost (USD per month): idle $1,796.99 · full scale $5,893.81 · budget $7,000.00 (within, 84% of it)"
        in proc.stdout
    )
    assert "  inference-nodegroup                   $900.76    $3,603.04  1..4 x g5.2xlarge on-demand" in proc.stdout
    plan = json.loads((tmp_path / "prod" / "plan.json").read_text())
    assert plan["policy"] == {"pack": "ml-platform", "violations": [], "mandatory_failed": False}
    cost = plan["cost"]
    assert (cost["currency"], cost["monthly_idle"], cost["monthly_full"], cost["budget"]) == (
        "USD",
        1796.99,
        5893.81,
        7000,
    )
    assert set(cost["items"][0]) == {"urn", "name", "what", "monthly_idle", "monthly_full"}
    assert cost["items"][0]["name"] == "inference-nodegroup"
    assert round(sum(i["monthly_full"] for i in cost["items"]), 2) == cost["monthly_full"]


def test_mandatory_violation_exits_non_zero_like_pulumi_preview(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    doc["config"]["ml-platform:gpu_pools"]["inference"]["max_size"] = 8
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(doc))
    proc = preview("prod", "--stack-file", str(stack_file), "--out", str(tmp_path / "build"), "--quiet")
    assert proc.returncode == 1
    assert (
        "  [mandatory] cost-budget: monthly cost at full scale $9,496.85 exceeds the budget $7,000.00 by $2,496.85 "
        "(idle $1,796.99)" in proc.stdout
    )
    assert proc.stderr.strip() == "error: mandatory policy violations: cost-budget"
    plan = json.loads((tmp_path / "build" / "prod" / "plan.json").read_text())
    (violation,) = plan["policy"]["violations"]
    assert violation["policy"] == "cost-budget" and violation["level"] == "mandatory"
    assert set(violation) == {"policy", "level", "urn", "name", "type", "message"}
    assert (
        plan["policy"]["mandatory_failed"] is True and plan["cost"]["monthly_full"] == 9496.85
    )  # 5,893.81 + 4 more nodes x $900.76


def test_advisory_findings_do_not_fail_the_preview(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    doc["config"]["ml-platform:gpu_pools"]["inference"]["capacity"] = "on-demand"
    doc["config"]["ml-platform:gpu_pools"]["inference"]["sharing"] = {"mode": "none"}
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump(doc))
    proc = preview("dev", "--stack-file", str(stack_file), "--out", str(tmp_path / "build"))
    assert proc.returncode == 0, proc.stderr
    assert (
        "  [advisory] gpu-spot-nonprod: aws:eks/nodeGroup:NodeGroup inference-nodegroup: GPU node pool" in proc.stdout
    )
    assert "  [advisory] cost-budget: monthly cost at full scale $1,871.11 exceeds the budget $1,200.00" in proc.stdout


def test_a_bad_policy_config_file_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"gpu-scheduling": {"maxGpusPerPod": 0}}))
    proc = preview("dev", "--out", str(tmp_path), "--policy-pack-config", str(bad))
    assert proc.returncode == 1
    assert "gpu-scheduling.maxGpusPerPod: 0 is less than the minimum of 1" in proc.stderr


def test_broken_wiring_fails_the_preview_with_the_objects_involved(tmp_path: Path) -> None:
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    doc["config"]["ml-platform:observability"]["storage_class"] = "fast-ssd"  # no such StorageClass on EKS
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump(doc))
    proc = preview("dev", "--stack-file", str(stack_file), "--out", str(tmp_path / "build"), "--quiet")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "error: broken wiring: storage-class"
    finding = (
        "[storage-class] names StorageClass 'fast-ssd', which does not exist "
        "(Prometheus monitoring/kube-prometheus-stack-prometheus (from chart kube-prometheus-stack))"
    )
    assert f"  {finding}" in proc.stdout.splitlines()
    plan = json.loads((tmp_path / "build" / "dev" / "plan.json").read_text())
    assert plan["wiring"]["findings"] == [
        {
            "rule": "storage-class",
            "message": "names StorageClass 'fast-ssd', which does not exist",
            "objects": ["Prometheus monitoring/kube-prometheus-stack-prometheus (from chart kube-prometheus-stack)"],
        }
    ]
    assert "network-flows" in plan["wiring"]["rules"]
