"""Ordering and reachability: what a first ``pulumi up`` creates before its prerequisites, and what the API server
cannot reach.

The engine creates resources as soon as their dependencies exist. A custom resource whose CRD is not installed yet
fails; one whose admission webhook has no ready pod yet fails with "connection refused" (``failurePolicy: Fail``);
a Workload Identity binding for a pool that does not exist yet fails with "identity pool does not exist". On a
private GKE cluster the control plane reaches nodes only on 443 and 10250 unless a firewall rule opens more, so a
webhook on 9443 times out on every admission.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ._base import Finding, rule
from ._charts import MODELS, chart_name
from ._render import Render
from ._rules_storage import statements

BUILTIN_GROUPS = {
    "",
    "v1",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "rbac.authorization.k8s.io",
    "networking.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
}
GKE_DEFAULT_MASTER_PORTS = {443, 10250}
"""Ports GKE's own firewall rule opens from a private control plane to the nodes."""


@rule(
    "crd-before-use",
    "ordering",
    "Every custom resource, and every chart that creates them, waits for the release that installs the CRD.",
)
def crd_before_use(render: Render) -> list[Finding]:
    providers: dict[str, set[str]] = {}
    for rel, groups in render.crd_groups.items():
        for g in groups:
            providers.setdefault(g, set()).add(rel)
    found = []
    for o in render.objects:
        if o.source != "render" or o.group in BUILTIN_GROUPS or o.urn is None:
            continue
        rels = providers.get(o.group, set())
        if not rels:
            found.append(
                Finding(
                    "crd-before-use",
                    f"is a {o.group} resource, and no release of the stack installs that CRD",
                    (o.ref,),
                )
            )
        elif not any(render.waits_for(o.urn, r) for r in rels):
            found.append(
                Finding(
                    "crd-before-use",
                    f"does not wait for the release that installs the {o.group} CRDs",
                    (o.ref, *map(render.release_label, sorted(rels))),
                )
            )
    for rel, groups in render.needs_groups.items():
        for g in sorted(groups):
            rels = providers.get(g, set()) - {rel}
            if g in render.crd_groups.get(rel, set()):
                continue
            if not rels:
                found.append(
                    Finding(
                        "crd-before-use",
                        f"needs the {g} CRDs, which no release of the stack installs",
                        (render.release_label(rel),),
                    )
                )
            elif not any(render.waits_for(rel, r) for r in rels):
                found.append(
                    Finding(
                        "crd-before-use",
                        f"needs the {g} CRDs but does not wait for the release that installs them",
                        (render.release_label(rel), *map(render.release_label, sorted(rels))),
                    )
                )
    return found


@rule(
    "webhook-before-use",
    "ordering",
    "Every custom resource whose kind an admission webhook validates or mutates waits for the release that "
    "runs the webhook, not only for the CRD.",
)
def webhook_before_use(render: Render) -> list[Finding]:
    found = []
    for hook in render.webhooks:
        for o in render.objects:
            if o.source != "render" or o.urn is None or (o.group, o.kind) not in hook.kinds:
                continue
            if not render.waits_for(o.urn, hook.release):
                found.append(
                    Finding(
                        "webhook-before-use",
                        f"is admitted by the {hook.release_name} {hook.what} but does not wait for that release",
                        (o.ref, render.release_label(hook.release)),
                    )
                )
        groups = {g for g, _ in hook.kinds}
        for rel, needed in render.needs_groups.items():
            if rel != hook.release and needed & groups and not render.waits_for(rel, hook.release):
                found.append(
                    Finding(
                        "webhook-before-use",
                        f"creates {sorted(needed & groups)} resources admitted by the {hook.release_name} "
                        f"{hook.what} but does not wait for it",
                        (render.release_label(rel), render.release_label(hook.release)),
                    )
                )
    return found


def _pool_of(member: str) -> str | None:
    if ".svc.id.goog[" not in member:
        return None
    return member.split(":", 1)[-1].split("[", 1)[0]


@rule(
    "binding-after-target",
    "ordering",
    "Every cloud binding waits for the resource that creates what it names (a Workload Identity pool, an IRSA "
    "OIDC provider).",
)
def binding_after_target(render: Render) -> list[Finding]:
    found = []
    clusters = render.of_type("gcp:container/cluster:Cluster")
    for b in render.of_type("gcp:serviceaccount/iAMMember:IAMMember") + render.of_type(
        "gcp:projects/iAMMember:IAMMember"
    ):
        pool = _pool_of(str(b.inputs.get("member", "")))
        if pool is None or not clusters:
            continue
        owners = [c for c in clusters if ((c.inputs.get("workloadIdentityConfig") or {}).get("workloadPool")) == pool]
        if not owners:
            found.append(
                Finding("binding-after-target", f"binds pool {pool}, which no cluster of the stack enables", (b.label,))
            )
        elif not any(render.waits_for(b.urn, c.urn) for c in owners):
            found.append(
                Finding(
                    "binding-after-target",
                    f"binds Workload Identity pool {pool} but does not wait for the cluster that creates it",
                    (b.label, owners[0].label),
                )
            )
    providers = {p.outputs.get("arn"): p for p in render.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")}
    for role in render.of_type("aws:iam/role:Role"):
        for st in statements(role.inputs.get("assumeRolePolicy")):
            federated = (st.get("Principal") or {}).get("Federated")
            provider = providers.get(federated)
            if provider is not None and not render.waits_for(role.urn, provider.urn):
                found.append(
                    Finding(
                        "binding-after-target",
                        "trusts an OIDC provider it does not wait for",
                        (role.label, provider.label),
                    )
                )
    return found


def _ports(allow: dict[str, Any]) -> set[int] | None:
    """Ports a firewall ``allow`` entry opens for TCP (None: all)."""
    if allow.get("protocol") not in ("tcp", "all"):
        return set()
    if not allow.get("ports"):
        return None
    out: set[int] = set()
    for spec in allow["ports"]:
        lo, _, hi = str(spec).partition("-")
        out |= set(range(int(lo), int(hi or lo) + 1))
    return out


def _opened(render: Render, network: Any, master: str) -> set[int] | None:
    opened: set[int] = set(GKE_DEFAULT_MASTER_PORTS)
    for fw in render.of_type("gcp:compute/firewall:Firewall"):
        i = fw.inputs
        if i.get("network") != network or i.get("direction", "INGRESS") != "INGRESS" or i.get("disabled"):
            continue
        sources = [ipaddress.ip_network(s, strict=False) for s in i.get("sourceRanges") or []]
        control_plane = ipaddress.IPv4Network(master)  # masterIpv4CidrBlock
        if not any(control_plane.subnet_of(s) for s in sources if isinstance(s, ipaddress.IPv4Network)):
            continue
        for allow in i.get("allows") or []:
            ports = _ports(allow)
            if ports is None:
                return None
            opened |= ports
    return opened


@rule(
    "control-plane-reaches-webhooks",
    "reachability",
    "On a private GKE cluster a firewall rule lets the control plane reach every webhook and aggregated API "
    "port the charts run.",
)
def control_plane_reaches_webhooks(render: Render) -> list[Finding]:
    found = []
    for cluster in render.of_type("gcp:container/cluster:Cluster"):
        private = cluster.inputs.get("privateClusterConfig") or {}
        if not private.get("enablePrivateNodes"):
            continue
        master = private.get("masterIpv4CidrBlock", "172.16.0.0/28")
        opened = _opened(render, cluster.inputs.get("network"), master)
        if opened is None:
            continue
        for hook in render.webhooks:
            if hook.port not in opened:
                found.append(
                    Finding(
                        "control-plane-reaches-webhooks",
                        f"the {hook.release_name} {hook.what} listens on {hook.port}, which no firewall rule "
                        f"opens from the control plane ({master})",
                        (cluster.label, render.release_label(hook.release)),
                    )
                )
    return found


@rule(
    "chart-modelled",
    "ordering",
    "Every Helm release the stack installs has a wiring model, so nothing a chart creates escapes the rules.",
)
def chart_modelled(render: Render) -> list[Finding]:
    return [
        Finding("chart-modelled", f"chart {chart_name(rel)!r} has no model in offline/wiring/_charts.py", (rel.label,))
        for rel in render.releases
        if chart_name(rel) not in MODELS
    ]
