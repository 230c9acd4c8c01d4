"""The README's reuse example runs as another team's program: installed package name, under mocks."""

from __future__ import annotations

import runpy
from pathlib import Path

from tests.conftest import one

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gpu-pool-on-existing-eks" / "__main__.py"


def test_example_imports_the_installed_package_and_registers_the_pool(mocked) -> None:
    regs = mocked.run(lambda: runpy.run_path(str(EXAMPLE), run_name="__main__"))
    group = one(regs, "aws:eks/nodeGroup:NodeGroup").inputs
    assert group["clusterName"] == "team-cluster"
    assert group["taints"][0]["key"] == "nvidia.com/gpu"
    assert group["labels"]["nvidia.com/device-plugin.config"] == "time-slicing-4"
    assert one(regs, "ml-platform:gpu_node_pool:GpuNodePool").type.startswith("ml-platform:")
    release = one(regs, "kubernetes:helm.sh/v3:Release")
    assert "time-slicing-4" in release.inputs["values"]["config"]["map"]


SERVING_EXAMPLE = (
    Path(__file__).resolve().parents[2] / "examples" / "model-endpoint-on-existing-cluster" / "__main__.py"
)


def test_serving_example_installs_the_platform_and_a_canary(mocked) -> None:
    regs = mocked.run(lambda: runpy.run_path(str(SERVING_EXAMPLE), run_name="__main__"))
    route = one(regs, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs
    split = next(r for r in route["spec"]["rules"] if r["name"] == "split")
    assert [b["weight"] for b in split["backendRefs"]] == [90, 10]
    assert one(regs, "ml-platform:model_endpoint:ModelEndpoint").type.startswith("ml-platform:")
    assert len([r for r in regs if r.type == "kubernetes:helm.sh/v3:Release"]) == 6
