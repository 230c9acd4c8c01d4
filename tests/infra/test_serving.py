"""The serving layer on the shipped stacks: what dev and prod render, and what a change of config touches."""

from __future__ import annotations

import json

from components.common import POOL_LABEL, Problems
from components.serving import cache_key
from infra import serving
from infra.config import parse
from infra.mlflow import with_artifact_root
from offline import render, runner
from tests.conftest import by_type
from tests.infra.layers import cluster_layer, mlflow_layer

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SCALED = "kubernetes:keda.sh/v1alpha1:ScaledObject"


def serving_config(stack: str) -> dict:
    config, _ = runner.read_stack_file(stack)
    return json.loads(config["ml-platform:serving"])


def manifests(result, typ: str) -> list[dict]:
    return [render.manifest(r) for r in by_type(result.registrations, typ)]


def with_literal_iris(cfg: dict, weights: tuple[int, int] = (90, 10)) -> dict:
    """Dev's demo endpoint with two literal versions instead of following the registry."""
    iris = cfg["endpoints"]["iris"]
    iris.pop("model"), iris.pop("release")
    iris["versions"] = {
        v: {"storage_uri": f"{{artifact_root}}/1/models/m-iris-{v}/artifacts", "weight": w}
        for v, w in zip(("v1", "v2"), weights, strict=True)
    }
    return cfg


def test_dev_demo_endpoint_follows_the_registry_in_two_slots(stack_run) -> None:
    dev = stack_run("dev")
    assert dev.error is None
    route = manifests(dev, ROUTE)[0]
    split = next(r for r in route["spec"]["rules"] if r["name"] == "split")
    assert [b["weight"] for b in split["backendRefs"]] == [100, 0]
    assert sorted(i["metadata"]["name"] for i in manifests(dev, ISVC)) == ["iris-blue", "iris-green"]


def test_changing_weights_changes_only_the_route() -> None:
    cfg = with_literal_iris(serving_config("dev"))
    before = {r.urn: r.inputs for r in runner.run("dev", overrides={"ml-platform:serving": cfg}).registrations}
    cfg = with_literal_iris(serving_config("dev"), (50, 50))
    after = {r.urn: r.inputs for r in runner.run("dev", overrides={"ml-platform:serving": cfg}).registrations}
    assert before.keys() == after.keys()
    changed = sorted(urn.split("::")[-2].split("$")[-1] for urn in before if before[urn] != after[urn])
    assert changed == ["kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"]


def test_prod_has_a_critical_endpoint_a_scale_to_zero_one_and_a_gpu_one(stack_run) -> None:
    prod = stack_run("prod")
    assert prod.error is None
    scaled = {s["metadata"]["name"]: s["spec"] for s in manifests(prod, SCALED)}
    assert all(scaled[n]["minReplicaCount"] >= 2 for n in ("fraud-blue", "fraud-green"))
    pdbs = {
        p["metadata"]["name"]
        for p in manifests(prod, "kubernetes:policy/v1:PodDisruptionBudget")
        if p["metadata"].get("namespace") != "mlflow"
    }  # MLflow's own budget belongs to the mlflow layer
    assert pdbs == {"fraud-blue", "fraud-green"}
    assert scaled["churn-v1"]["minReplicaCount"] == 0 and scaled["churn-v1"]["triggers"][0]["type"] == "external-push"
    interceptor_routes = manifests(prod, "kubernetes:http.keda.sh/v1beta1:InterceptorRoute")
    assert [r["metadata"]["name"] for r in interceptor_routes] == ["churn-v1"]


def test_the_prod_gpu_endpoint_shares_a_time_sliced_gpu_on_gpu_nodes_only(stack_run) -> None:
    prod = stack_run("prod")
    isvc = next(i for i in manifests(prod, ISVC) if i["metadata"]["name"] == "embeddings-v1")
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.present": "true", POOL_LABEL: "batch"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in predictor["tolerations"]
    config, _ = runner.read_stack_file("prod")
    batch = json.loads(config["ml-platform:gpu_pools"])["batch"]
    assert batch["sharing"] == {"mode": "time-slicing", "replicas": 2}
    cpu_only = [i for i in manifests(prod, ISVC) if i["metadata"]["name"] != "embeddings-v1"]
    assert all("nodeSelector" not in i["spec"]["predictor"] for i in cpu_only)


def test_every_route_of_every_stack_has_auth_and_a_rate_limit(stack_run) -> None:
    for stack in runner.stack_names():
        result = stack_run(stack)
        routes = manifests(result, ROUTE)
        policies = manifests(result, "kubernetes:gateway.envoyproxy.io/v1alpha1:SecurityPolicy")
        limits = manifests(result, "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy")
        for route in routes:
            if route["metadata"]["name"] == "https-redirect":
                continue  # forwards nothing: every rule only redirects to HTTPS
            ref = {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": route["metadata"]["name"]}
            assert [p for p in policies if ref in p["spec"]["targetRefs"]], (stack, ref)
            assert [p for p in limits if ref in p["spec"]["targetRefs"] and p["spec"].get("rateLimit")], (stack, ref)


def test_one_gateway_per_stack_and_no_other_load_balancer(stack_run) -> None:
    for stack in runner.stack_names():
        result = stack_run(stack)
        gateways = by_type(result.registrations, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
        enabled = "ml-platform:serving" in result.config and serving_config(stack).get("enabled", False)
        assert len(gateways) == (1 if enabled else 0), stack
        services = [render.manifest(r) for r in by_type(result.registrations, "kubernetes:core/v1:Service")]
        assert not [s for s in services if s.get("spec", {}).get("type") == "LoadBalancer"]


def test_a_critical_endpoint_at_zero_stops_the_stack_with_the_key_path() -> None:
    cfg = serving_config("prod")
    cfg["endpoints"]["fraud"]["min_replicas"] = 0
    result = runner.run("prod", overrides={"ml-platform:serving": cfg})
    assert result.error is not None and not by_type(result.registrations, ISVC)
    assert (
        "serving.endpoints.fraud.min_replicas: a critical endpoint cannot scale to zero; "
        "set min_replicas >= 2 or critical: false, got 0"
    ) in result.error


def stack_problems(stack: str, serving_cfg: dict, **overrides: object) -> list[str]:
    config, _ = runner.read_stack_file(stack, {"ml-platform:serving": serving_cfg, **overrides})
    cfg = parse(stack, {k: v for k, v in config.items()})
    problems = Problems()
    serving.validate(cfg, problems)
    return problems.items


def test_gpu_pool_rules_name_the_key_path() -> None:
    cfg = serving_config("prod")
    cfg["endpoints"]["embeddings"]["gpu_count"] = 2
    cfg["endpoints"]["churn"]["gpu_count"] = 1
    cfg["endpoints"]["churn"]["gpu_pool"] = "gpus"
    assert stack_problems("prod", cfg) == [
        "serving.endpoints.churn.gpu_pool: must name a GPU pool of this stack (inference, batch), got 'gpus'",
        "serving.endpoints.embeddings.gpu_count: must be 1 on time-sliced pool 'batch' "
        "(a pod gets one slice of one GPU), got 2",
    ]


def test_nested_keys_are_named_as_the_stack_file_writes_them() -> None:
    cfg = serving_config("dev")
    cfg["endpoints"]["iris"]["auth"] = {"mode": "jwt", "jwt_jwks_uri": "http://issuer/jwks"}
    cfg["endpoints"]["iris"]["rate_limit"] = {"requests": 0}
    assert stack_problems("dev", cfg) == [
        "serving.endpoints.iris.auth.jwt_issuer: is required with auth jwt, got None",
        "serving.endpoints.iris.auth.jwt_jwks_uri: is required with auth jwt and must be https://, "
        "got 'http://issuer/jwks'",
        "serving.endpoints.iris.rate_limit.requests: must be >= 1 (every route is rate limited), got 0",
    ]


def test_artifact_root_placeholder_needs_the_mlflow_layer_and_is_filled_from_it() -> None:
    cfg = with_literal_iris(serving_config("dev"))
    cfg["endpoints"]["iris"]["versions"]["v1"]["storage_uri"] = "{artifact_root}/1/models/m-1/artifacts"
    cfg["endpoints"]["iris"]["versions"]["v2"]["storage_uri"] = "s3://explicit-bucket/1/models/m-2/artifacts"
    assert stack_problems("dev", cfg, **{"ml-platform:mlflow": {"enabled": False}}) == [
        "serving.endpoints.iris.versions.v1.storage_uri: uses {artifact_root} but the stack has no MLflow layer "
        "(mlflow.enabled: false), got '{artifact_root}/1/models/m-1/artifacts'",
    ]
    assert with_artifact_root("{artifact_root}/1/m", "s3://bucket/") == "s3://bucket/1/m"
    assert with_artifact_root("s3://other/1/m", "s3://bucket") == "s3://other/1/m"


def test_deploy_returns_what_monitoring_needs(mocked) -> None:
    config, _ = runner.read_stack_file("prod")
    cfg = parse("prod", config)
    out: dict = {}
    mocked.run(lambda: out.setdefault("layer", serving.deploy(cfg, cluster_layer(), mlflow_layer("s3://b"))))
    result = out["layer"]
    assert (result.namespace, result.gateway_name, result.metrics_port) == ("ml-serving", "ml-gateway", 8082)
    assert (result.gateway_namespace, result.keda_namespace, result.interceptor_namespace) == (
        "envoy-gateway-system",
        "keda",
        "ml-serving",
    )
    endpoints = {e.name: e for e in result.endpoints}
    assert {n: (e.critical, e.gpu_count) for n, e in endpoints.items()} == {
        "fraud": (True, 0),
        "churn": (False, 0),
        "embeddings": (False, 1),
    }
    blue = endpoints["fraud"].versions[0]
    assert (blue.inference_service, blue.deployment, blue.service, blue.weight) == (
        "fraud-blue",
        "fraud-blue-predictor",
        "fraud-blue-predictor",
        100,
    )
    assert blue.labels["ml-platform.io/model-version"] == "blue" and endpoints["churn"].versions[0].scale_to_zero


def test_the_mlflow_layers_artifact_root_fills_the_placeholder_even_as_an_output(mocked) -> None:
    import pulumi

    config, _ = runner.read_stack_file("dev")
    raw = with_literal_iris(json.loads(config["ml-platform:serving"]))
    raw["endpoints"]["iris"]["versions"]["v1"]["storage_uri"] = "{artifact_root}/1/models/m-1/artifacts"
    raw["endpoints"]["iris"]["versions"]["v2"]["storage_uri"] = "s3://explicit-bucket/1/models/m-iris-v2/artifacts"
    cfg = parse("dev", dict(config, **{"ml-platform:serving": json.dumps(raw)}))
    regs = mocked.run(
        lambda: serving.deploy(cfg, cluster_layer(), mlflow_layer(pulumi.Output.from_input("s3://mlp-dev-artifacts")))
    )
    uris = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]["predictor"]["model"]["storageUri"] for r in by_type(regs, ISVC)
    }
    assert uris == {
        "iris-v1": "s3://mlp-dev-artifacts/1/models/m-1/artifacts",
        "iris-v2": "s3://explicit-bucket/1/models/m-iris-v2/artifacts",
    }


# --- under pressure ---------------------------------------------------------------------------------------------


def test_prod_embeddings_batches_and_keeps_office_hours_warm(stack_run) -> None:
    result = stack_run("prod")
    isvc = next(m for m in manifests(result, ISVC) if m["metadata"]["name"] == "embeddings-v1")
    env = {e["name"]: e["value"] for e in isvc["spec"]["predictor"]["model"]["env"]}
    assert (env["MLSERVER_PARALLEL_WORKERS"], env["MLSERVER_MODEL_MAX_BATCH_SIZE"]) == ("1", "8")
    assert isvc["spec"]["predictor"]["priorityClassName"] == "ml-platform-inference"
    fraud = next(m for m in manifests(result, ISVC) if m["metadata"]["name"] == "fraud-blue")
    assert fraud["spec"]["predictor"]["priorityClassName"] == "ml-platform-critical-inference"
    so = next(m for m in manifests(result, SCALED) if m["metadata"]["name"] == "embeddings-v1")
    cron = [t for t in so["spec"]["triggers"] if t["type"] == "cron"]
    assert cron == [
        {
            "type": "cron",
            "name": "warm-0",
            "metadata": {
                "timezone": "America/New_York",
                "start": "0 8 * * 1,2,3,4,5",
                "end": "0 18 * * 1,2,3,4,5",
                "desiredReplicas": "2",
            },
        }
    ]


def test_stack_settings_under_pressure_are_checked_with_their_key_paths() -> None:
    cfg = serving_config("prod")
    cfg["endpoints"]["embeddings"]["max_batch_time_ms"] = 0
    cfg["endpoints"]["embeddings"]["warm_timezone"] = "America/Nowhere"
    cfg["endpoints"]["embeddings"]["warm_windows"] = [
        {"days": ["mon"], "start": "18:00", "end": "08:00", "replicas": 2}
    ]
    cfg["endpoints"]["embeddings"]["model_cache_gib"] = 30
    pools = {
        "inference": {"instance_type": "g5.2xlarge", "min_size": 1, "max_size": 4},
        "batch": {
            "instance_type": "g6.xlarge",
            "capacity": "spot",
            "max_size": 4,
            "model_cache_gib": 20,
            "sharing": {"mode": "time-slicing", "replicas": 2},
        },
    }
    assert stack_problems("prod", cfg, **{"ml-platform:gpu_pools": pools}) == [
        "serving.endpoints.embeddings.max_batch_time_ms: must be > 0 exactly when max_batch_size > 1 (it is 8), got 0",
        "serving.endpoints.embeddings.warm_timezone: must be an IANA time zone, got 'America/Nowhere'",
        "serving.endpoints.embeddings.warm_windows[0].end: must be later than start (18:00); a window cannot cross "
        "midnight, split it in two, got '08:00'",
        "serving.endpoints.embeddings.model_cache_gib: the cached models on pool 'batch' need 30 GiB; set "
        "gpu_pools.batch.model_cache_gib to at least that (it is 20), got 30",
    ]


def test_prod_embeddings_mounts_the_copy_its_pools_prefetcher_keeps(stack_run) -> None:
    result = stack_run("prod")
    embeddings = next(m for m in manifests(result, ISVC) if m["metadata"]["name"] == "embeddings-v1")
    source = embeddings["metadata"]["annotations"]["ml-platform.io/model-cache-source"]
    assert source.startswith("s3://") and source.endswith("/mlflow/9/models/m-embeddings-v1/artifacts")
    assert embeddings["spec"]["predictor"]["model"]["storageUri"] == f"pvc://model-cache-batch/{cache_key(source)}"
    (ds,) = manifests(result, "kubernetes:apps/v1:DaemonSet")
    assert ds["spec"]["template"]["spec"]["nodeSelector"] == {POOL_LABEL: "batch"}
    assert ds["spec"]["template"]["spec"]["containers"][0]["args"] == [source]
    # its identity: an IRSA role that may read only under that version's prefix
    policy = next(
        json.loads(r.inputs["policy"])
        for r in by_type(result.registrations, "aws:iam/rolePolicy:RolePolicy")
        if r.name == "mlflow-artifacts-cache-reader-irsa"
    )
    read = next(st for st in policy["Statement"] if st["Sid"] == "ReadThePrefixes")
    assert [r.split(":::", 1)[1] for r in read["Resource"]] == [source.removeprefix("s3://") + "/*"]
    # the other stacks cache nothing
    assert not manifests(stack_run("dev"), "kubernetes:apps/v1:DaemonSet")


def test_a_cached_endpoint_must_read_under_the_artifact_root_and_not_be_released() -> None:
    cfg = serving_config("prod")
    cfg["endpoints"]["embeddings"]["versions"]["v1"]["storage_uri"] = "s3://elsewhere/embeddings"
    cfg["endpoints"]["fraud"]["model_cache_gib"] = 5
    cfg["endpoints"]["fraud"]["gpu_count"] = 1
    cfg["endpoints"]["fraud"]["gpu_pool"] = "batch"
    assert stack_problems("prod", cfg) == [
        "serving.endpoints.fraud.model_cache_gib: cannot cache a released endpoint (the release controller changes "
        "its versions' models at run time), got 5",
        "serving.endpoints.embeddings.versions.v1.storage_uri: must lie under {artifact_root} when the endpoint is "
        "cached (the cache's identity reads only there), got 's3://elsewhere/embeddings'",
    ]


# --- releases -----------------------------------------------------------------------------------------------------


def test_released_endpoints_leave_weights_and_model_uris_to_the_controller(stack_run) -> None:
    for stack, endpoint, mode in (("dev", "iris", "automatic"), ("prod", "fraud", "manual")):
        result = stack_run(stack)
        ignored = {r.name: r.ignore_changes for r in result.registrations if r.ignore_changes}
        assert ignored[f"{endpoint}-httproute-{endpoint}"] == ["spec.rules[*].backendRefs[*].weight"]
        for slot in ("blue", "green"):
            assert ignored[f"{endpoint}-inferenceservice-{endpoint}-{slot}"] == ["spec.predictor.model.storageUri"]
        plan = render.plan(result)
        route = next(r for r in plan["resources"] if r["name"] == f"{endpoint}-httproute-{endpoint}")
        assert route["ignoreChanges"] == ["spec.rules[*].backendRefs[*].weight"]
        settings = json.loads(
            next(r for r in result.registrations if r.name == "release-settings").inputs["data"]["settings.json"]
        )
        assert settings["endpoints"][endpoint]["mode"] == mode
    # Endpoints that are not released keep every field Pulumi's.
    assert not [r for r in stack_run("prod").registrations if r.ignore_changes and "churn" in r.name]


def test_release_settings_problems_name_the_key_path_and_value() -> None:
    cfg = serving_config("dev")
    cfg["endpoints"]["iris"]["release"].update(canary_weight=80, max_error_rate=1.5, analysis_minutes=0.5)
    cfg["endpoints"]["iris"]["model"] = "iris@latest"
    cfg["platform"].pop("release_controller_image")
    assert stack_problems("dev", cfg) == [
        "serving.endpoints.iris.model: must be '<registered model>@champion' (production follows the champion alias), "
        "got 'iris@latest'",
        "serving.endpoints.iris.release.canary_weight: must be an integer between 1 and 50, got 80",
        "serving.endpoints.iris.release.analysis_minutes: must cover at least two intervals (60 s), got 0.5",
        "serving.endpoints.iris.release.window_seconds: must be >= interval_seconds (30) and leave at least one "
        "interval of the analysis (30 s) after the first full window, got 300",
        "serving.endpoints.iris.release.max_error_rate: must be between 0 and 1, got 1.5",
        "serving.endpoints.iris.release: needs serving.platform.release_controller_image "
        "(build images/release-controller), got None",
    ]


def test_model_and_release_go_together() -> None:
    cfg = serving_config("dev")
    cfg["endpoints"]["iris"].pop("release")
    assert stack_problems("dev", cfg) == [
        "serving.endpoints.iris.release: is required with model (the release controller loads what the registry "
        "names), got None"
    ]
