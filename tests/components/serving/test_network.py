"""The serving namespace's NetworkPolicies and the HTTPS redirect: default deny, then exactly the platform's flows."""

from __future__ import annotations

from components.serving import ServingPlatform, ServingPlatformArgs
from components.serving._network import https_redirect_spec, network_policy_specs
from tests.conftest import by_type, one


def test_default_deny_then_gateway_interceptor_keda_and_prometheus() -> None:
    specs = network_policy_specs(ServingPlatformArgs(metrics_namespace="monitoring"))
    assert list(specs) == [
        "default-deny-ingress",
        "allow-gateway-and-interceptor-to-models",
        "allow-gateway-to-interceptor",
        "allow-keda-to-scaler",
        "allow-prometheus",
    ]
    assert specs["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    models = specs["allow-gateway-and-interceptor-to-models"]
    assert models["podSelector"] == {"matchExpressions": [{"key": "ml-platform.io/model", "operator": "Exists"}]}
    [rule] = models["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]
    proxies, interceptor = rule["from"]
    assert proxies["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}
    assert proxies["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "proxy"
    assert interceptor["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "interceptor"
    keda = specs["allow-keda-to-scaler"]["ingress"][0]
    assert keda == {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}}],
        "ports": [{"protocol": "TCP", "port": 9090}],
    }
    assert specs["allow-prometheus"]["ingress"][0]["ports"] == [
        {"protocol": "TCP", "port": 8082},
        {"protocol": "TCP", "port": 2223},
        {"protocol": "TCP", "port": 9102},
    ]


def test_without_a_scraper_no_namespace_may_scrape() -> None:
    assert "allow-prometheus" not in network_policy_specs(ServingPlatformArgs())


def test_the_redirect_sends_plain_http_to_https_on_the_gateways_host() -> None:
    spec = https_redirect_spec(ServingPlatformArgs(tls_secret_name="tls", gateway_hostname="m.example.com"))
    assert spec["parentRefs"] == [{"name": "ml-gateway", "namespace": "envoy-gateway-system", "sectionName": "http"}]
    assert spec["hostnames"] == ["m.example.com"]
    assert "backendRefs" not in spec["rules"][0]


def test_the_platform_creates_the_policies_and_the_model_servers_identity(mocked) -> None:
    args = ServingPlatformArgs(
        metrics_namespace="monitoring",
        model_service_account_annotations={"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/reader"},
    )
    regs = mocked.run(lambda: ServingPlatform("serving", args))
    assert {
        r.inputs["metadata"]["name"] for r in by_type(regs, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    } == set(network_policy_specs(args))
    sa = one(regs, "kubernetes:core/v1:ServiceAccount").inputs
    assert sa["metadata"]["name"] == "model-server" and sa["metadata"]["namespace"] == "ml-serving"
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/reader"}
    assert sa["automountServiceAccountToken"] is False
    assert not by_type(regs, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")  # no TLS: no redirect route
