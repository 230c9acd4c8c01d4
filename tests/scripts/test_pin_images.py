"""scripts/pin_images.py: the images workflow's way of pinning the stacks to the digests it pushed."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import yaml

from offline import runner

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("pin_images", ROOT / "scripts" / "pin_images.py")
assert SPEC is not None and SPEC.loader is not None
pin_images = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(pin_images)

DIGEST = "sha256:" + "ab" * 32
DRIFT = f"ghcr.io/acme/ml-platform/drift:3f2c1e0a9b8c@{DIGEST}"
MLSERVER = f"ghcr.io/acme/ml-platform/mlserver-mlflow:3f2c1e0a9b8c@{DIGEST}"


def test_dev_uses_the_images_the_workflow_builds_and_pins(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "stacks", stacks)
    before = (stacks / "Pulumi.dev.yaml").read_text()
    assert pin_images.main([f"drift={DRIFT}", f"mlserver-mlflow={MLSERVER}"], stacks=stacks) == 0
    after = (stacks / "Pulumi.dev.yaml").read_text()
    config = yaml.safe_load(after)["config"]
    assert config["ml-platform:observability"]["drift"]["image"] == DRIFT
    assert config["ml-platform:serving"]["platform"]["mlserver_image"] == MLSERVER
    # Only the references changed: comments and every other line stay.
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert [b.strip() for _, b in changed] == [f"image: {DRIFT}", f"mlserver_image: {MLSERVER}"]
    # A second run with the same digests changes nothing; the pinned stack still previews.
    assert pin_images.main([f"drift={DRIFT}"], stacks=stacks) == 0 and (stacks / "Pulumi.dev.yaml").read_text() == after
    config_text, _ = runner.read_stack_file("dev", stack_file=stacks / "Pulumi.dev.yaml")
    assert DRIFT in config_text["ml-platform:observability"]


def test_a_pinned_reference_is_replaced_by_the_next_one() -> None:
    text = f"      image: {DRIFT}  # pinned\n      other: ghcr.io/acme/ml-platform/drift-extra:1\n"
    newer = DRIFT.replace("ab" * 32, "cd" * 32)
    assert pin_images.pin(text, {"drift": newer}) == (
        f"      image: {newer}  # pinned\n      other: ghcr.io/acme/ml-platform/drift-extra:1\n"
    )


def test_only_digest_references_of_known_images_are_accepted(capsys) -> None:
    for bad in ("drift=ghcr.io/acme/ml-platform/drift:1", f"other={DRIFT}", f"drift={MLSERVER}", ""):
        assert pin_images.main([bad] if bad else [], stacks=ROOT / "stacks") == 2
        assert capsys.readouterr().err.startswith("error: ")
