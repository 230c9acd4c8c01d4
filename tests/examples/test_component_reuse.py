"""One runnable example per domain, run as another team's program would run it: under its installed package name
(``ml_platform_components``), under Pulumi mocks.

The package name is pointed at this checkout's ``components`` for the test, so an example is tested against the
code beside it rather than against whatever copy happens to be installed.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import components
from tests.conftest import by_type, one

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOMAINS = ("common", "cluster", "mlflow", "serving", "observability")


@pytest.fixture(autouse=True)
def installed_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import ml_platform_components`` gives this checkout's components (the name the package installs under)."""
    monkeypatch.setitem(sys.modules, "ml_platform_components", components)
    for domain in DOMAINS:
        monkeypatch.setitem(sys.modules, f"ml_platform_components.{domain}", sys.modules[f"components.{domain}"])


def run_example(mocked, name: str):
    return mocked.run(lambda: runpy.run_path(str(EXAMPLES / name / "__main__.py"), run_name="__main__"))


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_each_example_is_a_complete_pulumi_project(name: str) -> None:
    folder = EXAMPLES / name
    for part in ("Pulumi.yaml", "__main__.py", "requirements.txt", "README.md"):
        assert (folder / part).is_file(), f"{name} lacks {part}"
    assert "from ml_platform_components import" in (folder / "__main__.py").read_text()
    assert "ml-platform-components" in (folder / "requirements.txt").read_text()


def test_there_is_an_example_per_domain() -> None:
    used = " ".join((p / "__main__.py").read_text() for p in EXAMPLES.iterdir() if p.is_dir())
    for component in ("GpuNodePool", "Mlflow(", "ModelEndpoint", "MonitoringStack"):
        assert component in used


def test_cluster_example_registers_a_time_sliced_pool_and_the_plugin(mocked) -> None:
    regs = run_example(mocked, "gpu-pool-on-existing-eks")
    group = one(regs, "aws:eks/nodeGroup:NodeGroup").inputs
    assert group["clusterName"] == "team-cluster"
    assert group["taints"][0]["key"] == "nvidia.com/gpu"
    assert group["labels"]["nvidia.com/device-plugin.config"] == "time-slicing-4"
    assert one(regs, "ml-platform:gpu_node_pool:GpuNodePool").type.startswith("ml-platform:")
    release = one(regs, "kubernetes:helm.sh/v3:Release")
    assert "time-slicing-4" in release.inputs["values"]["config"]["map"]


def test_serving_example_installs_the_platform_and_a_canary(mocked) -> None:
    regs = run_example(mocked, "model-endpoint-on-existing-cluster")
    route = one(regs, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs
    split = next(r for r in route["spec"]["rules"] if r["name"] == "split")
    assert [b["weight"] for b in split["backendRefs"]] == [90, 10]
    assert one(regs, "ml-platform:model_endpoint:ModelEndpoint").type.startswith("ml-platform:")
    assert len(by_type(regs, "kubernetes:helm.sh/v3:Release")) == 6


def test_mlflow_example_runs_the_server_and_its_stores_in_the_cluster(mocked) -> None:
    regs = run_example(mocked, "mlflow-on-existing-cluster")
    one(regs, "ml-platform:mlflow:Mlflow")
    deployment = one(regs, "kubernetes:apps/v1:Deployment", "mlflow-deployment").inputs
    assert deployment["metadata"]["namespace"] == "team-mlflow"
    assert deployment["spec"]["replicas"] == 2
    assert one(regs, "kubernetes:policy/v1:PodDisruptionBudget", "mlflow-pdb")
    assert not [r for r in regs if r.type.startswith(("aws:", "gcp:"))]  # nothing outside the cluster


def test_monitoring_example_deploys_the_team_slos(mocked) -> None:
    regs = run_example(mocked, "monitoring-on-existing-cluster")
    one(regs, "ml-platform:monitoring_stack:MonitoringStack")
    rule = one(regs, "kubernetes:monitoring.coreos.com/v1:PrometheusRule").inputs
    text = str(rule["spec"])
    assert 'p95{model!~"ranker"} > 0.3' in text and 'p95{model="ranker"} > 0.5' in text
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
