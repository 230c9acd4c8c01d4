"""The node model cache: a prefetcher per caching GPU pool, its identity, the local volume and claim model pods mount,
and the prefetch program itself run on a local folder."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.common import ArgsError
from components.serving import (
    MODEL_CACHE_NAMESPACE,
    PREFETCH_SCRIPT,
    ModelCache,
    ModelCacheArgs,
    cache_claim_name,
    cache_key,
    persistent_volume,
    persistent_volume_claim,
    prefetch_daemon_set,
)
from offline import render
from tests import k8s_schemas
from tests.conftest import by_type, one

URIS = ["s3://bucket/mlflow/9/models/m-a/artifacts", "s3://bucket/mlflow/9/models/m-b/artifacts"]
ARGS = ModelCacheArgs(
    pools={"batch": 20, "inference": 50},
    models={"batch": URIS},
    service_account_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/cache"},
)


@pytest.fixture
def regs(mocked):
    return mocked.run(lambda: ModelCache("model-cache", ARGS))


def test_one_prefetcher_per_caching_pool_on_that_pools_gpu_nodes() -> None:
    ds = prefetch_daemon_set(ARGS, "batch", URIS)
    pod = ds["spec"]["template"]["spec"]
    assert ds["metadata"]["namespace"] == MODEL_CACHE_NAMESPACE
    assert pod["nodeSelector"] == {"ml-platform.io/pool": "batch"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["serviceAccountName"] == "model-cache" and pod["automountServiceAccountToken"] is False
    assert pod["priorityClassName"] == "ml-platform-inference"
    container = pod["containers"][0]
    # KServe's storage initializer, pinned, runs the prefetch program over the URIs; its entrypoint downloads
    assert container["image"] == "docker.io/kserve/storage-initializer:v0.20.0"
    assert container["command"] == ["python3", "-c", PREFETCH_SCRIPT] and container["args"] == URIS
    env = {e["name"]: e["value"] for e in container["env"]}
    assert json.loads(env["ML_PLATFORM_CACHE_DOWNLOADER"]) == ["/storage-initializer/scripts/initializer-entrypoint"]
    assert {"name": "models", "hostPath": {"path": "/var/lib/ml-platform/models", "type": "DirectoryOrCreate"}} in pod[
        "volumes"
    ]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}


def test_the_prefetcher_is_root_only_to_own_the_host_folder_and_holds_no_capability() -> None:
    ctx = prefetch_daemon_set(ARGS, "batch", URIS)["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert ctx["runAsUser"] == 0 and ctx["runAsNonRoot"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}
    assert ctx["allowPrivilegeEscalation"] is False and ctx["privileged"] is False
    assert ctx["readOnlyRootFilesystem"] is True and ctx["seccompProfile"] == {"type": "RuntimeDefault"}


def test_model_pods_mount_a_read_only_local_volume_on_the_pool_through_a_pre_bound_claim() -> None:
    pv, pvc = persistent_volume(ARGS, "batch", 20), persistent_volume_claim(ARGS, "batch", 20)
    assert pv["spec"]["local"] == {"path": "/var/lib/ml-platform/models"}
    assert pv["spec"]["accessModes"] == pvc["spec"]["accessModes"] == ["ReadOnlyMany"]
    term = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]
    assert term == {"matchExpressions": [{"key": "ml-platform.io/pool", "operator": "In", "values": ["batch"]}]}
    assert pv["spec"]["claimRef"] == {"namespace": "ml-serving", "name": "model-cache-batch"}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pvc["metadata"]["name"] == cache_claim_name("batch") == "model-cache-batch"
    assert pvc["metadata"]["namespace"] == "ml-serving" and pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    assert cache_key(URIS[0]) == hashlib.sha256(URIS[0].encode()).hexdigest()[:16]


def test_the_component_creates_each_pools_objects_and_they_validate(regs) -> None:
    names = {r.inputs["metadata"]["name"] for r in by_type(regs, "kubernetes:apps/v1:DaemonSet")}
    assert names == {"model-cache-batch", "model-cache-inference"}
    inference = one(regs, "kubernetes:apps/v1:DaemonSet", "model-cache-inference")
    assert inference.inputs["spec"]["template"]["spec"]["containers"][0].get("args", []) == []  # keeps nothing: cleans
    ns = one(regs, "kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    account = one(regs, "kubernetes:core/v1:ServiceAccount")
    assert account.inputs["metadata"]["annotations"] == ARGS.service_account_annotations
    assert ns.urn in account.depends_on
    objs = [render.manifest(r) for r in regs if render.is_kubernetes_object(r)]
    assert {o["kind"] for o in objs} == {
        "Namespace",
        "NetworkPolicy",
        "ServiceAccount",
        "StorageClass",
        "DaemonSet",
        "PersistentVolume",
        "PersistentVolumeClaim",
    }
    assert [p for o in objs for p in k8s_schemas.validate_object(o, "1.35")] == []


def test_bad_arguments_are_refused_together() -> None:
    bad = ModelCacheArgs(
        pools={"GPU_pool": 0},
        models={"other": ["s3://b/m"]},
        host_path="/var/lib",
        image="docker.io/kserve/storage-initializer:latest",
        resync_seconds=5,
        download_timeout_seconds=10,
    )
    with pytest.raises(ArgsError) as err:
        ModelCache("model-cache", bad)
    assert err.value.problems == [
        "model-cache.pools.GPU_pool: pool name must be a DNS label of at most 51 characters (the claim is "
        "model-cache-<pool>), got 'GPU_pool'",
        "model-cache.pools.GPU_pool: must be >= 1 GiB, got 0",
        "model-cache.models.other: names no caching pool (GPU_pool), got 'other'",
        "model-cache.host_path: must be an absolute folder of its own (not /, /var, /var/lib or /tmp), got '/var/lib'",
        "model-cache.image: must carry a pinned tag (not latest), got 'docker.io/kserve/storage-initializer:latest'",
        "model-cache.resync_seconds: must be >= 30, got 5",
        "model-cache.download_timeout_seconds: must be >= 60, got 10",
    ]


# --- the prefetch program, on a local folder -----------------------------------------------------------------

COPY = "import shutil, sys; shutil.copytree(sys.argv[1].removeprefix('file://'), sys.argv[2], dirs_exist_ok=True)"
"""A downloader with the storage initializer's interface (``<uri> <folder>``) for ``file://`` URIs."""


def prefetch(root: Path, uris: list[str], downloader: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **extra,
        "ML_PLATFORM_CACHE_ROOT": str(root),
        "ML_PLATFORM_CACHE_DOWNLOADER": json.dumps(downloader),
        "ML_PLATFORM_CACHE_READY_FILE": str(root.parent / "ready"),
        "ML_PLATFORM_CACHE_ONCE": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", PREFETCH_SCRIPT, *uris], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_prefetcher_places_each_model_atomically_skips_what_is_there_and_removes_the_rest(tmp_path) -> None:
    source = tmp_path / "bucket" / "m1"
    (source / "sub").mkdir(parents=True)
    (source / "MLmodel").write_text("flavors: {}\n")
    (source / "sub" / "weights.bin").write_bytes(b"\0" * 4096)
    root = tmp_path / "models"
    root.mkdir()
    uri = f"file://{source}"
    key = cache_key(uri)
    (root / key).mkdir()  # what the kubelet leaves for a model pod's subPath before the copy is there
    (root / "0123456789abcdef").mkdir()  # a version no longer cached
    copy = [sys.executable, "-c", COPY]

    first = prefetch(root, [uri], copy)
    assert first.returncode == 0, first.stdout + first.stderr
    assert sorted(p.name for p in root.iterdir()) == [key]
    assert (root / key / "sub" / "weights.bin").read_bytes() == b"\0" * 4096
    marker = json.loads((root / key / ".ml-platform-cache.json").read_text())
    assert marker["uri"] == uri and marker["files"] == 2 and marker["bytes"] == 4096 + len("flavors: {}\n")
    assert (tmp_path / "ready").exists()

    # present and marked: not fetched again (a failing downloader is never called)
    again = prefetch(root, [uri], [sys.executable, "-c", "import sys; sys.exit(3)"])
    assert again.returncode == 0 and "cached" not in again.stdout

    # a failed download leaves no folder under the model's key and the node is not ready
    missing = f"file://{tmp_path / 'bucket' / 'nothing'}"
    failed = prefetch(root, [uri, missing], copy)
    assert failed.returncode == 1 and "download of" in failed.stdout
    assert sorted(p.name for p in root.iterdir()) == [key]
    assert not (tmp_path / "ready").exists()

    # a download that outlasts its limit counts as failed, and leaves nothing either
    hung = prefetch(
        root,
        [uri, missing],
        [sys.executable, "-c", "import time; time.sleep(30)"],
        ML_PLATFORM_CACHE_DOWNLOAD_TIMEOUT_SECONDS="1",
    )
    assert hung.returncode == 1 and f"download of {missing} failed" in hung.stdout
    assert sorted(p.name for p in root.iterdir()) == [key]
