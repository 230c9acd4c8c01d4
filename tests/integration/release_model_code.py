"""A real MLflow model (models-from-code) whose serving behaviour the release tests choose per version.

It wraps a scikit-learn estimator logged as an artifact and, from its ``model_config``: sleeps ``delay_ms`` per
call (a slower model), raises for ``fail_share`` of single-row inputs it has not seen in the held-out set (a model
that breaks on some production inputs but passes offline evaluation), or answers wrongly on the rows of one pandas
query (a model that regresses a slice). Loaded by MLflow, MLServer and the release gate alike.
"""

import pickle
import time

import mlflow
import numpy as np


class Behaviour(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["estimator"], "rb") as f:
            self.estimator = pickle.load(f)
        self.config = dict(context.model_config or {})

    def predict(self, context, model_input, params=None):
        cfg = self.config
        time.sleep(float(cfg.get("delay_ms", 0)) / 1000)
        share = float(cfg.get("fail_share", 0))
        if share and len(model_input) == 1:
            # Held-out rows have one decimal (their last two of three decimals are 0); production rows have three.
            digits = round(float(model_input.iloc[0, 1]) * 1000) % 100
            if digits >= 100 - share * 100:
                raise ValueError(f"cannot score input with sepal_width {model_input.iloc[0, 1]}")
        names = list(getattr(self.estimator, "feature_names_in_", model_input.columns))
        predictions = np.asarray(self.estimator.predict(model_input[names]))
        wrong = cfg.get("wrong_when")
        if wrong:
            mask = model_input.eval(wrong).to_numpy()
            predictions = np.where(mask, (predictions + 1) % 3, predictions)
        return predictions


mlflow.models.set_model(Behaviour())
