"""Every bad input to the offline preview ends in exit 1, the file and the user's key named, the bad value quoted,
and no traceback. The corpus is data (``bad_inputs.py``); most cases run in-process (fast), a few as processes."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cost import prices
from offline import preview

from .bad_inputs import CASES, POLICY_CASES, PRICE_CASES, Case, FileCase

ROOT = Path(__file__).resolve().parents[2]


def stack_text(case: Case) -> bytes:
    """The stack file a case describes: its own text, or a shipped stack with ``set`` applied."""
    if case.text is not None:
        return case.text if isinstance(case.text, bytes) else case.text.encode()
    doc: dict[str, Any] = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{case.base}.yaml").read_text())
    for path, value in case.set.items():
        node = doc["config"]
        *parents, last = path.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode()


def write_case(case: Case, tmp_path: Path) -> Path:
    path = tmp_path / f"Pulumi.{case.base}.yaml"
    path.write_bytes(stack_text(case))
    return path


def run_in_process(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, Path]:
    path = write_case(case, tmp_path)
    argv = [case.base, "--stack-file", str(path), "--out", str(tmp_path / "build"), "--quiet", "--skip-policies"]
    code = preview.main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err, path


def test_the_corpus_is_large_and_covers_every_kind() -> None:
    kinds = Counter(c.kind for c in CASES)
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
    for kind in ("not-yaml", "duplicate-key", "dns-name", "bucket", "quantity", "count", "cidr", "hostname"):
        assert kinds[kind] >= 2, kind
    for kind in ("endpoint", "storage-uri", "kubeconfig", "secret", "region"):
        assert kinds[kind] >= 1, kind


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_stack_file_is_rejected_with_its_key_and_value(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, path = run_in_process(case, tmp_path, capsys)
    assert code == 1, output
    assert "Traceback" not in output
    assert output.startswith(f"error: {path}"), output
    lines = [line.removeprefix("  - ").removeprefix(f"error: {path}: ") for line in output.splitlines()]
    for expected in case.expect:
        assert expected in lines, output
    assert not (tmp_path / "build").exists()


def file_text(case: FileCase, shipped: Path) -> str:
    if case.text is not None:
        return case.text
    assert case.replace is not None
    old, new = case.replace
    text = shipped.read_text()
    assert old in text, f"the shipped file no longer has {old!r}"
    return text.replace(old, new, 1)


@pytest.fixture
def price_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A copy of the price table the program and the cost model read instead of cost/prices.yaml."""
    path = tmp_path / "prices.yaml"
    monkeypatch.setattr(prices, "TABLE_PATH", path)
    prices._table.cache_clear()
    yield path
    prices._table.cache_clear()


@pytest.mark.parametrize("case", PRICE_CASES, ids=lambda c: c.id)
def test_bad_price_table_names_the_table_and_the_entry(
    case: FileCase, price_table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    price_table.write_text(file_text(case, ROOT / "cost" / "prices.yaml"))
    code = preview.main(["dev", "--out", str(tmp_path / "build"), "--quiet", "--skip-policies"])
    output = capsys.readouterr().err
    assert code == 1, output
    assert "Traceback" not in output and output.startswith("error: stacks/Pulumi.dev.yaml: ")
    assert f"  - {case.expect}" in output.splitlines(), output
    assert "pool_hourly_prices_usd" not in output


@pytest.mark.parametrize("case", POLICY_CASES, ids=lambda c: c.id)
def test_bad_policy_config_is_rejected_before_the_program_runs(
    case: FileCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.json"
    path.write_text(file_text(case, ROOT / "policies" / "config" / "dev.json"))
    code = preview.main(["dev", "--out", str(tmp_path / "build"), "--quiet", "--policy-pack-config", str(path)])
    output = capsys.readouterr().err
    assert code == 1, output
    assert output.splitlines() == [f"error: {path}: {case.expect}"]


# A representative few as the user runs them: a process, its exit code, nothing after the message.
PROCESS_CASES = ["tab-indent", "duplicate-pool", "pool-leading-dash", "memory-2-gigs", "mlflow-password-plain"]


@pytest.mark.integration
@pytest.mark.parametrize("case_id", PROCESS_CASES)
def test_as_a_process_exit_1_and_no_traceback_at_exit(case_id: str, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    path = write_case(case, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "offline.preview", case.base, "--stack-file", str(path), "--out", str(tmp_path / "b")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert proc.stderr.startswith(f"error: {path}: ")
    assert any(
        line.removeprefix("  - ").removeprefix(f"error: {path}: ") == case.expect[0]
        for line in proc.stderr.splitlines()
    )
