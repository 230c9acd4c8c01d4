"""The ReleaseController component: least RBAC matching the controller's calls, restricted pod, settings it reads."""

from __future__ import annotations

import json

import pytest

from components.common import ArgsError
from components.serving import ReleaseController, ReleaseControllerArgs, ReleaseMode, ReleasePolicy, role_rules
from offline import render
from release.kube import CALLS
from release.settings import Settings
from tests import k8s_schemas
from tests.conftest import one


def args(**kw: object) -> ReleaseControllerArgs:
    policies = [
        ReleasePolicy(
            endpoint="iris", registered_model="iris", model_name="iris", heldout_uri="mlflow-artifacts:/d/h.csv"
        ),
        ReleasePolicy(
            endpoint="fraud",
            registered_model="fraud-scorer",
            model_name="fraud",
            heldout_uri="mlflow-artifacts:/d/f.csv",
            mode=ReleaseMode.MANUAL,
        ),
    ]
    return ReleaseControllerArgs(
        **{"image": "registry.example.com/release-controller:0.1.0", "endpoints": policies, **kw}
    )


def test_the_role_grants_exactly_the_calls_the_controller_makes() -> None:
    rules = role_rules(args())
    granted = {(v, g, r) for rule in rules for v in rule["verbs"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == set(CALLS)
    names = {r["resources"][0]: r.get("resourceNames") for r in rules if r.get("resourceNames")}
    assert names == {
        "httproutes": ["fraud", "iris"],
        "inferenceservices": ["fraud-blue", "fraud-green", "iris-blue", "iris-green"],
        "configmaps": ["release-fraud", "release-iris"],
    }
    assert not [r for r in rules if "*" in r["verbs"] + r["resources"] + r["apiGroups"]]


def test_renders_a_restricted_controller_with_its_own_account(mocked) -> None:
    regs = mocked.run(lambda: ReleaseController("release", args(artifact_destination="s3://bucket/mlflow")))
    deployment = render.manifest(one(regs, "kubernetes:apps/v1:Deployment"))
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["serviceAccountName"] == "release-controller" and deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    secret = next(e for e in container["env"] if e["name"] == "RELEASE_WEBHOOK_SECRET")
    assert secret["valueFrom"]["secretKeyRef"] == {"name": "release-webhook", "key": "secret"}
    assert render.manifest(one(regs, "kubernetes:rbac.authorization.k8s.io/v1:Role"))["rules"] == role_rules(args())
    settings = Settings.from_dict(
        json.loads(render.manifest(one(regs, "kubernetes:core/v1:ConfigMap"))["data"]["settings.json"])
    )
    assert settings.endpoints["fraud"].mode == "manual" and settings.artifact_destination == "s3://bucket/mlflow"
    for reg in regs:
        if reg.custom and reg.type.startswith("kubernetes:"):
            assert k8s_schemas.validate_object(render.manifest(reg), "1.35") == [], reg.name


def test_bad_arguments_are_reported_together() -> None:
    bad = args(image="release-controller:latest")
    bad.endpoints[0].canary_weight = 0
    bad.endpoints[1].max_p95_increase = -1
    bad.registry_poll_seconds = -1
    with pytest.raises(ArgsError) as err:
        ReleaseController("release", bad)
    assert err.value.problems == [
        "release.image: must be pinned (name:tag or name@sha256:...), got 'release-controller:latest'",
        "release.endpoints.iris.canary_weight: must be an integer between 1 and 50, got 0",
        "release.endpoints.fraud.max_p95_increase: must be > 0 (0.3 means 30% slower), got -1",
        "release.registry_poll_seconds: must be >= 0 (0: off), got -1",
    ]
