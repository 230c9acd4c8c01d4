"""The few HTTP calls the smoke check makes, with every failure turned into a sentence (never a traceback)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class Unreachable(Exception):
    """No HTTP answer at all (connection refused, DNS, timeout)."""


def call(
    url: str, body: Any | None = None, headers: dict[str, str] | None = None, timeout_seconds: float = 30
) -> Answer:
    """POST ``body`` as JSON (GET without one); any HTTP status is an answer, no answer is :class:`Unreachable`."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}), method="POST" if data else "GET")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds) as resp:
            return Answer(resp.status, resp.read(), time.monotonic() - start)
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read() or b"", time.monotonic() - start)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"{url}: no answer within {timeout_seconds:g} s ({reason})") from None


def prometheus_value(prometheus: str, query: str, timeout_seconds: float = 10) -> float | None:
    """The value of an instant PromQL query that returns one series (or none: None)."""
    url = f"{prometheus.rstrip('/')}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    answer = call(url, timeout_seconds=timeout_seconds)
    if answer.status != 200:
        raise Unreachable(f"{url}: HTTP {answer.status}: {answer.body[:200].decode(errors='replace')}")
    result = answer.json().get("data", {}).get("result", [])
    if not result:
        return None
    return float(result[0]["value"][1])
