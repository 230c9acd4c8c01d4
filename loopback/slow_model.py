"""A deliberately slow MLflow pyfunc model, so that cold starts, queues and warm-up show on a small machine.

Real CPU work, nothing simulated by sleeping: the model carries a 6144 x 6144 float32 weight matrix (151 MB on
disk, the "large model" to download and load), every inference multiplies by it (about 5 GFLOP) and allocates a
64 MB working buffer (the activations a GPU inference holds), and the first inference of each process runs a
one-off initialisation (an SVD), as models with lazy initialisation, JIT compilation or kernel autotuning do.

Run as its own process (it imports MLflow without the Pulumi SDKs the test process has loaded):

    python -m loopback.slow_model log OUT.json     # MLFLOW_TRACKING_URI names the server
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel

SIZE = 6144
"""Rows and columns of the weight matrix."""
RANK = 64
"""Columns of the weights each inference multiplies by."""
SCRATCH_MB = 64
"""Working memory one inference allocates."""
MODEL_NAME = "slow"


class SlowModel(PythonModel):
    def load_context(self, context: Any) -> None:
        self.weights = np.load(context.artifacts["weights"])
        self.basis: np.ndarray | None = None

    def _first_call(self) -> np.ndarray:
        if self.basis is None:
            corner = self.weights[:1024, :1024].astype(np.float64)
            self.basis = np.linalg.svd(corner, full_matrices=False)[0][:4, :RANK].astype(np.float32)
        return self.basis

    def predict(self, context: Any, model_input: Any, params: Any = None) -> np.ndarray:
        if isinstance(model_input, dict):
            model_input = next(iter(model_input.values()))
        x = np.asarray(model_input, dtype=np.float32).reshape(-1, 4)
        basis = self._first_call()
        scratch = np.ones((SCRATCH_MB * 2**20) // 4, dtype=np.float32)
        projected = self.weights @ self.weights[:, :RANK]  # the inference's real work
        scratch[: projected.size] = projected.ravel()
        hidden = np.tanh((x @ basis) @ projected[:RANK, :RANK].T / SIZE)
        return hidden.sum(axis=1) + float(scratch[0] > 0)


def log(out: Path) -> None:
    """Log the model with its weights and register it as version 1 of ``slow``."""
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "weights.npy"
        np.save(weights, rng.standard_normal((SIZE, SIZE), dtype=np.float32))
        mlflow.set_experiment("serving-pressure")
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=SlowModel(),
                artifacts={"weights": str(weights)},
                code_paths=[__file__],
                registered_model_name=MODEL_NAME,
                signature=infer_signature(np.zeros((1, 4), np.float32), np.zeros(1, np.float32)),
            )
    out.write_text(json.dumps({"model_uri": info.model_uri, "registered": f"models:/{MODEL_NAME}/1"}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["log"]:
        log(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
