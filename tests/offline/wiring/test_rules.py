"""Every wiring rule passes on every shipped stack and catches the broken render it exists for.

Each broken render is a shipped stack's own render with one connection cut the way a real change would cut it
(most of them the defects these rules were written for), so a rule that can only pass fails here.
"""

from __future__ import annotations

import json

import pytest

from offline import runner, wiring
from tests.offline.wiring.conftest import find, resources_of


@pytest.mark.parametrize("stack", runner.stack_names())
def test_every_shipped_stack_passes_every_rule(stack_run, stack) -> None:
    result = stack_run(stack)
    assert [f.line() for f in wiring.check(resources_of(result), result.config)] == []


def test_every_rule_is_documented() -> None:
    doc = (runner.ROOT / "docs" / "wiring.md").read_text()
    assert [name for name in wiring.RULES if f"`{name}`" not in doc] == []


# --- scraping ----------------------------------------------------------------------------------------------------


def test_monitor_selected_catches_a_monitor_without_the_release_label(broken) -> None:
    def cut(res):
        del find(res, ":PodMonitor", "scrape-mlflow")["inputs"]["metadata"]["labels"]["release"]

    [f] = broken("dev", "monitor-selected", cut)
    assert f.objects == ("PodMonitor monitoring/mlflow",)


def test_scrape_target_exists_catches_the_interceptor_looked_for_in_the_keda_namespace(broken) -> None:
    def cut(res):
        find(res, ":PodMonitor", "scrape-keda-http-interceptor")["inputs"]["spec"]["namespaceSelector"] = {
            "matchNames": ["keda"]
        }

    [f] = broken("dev", "scrape-target-exists", cut)
    assert f.objects == ("PodMonitor monitoring/keda-http-interceptor",) and "selects no pod" in f.message


def test_scrape_port_declared_catches_mlserver_metrics_port_left_undeclared(broken) -> None:
    def cut(res):
        container = find(res, ":ClusterServingRuntime", "serving-mlserver-runtime")["inputs"]["spec"]["containers"][0]
        container["ports"] = [p for p in container["ports"] if p["name"] != "metrics"]

    found = broken("dev", "scrape-port-declared", cut)
    assert {f.objects for f in found} == {
        ("PodMonitor monitoring/model-servers", f"InferenceService ml-serving/iris-{v} (predictor pods)")
        for v in ("blue", "green")
    }
    assert "scrapes port 8082, which the pods do not declare" in found[0].message


def test_scrape_port_declared_catches_a_readdress_to_a_port_nothing_listens_on(broken) -> None:
    def cut(res):
        endpoint = find(res, ":PodMonitor", "scrape-keda-http-interceptor")["inputs"]["spec"]["podMetricsEndpoints"][0]
        endpoint["relabelings"][0]["replacement"] = "$1:9999"

    [f] = broken("dev", "scrape-port-declared", cut)
    assert f.message == "scrapes port 9999, where nothing listens"


# --- services and routes -----------------------------------------------------------------------------------------


def test_service_target_port_catches_an_undeclared_target_port(broken) -> None:
    def cut(res):
        find(res, ":Service", "mlflow-service")["inputs"]["spec"]["ports"][0]["targetPort"] = "web"

    [f] = broken("dev", "service-target-port", cut)
    assert f.objects == ("Service mlflow/mlflow", "Deployment mlflow/mlflow")
    assert f.message == "targetPort 'web' is not declared on the pods"


def test_route_backend_catches_a_missing_service_and_a_cross_namespace_ref(broken) -> None:
    def cut(res):
        rules = find(res, ":HTTPRoute", "iris-httproute-iris")["inputs"]["spec"]["rules"]
        rules[0]["backendRefs"][0]["name"] = "iris-v9"
        rules[1]["backendRefs"][0]["namespace"] = "keda"

    messages = sorted(f.message for f in broken("dev", "route-backend", cut))
    assert messages == [
        "refers to Service keda/keda-add-ons-http-interceptor-proxy in another namespace without a ReferenceGrant",
        "refers to Service ml-serving/iris-v9, which nothing creates",
    ]


def test_route_parent_catches_a_listener_that_does_not_exist(broken) -> None:
    def cut(res):
        find(res, ":HTTPRoute", "fraud-httproute-fraud")["inputs"]["spec"]["parentRefs"][0]["sectionName"] = "grpc"

    [f] = broken("prod", "route-parent", cut)
    assert f.objects == ("HTTPRoute ml-serving/fraud",)


def test_policy_target_catches_a_policy_on_a_renamed_route(broken) -> None:
    def cut(res):
        find(res, ":SecurityPolicy", "iris-securitypolicy-iris-auth")["inputs"]["spec"]["targetRefs"][0]["name"] = (
            "iriss"
        )

    [f] = broken("dev", "policy-target", cut)
    assert f.message == "targets HTTPRoute ml-serving/iriss, which nothing creates"


def test_credentials_over_tls_catches_routes_on_the_plain_http_listener(broken) -> None:
    def cut(res):
        for listener in find(res, ":Gateway", "serving-gateway")["inputs"]["spec"]["listeners"]:
            listener["allowedRoutes"] = {"namespaces": {"from": "All"}}
        for r in res:
            if r["type"].endswith(":HTTPRoute"):
                r["inputs"]["spec"]["parentRefs"][0].pop("sectionName", None)

    found = broken("prod", "credentials-over-tls", cut)
    assert sorted(f.objects[0] for f in found) == [
        f"HTTPRoute ml-serving/{e}" for e in ("churn", "embeddings", "fraud")
    ]


# --- storage -----------------------------------------------------------------------------------------------------


def test_storage_identity_catches_model_pods_running_as_default(broken) -> None:
    def cut(res):
        del find(res, ":InferenceService", "iris-inferenceservice-iris-blue")["inputs"]["spec"]["predictor"][
            "serviceAccountName"
        ]

    [f] = broken("dev", "storage-identity", cut)
    assert f.objects == ("InferenceService ml-serving/iris-blue (predictor pods)",)
    assert "runs as ServiceAccount ml-serving/default, which names no IRSA role" in f.message


def test_storage_identity_catches_a_role_trusting_another_service_account(broken) -> None:
    def cut(res):
        role = find(res, ":Role", "mlflow-artifacts-reader-irsa")["inputs"]
        role["assumeRolePolicy"] = role["assumeRolePolicy"].replace("ml-serving:model-server", "ml-serving:default")

    found = broken("dev", "storage-identity", cut)
    assert len(found) == 2 and "does not trust system:serviceaccount:ml-serving:model-server" in found[0].message


def test_storage_identity_catches_a_missing_workload_identity_binding_on_gke(broken) -> None:
    def cut(res):
        res.remove(find(res, ":IAMMember", "mlflow-artifacts-reader-workload-identity"))

    [f] = broken("gke-dev", "storage-identity", cut)
    assert "no Workload Identity binding lets ml-serving/model-server act as" in f.message


def test_storage_identity_catches_a_drift_job_without_the_buckets_identity(broken) -> None:
    def cut(res):
        pod = find(res, ":CronJob", "drift-iris")["inputs"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        pod["serviceAccountName"] = "default"

    found = broken("dev", "storage-identity", cut)
    assert {f.objects for f in found} == {("CronJob mlflow/drift-iris",)}
    assert len(found) == 2  # the reference and the recent inputs


def test_storage_prefix_catches_models_read_outside_mlflows_artifacts_destination(broken) -> None:
    def cut(res):
        service = find(res, ":InferenceService", "iris-inferenceservice-iris-blue")
        model = service["inputs"]["spec"]["predictor"]["model"]
        model["storageUri"] = model["storageUri"].replace("/mlflow/", "/", 1)

    [f] = broken("dev", "storage-prefix", cut)
    assert "outside what its producer writes" in f.message and "Deployment mlflow/mlflow" in f.objects


def test_storage_identity_catches_a_cache_identity_scoped_to_another_prefix(broken) -> None:
    def cut(res):
        policy = find(res, ":RolePolicy", "mlflow-artifacts-cache-reader-irsa")["inputs"]
        policy["policy"] = policy["policy"].replace("m-embeddings-v1", "m-embeddings-v0")

    [f] = broken("prod", "storage-identity", cut)
    assert f.objects == ("DaemonSet ml-platform-model-cache/model-cache-batch",)
    assert "role mlflow-artifacts-cache-reader-irsa does not allow s3:GetObject on s3://" in f.message


def test_model_cache_catches_each_broken_link(broken) -> None:
    def unlisted(res):
        find(res, ":DaemonSet", "model-cache-batch")["inputs"]["spec"]["template"]["spec"]["containers"][0]["args"] = []

    [f] = broken("prod", "model-cache", unlisted)
    assert f.objects == ("InferenceService ml-serving/embeddings-v1",)
    assert f.message.startswith("no prefetcher on pool 'batch' lists the model it mounts (copy ")

    def intolerant(res):
        find(res, ":DaemonSet", "model-cache-batch")["inputs"]["spec"]["template"]["spec"]["tolerations"] = []

    [f] = broken("prod", "model-cache", intolerant)
    assert f.message == (
        "prefetcher DaemonSet ml-platform-model-cache/model-cache-batch does not tolerate taint nvidia.com/gpu of "
        "pool 'batch'"
    )

    def other_pool(res):
        predictor = find(res, ":InferenceService", "embeddings-inferenceservice-embeddings-v1")["inputs"]["spec"][
            "predictor"
        ]
        predictor["nodeSelector"]["ml-platform.io/pool"] = "inference"

    [f] = broken("prod", "model-cache", other_pool)
    assert (
        f.message == "its pods run on pool 'inference', not on the pool(s) volume ml-serving-model-cache-batch lies on "
        "(['batch'])"
    )

    def no_claim(res):
        res.remove(find(res, ":PersistentVolumeClaim", "model-cache-batch-claim"))

    [f] = broken("prod", "model-cache", no_claim)
    assert f.message == "mounts claim model-cache-batch, which the stack does not create in ml-serving"


def test_storage_class_catches_eks_without_a_default_class(broken) -> None:
    def cut(res):
        res.remove(find(res, ":StorageClass", "mlp-dev-gp3"))

    [f] = broken("dev", "storage-class", cut)
    assert f.message == "names no StorageClass and the cluster has no default one"
    assert f.objects == ("Prometheus monitoring/kube-prometheus-stack-prometheus (from chart kube-prometheus-stack)",)


# --- ordering and reachability -----------------------------------------------------------------------------------


def test_crd_before_use_catches_kserve_gateway_api_mode_without_the_crds_first(broken) -> None:
    def cut(res):
        values = find(res, ":Release", "serving-kserve-resources")["inputs"]["values"]
        values["kserve"]["controller"]["gateway"]["ingressGateway"] = {"enableGatewayApi": True}

    [f] = broken("dev", "crd-before-use", cut)
    assert f.message == "needs the gateway.networking.k8s.io CRDs but does not wait for the release that installs them"


def test_webhook_before_use_catches_the_runtime_waiting_only_for_the_crds(broken) -> None:
    def cut(res):
        runtime = find(res, ":ClusterServingRuntime", "serving-mlserver-runtime")
        runtime["dependsOn"] = [d for d in runtime["dependsOn"] if not d.endswith("serving-kserve-resources")]

    [f] = broken("dev", "webhook-before-use", cut)
    assert f.objects == ("ClusterServingRuntime ml-platform-mlserver", "Release serving-kserve-resources")


def test_binding_after_target_catches_a_workload_identity_binding_before_the_pool(broken) -> None:
    def cut(res):
        binding = find(res, ":IAMMember", "mlflow-artifacts-workload-identity")
        binding["dependsOn"] = [d for d in binding["dependsOn"] if "gcp:container/cluster" not in d]

    [f] = broken("gke-dev", "binding-after-target", cut)
    assert f.objects == ("IAMMember mlflow-artifacts-workload-identity", "Cluster mlp-gke-dev-gke")


def test_control_plane_reaches_webhooks_catches_a_private_gke_cluster_without_the_firewall_rule(broken) -> None:
    def cut(res):
        res.remove(find(res, ":Firewall", "mlp-gke-dev-control-plane-webhooks"))

    found = broken("gke-dev", "control-plane-reaches-webhooks", cut)
    assert {(f.objects[1], f.message.split(" listens on ")[1][:4]) for f in found} == {
        ("Release serving-kserve-resources", "9443"),
        ("Release serving-keda", "9443"),
        ("Release serving-keda", "6443"),
        ("Release serving-gateway-helm", "9443"),
    }


def test_chart_modelled_catches_a_chart_nothing_models(broken) -> None:
    def cut(res):
        find(res, ":Release", "monitoring-pushgateway")["inputs"]["chart"] = "loki"

    [f] = broken("dev", "chart-modelled", cut)
    assert f.message == "chart 'loki' has no model in offline/wiring/_charts.py"


# --- network isolation -------------------------------------------------------------------------------------------


def test_network_flows_catches_keda_cut_off_from_the_external_scaler(broken) -> None:
    def cut(res):
        res.remove(find(res, ":NetworkPolicy", "serving-allow-keda-to-scaler"))

    [f] = broken("dev", "network-flows", cut)
    assert f.message.startswith("port 9090 from keda (KEDA for ScaledObject ml-serving/iris-")
    assert "NetworkPolicy ml-serving/default-deny-ingress" in f.objects


def test_network_flows_catches_prometheus_cut_off_from_mlflow(broken) -> None:
    def cut(res):
        spec = find(res, ":NetworkPolicy", "mlflow-allow-clients")["inputs"]["spec"]
        spec["ingress"][0]["from"] = [p for p in spec["ingress"][0]["from"] if "monitoring" not in str(p)]

    [f] = broken("prod", "network-flows", cut)
    assert f.objects[1] == "Deployment mlflow/mlflow" and f.message.startswith("port 5000 from monitoring")


def test_serving_isolated_catches_a_namespace_without_default_deny(broken) -> None:
    def cut(res):
        res.remove(find(res, ":NetworkPolicy", "serving-default-deny-ingress"))

    [f] = broken("dev", "serving-isolated", cut)
    assert f.message == "namespace ml-serving has no default-deny ingress NetworkPolicy"


def test_a_cached_endpoint_on_gke_is_wired_and_its_conditioned_identity_is_checked() -> None:
    """gke-dev with its demo endpoint cached on the time-shared L4 pool: the whole chain holds; a condition on
    another prefix is a finding."""
    config, _ = runner.read_stack_file("gke-dev")
    serving = json.loads(config["ml-platform:serving"])
    serving["endpoints"]["iris"].update(gpu_count=1, gpu_pool="l4-shared", model_cache_gib=5)
    pools = json.loads(config["ml-platform:gpu_pools"])
    pools["l4-shared"]["model_cache_gib"] = 5
    result = runner.run("gke-dev", {"ml-platform:serving": serving, "ml-platform:gpu_pools": pools})
    resources = resources_of(result)
    assert [f.line() for f in wiring.check(resources, result.config)] == []
    viewer = find(resources, ":BucketIAMMember", "mlflow-artifacts-cache-reader-object-viewer")
    assert "/objects/mlflow/1/models/m-iris-v1/artifacts/" in viewer["inputs"]["condition"]["expression"]
    viewer["inputs"]["condition"]["expression"] = viewer["inputs"]["condition"]["expression"].replace("m-iris-v1", "x")
    [f] = wiring.check(resources, result.config, only=["storage-identity"])
    assert f.objects == ("DaemonSet ml-platform-model-cache/model-cache-l4-shared",)
    assert f.message.endswith("has no read role on bucket " + f.message.split("gs://", 1)[1].split("/", 1)[0])
