"""Storage: every pod that touches a bucket has an identity for it, reads where its producer writes, and every
volume claim can bind.

The identity chain spans two systems: a pod runs as a Kubernetes ServiceAccount, whose annotation names a cloud
identity (an IRSA role, a Google service account), whose trust must name that ServiceAccount back and whose policy
must grant the bucket. Any missing link is an ``AccessDenied`` at the first model load, not at deploy time.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from ._base import Finding, rule
from ._render import Pod, Render, Res

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
GKE_ANNOTATION = "iam.gke.io/gcp-service-account"
GCS_READ_ROLES = {
    "roles/storage.objectViewer",
    "roles/storage.objectUser",
    "roles/storage.objectAdmin",
    "roles/storage.admin",
}
GCS_WRITE_ROLES = {
    "roles/storage.objectUser",
    "roles/storage.objectAdmin",
    "roles/storage.admin",
    "roles/storage.objectCreator",
}


def _split(uri: str) -> tuple[str, str, str]:
    scheme, rest = uri.split("://", 1)
    bucket, _, key = rest.partition("/")
    return scheme, bucket, key


def _service_account(render: Render, pod: Pod) -> Any:
    return next(
        (s for s in render.of_kind("ServiceAccount") if s.namespace == pod.namespace and s.name == pod.service_account),
        None,
    )


def statements(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return []
    statements = (doc or {}).get("Statement") or []
    return statements if isinstance(statements, list) else [statements]


def _as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def _role(render: Render, arn: str) -> Res | None:
    return next((r for r in render.of_type("aws:iam/role:Role") if r.outputs.get("arn") == arn), None)


def _trusts(role: Res, namespace: str, sa: str) -> bool:
    subject = f"system:serviceaccount:{namespace}:{sa}"
    for st in statements(role.inputs.get("assumeRolePolicy")):
        if st.get("Effect") != "Allow" or "sts:AssumeRoleWithWebIdentity" not in _as_list(st.get("Action")):
            continue
        for op, conditions in (st.get("Condition") or {}).items():
            for key, value in conditions.items():
                if key.endswith(":sub") and any(
                    (v == subject) if op == "StringEquals" else fnmatch.fnmatchcase(subject, v) for v in _as_list(value)
                ):
                    return True
    return False


def _grants_s3(render: Render, role: Res, action: str, bucket: str, key: str) -> bool:
    names = {role.outputs.get("id"), role.outputs.get("name"), role.inputs.get("name")} - {None}
    arn = f"arn:aws:s3:::{bucket}/{key}"
    for pol in render.of_type("aws:iam/rolePolicy:RolePolicy"):
        if pol.inputs.get("role") not in names:
            continue
        for st in statements(pol.inputs.get("policy")):
            if st.get("Effect") != "Allow":
                continue
            actions = _as_list(st.get("Action"))
            if not any(fnmatch.fnmatchcase(action, a) for a in actions):
                continue
            if any(fnmatch.fnmatchcase(arn, r) for r in _as_list(st.get("Resource"))):
                return True
    return False


def _aws_problem(render: Render, pod: Pod, sa: Any, uri: str, action: str) -> str | None:
    arn = ((sa.body.get("metadata") or {}).get("annotations") or {}).get(IRSA_ANNOTATION) if sa else None
    if not arn:
        return (
            f"runs as ServiceAccount {pod.namespace}/{pod.service_account}, which names no IRSA role "
            f"({IRSA_ANNOTATION})"
        )
    role = _role(render, arn)
    if role is None:
        return f"its ServiceAccount names role {arn}, which the stack does not create"
    if not _trusts(role, pod.namespace, pod.service_account):
        return f"role {role.name} does not trust system:serviceaccount:{pod.namespace}:{pod.service_account}"
    _, bucket, key = _split(uri)
    # A URI names an object or a folder: a grant on the object itself or on the objects under it will do.
    under = f"{key.rstrip('/')}/x" if key else "x"
    if not (_grants_s3(render, role, action, bucket, key or "x") or _grants_s3(render, role, action, bucket, under)):
        return f"role {role.name} does not allow {action} on {uri}"
    return None


def _gcp_problem(render: Render, pod: Pod, sa: Any, uri: str, write: bool) -> str | None:
    email = ((sa.body.get("metadata") or {}).get("annotations") or {}).get(GKE_ANNOTATION) if sa else None
    if not email:
        return (
            f"runs as ServiceAccount {pod.namespace}/{pod.service_account}, which names no Google service account "
            f"({GKE_ANNOTATION})"
        )
    account = next(
        (a for a in render.of_type("gcp:serviceaccount/account:Account") if a.outputs.get("email") == email), None
    )
    if account is None:
        return f"its ServiceAccount names {email}, which the stack does not create"
    ids = {account.outputs.get(k) for k in ("name", "id", "email")} - {None}
    bindings = [
        b
        for b in render.of_type("gcp:serviceaccount/iAMMember:IAMMember")
        if b.inputs.get("role") == "roles/iam.workloadIdentityUser" and b.inputs.get("serviceAccountId") in ids
    ]
    if not any(str(b.inputs.get("member", "")).endswith(f"[{pod.namespace}/{pod.service_account}]") for b in bindings):
        return f"no Workload Identity binding lets {pod.namespace}/{pod.service_account} act as {email}"
    _, bucket, key = _split(uri)
    roles = GCS_WRITE_ROLES if write else GCS_READ_ROLES
    if not any(
        b.inputs.get("bucket") == bucket
        and b.inputs.get("member") == f"serviceAccount:{email}"
        and b.inputs.get("role") in roles
        and _condition_admits(b.inputs.get("condition"), bucket, key)
        for b in render.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    ):
        return f"{email} has no {'write' if write else 'read'} role on bucket {bucket}"
    return None


def _condition_admits(condition: Any, bucket: str, key: str) -> bool:
    """Whether a binding's IAM condition admits the objects under ``key``: no condition admits all; otherwise one
    of its ``resource.name.startsWith("projects/_/buckets/<bucket>/objects/<prefix>")`` clauses must cover them."""
    if not condition:
        return True
    expression = str((condition or {}).get("expression", "")) if isinstance(condition, dict) else ""
    base = f"projects/_/buckets/{bucket}/objects/"
    target = base + key.rstrip("/") + "/"
    prefixes = re.findall(r'resource\.name\.startsWith\("([^"]*)"\)', expression)
    return any(target.startswith(p) for p in prefixes if p.startswith(base))


@rule(
    "storage-identity",
    "storage",
    "Every pod that reads or writes a bucket (the KServe storage initializer included) runs as a "
    "ServiceAccount whose cloud identity grants that bucket.",
)
def storage_identity(render: Render) -> list[Finding]:
    found = []
    for pod in render.pods:
        sa = _service_account(render, pod)
        for uri, write in [(u, False) for u in pod.reads] + [(u, True) for u in pod.writes]:
            scheme = _split(uri)[0]
            if pod.env_credentials:
                continue
            if render.cloud == "aws" and scheme == "s3":
                problem = _aws_problem(render, pod, sa, uri, "s3:PutObject" if write else "s3:GetObject")
            elif render.cloud == "gcp" and scheme == "gs":
                problem = _gcp_problem(render, pod, sa, uri, write)
            else:
                problem = (
                    f"reads {uri} with no credentials (no cloud identity for {scheme}:// here, no key from a Secret)"
                )
            if problem:
                found.append(
                    Finding("storage-identity", f"{'writes' if write else 'reads'} {uri}: {problem}", (pod.workload,))
                )
    return found


@rule(
    "storage-prefix",
    "storage",
    "A URI a consumer reads from a producer's bucket lies under the prefix the producer writes (MLflow's "
    "--artifacts-destination).",
)
def storage_prefix(render: Render) -> list[Finding]:
    producers: dict[tuple[str, str], list[tuple[str, Pod]]] = {}
    for pod in render.pods:
        for uri in pod.writes:
            scheme, bucket, _ = _split(uri)
            producers.setdefault((scheme, bucket), []).append((uri.rstrip("/"), pod))
    found = []
    for pod in render.pods:
        for uri in pod.reads:
            if uri in pod.writes:
                continue
            scheme, bucket, _ = _split(uri)
            writers = producers.get((scheme, bucket), [])
            if writers and not any(uri.startswith(prefix + "/") for prefix, _ in writers):
                prefixes = ", ".join(sorted({p for p, _ in writers}))
                found.append(
                    Finding(
                        "storage-prefix",
                        f"reads {uri}, outside what its producer writes ({prefixes})",
                        (pod.workload, *sorted({w.workload for _, w in writers})),
                    )
                )
    return found


def storage_classes(render: Render) -> tuple[set[str], bool]:
    """StorageClass names that will exist, and whether one of them is the default."""
    names: set[str] = set()
    default = False
    for sc in render.of_kind("StorageClass"):
        names.add(sc.name)
        annotations = (sc.body.get("metadata") or {}).get("annotations") or {}
        default = default or annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
    if render.cloud == "gcp":
        names |= {"standard-rwo", "standard", "premium-rwo"}
        default = True  # GKE's standard-rwo (Persistent Disk CSI) is the default
    elif render.cloud == "aws":
        names.add("gp2")  # created by EKS; the default only before 1.30
        parts = render.kubernetes_version.split(".")
        minor = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 99
        default = default or minor < 30
    else:
        default = True  # an existing cluster: kind, k3d and minikube ship a default local-path class
    return names, default


@rule(
    "storage-class",
    "volumes",
    "Every volume claim, including those charts and controllers create, names a StorageClass that exists or "
    "binds through a default the stack ensures (EKS 1.30+ has none).",
)
def storage_class(render: Render) -> list[Finding]:
    names, default = storage_classes(render)
    found = []
    for claim in render.claims:
        if claim.storage_class is None and not default:
            found.append(
                Finding("storage-class", "names no StorageClass and the cluster has no default one", (claim.what,))
            )
        elif claim.storage_class is not None and claim.storage_class not in names:
            found.append(
                Finding(
                    "storage-class", f"names StorageClass {claim.storage_class!r}, which does not exist", (claim.what,)
                )
            )
    return found
