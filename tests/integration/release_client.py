"""The data scientist's side of the release tests, run as its own process (see ``mlflow_client.py`` for why).

    python -m tests.integration.release_client setup OUT.json

Trains the estimators on iris (shipped with scikit-learn), logs the held-out set as an artifact of a ``datasets``
run, and registers one version of the model ``iris`` per behaviour in :data:`VERSIONS`; version 1 gets the alias
``champion``. Writes the versions and the held-out set's URI to ``OUT.json``.
"""

from __future__ import annotations

import json
import pickle
import sys
import tempfile
from importlib import metadata
from pathlib import Path

MODEL = "iris"
HERE = Path(__file__).resolve().parent
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

VERSIONS = {
    # name: (estimator, model_config)
    "weak-champion": ("stump", {"delay_ms": 130}),
    "less-accurate": ("dummy", {"delay_ms": 130}),
    "slice-regression": ("logistic", {"delay_ms": 130, "wrong_when": "sepal_length < 5.0"}),
    "better": ("logistic", {"delay_ms": 130}),
    "slower": ("logistic", {"delay_ms": 600}),
    "failing": ("logistic", {"delay_ms": 130, "fail_share": 0.15}),
    "resumed": ("logistic", {"delay_ms": 130}),
}


def setup(out: Path) -> None:
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    iris = load_iris(as_frame=True)
    X = iris.data.set_axis(FEATURES, axis=1)
    y = iris.target
    X_train, X_held, y_train, y_held = train_test_split(X, y, test_size=0.4, random_state=1, stratify=y)
    estimators = {
        "stump": DecisionTreeClassifier(max_depth=1, random_state=0).fit(X_train, y_train),
        "dummy": DummyClassifier(strategy="most_frequent").fit(X_train, y_train),
        "logistic": LogisticRegression(max_iter=1000).fit(X_train, y_train),
    }
    work = Path(tempfile.mkdtemp())
    mlflow.set_experiment("iris")
    with mlflow.start_run(run_name="datasets") as run:
        held = X_held.assign(label=y_held.to_numpy())
        held.to_csv(work / "heldout.csv", index=False)
        mlflow.log_artifact(str(work / "heldout.csv"), "heldout")
        heldout_uri = f"runs:/{run.info.run_id}/heldout/heldout.csv"
    versions = {}
    for name, (kind, config) in VERSIONS.items():
        path = work / f"{kind}.pkl"
        path.write_bytes(pickle.dumps(estimators[kind]))
        with mlflow.start_run(run_name=name):
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=str(HERE / "release_model_code.py"),
                artifacts={"estimator": str(path)},
                model_config=config,
                signature=infer_signature(X_held, estimators[kind].predict(X_held)),
                registered_model_name=MODEL,
                # Named, so MLflow does not start a process per version to infer them.
                pip_requirements=[f"{d}=={metadata.version(d)}" for d in ("mlflow", "scikit-learn", "pandas", "numpy")],
            )
        versions[name] = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(MODEL, "champion", versions["weak-champion"])
    rows = pd.read_csv(work / "heldout.csv").drop(columns=["label"]).to_dict(orient="records")
    out.write_text(json.dumps({"versions": versions, "heldout_uri": heldout_uri, "rows": rows}))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(Path(sys.argv[2]))
