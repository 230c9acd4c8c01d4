"""ClusterAutoscaler: pinned, auto-discovering, with an IAM role only its service account can assume."""

from __future__ import annotations

import json

from components.cluster import ClusterAutoscaler, ClusterAutoscalerArgs, iam_policy
from components.common import Problems
from tests.conftest import one


def args(**kw) -> ClusterAutoscalerArgs:
    base = dict(cluster_name="c", region="us-west-2", oidc_provider_arn="arn:oidc", oidc_issuer="oidc.example/id/X")
    base.update(kw)
    return ClusterAutoscalerArgs(**base)


def test_release_values(mocked) -> None:
    regs = mocked.run(lambda: ClusterAutoscaler("ca", args()))
    release = one(regs, "kubernetes:helm.sh/v3:Release").inputs
    assert (release["chart"], release["version"], release["namespace"]) == (
        "cluster-autoscaler",
        "9.59.0",
        "kube-system",
    )
    values = release["values"]
    assert values["autoDiscovery"] == {"clusterName": "c"} and values["awsRegion"] == "us-west-2"
    assert values["image"]["tag"] == "v1.35.2"
    assert values["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam:")
    assert values["containerSecurityContext"]["allowPrivilegeEscalation"] is False
    assert values["resources"]["limits"] and values["resources"]["requests"]


def test_role_trusts_only_its_service_account(mocked) -> None:
    regs = mocked.run(lambda: ClusterAutoscaler("ca", args()))
    trust = json.loads(one(regs, "aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Condition"]["StringEquals"] == {
        "oidc.example/id/X:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
        "oidc.example/id/X:aud": "sts.amazonaws.com",
    }


def test_it_may_resize_only_its_own_cluster_groups() -> None:
    statements = {s["Sid"]: s for s in json.loads(iam_policy("mlp-dev"))["Statement"]}
    scale = statements["ScaleOwnGroups"]
    assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/mlp-dev": "owned"}}
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in statements["Discover"]["Action"])


def test_image_minor_must_match_the_cluster() -> None:
    p = Problems(prefix="cluster.autoscaler")
    args(kubernetes_version="1.34", scale_down_unneeded_minutes=0).validate(p)
    assert p.items == [
        "cluster.autoscaler.image_tag: must have the cluster's minor version 1.34, got 'v1.35.2'",
        "cluster.autoscaler.scale_down_unneeded_minutes: must be between 1 and 120, got 0",
    ]
