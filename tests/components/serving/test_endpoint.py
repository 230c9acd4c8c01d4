"""ModelEndpoint: upstream-valid objects, the weight rules, scale to zero, critical endpoints, GPUs, auth and limits."""

from __future__ import annotations

import dataclasses

import pytest

from components.common import (
    CRITICAL_LABEL,
    ENDPOINT_LABEL,
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    POOL_LABEL,
    ArgsError,
)
from components.serving import (
    BACKEND_HEADER,
    VERSION_HEADER,
    AuthMode,
    ModelEndpoint,
    ModelEndpointArgs,
    ModelVersion,
    ScalingMetric,
    build_objects,
)
from offline import render
from tests import k8s_schemas
from tests.conftest import by_type
from tests.workloads import gpu_scheduling_problems


def make(**kw) -> ModelEndpointArgs:
    base = dict(
        model_name="iris",
        versions=[
            ModelVersion(name="v1", storage_uri="s3://b/m/v1", weight=90),
            ModelVersion(name="v2", storage_uri="s3://b/m/v2", weight=10),
        ],
        api_key_secret="iris-api-keys",
    )
    base.update(kw)
    return ModelEndpointArgs(**base)


def objects(args: ModelEndpointArgs, name: str = "iris") -> list[dict]:
    return build_objects(name, args).objects


def kind(objs: list[dict], k: str) -> list[dict]:
    return [o for o in objs if o["kind"] == k]


def problems_of(args: ModelEndpointArgs) -> list[str]:
    with pytest.raises(ArgsError) as err:
        ModelEndpoint("iris", args)
    return err.value.problems


VARIANTS = {
    "warm": make(),
    "scale-to-zero": make(min_replicas=0),
    "critical-queue": make(critical=True, min_replicas=2, scaling_metric=ScalingMetric.QUEUE_DEPTH),
    "gpu-jwt": make(
        gpu_count=1,
        gpu_pool="batch",
        auth_mode=AuthMode.JWT,
        api_key_secret=None,
        jwt_issuer="https://auth.example.com/",
        jwt_jwks_uri="https://auth.example.com/jwks.json",
        jwt_audiences=["models"],
        hostnames=["models.example.com"],
    ),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_object_validates_against_its_upstream_schema(variant: str) -> None:
    objs = objects(VARIANTS[variant])
    assert [p for o in objs for p in k8s_schemas.validate_object(o, "1.35")] == []


def test_the_component_registers_the_objects_as_its_children(mocked) -> None:
    regs = mocked.run(lambda: ModelEndpoint("iris", make(critical=True, min_replicas=2)))
    component = next(r for r in regs if r.type == "ml-platform:model_endpoint:ModelEndpoint")
    kube = [render.manifest(r) for r in regs if render.is_kubernetes_object(r)]
    assert all(r.parent == component.urn for r in regs if r is not component)
    assert sorted(o["kind"] for o in kube) == sorted(o["kind"] for o in objects(make(critical=True, min_replicas=2)))
    assert len(by_type(regs, "kubernetes:policy/v1:PodDisruptionBudget")) == 2


def test_every_object_carries_the_label_contract() -> None:
    for variant in VARIANTS.values():
        for obj in objects(variant):
            labels = obj["metadata"]["labels"]
            assert labels[MODEL_LABEL] == "iris" and labels[ENDPOINT_LABEL] == "iris", obj["kind"]
            assert labels[CRITICAL_LABEL] == str(variant.critical).lower()
            per_version = obj["kind"] not in ("HTTPRoute", "SecurityPolicy", "BackendTrafficPolicy")
            assert (MODEL_VERSION_LABEL in labels) == per_version, obj["kind"]


# --- weights -----------------------------------------------------------------------------------------------


def test_weights_must_be_0_to_100_and_sum_to_100() -> None:
    bad = make(
        versions=[
            ModelVersion(name="v1", storage_uri="s3://b/1", weight=101),
            ModelVersion(name="v2", storage_uri="s3://b/2", weight=-1),
        ]
    )
    assert problems_of(bad) == [
        "iris.versions.v1.weight: must be between 0 and 100, got 101",
        "iris.versions.v2.weight: must be between 0 and 100, got -1",
    ]
    short = make(
        versions=[
            ModelVersion(name="v1", storage_uri="s3://b/1", weight=80),
            ModelVersion(name="v2", storage_uri="s3://b/2", weight=10),
        ]
    )
    assert problems_of(short) == ["iris.versions: weights must sum to 100 (v1: 80), (v2: 10), got 90"]


def test_a_zero_weight_version_stays_deployed_and_routable_by_header() -> None:
    objs = objects(
        make(
            versions=[
                ModelVersion(name="v1", storage_uri="s3://b/1", weight=100),
                ModelVersion(name="v2", storage_uri="s3://b/2", weight=0),
            ]
        )
    )
    route = kind(objs, "HTTPRoute")[0]
    split = next(r for r in route["spec"]["rules"] if r["name"] == "split")
    assert [b["weight"] for b in split["backendRefs"]] == [100, 0]
    pin = next(r for r in route["spec"]["rules"] if r["name"] == "pin-v2")
    assert pin["matches"][0]["headers"] == [{"type": "Exact", "name": VERSION_HEADER, "value": "v2"}]
    assert len(kind(objs, "InferenceService")) == 2


def test_weights_reach_only_the_route() -> None:
    a = objects(make())
    b = objects(
        make(
            versions=[
                ModelVersion(name="v1", storage_uri="s3://b/m/v1", weight=50),
                ModelVersion(name="v2", storage_uri="s3://b/m/v2", weight=50),
            ]
        )
    )
    changed = {x["kind"] for x, y in zip(a, b, strict=False) if x != y}
    assert changed == {"HTTPRoute"}


# --- scaling ------------------------------------------------------------------------------------------------


def test_non_critical_min_zero_goes_through_the_interceptor() -> None:
    objs = objects(make(min_replicas=0))
    routes = {o["metadata"]["name"]: o for o in kind(objs, "InterceptorRoute")}
    scaled = {o["metadata"]["name"]: o for o in kind(objs, "ScaledObject")}
    assert set(routes) == set(scaled) == {"iris-v1", "iris-v2"}
    for name, so in scaled.items():
        spec = so["spec"]
        assert spec["minReplicaCount"] == 0
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{name}-predictor"}
        assert spec["triggers"] == [
            {
                "type": "external-push",
                "metadata": {
                    "scalerAddress": "keda-add-ons-http-external-scaler.ml-serving:9090",
                    "interceptorRoute": name,
                },
            }
        ]
        assert routes[name]["spec"]["target"] == {"service": f"{name}-predictor", "port": 80}
        assert routes[name]["spec"]["timeouts"]["readiness"] == "600s"
    # The route sends each version's share to the interceptor, tagged so that the version's InterceptorRoute matches.
    split = next(r for r in kind(objs, "HTTPRoute")[0]["spec"]["rules"] if r["name"] == "split")
    for backend in split["backendRefs"]:
        assert (backend["name"], backend["port"]) == ("keda-add-ons-http-interceptor-proxy", 8080)
        tag = backend["filters"][0]["requestHeaderModifier"]["set"][0]
        target = [
            r
            for r in routes.values()
            if r["spec"]["rules"][0]["headers"][0] == {"name": BACKEND_HEADER, "value": tag["value"]}
        ]
        assert len(target) == 1
    isvc = kind(objs, "InferenceService")[0]
    assert isvc["spec"]["predictor"]["minReplicas"] == 0
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"
    assert not kind(objs, "PodDisruptionBudget")


def test_a_critical_endpoint_refuses_min_zero() -> None:
    assert problems_of(make(critical=True, min_replicas=0)) == [
        "iris.min_replicas: a critical endpoint cannot scale to zero; set min_replicas >= 2 or critical: false, got 0"
    ]
    assert problems_of(make(critical=True, min_replicas=1)) == [
        "iris.min_replicas: must be >= 2 for a critical endpoint (one replica drops to zero during a drain), got 1"
    ]


def test_a_critical_endpoint_scales_on_queue_depth_with_a_pdb() -> None:
    objs = objects(make(critical=True, min_replicas=2, max_replicas=6, scaling_metric=ScalingMetric.QUEUE_DEPTH))
    assert not kind(objs, "InterceptorRoute")
    for so in kind(objs, "ScaledObject"):
        spec = so["spec"]
        assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 6)
        trigger = spec["triggers"][0]
        assert trigger["type"] == "prometheus" and "parallel_request_queue_sum" in trigger["metadata"]["query"]
        assert f'pod=~"{spec["scaleTargetRef"]["name"]}-.*"' in trigger["metadata"]["query"]
        assert spec["fallback"]["behavior"] == "currentReplicasIfHigher"
    for isvc in kind(objs, "InferenceService"):
        pdb = next(p for p in kind(objs, "PodDisruptionBudget") if p["metadata"]["name"] == isvc["metadata"]["name"])
        pod_labels = isvc["spec"]["predictor"]["labels"]
        assert pdb["spec"]["maxUnavailable"] == 1
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    split = next(r for r in kind(objs, "HTTPRoute")[0]["spec"]["rules"] if r["name"] == "split")
    assert [b["name"] for b in split["backendRefs"]] == ["iris-v1-predictor", "iris-v2-predictor"]


def test_concurrency_scaling_reads_in_flight_requests() -> None:
    so = kind(objects(make()), "ScaledObject")[0]
    assert so["spec"]["triggers"][0]["metadata"]["query"] == (
        'sum(rest_server_requests_in_progress{namespace="ml-serving",pod=~"iris-v1-predictor-.*"})'
    )
    assert so["spec"]["triggers"][0]["metadata"]["threshold"] == "4"


# --- pods ---------------------------------------------------------------------------------------------------


def test_probes_rollout_and_security_defaults() -> None:
    predictor = kind(objects(make(model_load_timeout_seconds=900)), "InferenceService")[0]["spec"]["predictor"]
    model = predictor["model"]
    startup = model["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 900
    assert model["readinessProbe"]["httpGet"]["path"] == "/v2/models/iris/ready"
    assert model["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert predictor["deploymentStrategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    assert model["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert model["securityContext"]["runAsNonRoot"] and not model["securityContext"]["allowPrivilegeEscalation"]
    assert (model["modelFormat"], model["protocolVersion"], model["runtime"]) == (
        {"name": "mlflow"},
        "v2",
        "ml-platform-mlserver",
    )
    assert "nvidia.com/gpu" not in model["resources"]["limits"] and "tolerations" not in predictor


def test_a_gpu_endpoint_lands_only_on_its_gpu_pool() -> None:
    isvc = kind(objects(make(gpu_count=1, gpu_pool="batch")), "InferenceService")[0]
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.present": "true", POOL_LABEL: "batch"}
    assert gpu_scheduling_problems(isvc) == []


# --- route, auth, rate limit --------------------------------------------------------------------------------


def test_no_route_without_authentication_and_a_rate_limit() -> None:
    for variant in VARIANTS.values():
        objs = objects(variant)
        for route in kind(objs, "HTTPRoute"):
            ref = {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route["metadata"]["name"]}
            auth = [p for p in kind(objs, "SecurityPolicy") if ref in p["spec"]["targetRefs"]]
            limits = [p for p in kind(objs, "BackendTrafficPolicy") if ref in p["spec"]["targetRefs"]]
            assert len(auth) == 1 and ("apiKeyAuth" in auth[0]["spec"] or "jwt" in auth[0]["spec"])
            assert len(limits) == 1 and limits[0]["spec"]["rateLimit"]["local"]["rules"][0]["limit"]["requests"] >= 1
            # The CRD's CEL rule: a Service backend must name its port.
            assert all("port" in b for rule in route["spec"]["rules"] for b in rule["backendRefs"])


def test_api_keys_come_from_a_secret_and_are_not_forwarded() -> None:
    policy = kind(objects(make()), "SecurityPolicy")[0]["spec"]["apiKeyAuth"]
    assert policy["credentialRefs"] == [{"group": "", "kind": "Secret", "name": "iris-api-keys"}]
    # The CRD's CEL rule (not checked by a JSON schema): exactly one of headers, params or cookies.
    assert all(len(source) == 1 for source in policy["extractFrom"])
    assert policy["sanitize"] is True


def test_auth_settings_must_be_complete_and_limits_positive() -> None:
    assert problems_of(make(api_key_secret=None, rate_limit_requests=0)) == [
        "iris.api_key_secret: is required with auth api-key (a Secret of client id -> key), got None",
        "iris.rate_limit_requests: must be >= 1 (every route is rate limited), got 0",
    ]
    assert problems_of(make(auth_mode=AuthMode.JWT, jwt_issuer="https://a/", jwt_jwks_uri="http://a/jwks")) == [
        "iris.jwt_jwks_uri: is required with auth jwt and must be https://, got 'http://a/jwks'",
    ]


def test_every_problem_is_reported_at_once() -> None:
    args = make(model_name="Iris", min_replicas=3, max_replicas=2, gpu_pool="batch", max_surge=0)
    assert problems_of(args) == [
        "iris.model_name: must be a DNS label (lowercase letters, digits, '-'), got 'Iris'",
        "iris.max_replicas: must be >= 1 and >= min_replicas (3), got 2",
        "iris.gpu_pool: is only meaningful with gpu_count >= 1, got 'batch'",
        "iris.max_surge: must be >= 1 (maxUnavailable is 0, so a rollout needs a surge), got 0",
    ]


def test_a_scale_to_zero_endpoint_must_share_the_interceptors_namespace() -> None:
    assert problems_of(make(min_replicas=0, namespace="team-a")) == [
        "iris.namespace: must be the interceptor's namespace ('ml-serving') for an endpoint that scales to zero "
        "(the route reaches the interceptor only in its own namespace), got 'team-a'"
    ]
    so = kind(objects(make(min_replicas=0, namespace="team-a", interceptor_namespace="team-a")), "ScaledObject")[0]
    assert so["spec"]["triggers"][0]["metadata"]["scalerAddress"] == "keda-add-ons-http-external-scaler.team-a:9090"


def test_versions_are_named_uniquely() -> None:
    v = ModelVersion(name="v1", storage_uri="s3://b/1", weight=50)
    assert problems_of(make(versions=[v, dataclasses.replace(v)])) == [
        "iris.versions.v1.name: must be unique within the endpoint, got 'v1'"
    ]
