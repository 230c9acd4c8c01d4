"""``python -m smoke --gateway URL --api-key KEY --model NAME --request FILE [--prometheus URL] [--wake-version V]``

Sends real inference requests through the platform's gateway and checks the answers, that requests without a
valid key are refused, that a version at zero wakes for a request pinned to it with ``x-model-version``, and that
Prometheus counts the requests. Prints one line per check. Exit status: 0 when every check passed, 1 when one
failed (the line says what came back), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .checks import Failed, Target, check_inference, check_key_required, check_metrics, check_wake
from .client import Unreachable, prometheus_value

DEFAULT_QUERY = 'sum(model_infer_request_success_total{{model="{model}"}})'


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m smoke", description=__doc__.splitlines()[2])
    p.add_argument("--gateway", required=True, help="the gateway's base URL (https://models.example.com)")
    p.add_argument("--api-key", default=os.environ.get("SMOKE_API_KEY"), help="an API key (default $SMOKE_API_KEY)")
    p.add_argument("--key-header", default="x-api-key", help="header that carries the key (default x-api-key)")
    p.add_argument("--model", required=True, help="model name in /v2/models/<model>/infer")
    p.add_argument("--request", type=Path, required=True, help="a v2 inference request body (JSON file)")
    p.add_argument("--expected", type=Path, help="JSON list: the first output's data the model must answer")
    p.add_argument("--requests", type=int, default=5, help="requests to send (default 5)")
    p.add_argument("--wake-version", help="a version at zero: one request pinned to it must wake it")
    p.add_argument("--wake-timeout", type=float, default=600, help="seconds a wake may take (default 600)")
    p.add_argument("--prometheus", help="Prometheus base URL (e.g. after kubectl port-forward); skips if unset")
    p.add_argument("--query", help=f"PromQL counting successful requests (default {DEFAULT_QUERY})")
    p.add_argument("--metrics-timeout", type=float, default=180, help="seconds to wait for the metrics (default 180)")
    p.add_argument("--timeout", type=float, default=30, help="seconds per warm request (default 30)")
    args = p.parse_args(argv)
    if not args.api_key:
        p.error("--api-key (or $SMOKE_API_KEY) is required")
    if args.requests < 1:
        p.error(f"--requests must be >= 1, got {args.requests}")
    for name in ("request", "expected"):
        path = getattr(args, name)
        if path is None:
            continue
        try:
            setattr(args, name, json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            p.error(f"--{name} {path}: cannot read a JSON document ({exc})")
    if not isinstance(args.request, dict) or "inputs" not in args.request:
        p.error(f"--request must be a v2 inference request with 'inputs', got {str(args.request)[:80]}")
    return args


def _run(name: str, check: Callable[[], str]) -> bool:
    try:
        print(f"ok    {name}: {check()}")
        return True
    except (Failed, Unreachable) as exc:
        print(f"FAIL  {name}: {exc}")
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    target = Target(
        gateway=args.gateway,
        model=args.model,
        api_key=args.api_key,
        request=args.request,
        expected=args.expected,
        key_header=args.key_header,
        timeout_seconds=args.timeout,
    )
    query = args.query or DEFAULT_QUERY.format(model=args.model)
    before: dict[str, Any] = {}
    results = []
    if args.prometheus:
        results.append(_run("prometheus", lambda: _baseline(args.prometheus, query, before)))
    results.append(_run("auth", lambda: check_key_required(target)))
    results.append(_run("inference", lambda: check_inference(target, args.requests)))
    if args.wake_version:
        results.append(_run("wake", lambda: check_wake(target, args.wake_version, args.wake_timeout)))
    if args.prometheus and results[0]:
        results.append(
            _run(
                "metrics",
                lambda: check_metrics(args.prometheus, query, before["value"], target.sent_ok, args.metrics_timeout),
            )
        )
    failed = results.count(False)
    print(f"smoke: {len(results) - failed} of {len(results)} checks passed")
    return 1 if failed else 0


def _baseline(prometheus: str, query: str, into: dict[str, Any]) -> str:
    into["value"] = prometheus_value(prometheus, query)
    return f"reachable; {query} = {into['value']} before the smoke check"


if __name__ == "__main__":
    sys.exit(main())
