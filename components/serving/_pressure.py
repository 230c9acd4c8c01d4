"""What keeps an endpoint standing under load: the concurrency cap, batching, the warm-up gate, warm windows,
the node-level model cache and pod priority.

Why these and not bigger machinery:

* **Cap and queue in MLServer itself.** MLServer's MLflow runtime runs ``predict`` synchronously inside each
  parallel worker, so ``parallel_workers`` is exactly the number of inferences a replica runs at once; every
  further request waits in MLServer's dispatcher, the queue ``parallel_request_queue`` reports and KEDA's
  ``queue-depth`` trigger scales on. MLServer 1.7.1 has no setting that bounds that queue; its adaptive batching
  (``max_batch_size``, ``max_batch_time``) is a model setting, read from ``MLSERVER_MODEL_*`` variables.
* **The warm-up gate is the startup probe.** Kubernetes sends no traffic to a pod before its startup probe has
  succeeded once and its readiness probe then passes. The startup probe runs :data:`WARMUP_SCRIPT` (Python's
  standard library only, inside the model container): it fails until the model reports ready, then sends the
  configured warm-up inference once per worker and succeeds only when every answer is a v2 response. No sidecar,
  no image change.
* **Warm windows are KEDA cron triggers** beside the reactive trigger on the same ScaledObject; KEDA takes the
  highest, so inside a window the version holds at least the window's replicas and outside it scales as before
  (to zero, where it may).
* **The node cache mounts the node's copy**: a cached version names ``pvc://<pool's claim>/<key>``, which KServe
  mounts read-only where its storage initializer would have downloaded (``_model_cache.py``, ``docs/serving.md``).
* **PriorityClasses** rank critical inference above inference above batch and training, so the scheduler
  preempts batch work, never a critical endpoint, when a GPU pool is full.
"""

from __future__ import annotations

import math
from typing import Any

from ._args import ModelEndpointArgs
from ._capacity import CRITICAL_INFERENCE_PRIORITY, INFERENCE_PRIORITY
from ._platform import MLSERVER_HTTP_PORT

WARMUP_ENV = "ML_PLATFORM_WARMUP_REQUEST"
WARMUP_COUNT_ENV = "ML_PLATFORM_WARMUP_COUNT"
WARMUP_TIMEOUT_ENV = "ML_PLATFORM_WARMUP_TIMEOUT"

WARMUP_SCRIPT = """\
import json, os, sys, urllib.request
base = "http://127.0.0.1:" + os.environ.get("MLSERVER_HTTP_PORT", "8080")
model = base + "/v2/models/" + os.environ["MLSERVER_MODEL_NAME"]
timeout = float(os.environ.get("ML_PLATFORM_WARMUP_TIMEOUT", "30"))
try:
    urllib.request.urlopen(model + "/ready", timeout=timeout).close()
    body = os.environ.get("ML_PLATFORM_WARMUP_REQUEST")
    for _ in range(int(os.environ.get("ML_PLATFORM_WARMUP_COUNT", "1")) if body else 0):
        request = urllib.request.Request(model + "/infer", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            if not json.load(answer).get("outputs"):
                sys.exit("warm-up inference returned no outputs")
except Exception as exc:
    sys.exit(f"not warm yet: {exc}")
"""
"""The startup probe's program: model ready, then one warm-up inference per parallel worker (round-robin)."""


def priority_class_name(args: ModelEndpointArgs) -> str:
    if args.priority_class:
        return args.priority_class
    return CRITICAL_INFERENCE_PRIORITY if args.critical else INFERENCE_PRIORITY


def mlserver_env(args: ModelEndpointArgs) -> list[dict[str, str]]:
    """The model container's variables for the cap, batching and warm-up (MLServer reads ``MLSERVER_*``)."""
    env = [{"name": "MLSERVER_PARALLEL_WORKERS", "value": str(args.concurrency_limit)}]
    if args.max_batch_size > 1:
        env += [
            {"name": "MLSERVER_MODEL_MAX_BATCH_SIZE", "value": str(args.max_batch_size)},
            {"name": "MLSERVER_MODEL_MAX_BATCH_TIME", "value": f"{args.max_batch_time_ms / 1000:g}"},
        ]
    if args.warmup_request is not None:
        env += [
            {"name": WARMUP_ENV, "value": args.warmup_request},
            {"name": WARMUP_COUNT_ENV, "value": str(args.concurrency_limit)},
        ]
    env.append({"name": WARMUP_TIMEOUT_ENV, "value": str(args.warmup_timeout_seconds)})
    return env


def gated_probes(args: ModelEndpointArgs) -> dict[str, Any]:
    """Startup probe = the warm-up gate; readiness = this model is loaded; liveness = the server answers."""
    period = args.probe_period_seconds
    # One warm-up inference per worker, each allowed warmup_timeout_seconds, plus the model-ready call.
    timeout = args.warmup_timeout_seconds * (args.concurrency_limit + 1) if args.warmup_request else 5
    model_ready = f"/v2/models/{args.model_name}/ready"
    return {
        "startupProbe": {
            "exec": {"command": ["python", "-c", WARMUP_SCRIPT]},
            "periodSeconds": period,
            "timeoutSeconds": timeout,
            "failureThreshold": math.ceil(args.model_load_timeout_seconds / period),
        },
        "readinessProbe": {
            "httpGet": {"path": model_ready, "port": MLSERVER_HTTP_PORT},
            "periodSeconds": period,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/v2/health/live", "port": MLSERVER_HTTP_PORT},
            "periodSeconds": period,
            "timeoutSeconds": 5,
            "failureThreshold": 6,
        },
    }


def _cron(minutes: str, days: str) -> str:
    hour, minute = (int(x) for x in minutes.split(":"))
    return f"{minute} {hour} * * {days}"


def cron_triggers(args: ModelEndpointArgs) -> list[dict[str, Any]]:
    """One KEDA cron trigger per warm window (KEDA scales to the highest of all triggers)."""
    triggers = []
    for i, w in enumerate(args.warm_windows):
        days = ",".join(str(d) for d in sorted({d.cron for d in w.days}))
        triggers.append(
            {
                "type": "cron",
                "name": f"warm-{i}",
                "metadata": {
                    "timezone": args.warm_timezone,
                    "start": _cron(w.start, days),
                    "end": _cron(w.end, days),
                    "desiredReplicas": str(w.replicas),
                },
            }
        )
    return triggers
