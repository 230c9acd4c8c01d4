"""``make bench``: the floor it compares the preview with."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from offline import bench

ROOT = Path(__file__).resolve().parents[2]


def test_sdk_classes_name_the_provider_classes_of_the_plans_types(stack_run) -> None:
    from offline import render

    classes = bench.sdk_classes(render.plan(stack_run("dev")))
    assert "pulumi_aws.eks:Cluster" in classes and "pulumi_kubernetes.helm.v3:Release" in classes
    assert "pulumi_kubernetes.apiextensions:CustomResource" in classes
    assert not any(c.startswith("pulumi_gcp") for c in classes)


@pytest.mark.integration
def test_the_floor_registers_its_resources_and_exits_quietly() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "offline.bench", "--floor", "25", "--modules", "pulumi_kubernetes.core.v1:Namespace"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Exception ignored" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
