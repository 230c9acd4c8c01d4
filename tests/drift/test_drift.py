"""The drift job on real data: scikit-learn's breast cancer data set (569 rows, 30 numeric features).

A random half against the other half is the same distribution and must stay under the threshold; the same half
with a third of its features scaled by 1.3 (a unit change upstream, say) must go over it. The command line the
CronJob runs is executed as a subprocess and pushes to a real HTTP receiver on 127.0.0.1, parsed with
prometheus_client's own parser.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from components.observability import DriftMonitorArgs, command  # noqa: E402
from drift.__main__ import parse  # noqa: E402
from drift.detect import compare, recent  # noqa: E402
from drift.push import registry_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
THRESHOLD = 0.3

# Looked up, not imported: importing Evidently takes seconds, and only the tests that run a comparison need it.
EVIDENTLY = find_spec("evidently") is not None and find_spec("sklearn") is not None
NO_EVIDENTLY = "the drift job's dependencies are in requirements-test.txt (make setup)"


@pytest.fixture(scope="module")
def halves() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.drop(columns=["target"])
    order = np.random.default_rng(7).permutation(len(frame))
    return frame.iloc[order[:285]].reset_index(drop=True), frame.iloc[order[285:]].reset_index(drop=True)


def drifted(frame: Any) -> Any:
    out = frame.copy()
    for column in out.columns[:10]:
        out[column] = out[column] * 1.3
    return out


@pytest.mark.integration
@pytest.mark.skipif(not EVIDENTLY, reason=NO_EVIDENTLY)
def test_same_distribution_stays_under_the_threshold(halves) -> None:
    reference, current = halves
    result = compare(reference, current)
    assert len(result.columns) == 30
    assert result.share < THRESHOLD
    assert result.current_rows == 284 and result.reference_rows == 285


@pytest.mark.integration
@pytest.mark.skipif(not EVIDENTLY, reason=NO_EVIDENTLY)
def test_shifted_features_raise_the_share_above_the_threshold(halves) -> None:
    reference, current = halves
    result = compare(reference, drifted(current))
    assert result.share > THRESHOLD
    shifted = {c.column for c in result.columns if c.drifted}
    assert shifted <= set(current.columns[:10]) and len(shifted) >= 8
    assert all(c.stattest == "K-S p_value" for c in result.columns)  # small samples: p-values, low means drift


def test_only_the_recent_window_counts() -> None:
    frame = pd.DataFrame({"ts": ["2026-11-20T00:00:00Z", "2026-11-22T07:00:00Z"], "x": [1.0, 2.0]})
    now = pd.Timestamp("2026-11-22T08:00:00Z").to_pydatetime()
    assert recent(frame, "ts", 24, now)["x"].tolist() == [2.0]
    assert len(recent(frame, None, 24, now)) == 2


class Receiver(BaseHTTPRequestHandler):
    pushes: ClassVar[list[tuple[str, str, str]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        Receiver.pushes.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    do_POST = do_PUT

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def pushgateway() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.pushes = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.integration
@pytest.mark.skipif(not EVIDENTLY, reason=NO_EVIDENTLY)
def test_the_cronjob_command_checks_and_pushes(tmp_path: Path, halves, pushgateway: str) -> None:
    reference, current = halves
    reference.to_csv(tmp_path / "reference.csv", index=False)
    drifted(current).to_parquet(tmp_path / "current.parquet")
    args = DriftMonitorArgs(
        model="cancer",
        image="img:1",
        reference_uri=str(tmp_path / "reference.csv"),
        current_uri=str(tmp_path / "current.parquet"),
        pushgateway_url=pushgateway,
        threshold=THRESHOLD,
    )
    cmd = command(args)
    assert cmd[:3] == ["python", "-m", "drift"]
    run = subprocess.run([sys.executable, *cmd[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "DRIFT" in run.stdout

    [(method, path, body)] = Receiver.pushes
    assert (method, path) == ("PUT", "/metrics/job/ml-drift/model/cancer")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert samples[("ml_drift_share", ())] > THRESHOLD
    assert samples[("ml_drift_threshold", ())] == THRESHOLD
    assert samples[("ml_drift_columns_drifted", ())] >= 8
    assert samples[("ml_drift_rows", (("window", "current"),))] == 284
    scores = [k for k in samples if k[0] == "ml_drift_column_score"]
    assert len(scores) == 30 and all(dict(k[1])["stattest"] == "K-S p_value" for k in scores)


@pytest.mark.integration
@pytest.mark.skipif(not EVIDENTLY, reason=NO_EVIDENTLY)
def test_pushed_names_are_the_ones_the_rules_and_dashboards_read(halves) -> None:
    from tests.metric_catalog import EXPORTED

    reference, current = halves
    registry = registry_for(compare(reference.iloc[:, :3], current.iloc[:, :3]), THRESHOLD, finished=0)
    names = {s.name for family in registry.collect() for s in family.samples}
    assert names <= set(EXPORTED), names - set(EXPORTED)


def test_bad_arguments_exit_2_and_unreadable_data_exits_1(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(["--model", "m", "--reference", "r", "--current", "c", "--threshold", "2"])
    assert exit_.value.code == 2
    from drift.__main__ import main

    assert main(["--model", "m", "--reference", str(tmp_path / "none.csv"), "--current", str(tmp_path / "x.csv")]) == 1
