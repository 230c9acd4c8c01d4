"""The promotion gate: a candidate gets traffic only if it is at least as accurate as the champion on a held-out
set, loses no declared slice beyond its tolerance, and answers fast enough under load.

Accuracy is computed here, on the candidate and on the champion pulled from the registry and loaded with MLflow
(``mlflow.pyfunc``), on the same rows, so the baseline is never a number logged under other conditions. Latency is
measured against the candidate as production would serve it: the same runtime, reached through the endpoint's
route pinned by ``x-model-version`` while the candidate still has no weight.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from .settings import EndpointRelease


@dataclass
class Evaluation:
    passed: bool
    reason: str
    accuracy: float
    baseline_accuracy: float
    baseline: str
    """``champion v<N>`` or ``fixed``."""
    slices: dict[str, dict[str, float]] = field(default_factory=dict)
    rows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _accuracy(predictions: Any, labels: Any) -> float:
    import numpy as np

    pred = np.asarray(predictions).reshape(len(labels), -1)[:, 0] if len(labels) else np.asarray([])
    return float((pred.astype(str) == np.asarray(labels).astype(str)).mean()) if len(labels) else 0.0


def evaluate(e: EndpointRelease, candidate_uri: str, champion_uri: str | None, champion_label: str) -> Evaluation:
    """Accuracy overall and per slice of the candidate against the champion (or the fixed baseline)."""
    import mlflow
    import pandas as pd

    data = pd.read_csv(mlflow.artifacts.download_artifacts(artifact_uri=e.heldout_uri))
    labels = data[e.label_column]
    inputs = data.drop(columns=[e.label_column])
    cand_pred = mlflow.pyfunc.load_model(candidate_uri).predict(inputs)
    champ_pred = mlflow.pyfunc.load_model(champion_uri).predict(inputs) if champion_uri else None
    accuracy = _accuracy(cand_pred, labels)
    baseline = _accuracy(champ_pred, labels) if champ_pred is not None else e.baseline_accuracy
    out = Evaluation(
        passed=True,
        reason="",
        accuracy=accuracy,
        baseline_accuracy=baseline,
        baseline=champion_label if champion_uri else "fixed",
        rows=len(data),
    )
    problems = []
    if accuracy < baseline:
        problems.append(f"accuracy {accuracy:.4f} below the baseline {baseline:.4f} ({out.baseline})")
    for name, query in e.slices.items():
        index = data.query(query).index
        rows = data.index.get_indexer(index)
        cand = _accuracy([cand_pred[i] for i in rows], labels.iloc[rows])
        base = _accuracy([champ_pred[i] for i in rows], labels.iloc[rows]) if champ_pred is not None else baseline
        out.slices[name] = {"rows": len(rows), "accuracy": cand, "baseline_accuracy": base}
        if len(rows) and cand < base - e.slice_tolerance:
            problems.append(
                f"slice {name!r} ({query}, {len(rows)} rows): accuracy {cand:.4f} is more than "
                f"{e.slice_tolerance:g} below the baseline {base:.4f}"
            )
    if problems:
        out.passed, out.reason = False, "; ".join(problems)
    return out


@dataclass
class LoadTest:
    passed: bool
    reason: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def infer_body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A v2 (Open Inference Protocol) request with one named input per column (MLServer's pandas codec)."""
    columns = list(rows[0])
    inputs = []
    for c in columns:
        values = [r[c] for r in rows]
        datatype = "FP64" if all(isinstance(v, (int, float)) for v in values) else "BYTES"
        inputs.append({"name": c, "shape": [len(rows), 1], "datatype": datatype, "data": values})
    return {"parameters": {"content_type": "pd"}, "inputs": inputs}


def load_test(e: EndpointRelease, gateway_url: str, slot: str, rows: list[dict[str, Any]]) -> LoadTest:
    """Requests pinned to ``slot``: ``load_test_requests``, ``load_test_concurrency`` at once."""
    url = f"{gateway_url.rstrip('/')}/v2/models/{e.model_name}/infer"
    headers = {"content-type": "application/json", "x-model-version": slot}
    if os.environ.get("RELEASE_API_KEY"):  # the controller's own client key in the endpoint's API key Secret
        headers["x-api-key"] = os.environ["RELEASE_API_KEY"]
    bodies = [json.dumps(infer_body([rows[i % len(rows)]])) for i in range(e.load_test_requests)]

    def one(client: httpx.Client, body: str) -> tuple[float, bool]:
        started = time.perf_counter()
        try:
            ok = client.post(url, content=body, headers=headers).status_code == 200
        except httpx.HTTPError:
            ok = False
        return (time.perf_counter() - started) * 1000, ok

    started = time.monotonic()
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(e.load_test_concurrency) as pool:
        # A few warm-up requests first: the first request of a fresh server pays its imports.
        for body in bodies[:3]:
            one(client, body)
        results = list(pool.map(lambda b: one(client, b), bodies))
    latencies = sorted(ms for ms, _ in results)
    errors = sum(1 for _, ok in results if not ok)
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    problems = []
    if p95 >= e.max_p95_ms:
        problems.append(f"load test p95 {p95:.1f} ms is not under {e.max_p95_ms:g} ms")
    if errors:
        problems.append(f"{errors} of {len(results)} load test requests failed")
    return LoadTest(
        passed=not problems,
        reason="; ".join(problems),
        requests=len(results),
        errors=errors,
        p50_ms=statistics.median(latencies),
        p95_ms=p95,
        max_ms=latencies[-1],
        seconds=time.monotonic() - started,
    )
