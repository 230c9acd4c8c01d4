"""The models the benchmark serves, trained here on a data set scikit-learn ships and logged to MLflow.

Why these: the platform serves MLflow models with MLServer's MLflow runtime, so the benchmark logs real models
to an MLflow tracking store (SQLite, artifacts on disk) and serves what the registry hands back. A logistic
regression has negligible compute, so its throughput is the cost of the serving path itself (HTTP, JSON,
decoding); a multi-layer perceptron adds real matrix work; the same perceptron converted to ONNX, and quantized
to int8 with ONNX Runtime's dynamic quantization, is the CPU-optimised substitute.
"""

from __future__ import annotations

import functools
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROWS_PER_REQUEST = 16
"""Rows each inference request scores (a page of items scored at once)."""

MLP_HIDDEN = (512, 512)

IMAGE_REQUIREMENTS = Path(__file__).resolve().parents[1] / "images" / "mlserver-mlflow" / "requirements.txt"


@dataclass(frozen=True)
class Logged:
    """A registered model version and what the benchmark knows about it."""

    key: str
    """Short name in the report (``mlp-int8``)."""
    title: str
    registered: str
    """Registered model name in MLflow (loaded as ``models:/<name>/1``)."""
    accuracy: float
    """Accuracy on the held-out test split, computed with the same library the server runs."""
    size_kib: float
    """Size of the model artifact."""
    input_dtype: str
    """v2 datatype of the request (``FP64`` for scikit-learn, ``FP32`` for ONNX)."""
    compute_ms: float
    """The model's own arithmetic for one request (``ROWS_PER_REQUEST`` rows), in-process, median of repeated calls:
    what no serving path adds, and the most a faster processor could save."""


def compute_ms(predict: Callable[[], object], seconds: float = 1.0) -> float:
    """Median milliseconds of ``predict()`` over repeated calls for about ``seconds``."""
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 20:
        start = time.perf_counter()
        predict()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    return train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)


def request_rows() -> np.ndarray:
    """The rows every request sends (the first ``ROWS_PER_REQUEST`` test rows)."""
    return _data()[1][:ROWS_PER_REQUEST]


def _size_kib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024


def train_and_log(work: Path) -> tuple[str, list[Logged]]:
    """Train the models, log and register them in a fresh MLflow store under ``work``; return the tracking URI
    and the registered versions."""
    import mlflow
    import onnx
    import onnxruntime as ort
    from mlflow.models import infer_signature
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    x_train, x_test, y_train, y_test = _data()
    uri = f"sqlite:///{work}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("finops", artifact_location=f"file://{work}/artifacts")
    logged: list[Logged] = []

    def register(key: str, title: str, info: object, accuracy: float, dtype: str, local: Path, ms: float) -> None:
        name = f"finops-{key}"
        mlflow.register_model(info.model_uri, name)  # type: ignore[attr-defined]
        logged.append(Logged(key, title, name, accuracy, _size_kib(local), dtype, ms))

    logreg = LogisticRegression(max_iter=500).fit(x_train, y_train)
    mlp = MLPClassifier(hidden_layer_sizes=MLP_HIDDEN, max_iter=20, random_state=0).fit(x_train, y_train)
    onnx_fp32 = to_onnx(mlp, x_train[:1].astype(np.float32), options={id(mlp): {"zipmap": False}}, target_opset=17)
    fp32_path, int8_path = work / "mlp-fp32.onnx", work / "mlp-int8.onnx"
    onnx.save(onnx_fp32, fp32_path)
    quantize_dynamic(str(fp32_path), str(int8_path), weight_type=QuantType.QInt8)

    rows = x_test[:ROWS_PER_REQUEST]

    def onnx_accuracy_and_ms(path: Path) -> tuple[float, float]:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        labels = session.run(None, {name: x_test.astype(np.float32)})[0]
        rows32 = rows.astype(np.float32)
        return float((labels == y_test).mean()), compute_ms(lambda: session.run(None, {name: rows32}))

    sample = x_train[:2]
    # The serving image's pins: stating them spares MLflow from inferring requirements in a subprocess per model.
    pins = [line for line in IMAGE_REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    with mlflow.start_run(experiment_id=experiment):
        for key, title, model in (
            ("logreg", "logistic regression (scikit-learn)", logreg),
            ("mlp", f"MLP {MLP_HIDDEN} (scikit-learn, float64)", mlp),
        ):
            # The perceptron keeps its optimiser's state, a type skops does not trust by default.
            trusted = ["sklearn.neural_network._stochastic_optimizers.AdamOptimizer"] if key == "mlp" else None
            info = mlflow.sklearn.log_model(
                model, name=key, input_example=sample, skops_trusted_types=trusted, pip_requirements=pins
            )
            local = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(work / "sizes" / key)))
            ms = compute_ms(functools.partial(model.predict, rows))
            register(key, title, info, float(model.score(x_test, y_test)), "FP64", local, ms)
        for key, title, path in (
            ("mlp-onnx", "the same MLP in ONNX (float32)", fp32_path),
            ("mlp-int8", "the same MLP in ONNX, int8 dynamic quantization", int8_path),
        ):
            info = mlflow.onnx.log_model(
                onnx.load(str(path)),
                name=key,
                input_example=sample.astype(np.float32),
                # A tensor signature lets MLServer's MLflow runtime decode v2 requests into the array ONNX expects.
                signature=infer_signature(sample.astype(np.float32), mlp.predict(sample)),
                save_as_external_data=False,
                pip_requirements=pins,
            )
            local = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(work / "sizes" / key)))
            accuracy, ms = onnx_accuracy_and_ms(path)
            register(key, title, info, accuracy, "FP32", local, ms)
    return uri, logged
