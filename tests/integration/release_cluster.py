"""The rest of a cluster for the release tests, each piece a real process or a faithful stand-in, on loopback.

* :class:`Slots` plays KServe and the kubelet for the endpoint's two InferenceServices: when a slot's spec changes
  (a new ``storageUri``), it downloads the model from the S3 API the way KServe's storage initializer does, starts
  a real MLServer with the environment the ClusterServingRuntime and the InferenceService give the container,
  and reports ``Ready`` with the ``observedGeneration`` in the object's status once the model answers.
* :class:`Gateway` plays Envoy for the endpoint's HTTPRoute, read from the API double on every request: the rules
  that match ``x-model-version`` first, otherwise a weighted choice among the ``split`` rule's backends.
* :class:`Prometheus` is Debian's real server scraping every slot's MLServer metrics, with the labels the
  platform's PodMonitor gives model-server series (``namespace``, ``model``, ``model_version``, ``endpoint``).
* :class:`LoadDriver` is the endpoint's clients: one request after another, rows near the held-out set's.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from components.serving import MLSERVER_SCRATCH, ServingPlatformArgs, mlserver_runtime_spec
from tests.integration.kube_double import KubeDouble
from tests.integration.local_services import free_port, kill_group, wait_for_http

ROOT = Path(__file__).resolve().parents[2]


class Slots:
    """KServe + kubelet for the InferenceServices ``<endpoint>-<slot>``."""

    def __init__(self, kube: KubeDouble, s3: Any, namespace: str, endpoint: str, slots: list[str], work: Path) -> None:
        self.kube, self.s3, self.namespace, self.endpoint, self.work = kube, s3, namespace, endpoint, work
        self.ports = {s: {"http": free_port(), "grpc": free_port(), "metrics": free_port()} for s in slots}
        self.processes: dict[str, subprocess.Popen] = {}
        self.observed: dict[str, int] = {}
        self.rolling: dict[str, int] = {}
        self.starts: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Slots:
        self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.is_set():
            for slot in self.ports:
                isvc = self.kube.get("inferenceservices", self.namespace, f"{self.endpoint}-{slot}")
                generation = isvc["metadata"]["generation"] if isvc else None
                if isvc and generation != self.observed.get(slot) and self.rolling.get(slot) != generation:
                    self.rolling[slot] = generation
                    threading.Thread(target=self._roll, args=(slot, isvc), daemon=True).start()
            self.stop.wait(0.3)

    def _roll(self, slot: str, isvc: dict[str, Any]) -> None:
        generation = isvc["metadata"]["generation"]
        name = isvc["metadata"]["name"]
        self.kube.set_status("inferenceservices", self.namespace, name, _status(generation - 1, False))
        started = time.monotonic()
        model_dir = self._download(isvc["spec"]["predictor"]["model"]["storageUri"], f"{slot}-{generation}")
        old = self.processes.pop(slot, None)
        if old is not None:
            kill_group(old, signal.SIGTERM)
        self.processes[slot] = self._serve(slot, isvc, model_dir)
        wait_for_http(f"http://127.0.0.1:{self.ports[slot]['http']}/v2/models/{self.model(isvc)}/ready", 180)
        self.observed[slot] = generation
        self.kube.set_status("inferenceservices", self.namespace, name, _status(generation, True))
        self.starts.append({"slot": slot, "generation": generation, "seconds": time.monotonic() - started})

    @staticmethod
    def model(isvc: dict[str, Any]) -> str:
        env = {e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]}
        return env["MLSERVER_MODEL_NAME"]

    def _download(self, uri: str, tag: str) -> Path:
        """The storage initializer: every object under the URI's prefix into a fresh folder."""
        parsed = urlparse(uri)
        assert parsed.scheme == "s3", uri
        target = self.work / "models" / tag
        prefix = parsed.path.lstrip("/").rstrip("/") + "/"
        client = self.s3.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=parsed.netloc, Prefix=prefix):
            for item in page.get("Contents", []):
                path = target / item["Key"][len(prefix) :]
                path.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(parsed.netloc, item["Key"], str(path))
        assert (target / "MLmodel").exists(), f"no MLmodel under {uri}"
        return target

    def _serve(self, slot: str, isvc: dict[str, Any], model_dir: Path) -> subprocess.Popen:
        runtime = mlserver_runtime_spec(ServingPlatformArgs())["containers"][0]
        env = {e["name"]: e["value"].replace("{{.Name}}", isvc["metadata"]["name"]) for e in runtime["env"]}
        env.update({e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]})
        models_dir = model_dir.parent / f"{model_dir.name}-mnt"
        models_dir.mkdir(exist_ok=True)
        # Each pod has its own filesystem: the runtime's scratch folder (metrics, environments) is per slot and start.
        scratch = model_dir.parent / f"{model_dir.name}-scratch"
        scratch.mkdir(exist_ok=True)
        env = {
            k: str(scratch) + v[len(MLSERVER_SCRATCH.path) :] if v.startswith(MLSERVER_SCRATCH.path) else v
            for k, v in env.items()
        }
        for value in env.values():
            if value.startswith(str(scratch)):
                Path(value).mkdir(parents=True, exist_ok=True)
        ports = self.ports[slot]
        env.update(
            {
                "MLSERVER_MODEL_URI": str(model_dir),
                "MLSERVER_MODELS_DIR": str(models_dir),
                "MLSERVER_HOST": "127.0.0.1",
                "MLSERVER_HTTP_PORT": str(ports["http"]),
                "MLSERVER_GRPC_PORT": str(ports["grpc"]),
                "MLSERVER_METRICS_PORT": str(ports["metrics"]),
                "TMPDIR": str(scratch),
            }
        )
        log = (self.work / f"mlserver-{slot}.log").open("ab")
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "mlserver"), "start", str(models_dir)],
            env={**os.environ, **env, "PYTHONWARNINGS": "ignore"},
            cwd=model_dir.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, slot: str, generation: int, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while self.observed.get(slot) != generation:
            assert time.monotonic() < deadline, f"slot {slot} never reached generation {generation}"
            time.sleep(0.3)

    def close(self) -> None:
        self.stop.set()
        for p in self.processes.values():
            kill_group(p, signal.SIGTERM)


def _status(generation: int, ready: bool) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "observedGeneration": generation,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": now}],
    }


class Gateway:
    """Envoy for one HTTPRoute: header-pinned rules first, then the weighted split."""

    def __init__(self, kube: KubeDouble, slots: Slots, namespace: str, route: str) -> None:
        self.kube, self.slots, self.namespace, self.route = kube, slots, namespace, route
        self.served: Counter[tuple[str, str]] = Counter()
        """(slot, "pinned" | "split") -> requests forwarded."""
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def pick(self, headers: Any) -> tuple[str, str]:
        route = self.kube.get("httproutes", self.namespace, self.route)
        assert route is not None
        for rule in route["spec"]["rules"]:
            for match in rule.get("matches", []):
                wanted = {h["name"].lower(): h["value"] for h in match.get("headers", [])}
                if wanted and all(headers.get(k) == v for k, v in wanted.items()):
                    return self._slot(rule["backendRefs"][0]), "pinned"
        split = next(r for r in route["spec"]["rules"] if r.get("name") == "split")
        refs = [r for r in split["backendRefs"] if r.get("weight", 1) > 0]
        ref = random.choices(refs, weights=[r.get("weight", 1) for r in refs])[0]
        return self._slot(ref), "split"

    def _slot(self, ref: dict[str, Any]) -> str:
        for slot in self.slots.ports:
            if ref["name"] == f"{self.route}-{slot}-predictor":
                return slot
        raise LookupError(ref)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0)) if self.command == "POST" else None
                slot, how = gateway.pick({k.lower(): v for k, v in self.headers.items()})
                with gateway.lock:
                    gateway.served[(slot, how)] += 1
                url = f"http://127.0.0.1:{gateway.slots.ports[slot]['http']}{self.path}"
                request = urllib.request.Request(url, data=body, method=self.command)
                request.add_header("content-type", self.headers.get("content-type", "application/json"))
                try:
                    with urllib.request.urlopen(request, timeout=30) as resp:
                        code, data = resp.status, resp.read()
                except urllib.error.HTTPError as exc:
                    code, data = exc.code, exc.read()
                except OSError:
                    code, data = 503, b'{"error": "upstream connect error"}'
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("x-served-by", slot)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()


class Prometheus:
    def __init__(self, work: Path, slots: Slots, namespace: str, endpoint: str, model: str) -> None:
        self.port = free_port()
        targets = [
            {
                "targets": [f"127.0.0.1:{ports['metrics']}"],
                "labels": {"namespace": namespace, "model": model, "model_version": slot, "endpoint": endpoint},
            }
            for slot, ports in slots.ports.items()
        ]
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": "model-servers", "static_configs": targets}],
        }
        (work / "prometheus.yml").write_text(json.dumps(config))
        self.process = subprocess.Popen(
            [
                shutil.which("prometheus") or "/usr/bin/prometheus",
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=(work / "prometheus.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_http(f"{self.url}/-/ready", 30, self.process)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        kill_group(self.process, signal.SIGTERM)


class LoadDriver:
    """Clients of the endpoint: one request after another through the gateway, rows near the held-out set's."""

    def __init__(self, gateway_url: str, model: str, rows: list[dict[str, float]]) -> None:
        self.url = f"{gateway_url}/v2/models/{model}/infer"
        self.rows = rows
        self.results: list[dict[str, Any]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.rng = random.Random(7)

    def start(self) -> LoadDriver:
        self.thread.start()
        return self

    def _row(self) -> dict[str, float]:
        base = self.rng.choice(self.rows)
        return {k: round(v + self.rng.uniform(-0.05, 0.05), 3) for k, v in base.items()}

    def _loop(self) -> None:
        while not self.stop.is_set():
            row = self._row()
            body = {
                "parameters": {"content_type": "pd"},
                "inputs": [{"name": k, "shape": [1, 1], "datatype": "FP64", "data": [v]} for k, v in row.items()],
            }
            request = urllib.request.Request(
                self.url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
            )
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=30) as resp:
                    code, slot = resp.status, resp.headers.get("x-served-by")
            except urllib.error.HTTPError as exc:
                code, slot = exc.code, exc.headers.get("x-served-by")
            except OSError:
                code, slot = 0, None
            self.results.append(
                {"at": time.time(), "code": code, "slot": slot, "ms": (time.monotonic() - started) * 1000}
            )

    def between(self, start: float, end: float) -> list[dict[str, Any]]:
        return [r for r in self.results if start <= r["at"] <= end]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=35)
