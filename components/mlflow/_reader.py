"""The model servers' read-only identity on the artifact bucket.

Why a second identity rather than trusting the model servers with MLflow's: a model server (and KServe's storage
initializer in its pod) only ever reads models, so its role or service account may only read, and a compromised
model pod cannot overwrite or delete what MLflow stores.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from ..common import aws, gcp, irsa_trust_policy


def s3_read_policy(bucket_arn: str) -> dict[str, Any]:
    """Read-only access for model servers: list that bucket and read its objects."""
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


def s3_reader(
    name: str, args: Any, bucket_arn: pulumi.Output[str], tags: dict[str, str], parent: pulumi.Resource
) -> dict[str, pulumi.Output[str]]:
    """An IRSA role for ``args.reader_service_account`` that may only read the bucket; its ServiceAccount annotation."""
    child = pulumi.ResourceOptions(parent=parent)
    namespace, _, service_account = args.reader_service_account.partition("/")
    role = aws.iam.Role(
        f"{name}-reader-irsa",
        assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda a: irsa_trust_policy(a[0], a[1], namespace, service_account)
        ),
        tags=tags,
        opts=child,
    )
    aws.iam.RolePolicy(
        f"{name}-reader-irsa",
        role=role.id,
        policy=bucket_arn.apply(lambda arn: json.dumps(s3_read_policy(arn))),
        opts=child,
    )
    return {"eks.amazonaws.com/role-arn": role.arn}


def gcs_reader(
    name: str, args: Any, bucket_name: pulumi.Output[str], parent: pulumi.Resource
) -> dict[str, pulumi.Output[str]]:
    """A Google service account with ``roles/storage.objectViewer`` on the bucket, bound to
    ``args.reader_service_account`` through Workload Identity; its ServiceAccount annotation."""
    child = pulumi.ResourceOptions(parent=parent)
    account = gcp.serviceaccount.Account(
        f"{name}-reader",
        project=args.project,
        account_id=f"{name[:22]}-rd",
        display_name=f"Read-only workload identity of {name}",
        opts=child,
    )
    gcp.storage.BucketIAMMember(
        f"{name}-object-viewer",
        bucket=bucket_name,
        role="roles/storage.objectViewer",
        member=account.email.apply(lambda e: f"serviceAccount:{e}"),
        opts=child,
    )
    gcp.serviceaccount.IAMMember(
        f"{name}-reader-workload-identity",
        service_account_id=account.name,
        role="roles/iam.workloadIdentityUser",
        member=pulumi.Output.concat("serviceAccount:", args.workload_pool or "", f"[{args.reader_service_account}]"),
        opts=child,
    )
    return {"iam.gke.io/gcp-service-account": account.email}
