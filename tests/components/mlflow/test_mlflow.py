"""Mlflow's namespace isolation: default deny, the namespace itself, and the clients it names."""

from __future__ import annotations

from components.common import Cloud
from components.mlflow import MlflowArgs
from components.mlflow._mlflow import CLIENT_LABEL, network_policy_specs

POD_LABELS = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": "mlflow"}


def test_only_named_and_labelled_namespaces_reach_the_server() -> None:
    args = MlflowArgs(cloud=Cloud.AWS, client_namespaces=["ml-serving", "monitoring"])
    specs = network_policy_specs(args, POD_LABELS, 5000)
    assert list(specs) == ["default-deny-ingress", "allow-same-namespace", "allow-clients"]
    assert specs["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    clients = specs["allow-clients"]
    assert clients["podSelector"] == {"matchLabels": POD_LABELS}
    [rule] = clients["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 5000}]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ml-serving"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        {"namespaceSelector": {"matchLabels": {CLIENT_LABEL: "true"}}},
    ]


def test_in_the_cluster_the_cloudnative_pg_operator_reaches_its_instances() -> None:
    specs = network_policy_specs(MlflowArgs(cloud=Cloud.EXISTING), POD_LABELS, 5000)
    rule = specs["allow-cnpg-operator"]["ingress"][0]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}}}]
    assert {p["port"] for p in rule["ports"]} == {8000, 5432}
