"""Thirty-odd distinct bad resources, each rejected by the rule it breaks with a message naming the resource.

Every case runs twice: through the rule function directly, and through the policy pack started as its own process
and driven over the analyzer gRPC protocol (all cases in one ``AnalyzeStack`` / per-resource ``Analyze`` run, as
the engine would send them), and both paths must give the same message.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from offline import policy_run
from offline.mocks import Registration
from policies.rules import BY_NAME
from policies.rules.base import Res
from tests.policies.builders import PROD, container, k8s, pod_spec, res
from tests.policies.rules.test_data import cloud_sql, gcs_bucket, rds, s3_bucket
from tests.policies.rules.test_network import route, service
from tests.policies.rules.test_nodes import eks_group, gke_pool


@dataclass
class Case:
    id: str
    rule: str
    resources: list[Res]
    fragment: str
    """Part of the expected message (after the resource's label)."""

    @property
    def target(self) -> Res:
        return self.resources[0]


def dep(name: str, *containers: dict, **pod: Any) -> Res:
    return k8s("Deployment", name, {"template": {"spec": pod_spec(*containers, **pod)}})


def renamed(r: Res, new_name: str, **props: Any) -> Res:
    p = copy.deepcopy(dict(r.props))
    p.update(props)
    return res(r.type, new_name, p, r.protect)


def _no_security() -> dict:
    spec = pod_spec(container(security=None))
    del spec["securityContext"]
    return spec


def _bucket_named(name: str, **pieces: Any) -> list[Res]:
    return s3_bucket(name, **pieces)


CASES = [
    Case("no-cpu-limit", "container-resources", [dep("d01", container(cpu=None))], "has no requests.cpu, limits.cpu"),
    Case(
        "no-memory",
        "container-resources",
        [dep("d02", container(memory=None))],
        "has no requests.memory, limits.memory",
    ),
    Case(
        "init-no-resources",
        "container-resources",
        [
            dep(
                "d03",
                container(),
                initContainers=[
                    {"name": "fetch", "image": "busybox:1.37", "securityContext": {"allowPrivilegeEscalation": False}}
                ],
            )
        ],
        "init container 'fetch' in spec.template.spec has no",
    ),
    Case(
        "cpu-request-over-limit",
        "container-resources",
        [dep("d04", container(cpu=("4", "2")))],
        "requests more cpu than its limit (4 > 2)",
    ),
    Case(
        "gpu-request-not-limit",
        "container-resources",
        [
            dep(
                "d05",
                {
                    **container(gpu=1),
                    "resources": {
                        "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 2},
                        "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 1},
                    },
                },
                gpu_scheduling=True,
            )
        ],
        "must request as many nvidia.com/gpu as its limit",
    ),
    Case(
        "gpu-no-toleration",
        "gpu-scheduling",
        [dep("d06", container(gpu=1), nodeSelector={"nvidia.com/gpu.present": "true"})],
        "does not tolerate the GPU taint",
    ),
    Case(
        "gpu-no-selector",
        "gpu-scheduling",
        [dep("d07", container(gpu=1), tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}])],
        "selects no GPU nodes",
    ),
    Case(
        "too-many-gpus",
        "gpu-scheduling",
        [dep("d08", container(gpu=9), gpu_scheduling=True)],
        "asks for 9 nvidia.com/gpu, more than the 8 allowed per pod",
    ),
    Case(
        "image-latest", "image-pinned", [dep("d09", container(image="ghcr.io/acme/iris:latest"))], "moving tag 'latest'"
    ),
    Case("image-untagged", "image-pinned", [dep("d10", container(image="python"))], "has no tag"),
    Case(
        "cronjob-untagged",
        "image-pinned",
        [
            k8s(
                "CronJob",
                "c11",
                {"jobTemplate": {"spec": {"template": {"spec": pod_spec(container(image="ghcr.io/acme/drift"))}}}},
                group="batch/v1",
            )
        ],
        "has no tag",
    ),
    Case(
        "may-run-as-root",
        "container-security",
        [k8s("Deployment", "d12", {"template": {"spec": _no_security()}})],
        "may run as root",
    ),
    Case(
        "privileged",
        "container-security",
        [dep("d13", container(security={"privileged": True, "allowPrivilegeEscalation": False}))],
        "is privileged",
    ),
    Case(
        "privilege-escalation",
        "container-security",
        [dep("d14", container(security={"allowPrivilegeEscalation": True}))],
        "allows privilege escalation",
    ),
    Case(
        "uid-0",
        "container-security",
        [dep("d15", container(security={"runAsUser": 0, "allowPrivilegeEscalation": False}))],
        "runs as user 0 (root)",
    ),
    Case(
        "statefulset-no-limits",
        "container-resources",
        [k8s("StatefulSet", "s16", {"template": {"spec": pod_spec(container(cpu=None, memory=None))}})],
        "has no",
    ),
    Case(
        "kserve-model-no-resources",
        "container-resources",
        [
            k8s(
                "InferenceService",
                "i17",
                {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://models/iris"}}},
                group="serving.kserve.io/v1beta1",
            )
        ],
        "container 'model' in spec.predictor has no",
    ),
    Case(
        "kserve-gpu-unschedulable",
        "gpu-scheduling",
        [
            k8s(
                "InferenceService",
                "i18",
                {
                    "predictor": {
                        "model": {
                            "modelFormat": {"name": "huggingface"},
                            "resources": {
                                "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
                                "limits": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": 1},
                            },
                        }
                    }
                },
                group="serving.kserve.io/v1beta1",
            )
        ],
        "does not tolerate the GPU taint",
    ),
    Case("load-balancer-service", "no-public-load-balancer", [service("svc19")], "is of type LoadBalancer"),
    Case("route-without-auth", "route-authentication", [route("r20")], "no SecurityPolicy with authentication"),
    Case(
        "eks-gpu-untainted", "gpu-pool-taint", [eks_group("g21", taints=[])], "has no nvidia.com/gpu:NoSchedule taint"
    ),
    Case(
        "gke-gpu-untainted",
        "gpu-pool-taint",
        [renamed(gke_pool("g22"), "g22-nodepool", nodeConfig={"machineType": "a2-highgpu-1g", "spot": True})],
        "has no nvidia.com/gpu:NoSchedule taint",
    ),
    Case("eks-gpu-too-big", "node-pool-max-size", [eks_group("g23", max_size=12)], "max_size 12 is above the cap of 8"),
    Case(
        "gke-system-too-big",
        "node-pool-max-size",
        [
            res(
                "gcp:container/nodePool:NodePool",
                "p24",
                {
                    "location": "us-central1",
                    "autoscaling": {"minNodeCount": 1, "maxNodeCount": 10},
                    "nodeConfig": {"machineType": "e2-standard-4"},
                },
            )
        ],
        "max_size 30 is above the cap of 20",
    ),
    Case(
        "s3-bare",
        "bucket-security",
        _bucket_named("b25", block=None, sse=None, versioning=None),
        "has no BucketPublicAccessBlock",
    ),
    Case(
        "s3-public-acl",
        "bucket-security",
        [renamed(_bucket_named("b26")[0], "b26", acl="public-read"), *_bucket_named("b26")[1:]],
        "has the public ACL 'public-read'",
    ),
    Case(
        "gcs-public",
        "bucket-security",
        [renamed(gcs_bucket(), "b27", name="mlp-b27", publicAccessPrevention="inherited")],
        "publicAccessPrevention must be 'enforced'",
    ),
    Case(
        "gcs-all-users",
        "bucket-security",
        [
            renamed(gcs_bucket(), "b28", name="mlp-b28"),
            res(
                "gcp:storage/bucketIAMMember:BucketIAMMember",
                "b28-public",
                {"bucket": "mlp-b28", "role": "roles/storage.objectViewer", "member": "allUsers"},
            ),
        ],
        "grants roles/storage.objectViewer to allUsers",
    ),
    Case(
        "rds-unencrypted",
        "database-security",
        [renamed(rds(), "db29", storageEncrypted=False)],
        "storage is not encrypted",
    ),
    Case(
        "rds-public", "database-security", [renamed(rds(), "db30", publiclyAccessible=True)], "is publicly accessible"
    ),
    Case(
        "rds-short-backups",
        "database-security",
        [renamed(rds(), "db31", backupRetentionPeriod=1)],
        "keeps backups for 1 days, fewer than 7",
    ),
    Case(
        "rds-deletable-in-prod",
        "database-security",
        [renamed(rds(), "db32", deletionProtection=False)],
        "has no deletion protection in prod",
    ),
    Case(
        "cloud-sql-public",
        "database-security",
        [
            renamed(
                cloud_sql(),
                "sql33",
                settings={**cloud_sql().props["settings"], "ipConfiguration": {"ipv4Enabled": True}},
            )
        ],
        "has a public IPv4 address",
    ),
    Case(
        "cloud-sql-no-backups",
        "database-security",
        [
            renamed(
                cloud_sql(),
                "sql34",
                settings={**cloud_sql().props["settings"], "backupConfiguration": {"enabled": False}},
            )
        ],
        "has automated backups off",
    ),
    Case(
        "rds-unprotected-in-prod",
        "stateful-protect",
        [renamed(rds(), "db35")],
        "holds data in prod but is not protected",
    ),
    Case(
        "scaledjob-latest",
        "image-pinned",
        [
            k8s(
                "ScaledJob",
                "sj36",
                {"jobTargetRef": {"template": {"spec": pod_spec(container(image="ghcr.io/acme/batch:latest"))}}},
                group="keda.sh/v1alpha1",
            )
        ],
        "moving tag 'latest'",
    ),
    Case(
        "helm-floating-chart",
        "helm-chart-pinned",
        [res("kubernetes:helm.sh/v3:Release", "h38", {"chart": "keda", "version": "2.x"})],
        "is not pinned",
    ),
    Case(
        "job-no-security-context",
        "container-security",
        [k8s("Job", "j37", {"template": {"spec": _no_security()}}, group="batch/v1")],
        "allows privilege escalation",
    ),
]


def _direct(case: Case) -> list[str]:
    rule = BY_NAME[case.rule]
    target = case.resources if rule.stack else case.target
    return [m for m, urn in rule.run(target, None, PROD) if urn == case.target.urn]


def test_there_are_at_least_thirty_distinct_bad_inputs() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert len({c.target.urn for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_rejects_bad_input_naming_resource_and_rule(case: Case) -> None:
    messages = _direct(case)
    assert messages, f"{case.rule} let {case.id} through"
    assert any(m.startswith(f"{case.target.label}: ") and case.fragment in m for m in messages), messages


def _registration(r: Res) -> Registration:
    return Registration(
        urn=r.urn,
        type=r.type,
        name=r.name,
        parent="",
        custom=True,
        provider="",
        protect=r.protect,
        depends_on=list(r.dependencies),
        inputs=dict(r.props),
    )


@pytest.fixture(scope="module")
def grpc_verdicts() -> policy_run.PolicyResult:
    resources = {r.urn: r for case in CASES for r in case.resources}
    config = {
        "ml-platform:environment": "prod",
        "aws:region": "us-east-1",
        "ml-platform:cost": '{"monthly_budget_usd": 1000000}',
    }
    return policy_run.run("prod", config, [_registration(r) for r in resources.values()], {})


@pytest.mark.integration
def test_the_analyzer_process_rejects_every_case_with_the_same_message(grpc_verdicts: policy_run.PolicyResult) -> None:
    for case in CASES:
        got = {v.message for v in grpc_verdicts.violations if v.policy == case.rule and v.urn == case.target.urn}
        assert got, f"{case.id}: no {case.rule} violation over gRPC"
        assert got == set(_direct(case)), case.id
        assert all(v.level == "mandatory" for v in grpc_verdicts.violations if v.policy == case.rule)
    assert grpc_verdicts.mandatory_failed
