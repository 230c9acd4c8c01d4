"""The in-cluster S3-compatible store of an ``existing`` cluster (SeaweedFS), as plain Kubernetes specs.

Kept apart from :class:`ArtifactBucket` so that the store's workload reads as data: one ``weed server -s3``
StatefulSet on a persistent volume, its Service, and a Job that creates the bucket and checks it is listed.
"""

from __future__ import annotations

import json
from typing import Any

from ..common import ContainerSecurity, PodSecurity, ScratchDir

S3_PORT = 8333
MASTER_PORT = 9333
FILER_PORT = 8888
UID = 10001
"""User and group SeaweedFS runs as: above the range hosts hand out, so no host user shares it; the data volume is
made its group's by ``fsGroup``, and everything else it writes goes to the scratch folder."""

SCRATCH = ScratchDir()
"""SeaweedFS's one writable path besides its data volume: ``weed`` puts its local sockets
(``/tmp/seaweedfs-*.sock``), its logs and the shell's history under the temporary folder."""


def s3_identities(access_key: str, secret_key: str) -> str:
    """The S3 gateway's identity file: one identity (MLflow) with every action on every bucket of the store."""
    identity = {
        "name": "mlflow",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Read", "Write", "List", "Tagging", "Admin"],
    }
    return json.dumps({"identities": [identity]})


def _container_security() -> dict[str, Any]:
    return ContainerSecurity(run_as_user=UID, run_as_group=UID).render()


def statefulset_spec(
    name: str,
    *,
    image: str,
    labels: dict[str, str],
    pod_labels: dict[str, str],
    credentials_secret: str,
    storage_gib: int,
    storage_class: str | None,
) -> dict[str, Any]:
    """One ``weed server`` (master, volume, filer, S3 gateway) with its data on a persistent volume."""
    probe = {"tcpSocket": {"port": "s3"}, "periodSeconds": 10}
    claim_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{storage_gib}Gi"}},
    }
    if storage_class:
        claim_spec["storageClassName"] = storage_class
    container = {
        "name": "seaweedfs",
        "image": image,
        "args": [
            "server",
            "-dir=/data",
            "-s3",
            f"-s3.port={S3_PORT}",
            "-s3.config=/etc/seaweedfs/s3.json",
            "-master.volumeSizeLimitMB=1024",
            "-volume.max=0",
        ],
        "ports": [
            {"name": "s3", "containerPort": S3_PORT},
            {"name": "master", "containerPort": MASTER_PORT},
            {"name": "filer", "containerPort": FILER_PORT},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "securityContext": _container_security(),
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "config", "mountPath": "/etc/seaweedfs", "readOnly": True},
            SCRATCH.mount(),
        ],
        "startupProbe": {**probe, "failureThreshold": 30},
        "readinessProbe": probe,
        "livenessProbe": {**probe, "periodSeconds": 20},
    }
    config = {"secretName": credentials_secret, "items": [{"key": "s3.json", "path": "s3.json"}]}
    return {
        "serviceName": name,
        "replicas": 1,
        "selector": {"matchLabels": pod_labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "securityContext": PodSecurity(fs_group=UID).render(),
                "automountServiceAccountToken": False,
                "containers": [container],
                "volumes": [{"name": "config", "secret": config}, SCRATCH.volume()],
            },
        },
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim_spec}],
    }


def service_spec(pod_labels: dict[str, str]) -> dict[str, Any]:
    return {
        "selector": pod_labels,
        "ports": [
            {"name": "s3", "port": S3_PORT, "targetPort": "s3"},
            {"name": "master", "port": MASTER_PORT, "targetPort": "master"},
            {"name": "filer", "port": FILER_PORT, "targetPort": "filer"},
        ],
    }


def create_bucket_job_spec(*, image: str, labels: dict[str, str], bucket: str, host: str) -> dict[str, Any]:
    """A Job that creates the bucket through ``weed shell`` and succeeds only once the bucket is listed."""
    shell = f"weed shell -master={host}:{MASTER_PORT} -filer={host}:{FILER_PORT}"
    return {
        "backoffLimit": 20,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "restartPolicy": "OnFailure",
                "automountServiceAccountToken": False,
                "securityContext": PodSecurity(run_as_user=UID).render(),
                "containers": [
                    {
                        "name": "create-bucket",
                        "image": image,
                        "command": ["/bin/sh", "-c"],
                        "args": [
                            f"echo 's3.bucket.create -name {bucket}' | {shell} "
                            f"&& echo 's3.bucket.list' | {shell} | grep -q '{bucket}'"
                        ],
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "64Mi"},
                            "limits": {"cpu": "500m", "memory": "256Mi"},
                        },
                        "securityContext": _container_security(),
                        "volumeMounts": [SCRATCH.mount()],
                    }
                ],
                "volumes": [SCRATCH.volume()],
            },
        },
    }
