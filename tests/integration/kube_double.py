"""A Kubernetes API double on loopback that the real ``kubernetes`` client talks to, faithful where it matters.

Why a double and what makes it faithful: there is no cluster here, and the controller must still be proven
against the API's rules, not against our idea of them. So the double

* speaks the API's HTTP (paths, verbs, ``Status`` errors) so the controller uses the official client unchanged;
* authorises every request against the ReleaseController component's rendered Role, the way RBAC does (``create``
  never matches a rule with ``resourceNames``), answering 403 otherwise;
* implements ``resourceVersion`` (409 on a stale update), ``generation`` (bumped when ``spec`` changes) and JSON
  merge patch (RFC 7386);
* validates every object it stores against the upstream schemas (HTTPRoute and InferenceService CRDs from
  the committed trimmed copies in ``tests/schemas/``, ConfigMap and Event with ``kubernetes-validate``), answering
  422 otherwise.

It records every request, so a test can compare what the controller did with the Role and ``release.kube.CALLS``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests import k8s_schemas

KUBERNETES_VERSION = "1.35"
VERBS = {"GET": "get", "PUT": "update", "PATCH": "patch", "POST": "create", "DELETE": "delete"}
PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))/namespaces/(?P<ns>[^/]+)/(?P<plural>[^/]+)(?:/(?P<name>[^/]+))?$"
)
KINDS = {
    "httproutes": "HTTPRoute",
    "inferenceservices": "InferenceService",
    "configmaps": "ConfigMap",
    "events": "Event",
}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


class KubeDouble:
    def __init__(self, rules: list[dict[str, Any]]) -> None:
        self.rules = rules
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.invalid: list[str] = []
        self.denied: list[str] = []
        self.lock = threading.RLock()
        self._rv = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self) -> str:
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "double", "cluster": {"server": self.url}}],
                "users": [{"name": "release-controller", "user": {"token": "loopback"}}],
                "contexts": [{"name": "double", "context": {"cluster": "double", "user": "release-controller"}}],
                "current-context": "double",
            }
        )

    # --- store --------------------------------------------------------------------------------------------------

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def put(self, plural: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as an admin would (``kubectl apply``): validated, no RBAC."""
        with self.lock:
            meta = obj["metadata"]
            key = (plural, meta["namespace"], meta["name"], "")
            old = self.objects.get(key)
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = self._next_rv()
            obj["metadata"].setdefault("uid", str(uuid.uuid4()))
            gen = (old or {}).get("metadata", {}).get("generation", 0)
            if old is None or old.get("spec") != obj.get("spec"):
                gen += 1
            obj["metadata"]["generation"] = gen
            problems = k8s_schemas.validate_object(obj, KUBERNETES_VERSION)
            if problems:
                raise ValueError(problems)
            self.objects[key] = obj
            return copy.deepcopy(obj)

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self.objects.get((plural, namespace, name, ""))
            return copy.deepcopy(obj) if obj else None

    def set_status(self, plural: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        """What a controller's status writer does (the ``status`` subresource): spec and generation unchanged."""
        with self.lock:
            obj = self.objects[(plural, namespace, name, "")]
            obj["status"] = status
            obj["metadata"]["resourceVersion"] = self._next_rv()

    def allowed(self, verb: str, group: str, plural: str, name: str) -> bool:
        for rule in self.rules:
            if group in rule["apiGroups"] and plural in rule["resources"] and verb in rule["verbs"]:
                names = rule.get("resourceNames")
                if not names or (name and name in names):
                    return True
        return False

    def calls(self) -> set[tuple[str, str, str]]:
        return {(r["verb"], r["group"], r["resource"]) for r in self.requests}

    # --- HTTP ---------------------------------------------------------------------------------------------------

    def _handle(self, method: str, path: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        m = PATH.match(path.split("?")[0])
        if not m:
            return 404, _status(404, "NotFound", path)
        group = m["group"] or ""
        plural, ns, name = m["plural"], m["ns"], m["name"] or ""
        verb = VERBS[method]
        with self.lock:
            self.requests.append({"verb": verb, "group": group, "resource": plural, "name": name, "at": time.time()})
            if not self.allowed(verb, group, plural, name):
                self.denied.append(f"{verb} {group}/{plural}/{name}")
                return 403, _status(403, "Forbidden", f'{plural} "{name}" is forbidden: {verb} not in the Role')
            current = self.get(plural, ns, name) if name else None
            if verb == "get":
                return (200, current) if current else (404, _status(404, "NotFound", f'{plural} "{name}" not found'))
            data = json.loads(body or b"{}")
            if verb == "create":
                name = data["metadata"]["name"]
                if self.get(plural, ns, name):
                    return 409, _status(409, "AlreadyExists", f'{plural} "{name}" already exists')
                data["metadata"].setdefault("namespace", ns)
                data.setdefault("apiVersion", "v1")
                data.setdefault("kind", KINDS[plural])
                return self._store(plural, data, 201)
            if current is None:
                return 404, _status(404, "NotFound", f'{plural} "{name}" not found')
            if verb == "update":
                sent = str((data.get("metadata") or {}).get("resourceVersion") or "")
                if not sent:
                    return 422, _status(422, "Invalid", "metadata.resourceVersion: must be specified for an update")
                if sent != current["metadata"]["resourceVersion"]:
                    return 409, _status(409, "Conflict", f"the object has been modified (resourceVersion {sent})")
                data.setdefault("apiVersion", current["apiVersion"])
                data.setdefault("kind", current["kind"])
                if "status" in current:
                    data["status"] = current["status"]  # status is a subresource: an update leaves it alone
                return self._store(plural, data, 200)
            if verb == "patch":
                if "merge-patch" not in content_type:
                    return 415, _status(415, "UnsupportedMediaType", content_type)
                return self._store(plural, merge_patch(current, data), 200)
        return 405, _status(405, "MethodNotAllowed", method)

    def _store(self, plural: str, obj: dict[str, Any], code: int) -> tuple[int, dict[str, Any]]:
        try:
            return code, self.put(plural, obj)
        except ValueError as exc:
            self.invalid.append(f"{plural}/{obj['metadata'].get('name')}: {exc}")
            return 422, _status(422, "Invalid", str(exc))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                code, answer = double._handle(self.command, self.path, body, self.headers.get("content-type", ""))
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def close(self) -> None:
        self.server.shutdown()


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
