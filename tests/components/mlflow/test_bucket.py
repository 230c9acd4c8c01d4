"""ArtifactBucket: locked-down bucket, versioned with a lifecycle, and an identity scoped to that bucket only."""

from __future__ import annotations

import json
from typing import Any

from components.common import Cloud, Problems
from components.mlflow import ArtifactBucket, ArtifactBucketArgs, s3_policy
from tests.conftest import one

AWS = dict(
    cloud=Cloud.AWS,
    service_account_namespace="mlflow",
    service_account_name="mlflow",
    oidc_provider_arn="arn:aws:iam::1:oidc-provider/x",
    oidc_issuer="oidc.example/id/X",
)


def gcs_args(**extra: Any) -> ArtifactBucketArgs:
    """A GCS bucket in project ``p`` with Workload Identity, plus ``extra``."""
    return ArtifactBucketArgs(
        cloud=Cloud.GCP,
        service_account_namespace="mlflow",
        service_account_name="mlflow",
        project="p",
        location="us-central1",
        workload_pool="p.svc.id.goog",
        **extra,
    )


def test_s3_bucket_is_private_encrypted_versioned_with_lifecycle(mocked) -> None:
    regs = mocked.run(lambda: ArtifactBucket("art", ArtifactBucketArgs(**AWS)))
    block = one(regs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    sse = one(regs, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert (
        one(regs, "aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"]["status"] == "Enabled"
    )
    rule = one(regs, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"][0]
    assert rule["noncurrentVersionExpiration"]["noncurrentDays"] == 30
    deny = json.loads(one(regs, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_irsa_role_is_for_one_service_account_and_one_bucket(mocked) -> None:
    regs = mocked.run(lambda: ArtifactBucket("art", ArtifactBucketArgs(**AWS)))
    trust = json.loads(one(regs, "aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert (
        trust["Statement"][0]["Condition"]["StringEquals"]["oidc.example/id/X:sub"]
        == "system:serviceaccount:mlflow:mlflow"
    )
    policy = json.loads(one(regs, "aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    bucket = one(regs, "aws:s3/bucket:Bucket")
    arn = f"arn:aws:s3:::{bucket.name}-"
    resources = [
        r for s in policy["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    assert all(r.startswith(arn) for r in resources), resources
    assert policy == s3_policy(resources[0])


def test_least_privilege_policy_names_only_that_bucket() -> None:
    policy = s3_policy("arn:aws:s3:::b")
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
    }
    assert [s["Resource"] for s in policy["Statement"]] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert all(s["Effect"] == "Allow" and "*" not in s["Action"] for s in policy["Statement"])


def test_gcs_bucket_and_workload_identity(mocked) -> None:
    args = gcs_args()
    regs = mocked.run(lambda: ArtifactBucket("art", args))
    b = one(regs, "gcp:storage/bucket:Bucket").inputs
    assert b["uniformBucketLevelAccess"] is True and b["versioning"] == {"enabled": True}
    assert b["publicAccessPrevention"] == "enforced"
    member = one(regs, "gcp:storage/bucketIAMMember:BucketIAMMember").inputs
    assert member["role"] == "roles/storage.objectUser" and member["bucket"] == b["name"]
    wi = one(regs, "gcp:serviceaccount/iAMMember:IAMMember").inputs
    assert (
        wi["member"] == "serviceAccount:p.svc.id.goog[mlflow/mlflow]" and wi["role"] == "roles/iam.workloadIdentityUser"
    )


def test_in_cluster_store_has_generated_credentials_and_creates_its_bucket(mocked) -> None:
    args = ArtifactBucketArgs(cloud=Cloud.EXISTING, service_account_namespace="mlflow", service_account_name="mlflow")
    regs = mocked.run(lambda: ArtifactBucket("art", args))
    sts = one(regs, "kubernetes:apps/v1:StatefulSet").inputs
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "chrislusf/seaweedfs:4.47"
    secret = one(regs, "kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == "[secret]"
    assert set(secret.raw_inputs["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "s3.json"}
    job = one(regs, "kubernetes:batch/v1:Job").inputs
    assert "s3.bucket.create -name mlflow" in job["spec"]["template"]["spec"]["containers"][0]["args"][0]


def test_validation_messages() -> None:
    p = Problems(prefix="mlflow")
    ArtifactBucketArgs(
        cloud=Cloud.GCP,
        service_account_namespace="m",
        service_account_name="m",
        bucket_name="Bad_Name",
        noncurrent_version_expiration_days=0,
    ).validate(p)
    assert p.items == [
        "mlflow.bucket_name: must be 3-63 lowercase letters, digits, dots and dashes, got 'Bad_Name'",
        "mlflow.noncurrent_version_expiration_days: must be >= 1, got 0",
        "mlflow.project: is required on gcp, got None",
        "mlflow.location: is required on gcp, got None",
        "mlflow.workload_pool: is required on gcp, got None",
    ]


def test_s3_model_reader_gets_its_own_read_only_role(mocked) -> None:
    regs = mocked.run(
        lambda: ArtifactBucket("art", ArtifactBucketArgs(**AWS, reader_service_account="ml-serving/model-server"))
    )
    role = one(regs, "aws:iam/role:Role", "art-reader-irsa").inputs
    condition = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert condition["oidc.example/id/X:sub"] == "system:serviceaccount:ml-serving:model-server"
    policy = json.loads(one(regs, "aws:iam/rolePolicy:RolePolicy", "art-reader-irsa").inputs["policy"])
    actions = sorted(a for s in policy["Statement"] for a in s["Action"])
    assert actions == ["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"]  # read only


def test_gcs_model_reader_gets_a_viewer_identity_bound_through_workload_identity(mocked) -> None:
    args = gcs_args(reader_service_account="ml-serving/model-server")
    regs = mocked.run(lambda: ArtifactBucket("art", args))
    assert one(regs, "gcp:storage/bucketIAMMember:BucketIAMMember", "art-object-viewer").inputs["role"] == (
        "roles/storage.objectViewer"
    )
    wi = one(regs, "gcp:serviceaccount/iAMMember:IAMMember", "art-reader-workload-identity").inputs
    assert wi["member"] == "serviceAccount:p.svc.id.goog[ml-serving/model-server]"


def test_reader_must_be_namespace_and_name() -> None:
    p = Problems(prefix="art")
    ArtifactBucketArgs(**AWS, reader_service_account="model-server").validate(p)
    assert p.items == ["art.reader_service_account: must be namespace/name, got 'model-server'"]


CACHE = dict(
    cache_reader_service_account="ml-platform-model-cache/model-cache",
    cache_reader_prefixes=["mlflow/9/models/m-a/artifacts", "mlflow/9/models/m-b/artifacts/"],
)


def test_s3_cache_reader_may_list_and_read_only_under_its_prefixes(mocked) -> None:
    regs = mocked.run(lambda: ArtifactBucket("art", ArtifactBucketArgs(**AWS, **CACHE)))
    role = one(regs, "aws:iam/role:Role", "art-cache-reader-irsa").inputs
    condition = json.loads(role["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert condition["oidc.example/id/X:sub"] == "system:serviceaccount:ml-platform-model-cache:model-cache"
    policy = json.loads(one(regs, "aws:iam/rolePolicy:RolePolicy", "art-cache-reader-irsa").inputs["policy"])
    listing, reading = policy["Statement"]
    assert listing["Action"] == ["s3:ListBucket"]
    # HeadBucket (the storage initializer's first call) is ListBucket without a prefix: IfExists admits it
    assert listing["Condition"]["StringLikeIfExists"]["s3:prefix"] == [
        "mlflow/9/models/m-a/artifacts",
        "mlflow/9/models/m-b/artifacts",
        "mlflow/9/models/m-a/artifacts/*",
        "mlflow/9/models/m-b/artifacts/*",
    ]
    assert reading["Action"] == ["s3:GetObject"]
    assert [r.split(":::", 1)[1].split("/", 1)[1] for r in reading["Resource"]] == [
        "mlflow/9/models/m-a/artifacts/*",
        "mlflow/9/models/m-b/artifacts/*",
    ]


def test_gcs_cache_reader_is_a_viewer_held_to_its_prefixes_by_an_iam_condition(mocked) -> None:
    args = gcs_args(**CACHE)
    regs = mocked.run(lambda: ArtifactBucket("art", args))
    viewer = one(regs, "gcp:storage/bucketIAMMember:BucketIAMMember", "art-cache-reader-object-viewer").inputs
    assert viewer["role"] == "roles/storage.objectViewer"
    expression = viewer["condition"]["expression"]
    bucket = viewer["bucket"]
    assert f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/mlflow/9/models/m-a/artifacts/")' in (
        expression
    )
    assert (
        'api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("mlflow/9/models/m-b/artifacts")'
        in (expression)
    )
    wi = one(regs, "gcp:serviceaccount/iAMMember:IAMMember", "art-cache-reader-workload-identity").inputs
    assert wi["member"] == "serviceAccount:p.svc.id.goog[ml-platform-model-cache/model-cache]"


def test_a_cache_reader_needs_prefixes() -> None:
    p = Problems(prefix="art")
    ArtifactBucketArgs(**AWS, cache_reader_service_account="ml-platform-model-cache/model-cache").validate(p)
    assert p.items == [
        "art.cache_reader_prefixes: must name at least one non-empty prefix (the cache reads only there), got []"
    ]
