"""An artifact bucket and the one workload identity allowed to use it: S3 + IRSA, GCS + Workload Identity, or an
S3-compatible store in the cluster.

Why bucket and identity together: the promise is "this Kubernetes service account, and nobody else, can read
and write this bucket, and no key exists anywhere". Keeping both in one component makes the policy's scope
(that bucket's ARN / that bucket's IAM) impossible to get wrong.

* ``aws``: S3 bucket with SSE-KMS (bucket key), versioning, every public access blocked, owner-enforced
  objects, TLS-only bucket policy, and a lifecycle rule that expires non-current versions and aborts stale
  multipart uploads. An IAM role trusted by the cluster's OIDC provider for exactly one service account
  (``sub`` and ``aud`` conditions) with an inline policy on that bucket only.
* ``gcp``: GCS bucket with uniform bucket-level access, public access prevention, versioning and the same
  lifecycle; a Google service account bound to the Kubernetes service account through Workload Identity, with
  ``roles/storage.objectUser`` on that bucket only.
* ``existing``: SeaweedFS (Apache-2.0, released every few weeks) as a single ``weed server -s3`` StatefulSet on
  a persistent volume, credentials generated and kept in a Secret, and a Job that creates the bucket.
  MinIO's community edition stopped publishing images in 2025 and its repository is archived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..common import MANAGED_BY_LABELS, Cloud, PlatformComponent, Problems, aws, gcp, merge_labels
from . import _seaweedfs as seaweedfs
from ._identity import Oidc, cache_reader_grant, gcs_account, reader_grant, s3_role, writer_grant


@dataclass(kw_only=True)
class ArtifactBucketArgs:
    """Arguments of :class:`ArtifactBucket`. Fields marked AWS, GCP or existing are read only there."""

    cloud: Cloud
    """Where the bucket lives: ``aws`` (S3), ``gcp`` (GCS) or ``existing`` (SeaweedFS in the cluster). Required."""
    service_account_namespace: str
    """Namespace of the Kubernetes service account granted access. Required."""
    service_account_name: str
    """Name of the Kubernetes service account granted access. Required."""
    reader_service_account: str | None = None
    """``namespace/name`` of a Kubernetes service account that may only read the bucket (model servers and their
    storage initializer), through its own cloud identity (AWS, GCP). Default none."""
    cache_reader_service_account: str | None = None
    """``namespace/name`` of a Kubernetes service account that may only read under ``cache_reader_prefixes`` (the
    node model cache's prefetcher), through its own cloud identity (AWS, GCP). Default none."""
    cache_reader_prefixes: list[str] = field(default_factory=list)
    """Object prefixes (``mlflow/9/models/m-abc/artifacts``) ``cache_reader_service_account`` may list and read.
    Default none."""
    bucket_name: str | None = None
    """Bucket name. Default generated and unique (``existing``: ``mlflow``)."""
    force_destroy: bool = False
    """Let ``pulumi destroy`` delete a bucket that still has objects. Default False."""
    protect: bool = False
    """Protect the bucket in Pulumi (``pulumi destroy`` or a replacement cannot delete it). Default False."""
    noncurrent_version_expiration_days: int = 30
    """Days an overwritten or deleted object version is kept. Default 30."""
    oidc_provider_arn: pulumi.Input[str] | None = None
    """AWS: ARN of the cluster's IAM OIDC provider. Required on AWS."""
    oidc_issuer: pulumi.Input[str] | None = None
    """AWS: OIDC issuer host and path, without ``https://``. Required on AWS."""
    project: str | None = None
    """GCP: project. Required on GCP."""
    location: str | None = None
    """GCP: bucket location (the cluster's region). Required on GCP."""
    workload_pool: pulumi.Input[str] | None = None
    """GCP: the cluster's Workload Identity pool, ``<project>.svc.id.goog``, as the cluster's output (a binding
    needs the pool to exist). Required on GCP."""
    image: str = "chrislusf/seaweedfs:4.47"
    """existing: SeaweedFS image, pinned. Default ``chrislusf/seaweedfs:4.47``."""
    storage_gib: int = 20
    """existing: volume size in GiB. Default 20."""
    storage_class: str | None = None
    """existing: storage class of the volume. Default the cluster's default."""
    tags: dict[str, str] = field(default_factory=dict)
    """Cloud tags (AWS), labels (GCP) or Kubernetes labels (existing). Default none."""

    def validate(self, problems: Problems) -> None:
        p = problems
        for key in ("reader_service_account", "cache_reader_service_account"):
            value = getattr(self, key)
            if value is not None:
                ns, _, sa = value.partition("/")
                p.check(bool(ns) and bool(sa) and "/" not in sa, key, "must be namespace/name", value)
        if self.cache_reader_service_account is not None:
            p.check(
                bool(self.cache_reader_prefixes) and all(x.strip("/") for x in self.cache_reader_prefixes),
                "cache_reader_prefixes",
                "must name at least one non-empty prefix (the cache reads only there)",
                self.cache_reader_prefixes,
            )
        name = self.bucket_name
        if name is not None:
            ok = (
                3 <= len(name) <= 63
                and name[0].isalnum()
                and name[-1].isalnum()
                and all(c.islower() or c.isdigit() or c in "-." for c in name)
            )
            p.check(ok, "bucket_name", "must be 3-63 lowercase letters, digits, dots and dashes", name)
        p.check(
            self.noncurrent_version_expiration_days >= 1,
            "noncurrent_version_expiration_days",
            "must be >= 1",
            self.noncurrent_version_expiration_days,
        )
        if self.cloud == Cloud.AWS:
            for key in ("oidc_provider_arn", "oidc_issuer"):
                p.check(getattr(self, key) is not None, key, "is required on aws", None)
        elif self.cloud == Cloud.GCP:
            for key in ("project", "location", "workload_pool"):
                p.check(getattr(self, key) is not None, key, "is required on gcp", None)
        else:
            p.check(
                ":" in self.image and not self.image.endswith(":latest"),
                "object_store_image",
                "must be pinned to a tag other than latest",
                self.image,
            )


def tls_only_policy(bucket_arn: str) -> dict[str, Any]:
    """Bucket policy refusing every request that does not come over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


class ArtifactBucket(PlatformComponent):
    """A bucket plus the workload identity (or in-cluster credentials) that may use it."""

    bucket_name: pulumi.Output[str]
    """Name of the bucket."""
    url: pulumi.Output[str]
    """``s3://<bucket>`` or ``gs://<bucket>``."""
    service_account_annotations: dict[str, pulumi.Output[str]]
    """Annotations that bind the Kubernetes service account to the cloud identity (none for ``existing``)."""
    endpoint_url: pulumi.Output[str] | None
    """S3 endpoint of the in-cluster store (``existing`` only)."""
    credentials_secret: str | None
    """Secret with ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` for the in-cluster store (``existing`` only)."""
    role_arn: pulumi.Output[str] | None = None
    """AWS: the IRSA role."""
    reader_annotations: dict[str, pulumi.Output[str]]
    """Annotations that give ``reader_service_account`` its read-only cloud identity (empty when none)."""
    cache_reader_annotations: dict[str, pulumi.Output[str]]
    """Annotations that give ``cache_reader_service_account`` its prefix-scoped read-only identity (empty when
    none)."""

    def __init__(self, name: str, args: ArtifactBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:artifact_bucket:ArtifactBucket", name, args, opts)
        self.endpoint_url, self.credentials_secret = None, None
        self.reader_annotations, self.cache_reader_annotations = {}, {}
        if args.cloud == Cloud.AWS:
            self._s3(name, args)
        elif args.cloud == Cloud.GCP:
            self._gcs(name, args)
        else:
            self._seaweedfs(name, args)
        self.register_outputs({"bucket_name": self.bucket_name, "url": self.url})

    def _s3(self, name: str, args: ArtifactBucketArgs) -> None:
        """The bucket, locked down, and the IRSA role that alone may use it."""
        tags = merge_labels({"ml-platform.io/bucket": name}, args.tags)
        bucket = self._s3_bucket(name, args, tags)
        oidc = Oidc(args.oidc_provider_arn, args.oidc_issuer)
        writer = f"{args.service_account_namespace}/{args.service_account_name}"
        role = s3_role(f"{name}-irsa", oidc, writer, bucket.arn, write=True, tags=tags, parent=self)
        self.bucket_name, self.role_arn = bucket.bucket, role.arn
        self.url = bucket.bucket.apply(lambda b: f"s3://{b}")
        self.service_account_annotations = {"eks.amazonaws.com/role-arn": role.arn}
        if args.reader_service_account:
            reader = s3_role(
                f"{name}-reader-irsa",
                oidc,
                args.reader_service_account,
                bucket.arn,
                write=False,
                tags=tags,
                parent=self,
            )
            self.reader_annotations = {"eks.amazonaws.com/role-arn": reader.arn}
        if args.cache_reader_service_account:
            cache_reader = s3_role(
                f"{name}-cache-reader-irsa",
                oidc,
                args.cache_reader_service_account,
                bucket.arn,
                write=False,
                tags=tags,
                parent=self,
                prefixes=args.cache_reader_prefixes,
            )
            self.cache_reader_annotations = {"eks.amazonaws.com/role-arn": cache_reader.arn}

    def _s3_bucket(self, name: str, args: ArtifactBucketArgs, tags: dict[str, str]) -> aws.s3.Bucket:
        """Owner-enforced, never public, KMS-encrypted, versioned (old versions expire), reachable over TLS only."""
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            name,
            bucket=args.bucket_name,
            force_destroy=args.force_destroy,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms"
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_expiration_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            name, bucket=bucket.id, policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))), opts=child
        )
        return bucket

    def _gcs(self, name: str, args: ArtifactBucketArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        suffix = random.RandomId(f"{name}-suffix", byte_length=4, opts=child)
        bucket_name = (
            pulumi.Output.from_input(args.bucket_name)
            if args.bucket_name
            else suffix.hex.apply(lambda h: f"{args.project}-{name}-{h}"[:63])
        )
        bucket = gcp.storage.Bucket(
            name,
            name=bucket_name,
            project=args.project,
            location=args.location,
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            force_destroy=args.force_destroy,
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=args.noncurrent_version_expiration_days, with_state="ARCHIVED"
                    ),
                ),
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="AbortIncompleteMultipartUpload"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=7),
                ),
            ],
            labels=args.tags or None,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        writer = f"{args.service_account_namespace}/{args.service_account_name}"
        account = gcs_account(writer_grant(name), args.project, args.workload_pool, writer, bucket.name, parent=self)
        self.bucket_name = bucket.name
        self.url = bucket.name.apply(lambda b: f"gs://{b}")
        self.service_account_annotations = {"iam.gke.io/gcp-service-account": account.email}
        if args.reader_service_account:
            reader = gcs_account(
                reader_grant(name), args.project, args.workload_pool, args.reader_service_account, bucket.name, self
            )
            self.reader_annotations = {"iam.gke.io/gcp-service-account": reader.email}
        if args.cache_reader_service_account:
            cache_reader = gcs_account(
                cache_reader_grant(name),
                args.project,
                args.workload_pool,
                args.cache_reader_service_account,
                bucket.name,
                self,
                prefixes=args.cache_reader_prefixes,
            )
            self.cache_reader_annotations = {"iam.gke.io/gcp-service-account": cache_reader.email}

    def _seaweedfs(self, name: str, args: ArtifactBucketArgs) -> None:
        """SeaweedFS in the cluster: generated keys in a Secret, the server, its Service, the bucket Job."""
        child = pulumi.ResourceOptions(parent=self)
        ns, bucket = args.service_account_namespace, args.bucket_name or "mlflow"
        labels = merge_labels(
            MANAGED_BY_LABELS, args.tags, {"app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/instance": name}
        )
        meta = lambda n: k8s.meta.v1.ObjectMetaArgs(name=n, namespace=ns, labels=labels)  # noqa: E731
        self.credentials_secret = f"{name}-credentials"
        self._seaweedfs_credentials(name, meta(self.credentials_secret))
        pod_labels = {"app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/instance": name}
        spec = seaweedfs.statefulset_spec(
            name,
            image=args.image,
            labels=labels,
            pod_labels=pod_labels,
            credentials_secret=self.credentials_secret,
            storage_gib=args.storage_gib,
            storage_class=args.storage_class,
        )
        k8s.apps.v1.StatefulSet(name, metadata=meta(name), spec=spec, opts=child)
        k8s.core.v1.Service(name, metadata=meta(name), spec=seaweedfs.service_spec(pod_labels), opts=child)
        host = f"{name}.{ns}.svc.cluster.local"
        # The Job's pods must not carry the server's selector labels, or the Service would route to them too.
        job_labels = {k: v for k, v in labels.items() if k != "app.kubernetes.io/instance"}
        job_labels["app.kubernetes.io/component"] = "create-bucket"
        k8s.batch.v1.Job(
            f"{name}-create-bucket",
            metadata=meta(f"{name}-create-bucket"),
            spec=seaweedfs.create_bucket_job_spec(image=args.image, labels=job_labels, bucket=bucket, host=host),
            opts=pulumi.ResourceOptions(parent=self, custom_timeouts=pulumi.CustomTimeouts(create="10m")),
        )
        self.bucket_name = pulumi.Output.from_input(bucket)
        self.url = pulumi.Output.from_input(f"s3://{bucket}")
        self.endpoint_url = pulumi.Output.from_input(f"http://{host}:{seaweedfs.S3_PORT}")
        self.service_account_annotations = {}

    def _seaweedfs_credentials(self, name: str, metadata: k8s.meta.v1.ObjectMetaArgs) -> None:
        """Generated S3 keys, for MLflow (environment) and for the gateway (its identity file), in one Secret."""
        child = pulumi.ResourceOptions(parent=self)
        access_key = random.RandomPassword(
            f"{name}-access-key", length=20, special=False, upper=True, lower=False, opts=child
        )
        secret_key = random.RandomPassword(f"{name}-secret-key", length=40, special=False, opts=child)
        s3_config: pulumi.Output[str] = pulumi.Output.all(access_key.result, secret_key.result).apply(
            lambda k: seaweedfs.s3_identities(k[0], k[1])
        )
        s3_secret: pulumi.Output[str] = pulumi.Output.secret(s3_config)
        k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=metadata,
            type="Opaque",
            string_data={
                "AWS_ACCESS_KEY_ID": pulumi.Output.secret(access_key.result),
                "AWS_SECRET_ACCESS_KEY": pulumi.Output.secret(secret_key.result),
                "s3.json": s3_secret,
            },
            opts=child,
        )
