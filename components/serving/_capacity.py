"""Cluster-wide pieces the serving platform adds for capacity under pressure: the priority ladder of GPU work
and KServe's node-level model cache (its charts' values, one LocalModelNodeGroup per GPU pool that caches).

Why the platform owns them: a PriorityClass or a node group is shared by every endpoint, and the node cache needs
two KServe charts and a namespace for KServe's download jobs that exist once per cluster.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from ..common import POOL_LABEL, gpu_toleration


class CacheSettings(Protocol):
    """What the node cache reads of the platform's arguments (``ServingPlatformArgs`` has it)."""

    kserve_namespace: str
    kserve_chart_version: str
    model_cache_pools: dict[str, int]
    model_cache_job_annotations: dict[str, str]


CRITICAL_INFERENCE_PRIORITY = "ml-platform-critical-inference"
INFERENCE_PRIORITY = "ml-platform-inference"
BATCH_PRIORITY = "ml-platform-batch"
PRIORITY_CLASSES: dict[str, tuple[int, str]] = {
    CRITICAL_INFERENCE_PRIORITY: (100_000, "Critical model endpoints: preempt anything below them on a GPU pool."),
    INFERENCE_PRIORITY: (10_000, "Model endpoints: outrank batch and training work on shared GPU pools."),
    BATCH_PRIORITY: (1_000, "Batch inference and training: run on spare GPU capacity, never preempt."),
}
"""The platform's priority ladder: name -> (value, description). Pods without a class have priority 0."""

MODEL_CACHE_STORAGE_CLASS = "ml-platform-model-cache"
MODEL_CACHE_HOST_PATH = "/models"
"""Host folder the KServe node agent (DaemonSet, chart ``kserve-localmodel-resources``) keeps models in."""


MODEL_CACHE_JOB_NAMESPACE = "kserve-localmodel-jobs"
"""Namespace KServe's node agents run their download Jobs in (the chart's ``kserve.localmodel.jobNamespace``)."""


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


def model_cache_storage_class(labels: dict[str, str]) -> dict[str, Any]:
    """The class the node groups' local volumes name: static volumes only, bound when a pod needs one."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": MODEL_CACHE_STORAGE_CLASS, "labels": dict(labels)},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Delete",
    }


def localmodel_values(kserve_version: str, pools: list[str]) -> dict[str, Any]:
    """``kserve-localmodel-resources`` values: the node agent on the caching GPU pools' nodes only; the shared
    objects (inferenceservice-config, issuer) stay with ``kserve-resources``, which already creates them."""
    on_pools = {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": sorted(pools)}]}
    return {
        "kserve": {
            "version": kserve_version,
            "createSharedResources": False,
            "localmodelnode": {
                "controller": {
                    # Helm merges maps: null removes the chart's default selector (kserve/localmodel: worker);
                    # the pool affinity below picks the nodes.
                    "nodeSelector": {"kserve/localmodel": None},
                    "tolerations": [gpu_toleration()],
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [on_pools]}
                        }
                    },
                }
            },
        }
    }


def local_model_node_group(pool: str, cache_gib: int, labels: dict[str, str]) -> dict[str, Any]:
    """KServe's LocalModelNodeGroup for one GPU pool: a local volume at the agent's host folder on its nodes."""
    size = f"{cache_gib}Gi"
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "LocalModelNodeGroup",
        "metadata": {"name": pool, "labels": dict(labels)},
        "spec": {
            "storageLimit": size,
            "persistentVolumeSpec": {
                "accessModes": ["ReadWriteOnce"],
                "volumeMode": "Filesystem",
                "capacity": {"storage": size},
                "local": {"path": MODEL_CACHE_HOST_PATH},
                "storageClassName": MODEL_CACHE_STORAGE_CLASS,
                "persistentVolumeReclaimPolicy": "Delete",
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [pool]}]}
                        ]
                    }
                },
            },
            "persistentVolumeClaimSpec": {
                "accessModes": ["ReadWriteOnce"],
                "volumeMode": "Filesystem",
                "resources": {"requests": {"storage": size}},
                "storageClassName": MODEL_CACHE_STORAGE_CLASS,
            },
        },
    }


def capacity_resources(
    name: str,
    args: CacheSettings,
    labels: dict[str, str],
    child: pulumi.ResourceOptions,
    release: Any,
    kserve_crd: pulumi.Resource,
    releases: dict[str, Any],
) -> list[pulumi.Resource]:
    """PriorityClasses always; with cached pools, KServe's local model charts, node groups and job namespace."""
    made: list[pulumi.Resource] = [
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
    if not args.model_cache_pools:
        return made
    jobs_ns = k8s.core.v1.Namespace(
        f"{name}-model-cache-jobs-ns",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=MODEL_CACHE_JOB_NAMESPACE,
            labels=labels,
            # KServe v0.20's download Jobs carry no tolerations, and GPU nodes are tainted. Where the API server
            # runs the PodTolerationRestriction admission plugin, this gives the Jobs the GPU toleration.
            annotations={"scheduler.alpha.kubernetes.io/defaultTolerations": json.dumps([gpu_toleration()])},
        ),
        opts=child,
    )
    crd = release("kserve-localmodel-crd", args.kserve_namespace, args.kserve_chart_version, {}, deps=(kserve_crd,))
    agent = release(
        "kserve-localmodel-resources",
        args.kserve_namespace,
        args.kserve_chart_version,
        localmodel_values(args.kserve_chart_version, list(args.model_cache_pools)),
        deps=(crd, releases["kserve-resources"], jobs_ns),
    )
    sc = model_cache_storage_class(labels)
    made += [jobs_ns, crd, agent]
    made.append(
        k8s.storage.v1.StorageClass(
            f"{name}-model-cache-storageclass",
            metadata=sc["metadata"],
            provisioner=sc["provisioner"],
            volume_binding_mode=sc["volumeBindingMode"],
            reclaim_policy=sc["reclaimPolicy"],
            opts=child,
        )
    )
    if args.model_cache_job_annotations:
        made.append(
            k8s.core.v1.ServiceAccountPatch(
                f"{name}-model-cache-job-identity",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(
                    name="default",
                    namespace=MODEL_CACHE_JOB_NAMESPACE,
                    annotations=args.model_cache_job_annotations,
                ),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[jobs_ns])),
            )
        )
    for pool, gib in sorted(args.model_cache_pools.items()):
        group = local_model_node_group(pool, gib, labels)
        made.append(
            k8s.apiextensions.CustomResource(
                f"{name}-model-cache-{pool}",
                api_version=group["apiVersion"],
                kind=group["kind"],
                metadata=group["metadata"],
                spec=group["spec"],
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[crd])),
            )
        )
    return made


def kserve_localmodel_values(pools: dict[str, int]) -> dict[str, Any]:
    """``kserve-resources`` values that switch KServe's webhook to mounting cached copies (when a pool caches)."""
    return {"localmodel": {"enabled": True, "jobNamespace": MODEL_CACHE_JOB_NAMESPACE}} if pools else {}


def check_cache_pools(pools: dict[str, int], problems: Any) -> None:
    for pool, gib in pools.items():
        valid = 0 < len(pool) <= 63 and pool[0].isalnum() and pool[-1].isalnum()
        valid = valid and all(c.islower() or c.isdigit() or c == "-" for c in pool)
        problems.check(valid, f"model_cache_pools.{pool}", "pool name must be a DNS label", pool)
        problems.check(gib >= 1, f"model_cache_pools.{pool}", "must be >= 1 GiB", gib)
