"""The node-level model cache: every node of a caching GPU pool keeps the cached model versions on its own disk, so
a new replica mounts the node's copy instead of pulling the model from the bucket.

Why the platform's own prefetcher and not KServe's LocalModelCache: KServe v0.20's download Job (the node agent's
``launchJob``) carries a node selector and no tolerations, and every GPU node is tainted
``nvidia.com/gpu=present:NoSchedule``; EKS and GKE do not run the ``PodTolerationRestriction`` admission plugin
that could add one, so the Job never schedules there and the cache never fills (the whole decision is in
``docs/serving.md``). So, per caching pool:

* a **DaemonSet** on the pool's nodes (``ml-platform.io/pool``), tolerating the GPU taint, runs
  :data:`PREFETCH_SCRIPT` in KServe's own storage-initializer image (pinned; it reads ``s3://`` and ``gs://``
  with the pod's cloud identity): each cached version's model is downloaded once per node into a host folder,
  ``<host_path>/<sha256(uri)[:16]>``, through a temporary folder and a rename, with a completion marker inside;
  what is there is skipped, what is no longer listed is removed;
* its own **ServiceAccount**, whose cloud identity (made by the MLflow layer) may read only under the cached
  versions' prefixes;
* a ``local`` **PersistentVolume** per pool at that host folder, with node affinity on the pool and ``ReadOnlyMany``,
  pre-bound to a **claim** in the serving namespace: an InferenceService of a cached version names
  ``pvc://<claim>/<key>``, which KServe mounts read-only at ``/mnt/models`` (``subPath`` the key) instead of
  running its storage initializer.

The prefetcher runs as user 0 with every capability dropped: the kubelet creates the host folder owned by root,
and the owner needs no capability to write in it; the namespace admits ``hostPath`` (Pod Security ``privileged``,
which ``baseline`` refuses), and nothing else runs there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import (
    MANAGED_BY_LABELS,
    POOL_LABEL,
    ContainerSecurity,
    PlatformComponent,
    Problems,
    ScratchDir,
    gpu_toleration,
    merge_labels,
)
from ._capacity import INFERENCE_PRIORITY

MODEL_CACHE_NAMESPACE = "ml-platform-model-cache"
MODEL_CACHE_SERVICE_ACCOUNT = "model-cache"
MODEL_CACHE_STORAGE_CLASS = "ml-platform-model-cache"
MODEL_CACHE_IMAGE = "docker.io/kserve/storage-initializer:v0.20.0"
MODEL_CACHE_MARKER = ".ml-platform-cache.json"
"""File the prefetcher writes last into a model's folder, before renaming the folder into place."""
SOURCE_ANNOTATION = "ml-platform.io/model-cache-source"
"""Annotation on a cached version's InferenceService: the bucket URI its node copy was downloaded from."""
CACHE_MOUNT = "/cache"

PREFETCH_SCRIPT = """\
import hashlib, json, os, shutil, subprocess, sys, time
root = os.environ["ML_PLATFORM_CACHE_ROOT"]
downloader = json.loads(os.environ["ML_PLATFORM_CACHE_DOWNLOADER"])
resync = int(os.environ.get("ML_PLATFORM_CACHE_RESYNC_SECONDS", "300"))
ready = os.environ.get("ML_PLATFORM_CACHE_READY_FILE", "/tmp/ready")
limit = int(os.environ.get("ML_PLATFORM_CACHE_DOWNLOAD_TIMEOUT_SECONDS", "7200"))
marker = ".ml-platform-cache.json"
wanted = {hashlib.sha256(u.encode()).hexdigest()[:16]: u for u in sys.argv[1:]}

def fetch(key, uri):
    final, tmp = os.path.join(root, key), os.path.join(root, ".tmp-" + key)
    if os.path.isfile(os.path.join(final, marker)):
        return True
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    started = time.time()
    try:
        failed = subprocess.run([*downloader, uri, tmp], timeout=limit).returncode != 0
    except subprocess.TimeoutExpired:
        failed = True
    if failed:
        print(f"download of {uri} failed; next try in {resync} s", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    files = [os.path.join(d, f) for d, _, names in os.walk(tmp) for f in names]
    if not files:
        print(f"{uri} holds no files; next try in {resync} s", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    with open(os.path.join(tmp, marker), "w") as out:
        size = sum(os.path.getsize(f) for f in files)
        json.dump({"uri": uri, "files": len(files), "bytes": size, "seconds": round(time.time() - started, 1)}, out)
        out.flush()
        os.fsync(out.fileno())
    # A folder without the marker was made by the kubelet for a model pod's subPath before the copy was there.
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    print(f"cached {uri} in {final}", flush=True)
    return True

while True:
    complete = all([fetch(key, uri) for key, uri in sorted(wanted.items())])
    for name in os.listdir(root):
        if name not in wanted and name.removeprefix(".tmp-") not in wanted:
            path = os.path.join(root, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            print(f"removed {path}: no longer cached", flush=True)
    if complete:
        open(ready, "w").close()
    elif os.path.exists(ready):
        os.remove(ready)
    if os.environ.get("ML_PLATFORM_CACHE_ONCE"):
        sys.exit(0 if complete else 1)
    time.sleep(resync)
"""
"""The prefetcher: arguments are the URIs to keep; each is fetched with the downloader command (KServe's storage
initializer entrypoint: ``<uri> <folder>``) into a temporary folder, marked complete and renamed into place."""

STORAGE_INITIALIZER_ENTRYPOINT = ["/storage-initializer/scripts/initializer-entrypoint"]
"""The image's entrypoint (kserve/kserve ``python/storage-initializer/scripts/initializer-entrypoint``):
``src_uri dest_path`` pairs, exit 1 on a failed download."""

SCRATCH = ScratchDir()


def cache_key(uri: str) -> str:
    """The folder a model version's copy lives in on a node: the first 16 hex digits of its URI's SHA-256."""
    return hashlib.sha256(uri.encode()).hexdigest()[:16]


def cache_claim_name(pool: str) -> str:
    """The claim (in the serving namespace) through which model pods mount the copies on ``pool``'s nodes."""
    return f"model-cache-{pool}"


def cached_storage_uri(pool: str, uri: pulumi.Input[str]) -> pulumi.Input[str]:
    """``pvc://<claim>/<key>``: what a cached version's InferenceService names instead of its bucket URI."""
    if isinstance(uri, str):
        return f"pvc://{cache_claim_name(pool)}/{cache_key(uri)}"
    return pulumi.Output.all(uri).apply(lambda u: f"pvc://{cache_claim_name(pool)}/{cache_key(u[0])}")


@dataclass(kw_only=True)
class ModelCacheArgs:
    """Arguments of :class:`ModelCache`."""

    pools: dict[str, int]
    """GPU pools that cache -> disk per node for the cache, GiB (the pool's node disk grows by as much). Required."""
    models: dict[str, list[pulumi.Input[str]]] = field(default_factory=dict)
    """GPU pool -> bucket URIs of the model versions kept on its nodes. Default none."""
    namespace: str = MODEL_CACHE_NAMESPACE
    """Namespace of the prefetchers (created here; Pod Security ``privileged`` for the host folder). Default
    ``ml-platform-model-cache``."""
    serving_namespace: str = "ml-serving"
    """Namespace of the model endpoints, where the claims are created. Default ``ml-serving``."""
    host_path: str = "/var/lib/ml-platform/models"
    """Folder on each node that holds the copies. Default ``/var/lib/ml-platform/models``."""
    image: str = MODEL_CACHE_IMAGE
    """Image of the prefetcher: KServe's storage initializer, pinned. Default
    ``docker.io/kserve/storage-initializer:v0.20.0``."""
    resync_seconds: int = 300
    """Seconds between two passes of the prefetcher (a failed download is retried then). Default 300."""
    download_timeout_seconds: int = 7200
    """Longest one model's download may take before it counts as failed (and is retried). Default 7200."""
    service_account_annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Annotations of the prefetcher's ServiceAccount: its cloud identity on the model bucket (IRSA role, Google
    service account). Default none."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels on the objects created here. Default none."""

    def validate(self, problems: Problems) -> None:
        p = problems
        for key in ("namespace", "serving_namespace"):
            value = getattr(self, key)
            ok = 0 < len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()
            p.check(
                ok and all(c.islower() or c.isdigit() or c == "-" for c in value), key, "must be a DNS label", value
            )
        p.check(bool(self.pools), "pools", "must name at least one GPU pool", self.pools)
        for pool, gib in self.pools.items():
            ok = 0 < len(pool) <= 51 and pool[0].isalnum() and pool[-1].isalnum()
            ok = ok and all(c.islower() or c.isdigit() or c == "-" for c in pool)
            p.check(
                ok,
                f"pools.{pool}",
                "pool name must be a DNS label of at most 51 characters (the claim is model-cache-<pool>)",
                pool,
            )
            p.check(gib >= 1, f"pools.{pool}", "must be >= 1 GiB", gib)
        for pool in self.models:
            p.check(pool in self.pools, f"models.{pool}", f"names no caching pool ({', '.join(self.pools)})", pool)
        p.check(
            self.host_path.startswith("/") and self.host_path.rstrip("/") not in ("", "/var", "/var/lib", "/tmp"),
            "host_path",
            "must be an absolute folder of its own (not /, /var, /var/lib or /tmp)",
            self.host_path,
        )
        p.check(
            ":" in self.image.rsplit("/", 1)[-1] and not self.image.endswith(":latest"),
            "image",
            "must carry a pinned tag (not latest)",
            self.image,
        )
        p.check(self.resync_seconds >= 30, "resync_seconds", "must be >= 30", self.resync_seconds)
        p.check(
            self.download_timeout_seconds >= 60,
            "download_timeout_seconds",
            "must be >= 60",
            self.download_timeout_seconds,
        )


def _pod_labels(pool: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "model-cache", "app.kubernetes.io/instance": pool}


def prefetcher_security() -> dict[str, Any]:
    """User 0 to own the host folder the kubelet creates; no capability, no escalation, read-only root."""
    return {**ContainerSecurity(run_as_user=0, run_as_group=0).render(), "runAsNonRoot": False}


def prefetch_daemon_set(args: ModelCacheArgs, pool: str, uris: list[pulumi.Input[str]]) -> dict[str, Any]:
    """The prefetcher of one pool: one pod per node of the pool, the host folder mounted at ``/cache``."""
    labels = merge_labels(MANAGED_BY_LABELS, args.labels, _pod_labels(pool))
    container = {
        "name": "prefetch",
        "image": args.image,
        "command": ["python3", "-c", PREFETCH_SCRIPT],
        "args": list(uris),
        "env": [
            {"name": "ML_PLATFORM_CACHE_ROOT", "value": CACHE_MOUNT},
            {"name": "ML_PLATFORM_CACHE_DOWNLOADER", "value": '["' + STORAGE_INITIALIZER_ENTRYPOINT[0] + '"]'},
            {"name": "ML_PLATFORM_CACHE_RESYNC_SECONDS", "value": str(args.resync_seconds)},
            {"name": "ML_PLATFORM_CACHE_DOWNLOAD_TIMEOUT_SECONDS", "value": str(args.download_timeout_seconds)},
            {"name": "ML_PLATFORM_CACHE_READY_FILE", "value": f"{SCRATCH.path}/ready"},
            {"name": "HOME", "value": SCRATCH.path},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": prefetcher_security(),
        "volumeMounts": [{"name": "models", "mountPath": CACHE_MOUNT}, SCRATCH.mount()],
        # Ready once every listed model is complete on this node.
        "readinessProbe": {
            "exec": {
                "command": ["python3", "-c", f"import os, sys; sys.exit(not os.path.exists('{SCRATCH.path}/ready'))"]
            },
            "periodSeconds": 30,
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": f"model-cache-{pool}",
            "namespace": args.namespace,
            "labels": labels,
            # Ready means every model is on the node, which takes as long as the downloads: nothing waits for it.
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "selector": {"matchLabels": _pod_labels(pool)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": MODEL_CACHE_SERVICE_ACCOUNT,
                    # The pod never calls the Kubernetes API; IRSA mounts its own token, GKE needs none.
                    "automountServiceAccountToken": False,
                    "priorityClassName": INFERENCE_PRIORITY,
                    "nodeSelector": {POOL_LABEL: pool},
                    "tolerations": [gpu_toleration()],
                    "securityContext": {"runAsUser": 0, "runAsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [
                        {"name": "models", "hostPath": {"path": args.host_path, "type": "DirectoryOrCreate"}},
                        SCRATCH.volume(),
                    ],
                },
            },
        },
    }


def volume_name(args: ModelCacheArgs, pool: str) -> str:
    return f"{args.serving_namespace}-model-cache-{pool}"


def persistent_volume(args: ModelCacheArgs, pool: str, gib: int) -> dict[str, Any]:
    """The host folder as a ``local`` volume on every node of the pool, pre-bound to the pool's claim."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name(args, pool), "labels": merge_labels(MANAGED_BY_LABELS, args.labels)},
        "spec": {
            "capacity": {"storage": f"{gib}Gi"},
            "accessModes": ["ReadOnlyMany"],
            "volumeMode": "Filesystem",
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": MODEL_CACHE_STORAGE_CLASS,
            "local": {"path": args.host_path},
            "claimRef": {"namespace": args.serving_namespace, "name": cache_claim_name(pool)},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": [pool]}]}
                    ]
                }
            },
        },
    }


def persistent_volume_claim(args: ModelCacheArgs, pool: str, gib: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": cache_claim_name(pool),
            "namespace": args.serving_namespace,
            "labels": merge_labels(MANAGED_BY_LABELS, args.labels),
            # Bound to its pre-named volume at once; the pods that mount it come later.
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "accessModes": ["ReadOnlyMany"],
            "storageClassName": MODEL_CACHE_STORAGE_CLASS,
            "volumeName": volume_name(args, pool),
            "resources": {"requests": {"storage": f"{gib}Gi"}},
        },
    }


def storage_class(labels: dict[str, str]) -> dict[str, Any]:
    """Static volumes only: nothing provisions, the pre-bound volume is the one the claim gets."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": MODEL_CACHE_STORAGE_CLASS, "labels": dict(labels)},
        "provisioner": "kubernetes.io/no-provisioner",
        "volumeBindingMode": "WaitForFirstConsumer",
        "reclaimPolicy": "Retain",
    }


class ModelCache(PlatformComponent):
    """Per caching GPU pool: a prefetcher DaemonSet, a local PersistentVolume and its claim for the model pods."""

    namespace: str
    """Namespace of the prefetchers."""
    service_account: str
    """ServiceAccount the prefetchers run as (``namespace/name``)."""
    claims: dict[str, str]
    """GPU pool -> claim (in the serving namespace) that mounts the pool's copies."""

    def __init__(self, name: str, args: ModelCacheArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:model_cache:ModelCache", name, args, opts)
        labels = merge_labels(MANAGED_BY_LABELS, args.labels)
        self.namespace = args.namespace
        self.service_account = f"{args.namespace}/{MODEL_CACHE_SERVICE_ACCOUNT}"
        self.claims = {pool: cache_claim_name(pool) for pool in args.pools}
        ns = self._namespace(name, args, labels)
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=MODEL_CACHE_SERVICE_ACCOUNT,
                namespace=args.namespace,
                labels=labels,
                annotations=dict(args.service_account_annotations),
            ),
            automount_service_account_token=False,
            opts=after_ns,
        )
        sc = storage_class(labels)
        k8s.storage.v1.StorageClass(
            f"{name}-storage-class",
            metadata=sc["metadata"],
            provisioner=sc["provisioner"],
            volume_binding_mode=sc["volumeBindingMode"],
            reclaim_policy=sc["reclaimPolicy"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        for pool, gib in sorted(args.pools.items()):
            self._pool(name, args, pool, gib, pulumi.ResourceOptions(parent=self, depends_on=[ns, account]))
        self.register_outputs({"namespace": self.namespace, "claims": self.claims})

    def _namespace(self, name: str, args: ModelCacheArgs, labels: dict[str, str]) -> k8s.core.v1.Namespace:
        """The prefetchers' namespace: ``privileged`` admits their host folder; ingress denied (they serve nothing)."""
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels=merge_labels(
                    labels,
                    {
                        "pod-security.kubernetes.io/enforce": "privileged",
                        "pod-security.kubernetes.io/warn": "baseline",
                    },
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-default-deny-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny-ingress", namespace=args.namespace, labels=labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(pod_selector={}, policy_types=["Ingress"]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ns]),
        )
        return ns

    def _pool(self, name: str, args: ModelCacheArgs, pool: str, gib: int, opts: pulumi.ResourceOptions) -> None:
        ds = prefetch_daemon_set(args, pool, args.models.get(pool, []))
        k8s.apps.v1.DaemonSet(f"{name}-{pool}", metadata=ds["metadata"], spec=ds["spec"], opts=opts)
        pv = persistent_volume(args, pool, gib)
        volume = k8s.core.v1.PersistentVolume(
            f"{name}-{pool}-volume", metadata=pv["metadata"], spec=pv["spec"], opts=pulumi.ResourceOptions(parent=self)
        )
        pvc = persistent_volume_claim(args, pool, gib)
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-{pool}-claim",
            metadata=pvc["metadata"],
            spec=pvc["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[volume]),
        )
