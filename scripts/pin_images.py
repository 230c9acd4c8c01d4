"""Pin the images the platform builds to the digests just pushed, in every stack file that uses them.

Why a digest: a tag can be moved to other content after review; ``name:tag@sha256:...`` pulls exactly what the
images workflow built from a reviewed commit, and the tag stays for people reading the stack file. The workflow
(``.github/workflows/images.yml``) runs this after pushing and opens a pull request with the change, so a new image
reaches a stack only through review and the normal preview and deploy path.

    python scripts/pin_images.py drift=ghcr.io/acme/ml-platform/drift:3f2c1e0@sha256:<64 hex> [NAME=REF ...]

Each ``NAME`` is an image the platform builds (``drift``, ``mlserver-mlflow``, ``release-controller``); every
reference to ``<registry>/<owner>/ml-platform/<NAME>`` (with any tag or digest) in ``stacks/Pulumi.*.yaml`` is
replaced. The text is edited in place, so comments and layout stay. Exit status: 0 (prints each changed file), 2 on
bad arguments.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ("drift", "mlserver-mlflow", "release-controller")
PINNED = re.compile(r"^[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+/ml-platform/(?P<name>[a-z0-9-]+):[\w.-]+@sha256:[0-9a-f]{64}$")


def reference_pattern(name: str) -> re.Pattern[str]:
    """Any reference to the platform's image ``name``, whatever its registry, owner, tag or digest."""
    return re.compile(
        r"(?<![\w./-])[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+/ml-platform/"
        + re.escape(name)
        + r"(:[\w.-]+)?(@sha256:[0-9a-f]{64})?(?![\w./@:-])"
    )


def pin(text: str, refs: dict[str, str]) -> str:
    for name, ref in refs.items():
        text = reference_pattern(name).sub(ref, text)
    return text


def parse(argv: list[str]) -> dict[str, str]:
    refs: dict[str, str] = {}
    for arg in argv:
        name, _, ref = arg.partition("=")
        match = PINNED.match(ref)
        if name not in IMAGES or match is None or match.group("name") != name:
            raise ValueError(
                f"{arg!r}: expected NAME=<registry>/<owner>/ml-platform/NAME:<tag>@sha256:<digest> with NAME one of "
                f"{', '.join(IMAGES)}"
            )
        refs[name] = ref
    if not refs:
        raise ValueError("name at least one image: NAME=REF")
    return refs


def main(argv: list[str] | None = None, stacks: Path = ROOT / "stacks") -> int:
    try:
        refs = parse(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in sorted(stacks.glob("Pulumi.*.yaml")):
        text = path.read_text()
        pinned = pin(text, refs)
        if pinned != text:
            path.write_text(pinned)
            print(f"pinned: {path.relative_to(stacks.parent) if path.is_relative_to(stacks.parent) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
