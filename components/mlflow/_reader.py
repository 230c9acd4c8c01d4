"""The read-only identities on the artifact bucket: the model servers', and the node model cache's.

Why a second identity rather than trusting the model servers with MLflow's: a model server (and KServe's storage
initializer in its pod) only ever reads models, so its role or service account may only read, and a compromised
model pod cannot overwrite or delete what MLflow stores. The node model cache's prefetcher runs on every node of
a caching GPU pool with a host folder mounted; its identity is narrower still: it may read only under the
prefixes of the model versions it caches.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from ..common import aws, gcp, irsa_trust_policy


def _keys(prefixes: list[str]) -> list[str]:
    return sorted({p.strip("/") for p in prefixes if p.strip("/")})


def s3_read_policy(bucket_arn: str, prefixes: list[str] | None = None) -> dict[str, Any]:
    """Read-only access: list that bucket and read its objects; with ``prefixes``, only under those."""
    if not prefixes:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListTheBucket",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": bucket_arn,
                },
                {"Sid": "ReadObjects", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{bucket_arn}/*"},
            ],
        }
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


def s3_reader(
    name: str,
    args: Any,
    bucket_arn: pulumi.Output[str],
    tags: dict[str, str],
    parent: pulumi.Resource,
    service_account: str | None = None,
    prefixes: list[str] | None = None,
    suffix: str = "reader",
) -> dict[str, pulumi.Output[str]]:
    """An IRSA role for ``service_account`` (default ``args.reader_service_account``) that may only read the bucket,
    or only under ``prefixes``; its ServiceAccount annotation."""
    child = pulumi.ResourceOptions(parent=parent)
    namespace, _, account = (service_account or args.reader_service_account).partition("/")
    role = aws.iam.Role(
        f"{name}-{suffix}-irsa",
        assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda a: irsa_trust_policy(a[0], a[1], namespace, account)
        ),
        tags=tags,
        opts=child,
    )
    aws.iam.RolePolicy(
        f"{name}-{suffix}-irsa",
        role=role.id,
        policy=bucket_arn.apply(lambda arn: json.dumps(s3_read_policy(arn, prefixes))),
        opts=child,
    )
    return {"eks.amazonaws.com/role-arn": role.arn}


def gcs_reader(
    name: str,
    args: Any,
    bucket_name: pulumi.Output[str],
    parent: pulumi.Resource,
    service_account: str | None = None,
    prefixes: list[str] | None = None,
    suffix: str = "reader",
) -> dict[str, pulumi.Output[str]]:
    """A Google service account with ``roles/storage.objectViewer`` on the bucket (only under ``prefixes``, through
    an IAM condition, when given), bound to ``service_account`` (default ``args.reader_service_account``) through
    Workload Identity; its ServiceAccount annotation."""
    child = pulumi.ResourceOptions(parent=parent)
    subject = service_account or args.reader_service_account
    short = "rd" if suffix == "reader" else "mc"
    account = gcp.serviceaccount.Account(
        f"{name}-{suffix}",
        project=args.project,
        account_id=f"{name[:22]}-{short}",
        display_name=f"Read-only workload identity of {name}" + ("" if suffix == "reader" else " (node model cache)"),
        opts=child,
    )
    gcp.storage.BucketIAMMember(
        f"{name}-object-viewer" if suffix == "reader" else f"{name}-{suffix}-object-viewer",
        bucket=bucket_name,
        role="roles/storage.objectViewer",
        member=account.email.apply(lambda e: f"serviceAccount:{e}"),
        condition=bucket_name.apply(lambda b: gcs_read_condition(b, prefixes)) if prefixes else None,
        opts=child,
    )
    gcp.serviceaccount.IAMMember(
        f"{name}-{suffix}-workload-identity",
        service_account_id=account.name,
        role="roles/iam.workloadIdentityUser",
        member=pulumi.Output.concat("serviceAccount:", args.workload_pool or "", f"[{subject}]"),
        opts=child,
    )
    return {"iam.gke.io/gcp-service-account": account.email}
