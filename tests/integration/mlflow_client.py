"""The client side of the MLflow integration test, run as its own process like a data scientist's job would be.

Why a separate process: the test process has the Pulumi SDKs loaded (it renders the server's command), and
MLflow's default scikit-learn format (skops) scans every loaded module on import, which turns the Pulumi SDKs'
lazy modules into a minute of imports. A clean client process is also the honest shape of the test: the
server and its clients share nothing but HTTP.

Usage (tracking URI and credentials come from ``MLFLOW_TRACKING_URI`` / ``_USERNAME`` / ``_PASSWORD``):

    python -m tests.integration.mlflow_client train  STATE.json WORKDIR
    python -m tests.integration.mlflow_client verify STATE.json WORKDIR
    python -m tests.integration.mlflow_client write  RUN_ID     (prints "ack <step>" per acknowledged write)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

MODEL = "iris-classifier"


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train(state: Path, root: Path) -> None:
    """Two runs, two registered versions of a logistic regression on iris (shipped with scikit-learn), aliases."""
    import mlflow
    from sklearn import __version__ as sklearn_version
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    mlflow.set_experiment("iris")
    runs: dict[str, Any] = {}
    for c in (0.05, 1.0):
        with mlflow.start_run(run_name=f"logreg-c{c}") as run:
            model = LogisticRegression(C=c, max_iter=500).fit(X_train, y_train)
            accuracy = float(model.score(X_test, y_test))
            mlflow.log_param("C", c)
            mlflow.log_metric("accuracy", accuracy)
            report = root / f"report-{c}.txt"
            report.write_text(f"C={c} accuracy={accuracy}\n" * 200)
            mlflow.log_artifact(str(report), artifact_path="reports")
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=MODEL,
                input_example=X_test[:2],
                pip_requirements=[f"scikit-learn=={sklearn_version}"],
            )
            runs[run.info.run_id] = {
                "C": c,
                "accuracy": accuracy,
                "report": sha256(report),
                "version": int(info.registered_model_version),
                "predictions": model.predict(X_test).tolist(),
            }
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.set_registered_model_alias(MODEL, "challenger", "2")
    with mlflow.start_run(run_name="interrupted") as run:
        interrupted = run.info.run_id
    state.write_text(json.dumps({"runs": runs, "X_test": X_test.tolist(), "interrupted": interrupted}))


def verify(state: Path, root: Path) -> None:
    """Every finished run, version, alias and artifact is there, and both aliases load and predict as trained."""
    import mlflow

    expected_state = json.loads(state.read_text())
    client = mlflow.MlflowClient()
    versions = {int(v.version): v for v in client.search_model_versions(f"name='{MODEL}'")}
    assert sorted(versions) == [1, 2], sorted(versions)
    aliases = client.get_registered_model(MODEL).aliases
    assert aliases == {"champion": "1", "challenger": "2"}, aliases
    for run_id, expected in expected_state["runs"].items():
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED", run.info.status
        assert run.data.params["C"] == str(expected["C"]) and run.data.metrics["accuracy"] == expected["accuracy"]
        assert versions[expected["version"]].run_id == run_id
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="reports", dst_path=str(root / run_id))
        assert sha256(Path(local) / f"report-{expected['C']}.txt") == expected["report"]
    for alias, version in (("champion", 1), ("challenger", 2)):
        (root / alias).mkdir()
        loaded = mlflow.sklearn.load_model(f"models:/{MODEL}@{alias}", dst_path=str(root / alias))
        expected = next(r for r in expected_state["runs"].values() if r["version"] == version)
        assert loaded.predict(expected_state["X_test"]).tolist() == expected["predictions"], alias
    print("verified", flush=True)


def write(run_id: str) -> None:
    """Log metrics (and every fifth step a text artifact) as fast as the server acknowledges, until it fails."""
    import mlflow

    client = mlflow.MlflowClient()
    step = 0
    try:
        while True:
            client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
            if step % 5 == 0:
                client.log_text(run_id, f"step {step}\n" * 1000, f"steps/{step}.txt")
            print(f"ack {step}", flush=True)
            step += 1
    except Exception as exc:
        print(f"failed {type(exc).__name__}", flush=True)
        sys.exit(3)


if __name__ == "__main__":
    command, arg = sys.argv[1], sys.argv[2]
    if command == "write":
        write(arg)
    else:
        workdir = Path(sys.argv[3])
        workdir.mkdir(parents=True, exist_ok=True)
        {"train": train, "verify": verify}[command](Path(arg), workdir)
