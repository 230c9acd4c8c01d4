"""docs/configuration.md is exactly what the models say (regenerate: python -m infra.config.reference)."""

from pathlib import Path

from infra.config import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_reference_is_up_to_date() -> None:
    assert DOC.read_text() == reference.render(), (
        "docs/configuration.md is stale: run `.venv/bin/python -m infra.config.reference > docs/configuration.md`"
    )


def test_every_field_is_documented() -> None:
    assert "|  |" not in reference.render().replace("| - |", ""), "a config field has no docstring"
