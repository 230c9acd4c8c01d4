"""Rules over where data lives: buckets private, encrypted and versioned; databases encrypted, private, backed up
and protected from deletion; stateful resources in production carry Pulumi's ``protect``.

Why a stack policy for S3: since the AWS provider v4 a bucket's access block, encryption and versioning are
separate resources pointing at the bucket. A per-resource check of the bucket alone would either pass everything or
fail everything; pairing the pieces needs the whole stack. They are paired by dependency (what the engine knows
even when the bucket's name is still unknown) or, failing that, by the bucket name they carry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .base import MANDATORY, UNKNOWN, Facts, Res, Rule, schema
from .base import mapping as _dict

S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
S3_ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
ACCESS_BLOCK_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")

STATEFUL_TYPES = [
    RDS_INSTANCE,
    RDS_CLUSTER,
    *S3_BUCKETS,
    "aws:efs/fileSystem:FileSystem",
    "aws:dynamodb/table:Table",
    CLOUD_SQL,
    GCS_BUCKET,
    "gcp:filestore/instance:Instance",
    "kubernetes:postgresql.cnpg.io/v1:Cluster",
]
"""Resources whose deletion loses data. KMS keys are left out: AWS waits 7 to 30 days before deleting one."""


# --- bucket-security ------------------------------------------------------------------------------------------


def _bucket_names(bucket: Res) -> set[str]:
    names = {bucket.name}
    for key in ("bucket", "name", "id"):
        value = bucket.props.get(key)
        if isinstance(value, str) and value != UNKNOWN:
            names.add(value)
    return names


def _belongs(piece: Res, bucket: Res) -> bool:
    if bucket.urn and bucket.urn in piece.dependencies:
        return True
    return piece.props.get("bucket") in _bucket_names(bucket)


def _policy_is_public(document: Any) -> bool:
    try:
        doc = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return False
    for statement in _dict(doc).get("Statement") or []:
        statement = _dict(statement)
        principal = statement.get("Principal")
        anyone = principal == "*" or _dict(principal).get("AWS") in ("*", ["*"])
        if statement.get("Effect") == "Allow" and anyone and not statement.get("Condition"):
            return True
    return False


def _s3_problems(bucket: Res, pieces: list[Res], cfg: Mapping[str, Any]) -> Iterator[str]:
    mine = [p for p in pieces if _belongs(p, bucket)]
    block = next((p for p in mine if p.type == S3_ACCESS_BLOCK), None)
    if block is None:
        yield "has no BucketPublicAccessBlock (public ACLs and policies are not blocked)"
    else:
        off = [f for f in ACCESS_BLOCK_FLAGS if block.props.get(f) not in (True, UNKNOWN)]
        if off:
            yield f"public access block leaves {', '.join(off)} off"
    if bucket.props.get("acl") in PUBLIC_ACLS:
        yield f"has the public ACL {bucket.props['acl']!r}"
    for acl in (p for p in mine if p.type in S3_ACL):
        if acl.props.get("acl") in PUBLIC_ACLS:
            yield f"{acl.type.rsplit(':', 1)[-1]} {acl.name} grants the public ACL {acl.props['acl']!r}"
    for policy in (p for p in mine if p.type == S3_POLICY):
        if _policy_is_public(policy.props.get("policy")):
            yield f"bucket policy {policy.name} allows anyone (Principal *) without a condition"
    sse = [p for p in mine if p.type in S3_ENCRYPTION]
    algorithms = [
        str(_dict(_dict(rule).get("applyServerSideEncryptionByDefault")).get("sseAlgorithm"))
        for p in sse
        for rule in p.props.get("rules") or []
    ]
    inline = _dict(_dict(bucket.props.get("serverSideEncryptionConfiguration")).get("rule"))
    if inline:
        algorithms.append(str(_dict(inline.get("applyServerSideEncryptionByDefault")).get("sseAlgorithm")))
    wanted = ("aws:kms", "aws:kms:dsse") if cfg["requireKms"] else ("aws:kms", "aws:kms:dsse", "AES256")
    if not any(a in wanted or a == UNKNOWN for a in algorithms):
        yield (
            "has no server-side encryption configuration"
            if not algorithms
            else f"encrypts with {', '.join(algorithms)}, not one of {', '.join(wanted)}"
        )
    if cfg["requireVersioning"]:
        statuses = [
            str(_dict(p.props.get("versioningConfiguration")).get("status")) for p in mine if p.type in S3_VERSIONING
        ]
        if _dict(bucket.props.get("versioning")).get("enabled") is True:
            statuses.append("Enabled")
        if not any(s in ("Enabled", UNKNOWN) for s in statuses):
            yield "is not versioned (no BucketVersioning with status Enabled)"


def _gcs_problems(bucket: Res, pieces: list[Res], cfg: Mapping[str, Any]) -> Iterator[str]:
    p = bucket.props
    if p.get("publicAccessPrevention") not in ("enforced", UNKNOWN):
        yield f"publicAccessPrevention must be 'enforced', got {p.get('publicAccessPrevention')!r}"
    if p.get("uniformBucketLevelAccess") not in (True, UNKNOWN):
        yield "uniformBucketLevelAccess is off (object ACLs could make objects public)"
    for grant in (x for x in pieces if x.type in GCS_IAM and _belongs(x, bucket)):
        members = [*list(grant.props.get("members") or []), grant.props.get("member")]
        public = sorted({m for m in members if m in PUBLIC_MEMBERS})
        if public:
            kind = grant.type.rsplit(":", 1)[-1]
            yield f"{kind} {grant.name} grants {grant.props.get('role')} to {', '.join(public)}"
    if cfg["requireKms"] and not _dict(p.get("encryption")).get("defaultKmsKeyName"):
        yield "has no customer-managed key (encryption.defaultKmsKeyName)"
    if cfg["requireVersioning"] and _dict(p.get("versioning")).get("enabled") not in (True, UNKNOWN):
        yield "is not versioned (versioning.enabled)"


def check_buckets(resources: list[Res], cfg: Mapping[str, Any], facts: Facts) -> Iterator[tuple[str, str | None]]:
    pieces = [r for r in resources if r.type.startswith(("aws:s3/", "gcp:storage/"))]
    for bucket in resources:
        if bucket.type in S3_BUCKETS:
            problems = _s3_problems(bucket, pieces, cfg)
        elif bucket.type == GCS_BUCKET:
            problems = _gcs_problems(bucket, pieces, cfg)
        else:
            continue
        for problem in problems:
            yield f"{bucket.label}: {problem}", bucket.urn or None


BUCKET_SECURITY = Rule(
    name="bucket-security",
    description="Buckets (S3, GCS) are private (public access blocked, no public ACL, policy or IAM grant), "
    "encrypted and versioned.",
    enforcement_level=MANDATORY,
    config_schema={
        "requireVersioning": schema("boolean", True, "Require versioning (recovers overwritten models and artifacts)."),
        "requireKms": schema("boolean", False, "Require a KMS / customer-managed key rather than the cloud's default."),
    },
    check=check_buckets,
    stack=True,
)


# --- database-security ----------------------------------------------------------------------------------------


def _needs_deletion_protection(cfg: Mapping[str, Any], facts: Facts) -> bool:
    return (facts.environment or "") in cfg["deletionProtectionEnvironments"]


def _rds_problems(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    p = res.props
    if p.get("storageEncrypted") not in (True, UNKNOWN):
        yield "storage is not encrypted (storageEncrypted: true)"
    if res.type == RDS_INSTANCE and p.get("publiclyAccessible") is True:
        yield "is publicly accessible (publiclyAccessible: true)"
    days = p.get("backupRetentionPeriod", 1 if res.type == RDS_CLUSTER else 0)
    if days != UNKNOWN and (not isinstance(days, (int, float)) or days < cfg["minBackupDays"]):
        yield f"keeps backups for {days} days, fewer than {cfg['minBackupDays']} (backupRetentionPeriod)"
    if _needs_deletion_protection(cfg, facts) and p.get("deletionProtection") not in (True, UNKNOWN):
        yield f"has no deletion protection in {facts.environment} (deletionProtection: true)"


def _cloud_sql_problems(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    p = res.props
    settings = _dict(p.get("settings"))
    ip = _dict(settings.get("ipConfiguration"))
    if ip.get("ipv4Enabled", True) not in (False, UNKNOWN):
        networks = [str(_dict(n).get("value")) for n in ip.get("authorizedNetworks") or []]
        yield (
            "has a public IPv4 address (settings.ipConfiguration.ipv4Enabled: false; use private IP)"
            + (f", open to {', '.join(networks)}" if networks else "")
        )
    if cfg["requireCustomerManagedKey"] and not p.get("encryptionKeyName"):
        yield "has no customer-managed key (encryptionKeyName)"
    backup = _dict(settings.get("backupConfiguration"))
    if backup.get("enabled") not in (True, UNKNOWN):
        yield "has automated backups off (settings.backupConfiguration.enabled: true)"
    else:
        kept = _dict(backup.get("backupRetentionSettings")).get("retainedBackups", 7)
        if kept != UNKNOWN and (not isinstance(kept, (int, float)) or kept < cfg["minBackupDays"]):
            yield (
                f"keeps {kept} daily backups, fewer than {cfg['minBackupDays']} "
                f"(settings.backupConfiguration.backupRetentionSettings.retainedBackups)"
            )
    if _needs_deletion_protection(cfg, facts) and p.get("deletionProtection", True) is False:
        yield f"has no deletion protection in {facts.environment} (deletionProtection: true)"


def check_databases(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    if res.type in (RDS_INSTANCE, RDS_CLUSTER):
        problems = _rds_problems(res, cfg, facts)
    elif res.type == CLOUD_SQL:
        problems = _cloud_sql_problems(res, cfg, facts)
    else:
        return
    for problem in problems:
        yield f"{res.label}: {problem}"


DATABASE_SECURITY = Rule(
    name="database-security",
    description="Databases (RDS, Aurora, Cloud SQL) are encrypted, not reachable from the internet, keep backups for "
    "at least minBackupDays days, and have deletion protection in production.",
    enforcement_level=MANDATORY,
    config_schema={
        "minBackupDays": schema("integer", 7, "Fewest days of automated backups.", minimum=1),
        "deletionProtectionEnvironments": schema(
            "array", ["prod"], "Environments that need deletion protection.", items={"type": "string"}
        ),
        "requireCustomerManagedKey": schema("boolean", False, "Cloud SQL: require a customer-managed key."),
    },
    check=check_databases,
)


# --- stateful-protect -----------------------------------------------------------------------------------------


def check_protect(res: Res, cfg: Mapping[str, Any], facts: Facts) -> Iterator[str]:
    if (facts.environment or "") not in cfg["environments"]:
        return
    if res.type in cfg["types"] and not res.protect:
        yield (
            f"{res.label}: holds data in {facts.environment} but is not protected (set protect=True so that "
            f"`pulumi destroy` or a replacement cannot delete it)"
        )


STATEFUL_PROTECT = Rule(
    name="stateful-protect",
    description="Stateful resources (databases, buckets, file systems) carry Pulumi's protect option in production.",
    enforcement_level=MANDATORY,
    config_schema={
        "environments": schema(
            "array", ["prod"], "Environments where stateful resources must be protected.", items={"type": "string"}
        ),
        "types": schema("array", STATEFUL_TYPES, "Resource types that hold data.", items={"type": "string"}),
    },
    check=check_protect,
)

RULES = [BUCKET_SECURITY, DATABASE_SECURITY, STATEFUL_PROTECT]
