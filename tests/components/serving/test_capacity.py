"""The platform's capacity pieces: the priority ladder of GPU work."""

from __future__ import annotations

from components.serving import (
    BATCH_PRIORITY,
    CRITICAL_INFERENCE_PRIORITY,
    INFERENCE_PRIORITY,
    ServingPlatform,
    ServingPlatformArgs,
    kserve_values,
)
from offline import render
from tests import k8s_schemas
from tests.conftest import by_type

RELEASE = "kubernetes:helm.sh/v3:Release"


def test_priority_classes_rank_critical_inference_over_inference_over_batch(mocked) -> None:
    regs = mocked.run(lambda: ServingPlatform("serving", ServingPlatformArgs()))
    classes = {
        r.inputs["metadata"]["name"]: r.inputs for r in by_type(regs, "kubernetes:scheduling.k8s.io/v1:PriorityClass")
    }
    assert set(classes) == {CRITICAL_INFERENCE_PRIORITY, INFERENCE_PRIORITY, BATCH_PRIORITY}
    values = [classes[n]["value"] for n in (CRITICAL_INFERENCE_PRIORITY, INFERENCE_PRIORITY, BATCH_PRIORITY)]
    assert values == sorted(values, reverse=True) and values[-1] > 0  # unclassed pods (0) rank below batch
    assert classes[BATCH_PRIORITY]["preemptionPolicy"] == "Never"  # batch waits, it never evicts
    assert not any(c["globalDefault"] for c in classes.values())
    # KServe's own local model machinery is not used (its download Jobs cannot tolerate the GPU taint)
    assert {r.inputs["name"] for r in by_type(regs, RELEASE)}.isdisjoint(
        {"kserve-localmodel-crd", "kserve-localmodel-resources"}
    )
    assert "localmodel" not in kserve_values(ServingPlatformArgs())["kserve"]
    priority = [render.manifest(r) for r in by_type(regs, "kubernetes:scheduling.k8s.io/v1:PriorityClass")]
    assert [p for o in priority for p in k8s_schemas.validate_object(o, "1.35")] == []
