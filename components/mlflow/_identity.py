"""The cloud identities allowed to use the artifact bucket: MLflow's, which reads and writes, the model servers',
which only reads, and the node model cache's, which reads only under the prefixes of the versions it caches.

Why a second identity rather than trusting the model servers with MLflow's: a model server (and KServe's storage
initializer in its pod) only ever reads models, so its role or service account may only read, and a compromised
model pod cannot overwrite or delete what MLflow stores. The node model cache's prefetcher runs on every node of a
caching GPU pool with a host folder mounted; its identity is narrower still.

Why both are built here by the same code: they differ only in what they may do with the bucket's objects, so the
S3 policy, the IRSA role and the Google service account are each written once, scoped to that one bucket, and the
read-only identity cannot drift from the other in anything but its grant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from ..common import aws, gcp, irsa_trust_policy

S3_READ_ACTIONS = ("s3:GetObject",)
S3_WRITE_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")


def _keys(prefixes: list[str]) -> list[str]:
    return sorted({p.strip("/") for p in prefixes if p.strip("/")})


def s3_prefix_read_policy(bucket_arn: str, prefixes: list[str]) -> dict[str, Any]:
    """Read-only access under ``prefixes`` of one bucket: list them, read their objects. Nothing else."""
    keys = _keys(prefixes)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # A download lists its prefix, with or without the trailing slash. KServe's storage initializer
                # first calls HeadBucket, which S3 authorises as ListBucket with no prefix: a listing without a
                # prefix is admitted too (object names only; reading stays held to the prefixes below).
                "Sid": "ListThePrefixes",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": bucket_arn,
                "Condition": {"StringLikeIfExists": {"s3:prefix": [*keys, *(f"{k}/*" for k in keys)]}},
            },
            {
                "Sid": "ReadThePrefixes",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{bucket_arn}/{k}/*" for k in keys],
            },
        ],
    }


def gcs_read_condition(bucket: str, prefixes: list[str]) -> dict[str, str]:
    """An IAM condition that admits reading objects under ``prefixes`` and listing only those prefixes."""
    clauses = []
    for k in _keys(prefixes):
        clauses.append(f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{k}/")')
        clauses.append(f'api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("{k}")')
    return {
        "title": "model-cache-prefixes",
        "description": "Read and list only the cached model versions' prefixes.",
        "expression": " || ".join(clauses),
    }


def s3_bucket_policy(bucket_arn: str, *, write: bool, prefixes: list[str] | None = None) -> dict[str, Any]:
    """Least privilege on one bucket: list it and read its objects, and with ``write`` also write and delete them
    (and abort multipart uploads); read-only with ``prefixes``: only under those. Nothing else."""
    if prefixes and not write:
        return s3_prefix_read_policy(bucket_arn, prefixes)
    sid, actions = ("ObjectsInTheBucket", S3_WRITE_ACTIONS) if write else ("ReadObjects", S3_READ_ACTIONS)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListTheBucket",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket_arn,
            },
            {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": f"{bucket_arn}/*"},
        ],
    }


def s3_policy(bucket_arn: str) -> dict[str, Any]:
    """Least privilege for an MLflow artifact store: list that bucket, read/write/delete its objects. Nothing else."""
    return s3_bucket_policy(bucket_arn, write=True)


@dataclass(frozen=True)
class Oidc:
    """The cluster's IAM OIDC provider, which IRSA roles trust."""

    provider_arn: pulumi.Input[str] | None
    issuer: pulumi.Input[str] | None
    """Issuer host and path, without ``https://``."""


def s3_role(
    resource_name: str,
    oidc: Oidc,
    service_account: str,
    bucket_arn: pulumi.Output[str],
    *,
    write: bool,
    tags: dict[str, str],
    parent: pulumi.Resource,
    prefixes: list[str] | None = None,
) -> aws.iam.Role:
    """An IRSA role that ``service_account`` (``namespace/name``) alone may assume, with an inline policy on the
    bucket only (:func:`s3_bucket_policy`; read-only under ``prefixes`` when given)."""
    child = pulumi.ResourceOptions(parent=parent)
    namespace, _, name = service_account.partition("/")
    role = aws.iam.Role(
        resource_name,
        assume_role_policy=pulumi.Output.all(oidc.provider_arn, oidc.issuer).apply(
            lambda a: irsa_trust_policy(a[0], a[1], namespace, name)
        ),
        tags=tags,
        opts=child,
    )
    aws.iam.RolePolicy(
        resource_name,
        role=role.id,
        policy=bucket_arn.apply(lambda arn: json.dumps(s3_bucket_policy(arn, write=write, prefixes=prefixes))),
        opts=child,
    )
    return role


@dataclass(frozen=True)
class GcsGrant:
    """One Google service account's grant on the bucket, and the names of the resources that make it."""

    account: str
    """Resource name of the Google service account."""
    account_id: str
    """Its account id (at most 30 characters)."""
    display_name: str
    """Its display name."""
    role: str
    """Bucket role: ``roles/storage.objectUser`` (read and write) or ``roles/storage.objectViewer`` (read)."""
    bucket_member: str
    """Resource name of the bucket IAM member."""
    workload_identity: str
    """Resource name of the Workload Identity binding."""


def writer_grant(name: str) -> GcsGrant:
    """MLflow's read-write grant."""
    return GcsGrant(
        account=f"{name}-wi",
        account_id=f"{name[:22]}-wi",
        display_name=f"Workload identity of {name}",
        role="roles/storage.objectUser",
        bucket_member=f"{name}-object-user",
        workload_identity=f"{name}-workload-identity",
    )


def reader_grant(name: str) -> GcsGrant:
    """The model servers' read-only grant."""
    return GcsGrant(
        account=f"{name}-reader",
        account_id=f"{name[:22]}-rd",
        display_name=f"Read-only workload identity of {name}",
        role="roles/storage.objectViewer",
        bucket_member=f"{name}-object-viewer",
        workload_identity=f"{name}-reader-workload-identity",
    )


def cache_reader_grant(name: str) -> GcsGrant:
    """The node model cache's read-only grant (held to its prefixes by an IAM condition)."""
    return GcsGrant(
        account=f"{name}-cache-reader",
        account_id=f"{name[:22]}-mc",
        display_name=f"Read-only workload identity of {name} (node model cache)",
        role="roles/storage.objectViewer",
        bucket_member=f"{name}-cache-reader-object-viewer",
        workload_identity=f"{name}-cache-reader-workload-identity",
    )


def gcs_account(
    grant: GcsGrant,
    project: str | None,
    workload_pool: pulumi.Input[str] | None,
    service_account: str,
    bucket_name: pulumi.Output[str],
    parent: pulumi.Resource,
    prefixes: list[str] | None = None,
) -> gcp.serviceaccount.Account:
    """A Google service account with ``grant.role`` on the bucket only (only under ``prefixes``, through an IAM
    condition, when given), bound to the Kubernetes service account ``service_account`` (``namespace/name``)
    through Workload Identity."""
    child = pulumi.ResourceOptions(parent=parent)
    account = gcp.serviceaccount.Account(
        grant.account, project=project, account_id=grant.account_id, display_name=grant.display_name, opts=child
    )
    gcp.storage.BucketIAMMember(
        grant.bucket_member,
        bucket=bucket_name,
        role=grant.role,
        member=account.email.apply(lambda e: f"serviceAccount:{e}"),
        condition=bucket_name.apply(lambda b: gcs_read_condition(b, prefixes)) if prefixes else None,
        opts=child,
    )
    gcp.serviceaccount.IAMMember(
        grant.workload_identity,
        service_account_id=account.name,
        role="roles/iam.workloadIdentityUser",
        member=pulumi.Output.concat("serviceAccount:", workload_pool or "", f"[{service_account}]"),
        opts=child,
    )
    return account
