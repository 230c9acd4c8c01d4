"""Data rules: buckets, databases, protect in production."""

from __future__ import annotations

from typing import Any

import pytest

from policies.rules.base import Res
from policies.rules.data import BUCKET_SECURITY, DATABASE_SECURITY, STATEFUL_PROTECT
from tests.policies.builders import DEV, PROD, res, violations, with_props

BUCKET = "aws:s3/bucket:Bucket"


def s3_bucket(name: str = "artifacts", **pieces: Any) -> list[Res]:
    """A bucket with its access block, encryption and versioning (each replaceable or removable by keyword)."""
    bucket = res(BUCKET, name, {"bucket": f"mlp-{name}"})
    link = (bucket.urn,)
    parts = {
        "block": res(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            f"{name}-block",
            {
                "bucket": "[unknown]",
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
            deps=link,
        ),
        "sse": res(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"{name}-sse",
            {"bucket": "[unknown]", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
            deps=link,
        ),
        "versioning": res(
            "aws:s3/bucketVersioning:BucketVersioning",
            f"{name}-versioning",
            {"bucket": f"mlp-{name}", "versioningConfiguration": {"status": "Enabled"}},
        ),
    }
    parts.update(pieces)
    return [bucket, *(p for p in parts.values() if p is not None)]


def gcs_bucket(**changes: Any) -> Res:
    props = {
        "name": "mlp-artifacts",
        "location": "US",
        "uniformBucketLevelAccess": True,
        "publicAccessPrevention": "enforced",
        "versioning": {"enabled": True},
    }
    props.update(changes)
    return res("gcp:storage/bucket:Bucket", "artifacts", props)


def rds(**changes: Any) -> Res:
    props = {
        "engine": "postgres",
        "instanceClass": "db.t4g.small",
        "storageEncrypted": True,
        "publiclyAccessible": False,
        "backupRetentionPeriod": 14,
        "deletionProtection": True,
    }
    props.update(changes)
    return res("aws:rds/instance:Instance", "mlflow-db", props)


def cloud_sql(**settings: Any) -> Res:
    s = {
        "tier": "db-custom-1-3840",
        "ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "vpc"},
        "backupConfiguration": {"enabled": True, "backupRetentionSettings": {"retainedBackups": 14}},
    }
    s.update(settings)
    return res(
        "gcp:sql/databaseInstance:DatabaseInstance",
        "mlflow-sql",
        {"databaseVersion": "POSTGRES_16", "settings": s, "deletionProtection": True},
    )


# --- bucket-security ------------------------------------------------------------------------------------------


def test_buckets_compliant() -> None:
    assert violations(BUCKET_SECURITY, s3_bucket()) == []
    assert violations(BUCKET_SECURITY, [gcs_bucket()]) == []


def test_s3_bucket_alone_is_public_unencrypted_and_unversioned() -> None:
    assert violations(BUCKET_SECURITY, s3_bucket(block=None, sse=None, versioning=None)) == [
        f"[mandatory] bucket-security: {BUCKET} artifacts: has no BucketPublicAccessBlock (public ACLs and policies "
        "are not blocked)",
        f"[mandatory] bucket-security: {BUCKET} artifacts: has no server-side encryption configuration",
        f"[mandatory] bucket-security: {BUCKET} artifacts: is not versioned (no BucketVersioning with status Enabled)",
    ]


def test_s3_pieces_of_another_bucket_do_not_count() -> None:
    mine = s3_bucket("a", block=None)
    theirs = s3_bucket("b")
    (message,) = violations(BUCKET_SECURITY, mine + theirs)
    assert message.endswith(f"{BUCKET} a: has no BucketPublicAccessBlock (public ACLs and policies are not blocked)")


def test_s3_partial_block_public_acl_and_open_policy() -> None:
    bucket = s3_bucket(block=with_props(s3_bucket()[1], blockPublicPolicy=False, restrictPublicBuckets=False))
    bucket[0] = with_props(bucket[0], acl="public-read")
    policy = res(
        "aws:s3/bucketPolicy:BucketPolicy",
        "artifacts-policy",
        {
            "bucket": "mlp-artifacts",
            "policy": '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}]}',
        },
    )
    messages = violations(BUCKET_SECURITY, [*bucket, policy])
    assert [m.split(": ", 2)[2] for m in messages] == [
        "public access block leaves blockPublicPolicy, restrictPublicBuckets off",
        "has the public ACL 'public-read'",
        "bucket policy artifacts-policy allows anyone (Principal *) without a condition",
    ]


def test_s3_encryption_config_override_requires_kms() -> None:
    aes = s3_bucket(
        sse=res(
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "artifacts-sse",
            {"bucket": "mlp-artifacts", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
        )
    )
    assert violations(BUCKET_SECURITY, aes) == []
    (message,) = violations(BUCKET_SECURITY, aes, {"requireKms": True})
    assert message.endswith("encrypts with AES256, not one of aws:kms, aws:kms:dsse")


def test_gcs_public_and_unversioned() -> None:
    grant = res(
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "artifacts-public",
        {"bucket": "mlp-artifacts", "role": "roles/storage.objectViewer", "member": "allUsers"},
    )
    bucket = gcs_bucket(publicAccessPrevention="inherited", uniformBucketLevelAccess=False, versioning=None)
    assert [m.split(": ", 2)[2] for m in violations(BUCKET_SECURITY, [bucket, grant])] == [
        "publicAccessPrevention must be 'enforced', got 'inherited'",
        "uniformBucketLevelAccess is off (object ACLs could make objects public)",
        "BucketIAMMember artifacts-public grants roles/storage.objectViewer to allUsers",
        "is not versioned (versioning.enabled)",
    ]


def test_gcs_missing_properties_and_versioning_override() -> None:
    bare = res("gcp:storage/bucket:Bucket", "scratch", {"name": "mlp-scratch", "location": "US"})
    assert len(violations(BUCKET_SECURITY, [bare])) == 3
    assert len(violations(BUCKET_SECURITY, [bare], {"requireVersioning": False})) == 2


# --- database-security ----------------------------------------------------------------------------------------


def test_databases_compliant() -> None:
    assert violations(DATABASE_SECURITY, rds(), facts=PROD) == []
    assert violations(DATABASE_SECURITY, cloud_sql(), facts=PROD) == []


def test_rds_every_problem_at_once() -> None:
    bad = rds(storageEncrypted=False, publiclyAccessible=True, backupRetentionPeriod=1, deletionProtection=False)
    assert violations(DATABASE_SECURITY, bad, facts=PROD) == [
        f"[mandatory] database-security: aws:rds/instance:Instance mlflow-db: {m}"
        for m in (
            "storage is not encrypted (storageEncrypted: true)",
            "is publicly accessible (publiclyAccessible: true)",
            "keeps backups for 1 days, fewer than 7 (backupRetentionPeriod)",
            "has no deletion protection in prod (deletionProtection: true)",
        )
    ]


def test_rds_missing_properties_take_the_provider_defaults() -> None:
    bare = res("aws:rds/instance:Instance", "mlflow-db", {"engine": "postgres", "instanceClass": "db.t4g.small"})
    messages = violations(DATABASE_SECURITY, bare, facts=PROD)
    assert [m.split(": ", 2)[2] for m in messages] == [
        "storage is not encrypted (storageEncrypted: true)",
        "keeps backups for 0 days, fewer than 7 (backupRetentionPeriod)",
        "has no deletion protection in prod (deletionProtection: true)",
    ]
    assert len(violations(DATABASE_SECURITY, bare, facts=DEV)) == 2  # deletion protection only in prod


def test_database_config_override_backup_days() -> None:
    assert violations(DATABASE_SECURITY, rds(), {"minBackupDays": 30}, facts=PROD) == [
        "[mandatory] database-security: aws:rds/instance:Instance mlflow-db: keeps backups for 14 days, fewer than 30 "
        "(backupRetentionPeriod)"
    ]
    assert (
        violations(DATABASE_SECURITY, rds(deletionProtection=False), {"deletionProtectionEnvironments": []}, facts=PROD)
        == []
    )


def test_cloud_sql_public_ip_no_backups() -> None:
    bad = cloud_sql(
        ipConfiguration={"ipv4Enabled": True, "authorizedNetworks": [{"value": "0.0.0.0/0"}]},
        backupConfiguration={"enabled": False},
    )
    assert [m.split(": ", 2)[2] for m in violations(DATABASE_SECURITY, bad, facts=PROD)] == [
        "has a public IPv4 address (settings.ipConfiguration.ipv4Enabled: false; use private IP), open to 0.0.0.0/0",
        "has automated backups off (settings.backupConfiguration.enabled: true)",
    ]


def test_cloud_sql_missing_ip_configuration_means_public_ip() -> None:
    bare = res(
        "gcp:sql/databaseInstance:DatabaseInstance",
        "mlflow-sql",
        {"settings": {"tier": "db-custom-1-3840", "backupConfiguration": {"enabled": True}}},
    )
    assert [m.split(": ", 2)[2] for m in violations(DATABASE_SECURITY, bare, facts=PROD)] == [
        "has a public IPv4 address (settings.ipConfiguration.ipv4Enabled: false; use private IP)",
    ]  # 7 retained backups and deletion protection are the provider's defaults


# --- stateful-protect -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [rds(), s3_bucket()[0], gcs_bucket(), cloud_sql()])
def test_stateful_resources_in_prod_must_be_protected(target: Res) -> None:
    protected = Res(target.type, target.name, target.urn, target.props, protect=True)
    assert violations(STATEFUL_PROTECT, protected, facts=PROD) == []
    assert violations(STATEFUL_PROTECT, target, facts=PROD) == [
        f"[mandatory] stateful-protect: {target.type} {target.name}: holds data in prod but is not protected (set "
        "protect=True so that `pulumi destroy` or a replacement cannot delete it)"
    ]


def test_protect_not_required_outside_prod_or_for_stateless_types() -> None:
    assert violations(STATEFUL_PROTECT, rds(), facts=DEV) == []
    assert violations(STATEFUL_PROTECT, res("aws:iam/role:Role", "r", {}), facts=PROD) == []


def test_protect_config_override_adds_an_environment() -> None:
    assert violations(STATEFUL_PROTECT, rds(), {"environments": ["dev", "prod"]}, facts=DEV)


def test_protect_without_a_known_environment_is_not_judged() -> None:
    from policies.rules.base import Facts

    assert violations(STATEFUL_PROTECT, rds(), facts=Facts()) == []
