"""The checks, each a function that returns what it saw or raises :class:`Failed` with what went wrong."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .client import Answer, call, prometheus_value

VERSION_HEADER = "x-model-version"
DEFAULT_KEY_HEADER = "x-api-key"


class Failed(Exception):
    """A check failed; the text says what was expected and what came back."""


@dataclass
class Target:
    gateway: str
    model: str
    api_key: str
    request: dict[str, Any]
    expected: list[Any] | None = None
    key_header: str = DEFAULT_KEY_HEADER
    timeout_seconds: float = 30
    sent_ok: int = field(default=0)

    @property
    def url(self) -> str:
        return f"{self.gateway.rstrip('/')}/v2/models/{self.model}/infer"

    def headers(self, version: str | None = None, key: str | None = None) -> dict[str, str]:
        out = {self.key_header: self.api_key if key is None else key}
        if version:
            out[VERSION_HEADER] = version
        return out


def _rows(request: dict[str, Any]) -> int | None:
    inputs = request.get("inputs") or []
    shape = inputs[0].get("shape") if inputs else None
    return int(shape[0]) if shape else None


def check_answer(target: Target, answer: Answer, version: str | None = None) -> dict[str, Any]:
    """A 200 with a v2 inference response for this model (and version), with the expected outputs if given."""
    if answer.status != 200:
        raise Failed(f"HTTP {answer.status} (expected 200): {answer.body[:300].decode(errors='replace')}")
    try:
        body = answer.json()
        outputs = body["outputs"]
        data = outputs[0]["data"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise Failed(f"not a v2 inference response: {answer.body[:300].decode(errors='replace')}") from None
    if body.get("model_name") != target.model:
        raise Failed(f"model_name {body.get('model_name')!r} (expected {target.model!r})")
    if version and body.get("model_version") not in (None, version):
        raise Failed(f"model_version {body.get('model_version')!r} (expected {version!r}: the pin was not honoured)")
    rows = _rows(target.request)
    if rows is not None and len(data) != rows:
        raise Failed(f"{len(data)} predictions for {rows} rows")
    if target.expected is not None and data != target.expected:
        raise Failed(f"predictions {data} (expected {target.expected})")
    target.sent_ok += 1
    return body


def check_key_required(target: Target) -> str:
    """Without a key, and with a wrong one, the gateway refuses the request (401 or 403)."""
    for label, key in (("no key", ""), ("a wrong key", "smoke-not-a-key")):
        headers = target.headers(key=key) if key else {}
        answer = call(target.url, target.request, headers, target.timeout_seconds)
        if answer.status not in (401, 403):
            raise Failed(f"a request with {label} got HTTP {answer.status} (expected 401 or 403)")
    return "requests without a valid key are refused"


def check_inference(target: Target, count: int) -> str:
    seconds = []
    for _ in range(count):
        answer = call(target.url, target.request, target.headers(), target.timeout_seconds)
        check_answer(target, answer)
        seconds.append(answer.seconds)
    return f"{count} requests answered correctly (slowest {max(seconds):.2f} s)"


def check_wake(target: Target, version: str, timeout_seconds: float) -> str:
    """A request pinned to a version that is at zero is held while the version starts, then answered."""
    answer = call(target.url, target.request, target.headers(version), timeout_seconds)
    check_answer(target, answer, version)
    return f"version {version!r} answered a pinned request after {answer.seconds:.1f} s"


def check_metrics(prometheus: str, query: str, before: float | None, expected: int, timeout_seconds: float) -> str:
    """Prometheus sees at least ``expected`` more successful requests than ``before`` within the timeout."""
    deadline = time.monotonic() + timeout_seconds
    seen: float | None = None
    while True:
        seen = prometheus_value(prometheus, query)
        if seen is not None and seen - (before or 0) >= expected:
            return f"Prometheus counts {seen - (before or 0):g} new successful requests ({query})"
        if time.monotonic() > deadline:
            raise Failed(
                f"after {timeout_seconds:g} s Prometheus shows {seen} for {query} (expected at least "
                f"{(before or 0) + expected:g}: {before} before the smoke check plus {expected})"
            )
        time.sleep(2)
