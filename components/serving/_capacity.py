"""The priority ladder of GPU work, which the serving platform adds for capacity under pressure.

Why the platform owns it: a PriorityClass is cluster-wide and shared by every endpoint (and by the batch and
training work it ranks them against).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

CRITICAL_INFERENCE_PRIORITY = "ml-platform-critical-inference"
INFERENCE_PRIORITY = "ml-platform-inference"
BATCH_PRIORITY = "ml-platform-batch"
PRIORITY_CLASSES: dict[str, tuple[int, str]] = {
    CRITICAL_INFERENCE_PRIORITY: (100_000, "Critical model endpoints: preempt anything below them on a GPU pool."),
    INFERENCE_PRIORITY: (10_000, "Model endpoints: outrank batch and training work on shared GPU pools."),
    BATCH_PRIORITY: (1_000, "Batch inference and training: run on spare GPU capacity, never preempt."),
}
"""The platform's priority ladder: name -> (value, description). Pods without a class have priority 0."""


def priority_class_objects(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name, "labels": dict(labels)},
            "value": value,
            "globalDefault": False,
            "preemptionPolicy": "Never" if name == BATCH_PRIORITY else "PreemptLowerPriority",
            "description": description,
        }
        for name, (value, description) in PRIORITY_CLASSES.items()
    ]


def capacity_resources(name: str, labels: dict[str, str], child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """The PriorityClasses."""
    return [
        k8s.scheduling.v1.PriorityClass(
            f"{name}-priority-{obj['metadata']['name']}",
            metadata=obj["metadata"],
            value=obj["value"],
            global_default=obj["globalDefault"],
            preemption_policy=obj["preemptionPolicy"],
            description=obj["description"],
            opts=child,
        )
        for obj in priority_class_objects(labels)
    ]
