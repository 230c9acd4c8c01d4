"""What controllers will create from the objects in a render: the pods, Services and claims nobody renders.

Kubernetes' own controllers turn workloads into pods and volume claim templates into claims; KServe turns an
InferenceService into a predictor Deployment (with its storage initializer) and a Service; Envoy Gateway turns a
Gateway into proxy pods; CloudNativePG turns a Cluster into instance pods with volumes. The shapes follow each
controller's code at the pinned version (sources in ``docs/wiring.md``).
"""

from __future__ import annotations

from typing import Any

from ._charts import chart_name
from ._render import Claim, Obj, Pod, Render

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
KSERVE_DEFAULT_PORT = 8080
"""Container port KServe gives a runtime container that declares none."""


def model(render: Render, o: Obj) -> None:
    if o.kind in WORKLOADS or o.kind == "CronJob":
        _workload(render, o)
    elif o.kind == "PersistentVolumeClaim":
        render.claims.append(Claim(o.ref, o.spec.get("storageClassName"), o.urn))
    elif o.kind == "InferenceService" and o.group == "serving.kserve.io":
        _inference_service(render, o)
    elif o.kind == "Gateway" and o.group == "gateway.networking.k8s.io":
        _gateway(render, o)
    elif o.kind == "Cluster" and o.group == "postgresql.cnpg.io":
        _cnpg_cluster(render, o)


def pod_from_template(render: Render, o: Obj, template: dict[str, Any], workload: str) -> Pod:
    spec = template.get("spec") or {}
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    pod = Pod(
        o.namespace or "default", labels, workload, o.urn, service_account=spec.get("serviceAccountName") or "default"
    )
    for c in spec.get("containers") or []:
        _container(pod, c)
    for c in spec.get("initContainers") or []:
        _storage_env(pod, c)
    return pod


def _container(pod: Pod, c: dict[str, Any]) -> None:
    for p in c.get("ports") or []:
        number = int(p.get("containerPort", 0))
        pod.ports[p.get("name") or f"#{number}"] = number
    _storage_env(pod, c)


def _storage_env(pod: Pod, c: dict[str, Any]) -> None:
    env = {e.get("name"): e for e in c.get("env") or []}
    pod.env_values += [str(e["value"]) for e in env.values() if isinstance(e.get("value"), str)]
    pod.env_values += [str(a) for a in (c.get("args") or []) + (c.get("command") or [])]
    dest = (env.get("MLFLOW_ARTIFACTS_DESTINATION") or {}).get("value")
    args = [str(a) for a in (c.get("args") or []) + (c.get("command") or [])]
    if "--artifacts-destination" in args and args.index("--artifacts-destination") + 1 < len(args):
        dest = args[args.index("--artifacts-destination") + 1]
    if isinstance(dest, str) and dest.startswith(("s3://", "gs://")):
        for bucket in (pod.reads, pod.writes):
            if dest not in bucket:
                bucket.append(dest)
    # Any other bucket URI a container is given (arguments, plain environment) is one it reads (the drift job's
    # --reference and --current, for example).
    values = args + [str(e["value"]) for e in env.values() if isinstance(e.get("value"), str)]
    for value in values:
        if value.startswith(("s3://", "gs://")) and value != dest and value not in pod.reads:
            pod.reads.append(value)
    if "AWS_ACCESS_KEY_ID" in env and "valueFrom" in env["AWS_ACCESS_KEY_ID"]:
        pod.env_credentials = True


def _workload(render: Render, o: Obj) -> None:
    spec = o.spec
    template = spec.get("template") or {}
    if o.kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    render.pods.append(pod_from_template(render, o, template, o.ref))
    if o.kind == "StatefulSet":
        for vct in spec.get("volumeClaimTemplates") or []:
            name = (vct.get("metadata") or {}).get("name")
            render.claims.append(Claim(f"{o.ref} claim {name}", (vct.get("spec") or {}).get("storageClassName"), o.urn))


def _runtime_container(render: Render, predictor: dict[str, Any]) -> dict[str, Any]:
    model = predictor.get("model") or {}
    runtime = model.get("runtime")
    for rt in render.of_kind("ClusterServingRuntime") + render.of_kind("ServingRuntime"):
        if rt.name == runtime:
            containers = rt.spec.get("containers") or [{}]
            return dict(containers[0])
    return {}


def _inference_service(render: Render, o: Obj) -> None:
    """KServe Standard mode: a ``<name>-predictor`` Deployment and Service; the storage initializer reads the model."""
    predictor = o.spec.get("predictor") or {}
    model = predictor.get("model") or {}
    name = f"{o.name}-predictor"
    labels = {
        **(predictor.get("labels") or {}),
        "serving.kserve.io/inferenceservice": o.name,
        "component": "predictor",
        "app": f"isvc.{name}",
    }
    pod = Pod(
        o.namespace or "default",
        labels,
        f"{o.ref} (predictor pods)",
        o.urn,
        service_account=predictor.get("serviceAccountName") or "default",
    )
    container = _runtime_container(render, predictor)
    ports = container.get("ports") or model.get("ports") or [{"containerPort": KSERVE_DEFAULT_PORT, "name": "http1"}]
    _container(pod, {**container, "ports": ports})
    uri = model.get("storageUri")
    if isinstance(uri, str) and uri.startswith(("s3://", "gs://")):
        pod.reads.append(uri)
    render.pods.append(pod)
    target = ports[0].get("containerPort", KSERVE_DEFAULT_PORT)
    http = [{"name": "http", "port": 80, "targetPort": target}]
    render.objects.append(_service(o, name, labels, {"app": f"isvc.{name}"}, http))


def _service(
    owner: Obj, name: str, labels: dict[str, str], selector: dict[str, str], ports: list[dict[str, Any]]
) -> Obj:
    """A Service the controller of ``owner`` creates beside it."""
    body = {
        "metadata": {"name": name, "namespace": owner.namespace, "labels": labels},
        "spec": {"selector": selector, "ports": ports},
    }
    return Obj("Service", "v1", owner.namespace, name, body, f"controller {owner.kind}", owner.urn)


def envoy_port(port: int) -> int:
    """Envoy Gateway listens on an unprivileged port for a Gateway listener below 1024 (80 -> 10080)."""
    return port + 10000 if port < 1024 else port


def _gateway(render: Render, o: Obj) -> None:
    controller_ns = _gateway_controller_namespace(render) or o.namespace or "default"
    labels = {
        "app.kubernetes.io/name": "envoy",
        "app.kubernetes.io/component": "proxy",
        "app.kubernetes.io/managed-by": "envoy-gateway",
        "gateway.envoyproxy.io/owning-gateway-name": o.name,
        "gateway.envoyproxy.io/owning-gateway-namespace": o.namespace or "default",
    }
    ports = {"metrics": 19001, "readiness": 19003}
    for listener in o.spec.get("listeners") or []:
        ports[f"listener-{listener.get('name')}"] = envoy_port(int(listener.get("port", 0)))
    render.pods.append(Pod(controller_ns, labels, f"{o.ref} (Envoy proxy pods)", o.urn, ports=ports))


def _gateway_controller_namespace(render: Render) -> str | None:
    for rel in render.releases:
        if chart_name(rel) == "gateway-helm":
            return str(rel.inputs.get("namespace") or "default")
    return None


def _cnpg_cluster(render: Render, o: Obj) -> None:
    labels = {"cnpg.io/cluster": o.name, "cnpg.io/podRole": "instance"}
    render.pods.append(
        Pod(
            o.namespace or "default",
            labels,
            f"{o.ref} (instances)",
            o.urn,
            ports={"postgresql": 5432, "metrics": 9187, "status": 8000},
        )
    )
    storage = o.spec.get("storage") or {}
    render.claims.append(Claim(f"{o.ref} instance volumes", storage.get("storageClass"), o.urn))
    # The operator's Services: read-write (primary), read-only (replicas) and any instance.
    for suffix in ("rw", "ro", "r"):
        postgres = [{"name": "postgres", "port": 5432, "targetPort": 5432}]
        render.objects.append(_service(o, f"{o.name}-{suffix}", {"cnpg.io/cluster": o.name}, labels, postgres))
