"""The HTTP side of the controller: MLflow's registry webhooks in, health, and the release metrics out.

Signature check, by MLflow's own scheme (``mlflow.webhooks.constants``; MLflow signs ``<delivery id>.<timestamp>.
<payload>`` with HMAC-SHA256 and sends ``v1,<base64>``): a missing or wrong signature, or a timestamp further than
:data:`MAX_SKEW_SECONDS` from now (a captured delivery replayed later), is answered 401 and changes nothing. A
delivery id already seen is answered 200 and changes nothing, so MLflow's retries are harmless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlflow.webhooks.constants import (
    WEBHOOK_DELIVERY_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_SIGNATURE_VERSION,
    WEBHOOK_TIMESTAMP_HEADER,
)

log = logging.getLogger("release.webhook")
MAX_SKEW_SECONDS = 300
PATH = "/webhooks/mlflow"
CHALLENGER = "challenger"


def signature(secret: str, delivery_id: str, timestamp: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.{payload}".encode(), hashlib.sha256).digest()
    return f"{WEBHOOK_SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def verify(secret: str, headers: Any, payload: str, now: float | None = None) -> str | None:
    """None when the delivery is authentic and fresh, else why it is refused."""
    delivery_id = headers.get(WEBHOOK_DELIVERY_ID_HEADER)
    timestamp = headers.get(WEBHOOK_TIMESTAMP_HEADER)
    sent = headers.get(WEBHOOK_SIGNATURE_HEADER)
    if not (delivery_id and timestamp and sent):
        return "missing signature headers"
    if not hmac.compare_digest(sent.encode(), signature(secret, delivery_id, timestamp, payload).encode()):
        return "signature does not match"
    try:
        skew = abs((now or time.time()) - int(timestamp))
    except ValueError:
        return "bad timestamp"
    if skew > MAX_SKEW_SECONDS:
        return f"timestamp {skew:.0f} s away from now (replay?)"
    return None


def make_server(controller: Any, secret: str, host: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(200 if self.path == "/healthz" else 404, {"ok": self.path == "/healthz"})

        def do_POST(self) -> None:
            if self.path != PATH:
                return self._answer(404, {"error": "not found"})
            payload = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            refused = verify(secret, self.headers, payload)
            if refused:
                log.warning("webhook refused: %s", refused)
                return self._answer(401, {"error": refused})
            event = json.loads(payload)
            data = event.get("data") or {}
            kind = f"{event.get('entity')}.{event.get('action')}"
            if kind != "model_version_alias.created" or data.get("alias") != CHALLENGER:
                return self._answer(200, {"status": "ignored", "event": kind, "alias": data.get("alias")})
            delivery = self.headers.get(WEBHOOK_DELIVERY_ID_HEADER)
            outcomes = {
                e.endpoint: controller.request(e, str(data["version"]), f"webhook:{delivery}", delivery)
                for e in controller.endpoints_for(data.get("name", ""))
            }
            log.info("webhook %s: %s v%s -> %s", delivery, data.get("name"), data.get("version"), outcomes)
            return self._answer(200, {"status": "accepted", "endpoints": outcomes})

        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    return ThreadingHTTPServer((host, port), Handler)
