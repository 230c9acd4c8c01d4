"""The webhook receiver accepts exactly what MLflow's own delivery code signs, and nothing else."""

from __future__ import annotations

import json
import time

from mlflow.webhooks.constants import WEBHOOK_DELIVERY_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER
from mlflow.webhooks.delivery import _generate_hmac_signature

from release.webhook import verify

SECRET = "unit-test-secret-0123456789"
PAYLOAD = json.dumps(
    {
        "entity": "model_version_alias",
        "action": "created",
        "data": {"name": "iris", "alias": "challenger", "version": "3"},
    }
)


def headers(secret: str = SECRET, at: int | None = None, delivery: str = "d-1") -> dict[str, str]:
    ts = str(at or int(time.time()))
    return {
        WEBHOOK_DELIVERY_ID_HEADER: delivery,
        WEBHOOK_TIMESTAMP_HEADER: ts,
        WEBHOOK_SIGNATURE_HEADER: _generate_hmac_signature(secret, delivery, ts, PAYLOAD),
    }


def test_a_delivery_signed_by_mlflow_is_accepted() -> None:
    assert verify(SECRET, headers(), PAYLOAD) is None


def test_wrong_secret_missing_headers_tampered_payload_and_old_timestamps_are_refused() -> None:
    assert verify(SECRET, headers(secret="another-secret-0123456789"), PAYLOAD) == "signature does not match"
    assert verify(SECRET, {}, PAYLOAD) == "missing signature headers"
    assert verify(SECRET, headers(), PAYLOAD.replace('"3"', '"4"')) == "signature does not match"
    refused = verify(SECRET, headers(at=int(time.time()) - 3600), PAYLOAD)
    assert refused is not None and "replay" in refused
