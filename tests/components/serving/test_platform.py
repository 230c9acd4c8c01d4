"""ServingPlatform: pinned charts with values the charts know, CRDs before custom resources, one Gateway."""

from __future__ import annotations

import pytest

from components.common import ArgsError
from components.serving import (
    GATEWAY_ACCESS_LABEL,
    ServingPlatform,
    ServingPlatformArgs,
    envoy_gateway_values,
    keda_http_values,
    keda_values,
    kserve_values,
)
from offline import render
from tests import k8s_schemas
from tests.conftest import by_type, one

RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture
def regs(mocked):
    return mocked.run(
        lambda: ServingPlatform("serving", ServingPlatformArgs(tls_secret_name="tls", gateway_hostname="m.example.com"))
    )


def test_every_chart_is_pinned(regs) -> None:
    releases = {r.inputs["name"]: r.inputs for r in by_type(regs, RELEASE)}
    assert {name: (i["chart"], i["version"], i["namespace"]) for name, i in releases.items()} == {
        "cert-manager": ("cert-manager", "v1.19.1", "cert-manager"),
        "kserve-crd": ("oci://ghcr.io/kserve/charts/kserve-crd", "v0.20.0", "kserve"),
        "kserve-resources": ("oci://ghcr.io/kserve/charts/kserve-resources", "v0.20.0", "kserve"),
        "keda": ("keda", "2.20.2", "keda"),
        "keda-add-ons-http": ("keda-add-ons-http", "0.15.0", "ml-serving"),
        "gateway-helm": ("oci://docker.io/envoyproxy/gateway-helm", "v1.9.0", "envoy-gateway-system"),
    }
    assert releases["keda"]["repositoryOpts"]["repo"] == "https://kedacore.github.io/charts"
    assert releases["cert-manager"]["repositoryOpts"]["repo"] == "https://charts.jetstack.io"
    assert releases["kserve-resources"]["values"]["kserve"]["controller"]["deploymentMode"] == "Standard"


def test_custom_resources_wait_for_the_releases_that_define_them(regs) -> None:
    urn = {r.inputs["name"]: r.urn for r in by_type(regs, RELEASE)}
    assert urn["cert-manager"] in one(regs, RELEASE, "serving-kserve-crd").depends_on
    assert {urn["cert-manager"], urn["kserve-crd"]} <= set(one(regs, RELEASE, "serving-kserve-resources").depends_on)
    assert urn["keda"] in one(regs, RELEASE, "serving-keda-add-ons-http").depends_on
    gateway_class = one(regs, "kubernetes:gateway.networking.k8s.io/v1:GatewayClass")
    gateway = one(regs, "kubernetes:gateway.networking.k8s.io/v1:Gateway")
    runtime = one(regs, "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime")
    assert urn["gateway-helm"] in gateway_class.depends_on
    assert {urn["gateway-helm"], gateway_class.urn} <= set(gateway.depends_on)
    assert urn["kserve-crd"] in runtime.depends_on


def test_custom_resources_validate_against_their_crds(regs) -> None:
    objs = [render.manifest(r) for r in regs if render.is_kubernetes_object(r)]
    assert [p for o in objs for p in k8s_schemas.validate_object(o, "1.35")] == []


@pytest.mark.parametrize(
    "chart, values",
    [
        ("kserve-resources", kserve_values),
        ("keda", keda_values),
        ("http-add-on", keda_http_values),
        ("gateway-helm", envoy_gateway_values),
    ],
)
def test_every_values_key_exists_in_the_chart(chart, values) -> None:
    assert k8s_schemas.unknown_values_keys(values(ServingPlatformArgs()), k8s_schemas.chart_values(chart)) == []


def test_the_gateway_is_the_only_public_entry_and_takes_routes_from_labelled_namespaces(regs) -> None:
    gateway = one(regs, "kubernetes:gateway.networking.k8s.io/v1:Gateway").inputs["spec"]
    assert [(x["name"], x["port"], x["protocol"], x["hostname"]) for x in gateway["listeners"]] == [
        ("http", 80, "HTTP", "m.example.com"),
        ("https", 443, "HTTPS", "m.example.com"),
    ]
    http, https = gateway["listeners"]
    assert https["allowedRoutes"]["namespaces"] == {
        "from": "Selector",
        "selector": {"matchLabels": {GATEWAY_ACCESS_LABEL: "true"}},
    }
    # With TLS, plain HTTP only redirects: only the redirect route in the gateway's own namespace attaches there.
    assert http["allowedRoutes"]["namespaces"] == {"from": "Same"}
    redirect = one(regs, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs
    assert redirect["metadata"]["namespace"] == "envoy-gateway-system"
    assert redirect["spec"]["parentRefs"][0]["sectionName"] == "http"
    assert redirect["spec"]["rules"] == [
        {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}
    ]
    services = [r for r in by_type(regs, "kubernetes:core/v1:Service")]
    assert not [s for s in services if (s.inputs.get("spec") or {}).get("type") == "LoadBalancer"]
    ns = one(regs, "kubernetes:core/v1:Namespace").inputs["metadata"]
    assert ns["name"] == "ml-serving" and ns["labels"][GATEWAY_ACCESS_LABEL] == "true"


def test_the_runtime_serves_mlflow_models_over_v2(regs) -> None:
    spec = one(regs, "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime").inputs["spec"]
    assert spec["supportedModelFormats"][0]["name"] == "mlflow" and spec["protocolVersions"] == ["v2"]
    env = {e["name"]: e["value"] for e in spec["containers"][0]["env"]}
    assert env["MLSERVER_MODEL_IMPLEMENTATION"] == "mlserver_mlflow.MLflowRuntime"
    assert spec["containers"][0]["image"] == "docker.io/seldonio/mlserver:1.7.1"


def test_bad_arguments_are_reported_together() -> None:
    with pytest.raises(ArgsError) as err:
        ServingPlatform(
            "serving",
            ServingPlatformArgs(namespace="ML", interceptor_min_replicas=0, mlserver_image="seldonio/mlserver:latest"),
        )
    assert err.value.problems == [
        "serving.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got 'ML'",
        "serving.interceptor_min_replicas: must be >= 1, got 0",
        "serving.mlserver_image: must carry a pinned tag (not latest), got 'seldonio/mlserver:latest'",
    ]


def test_the_runtime_waits_for_kserves_webhook_and_declares_its_metrics_port(regs) -> None:
    runtime = one(regs, "kubernetes:serving.kserve.io/v1alpha1:ClusterServingRuntime")
    kserve = one(regs, "kubernetes:helm.sh/v3:Release", "serving-kserve-resources")
    assert kserve.urn in runtime.depends_on  # the webhook validates ClusterServingRuntimes, not only the CRD
    ports = runtime.inputs["spec"]["containers"][0]["ports"]
    assert [(p["name"], p["containerPort"]) for p in ports] == [("http", 8080), ("metrics", 8082)]


def test_kserve_creates_no_ingress_and_needs_no_gateway_api_mode() -> None:
    assert kserve_values(ServingPlatformArgs())["kserve"]["controller"]["gateway"] == {"disableIngressCreation": True}
