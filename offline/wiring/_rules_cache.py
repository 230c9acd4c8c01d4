"""The node model cache: a model pod that mounts a node's copy finds one there, on the nodes it runs on.

The chain has five links no single object shows: the InferenceService names ``pvc://<claim>/<key>``; the claim is
bound to a ``local`` volume whose node affinity names one GPU pool; the pods run only on that pool; a prefetcher
DaemonSet on that pool keeps the host folder the volume points at and lists the URI whose key the pod mounts; and
it tolerates every taint of the pool's nodes, or it never runs there and the folder stays empty. (That its
identity may read each URI is the ``storage-identity`` rule's: the prefetcher's arguments are what it reads.)
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._base import Finding, rule
from ._render import Obj, Render

POOL_LABEL = "ml-platform.io/pool"
SOURCE_ANNOTATION = "ml-platform.io/model-cache-source"
CLOUD_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule", "NO_EXECUTE": "NoExecute"}


def _key(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()[:16]


def pool_taints(render: Render) -> dict[str, list[dict[str, str]]]:
    """GPU pool -> taints of its nodes, from the EKS node groups and GKE node pools the stack creates."""
    out: dict[str, list[dict[str, str]]] = {}
    for r in render.of_type("aws:eks/nodeGroup:NodeGroup"):
        pool = (r.inputs.get("labels") or {}).get(POOL_LABEL)
        if pool:
            out[pool] = list(r.inputs.get("taints") or [])
    for r in render.of_type("gcp:container/nodePool:NodePool"):
        config = r.inputs.get("nodeConfig") or {}
        pool = (config.get("labels") or {}).get(POOL_LABEL)
        if pool:
            out[pool] = list(config.get("taints") or [])
    return out


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    effect = CLOUD_EFFECTS.get(str(taint.get("effect")), str(taint.get("effect")))
    for t in tolerations:
        if t.get("effect") not in (None, "", effect):
            continue
        if t.get("operator") == "Exists" and t.get("key") in (None, "", taint.get("key")):
            return True
        if t.get("key") == taint.get("key") and t.get("value") == taint.get("value"):
            return True
    return False


def _pod_spec(o: Obj) -> dict[str, Any]:
    return (o.spec.get("template") or {}).get("spec") or {}


def prefetchers(render: Render, pool: str, host_path: str) -> list[Obj]:
    """DaemonSets on ``pool``'s nodes that mount ``host_path``."""
    found = []
    for ds in render.of_kind("DaemonSet"):
        spec = _pod_spec(ds)
        if (spec.get("nodeSelector") or {}).get(POOL_LABEL) != pool:
            continue
        if any((v.get("hostPath") or {}).get("path") == host_path for v in spec.get("volumes") or []):
            found.append(ds)
    return found


def _listed(ds: Obj) -> set[str]:
    return {_key(str(a)) for c in _pod_spec(ds).get("containers") or [] for a in c.get("args") or []}


def _volume_pools(pv: Obj) -> set[str]:
    terms = (((pv.spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms")) or []
    pools: set[str] = set()
    for term in terms:
        for e in term.get("matchExpressions") or []:
            if e.get("key") == POOL_LABEL and e.get("operator") == "In":
                pools |= set(e.get("values") or [])
    return pools


def _check(render: Render, isvc: Obj, claim_name: str, key: str) -> list[str]:
    predictor = isvc.spec.get("predictor") or {}
    claim = next(
        (c for c in render.of_kind("PersistentVolumeClaim") if (c.namespace, c.name) == (isvc.namespace, claim_name)),
        None,
    )
    if claim is None:
        return [f"mounts claim {claim_name}, which the stack does not create in {isvc.namespace}"]
    volume_name = claim.spec.get("volumeName")
    pv = next((v for v in render.of_kind("PersistentVolume") if v.name == volume_name), None)
    host = ((pv.spec.get("local") or {}).get("path")) if pv is not None else None
    if pv is None or not host:
        return [f"claim {claim_name} is bound to no local volume the stack creates ({volume_name!r})"]
    pool = (predictor.get("nodeSelector") or {}).get(POOL_LABEL)
    if pool is None or pool not in _volume_pools(pv):
        return [
            f"its pods run on pool {pool!r}, not on the pool(s) volume {pv.name} lies on ({sorted(_volume_pools(pv))})"
        ]
    problems = []
    source = ((isvc.body.get("metadata") or {}).get("annotations") or {}).get(SOURCE_ANNOTATION)
    if isinstance(source, str) and _key(source) != key:
        problems.append(f"mounts copy {key}, but its source {source} is kept as {_key(source)}")
    daemons = prefetchers(render, pool, host)
    if not daemons:
        return [*problems, f"no prefetcher DaemonSet on pool {pool!r} keeps {host}"]
    if not any(key in _listed(ds) for ds in daemons):
        problems.append(f"no prefetcher on pool {pool!r} lists the model it mounts (copy {key})")
    for taint in pool_taints(render).get(pool, []):
        for ds in daemons:
            if not tolerates(_pod_spec(ds).get("tolerations") or [], taint):
                problems.append(f"prefetcher {ds.ref} does not tolerate taint {taint.get('key')} of pool {pool!r}")
    return problems


@rule(
    "model-cache",
    "volumes",
    "A model pod that mounts a node's cached copy (pvc://) names a claim bound to a local volume on its own pool, "
    "where a prefetcher that tolerates the pool's taints keeps that host folder and lists its model.",
)
def model_cache(render: Render) -> list[Finding]:
    found = []
    for isvc in render.of_kind("InferenceService", "serving.kserve.io"):
        uri = ((isvc.spec.get("predictor") or {}).get("model") or {}).get("storageUri")
        if not isinstance(uri, str) or not uri.startswith("pvc://"):
            continue
        claim_name, _, key = uri.removeprefix("pvc://").partition("/")
        for message in _check(render, isvc, claim_name, key.strip("/")):
            found.append(Finding("model-cache", message, (isvc.ref,)))
    return found
