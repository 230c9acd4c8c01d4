"""The node model cache's prefetch program with KServe's own download code, against an S3 API on loopback.

The prefetcher (``components/serving/_model_cache.py``) runs in KServe's storage-initializer image and calls its
entrypoint, which is ``Storage.download_files(src_uris, dest_paths)`` of the ``kserve_storage`` package. Here the
same package (``kserve-storage==0.20.0``, in its own environment ``.venv-storage``) runs those few lines against
``moto_server``: a model logged under MLflow's layout is placed on the "node" once, atomically and marked; a
second pass downloads nothing; a version dropped from the list is removed; a version whose prefix holds nothing
leaves no folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.serving import PREFETCH_SCRIPT, cache_key
from offline import runner
from tests.integration.local_services import S3Endpoint

STORAGE_PYTHON = runner.ROOT / ".venv-storage" / "bin" / "python"

ENTRYPOINT = """\
import sys
from kserve_storage import Storage
try:
    Storage.download_files(sys.argv[1::2], sys.argv[2::2])
except Exception as e:
    print(f"Storage initialization failed: {e}", file=sys.stderr)
    sys.exit(1)
"""
"""What the image's ``initializer-entrypoint`` does for plain downloads (kserve/kserve v0.20.0,
``python/storage-initializer/scripts/initializer-entrypoint``), less its logging set-up and decryption."""

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not STORAGE_PYTHON.exists(), reason="kserve-storage not installed: `make setup` creates .venv-storage"
    ),
]


@pytest.fixture
def s3(tmp_path: Path):
    endpoint = S3Endpoint().start(tmp_path / "moto.log")
    yield endpoint
    endpoint.stop()


def prefetch(root: Path, s3: S3Endpoint, uris: list[str]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ML_PLATFORM_CACHE_ROOT": str(root),
        "ML_PLATFORM_CACHE_DOWNLOADER": json.dumps([str(STORAGE_PYTHON), "-c", ENTRYPOINT]),
        "ML_PLATFORM_CACHE_READY_FILE": str(root.parent / "ready"),
        "ML_PLATFORM_CACHE_ONCE": "1",
        "AWS_ENDPOINT_URL": s3.url,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [sys.executable, "-c", PREFETCH_SCRIPT, *uris], env=env, capture_output=True, text=True, timeout=180
    )


def test_kserves_download_fills_the_node_folder_once_and_the_prefetcher_keeps_it_in_step(s3, tmp_path) -> None:
    client = s3.client()
    client.create_bucket(Bucket="artifacts")
    prefix = "mlflow/9/models/m-embeddings-v1/artifacts"
    files = {"MLmodel": b"flavors:\n  python_function: {}\n", "model.bin": os.urandom(3 * 1024 * 1024)}
    for name, body in files.items():
        client.put_object(Bucket="artifacts", Key=f"{prefix}/{name}", Body=body)
    uri = f"s3://artifacts/{prefix}"
    root = tmp_path / "node" / "models"
    root.mkdir(parents=True)
    (root / "0123456789abcdef").mkdir()  # a version no longer cached

    first = prefetch(root, s3, [uri])
    assert first.returncode == 0, first.stdout + first.stderr
    folder = root / cache_key(uri)
    assert sorted(p.name for p in root.iterdir()) == [cache_key(uri)]
    assert {name: (folder / name).read_bytes() for name in files} == files
    marker = json.loads((folder / ".ml-platform-cache.json").read_text())
    assert marker["uri"] == uri and marker["files"] == 2 and marker["bytes"] == sum(map(len, files.values()))
    assert (root.parent / "ready").exists()

    # The copy is there: a second pass fetches nothing, even with the bucket gone.
    client.delete_object(Bucket="artifacts", Key=f"{prefix}/model.bin")
    second = prefetch(root, s3, [uri])
    assert second.returncode == 0 and "cached" not in second.stdout
    assert (folder / "model.bin").read_bytes() == files["model.bin"]

    # A version whose prefix holds nothing fails, leaves no folder, and the node is not ready.
    empty = "s3://artifacts/mlflow/9/models/m-missing/artifacts"
    third = prefetch(root, s3, [uri, empty])
    assert third.returncode == 1 and f"download of {empty} failed" in third.stdout
    assert sorted(p.name for p in root.iterdir()) == [cache_key(uri)]
    assert not (root.parent / "ready").exists()

    # Dropped from the list: removed from the node.
    assert prefetch(root, s3, []).returncode == 0
    assert list(root.iterdir()) == []
