"""``python -m release``: run the controller, or act on a release by hand (for CI or a person).

    python -m release serve   --config settings.json          # the controller (webhook, metrics, loop)
    python -m release start    <endpoint> --version N          # release version N (same path as the webhook)
    python -m release status   <endpoint>                      # current release, its checks, the history
    python -m release approve  <endpoint> [--by NAME]          # let an awaiting release be promoted
    python -m release rollback <endpoint> [--reason TEXT]      # abort the canary, or undo the last promotion

Every command reads the same settings (``--config`` or ``$RELEASE_CONFIG``) and changes only the release state in
Kubernetes; the controller carries it out on its next tick, so a person and the controller never race.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

from .settings import Settings, SettingsError


def _controller(settings: Settings) -> Any:
    from mlflow import MlflowClient

    from .controller import Controller
    from .kube import Kube, load_config
    from .queries import Prometheus

    load_config()
    return Controller(settings, Kube(), MlflowClient(settings.tracking_uri), Prometheus(settings.prometheus_url))


def serve(settings: Settings, host: str, port: int, metrics_port: int) -> int:
    from prometheus_client import start_http_server

    from .webhook import make_server

    secret = os.environ.get("RELEASE_WEBHOOK_SECRET", "")
    if len(secret) < 16:
        print("error: RELEASE_WEBHOOK_SECRET must hold the webhook's secret (>= 16 characters)", file=sys.stderr)
        return 1
    controller = _controller(settings)
    start_http_server(metrics_port, addr=host)
    server = make_server(controller, secret, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logging.getLogger("release").info("serving webhooks on %s:%d, metrics on :%d", host, port, metrics_port)
    controller.run(stop)
    server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=os.environ.get("RELEASE_CONFIG", "/etc/release/settings.json"))
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--host", default="0.0.0.0")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--metrics-port", type=int, default=9102)
    for name in ("start", "status", "approve", "rollback"):
        p = sub.add_parser(name)
        p.add_argument("endpoint")
        if name == "start":
            p.add_argument("--version", required=True)
        if name == "approve":
            p.add_argument("--by", default=os.environ.get("USER", "cli"))
        if name == "rollback":
            p.add_argument("--reason", default="by hand")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Prometheus query otherwise
    try:
        settings = Settings.load(args.config)
    except (OSError, SettingsError) as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 1
    if args.command == "serve":
        return serve(settings, args.host, args.port, args.metrics_port)
    if args.endpoint not in settings.endpoints:
        print(
            f"error: endpoint {args.endpoint!r} is not released here ({', '.join(settings.endpoints)})", file=sys.stderr
        )
        return 1
    e = settings.endpoints[args.endpoint]
    controller = _controller(settings)
    if args.command == "start":
        print(controller.request(e, str(args.version), "cli"))
        return 0
    if args.command == "status":
        state, _ = controller.store.read(e.namespace, e.state_configmap)
        print(state.to_json() if not sys.stdout.isatty() else json.dumps(json.loads(state.to_json()), indent=2))
        return 0
    try:
        if args.command == "approve":
            controller.mark(e, "approved_by", args.by)
        else:
            state, _ = controller.store.read(e.namespace, e.state_configmap)
            field = "abort_reason" if state.current is not None else "revert_requested"
            controller.mark(e, field, args.reason)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
