"""Prometheus, Alertmanager and Grafana (kube-prometheus-stack), dcgm-exporter and a Pushgateway, pinned.

Why these choices:

* One kube-prometheus-stack release gives the Prometheus operator (so scrape targets and rules are Kubernetes
  objects other components can create), kube-state-metrics and node-exporter. Its Prometheus is told explicitly to
  select ServiceMonitors, PodMonitors and PrometheusRules labelled ``release: <release name>`` in every namespace
  (:attr:`MonitoringStack.selector_labels`), the label the chart's own objects already carry, so the platform's
  objects and the chart's are picked up the same way.
* kube-state-metrics only exports the Kubernetes labels it is told to: the platform's model and pool labels are
  allow-listed so that rules can join metrics to models and node pools.
* The Grafana admin password never enters the Helm values (Helm keeps values in a cluster Secret readable by
  anyone who can read the release): it goes into its own Secret, which Grafana reads through ``admin.existingSecret``.
* dcgm-exporter runs only on GPU nodes (the platform's node label and taint). Install it only where nothing else
  exports DCGM metrics: on GKE, Google's managed DCGM package does (into Cloud Monitoring), and two exporters on one
  GPU compete for the same profiling counters.
* Batch jobs (the drift check) cannot be scraped: they push to the Pushgateway, which Prometheus scrapes with
  ``honorLabels`` so the pushed ``job`` and ``model`` labels survive.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..common import (
    ACCELERATOR_LABEL,
    CRITICAL_LABEL,
    ENDPOINT_LABEL,
    GPU_NODE_LABEL,
    MANAGED_BY_LABELS,
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    POOL_LABEL,
    ContainerSecurity,
    PlatformComponent,
    Problems,
    chart_release,
    gpu_node_affinity,
    gpu_toleration,
)

PROMETHEUS_COMMUNITY = "https://prometheus-community.github.io/helm-charts"
KPS_CHART = "kube-prometheus-stack"
KPS_VERSION = "88.5.3"
DCGM_CHART = "dcgm-exporter"
DCGM_REPOSITORY = "https://nvidia.github.io/dcgm-exporter/helm-charts"
DCGM_VERSION = "4.8.2"
PUSHGATEWAY_CHART = "prometheus-pushgateway"
PUSHGATEWAY_VERSION = "3.2.0"

DASHBOARD_LABEL = ("grafana_dashboard", "1")
"""Label (key, value) the chart's Grafana sidecar loads dashboards from (its ``sidecar.dashboards`` defaults)."""


class ClusterDns(str, enum.Enum):
    """The cluster's DNS server, whose metrics the chart scrapes: CoreDNS (EKS, kind) or kube-dns (GKE)."""

    COREDNS = "coredns"
    KUBE_DNS = "kube-dns"


HIDDEN_CONTROL_PLANE = ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy")
"""Chart targets that managed control planes (EKS, GKE) hide and kind binds to localhost; kube-proxy binds its
metrics to 127.0.0.1 on both clouds. Scraping them only gives targets that are down and alerts that never clear."""


@dataclass(kw_only=True)
class MonitoringStackArgs:
    """Arguments of :class:`MonitoringStack`."""

    namespace: str = "monitoring"
    """Namespace of every part. Default ``monitoring``."""
    create_namespace: bool = True
    """Create the namespace. Default True."""
    release_name: str = "kube-prometheus-stack"
    """Helm release name; also the ``release`` label the Prometheus selects. Default ``kube-prometheus-stack``."""
    chart_version: str = KPS_VERSION
    """Pinned kube-prometheus-stack version. Default ``88.5.3``."""
    retention_days: int = 7
    """Days of metrics kept. Default 7."""
    storage_gib: int = 20
    """Prometheus volume in GiB (0: emptyDir, lost on restart). Default 20."""
    storage_class: str | None = None
    """Storage class of the volume. Default the cluster's default."""
    prometheus_replicas: int = 1
    """Prometheus replicas (each scrapes everything; 2 survive a node loss). Default 1."""
    prometheus_memory_gib: int = 2
    """Memory request and limit of each Prometheus. Default 2."""
    grafana_admin_password: pulumi.Input[str] | None = None
    """Grafana admin password (a secret); None generates one (output ``grafana_admin_password``). Default None."""
    dcgm_exporter: bool = False
    """Install dcgm-exporter on the GPU nodes. Default False."""
    dcgm_chart_version: str = DCGM_VERSION
    """Pinned dcgm-exporter chart version. Default ``4.8.2``."""
    pushgateway: bool = True
    """Install a Pushgateway for batch jobs. Default True."""
    pushgateway_chart_version: str = PUSHGATEWAY_VERSION
    """Pinned prometheus-pushgateway chart version. Default ``3.2.0``."""
    cluster_dns: ClusterDns = ClusterDns.COREDNS
    """DNS server the chart scrapes: ``coredns`` (EKS, kind) or ``kube-dns`` (GKE). Default ``coredns``."""

    def validate(self, problems: Problems) -> None:
        problems.check(self.retention_days >= 1, "retention_days", "must be >= 1", self.retention_days)
        problems.check(self.storage_gib >= 0, "storage_gib", "must be >= 0", self.storage_gib)
        problems.check(
            1 <= self.prometheus_replicas <= 5, "prometheus_replicas", "must be 1 to 5", self.prometheus_replicas
        )
        problems.check(
            self.prometheus_memory_gib >= 1, "prometheus_memory_gib", "must be >= 1", self.prometheus_memory_gib
        )
        problems.check(
            bool(self.release_name) and len(self.release_name) <= 53,
            "release_name",
            "must be 1-53 characters (a Helm release name)",
            self.release_name,
        )


def selector_labels(args: MonitoringStackArgs) -> dict[str, str]:
    return {"release": args.release_name}


def kps_values(args: MonitoringStackArgs, admin_secret: str) -> dict[str, Any]:
    """The kube-prometheus-stack values (exposed for tests and previews)."""
    select = {"matchLabels": selector_labels(args)}
    spec: dict[str, Any] = {
        "replicas": args.prometheus_replicas,
        "retention": f"{args.retention_days}d",
        "serviceMonitorSelector": select,
        "serviceMonitorNamespaceSelector": {},
        "podMonitorSelector": select,
        "podMonitorNamespaceSelector": {},
        "ruleSelector": select,
        "ruleNamespaceSelector": {},
        "resources": {
            "requests": {"cpu": "250m", "memory": f"{args.prometheus_memory_gib}Gi"},
            "limits": {"memory": f"{args.prometheus_memory_gib}Gi"},
        },
    }
    if args.storage_gib > 0:
        claim: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{args.storage_gib}Gi"}},
        }
        if args.storage_class:
            claim["storageClassName"] = args.storage_class
        spec["storageSpec"] = {"volumeClaimTemplate": {"spec": claim}}
        # Stop before the disk is full: a full TSDB stops ingesting altogether.
        spec["retentionSize"] = f"{max(1, int(args.storage_gib * 0.85))}GB"
    pods = ",".join([MODEL_LABEL, MODEL_VERSION_LABEL, ENDPOINT_LABEL, CRITICAL_LABEL])
    nodes = ",".join([POOL_LABEL, ACCELERATOR_LABEL, GPU_NODE_LABEL])
    hidden: dict[str, Any] = {key: {"enabled": False} for key in HIDDEN_CONTROL_PLANE}
    kube_dns = args.cluster_dns == ClusterDns.KUBE_DNS
    return {
        "crds": {"enabled": True},
        **hidden,
        "coreDns": {"enabled": not kube_dns},
        "kubeDns": {"enabled": kube_dns},
        # and the chart's rules over those targets (their alerts would fire forever)
        "defaultRules": {
            "rules": {
                "etcd": False,
                "kubeControllerManager": False,
                "kubeSchedulerAlerting": False,
                "kubeSchedulerRecording": False,
                "kubeProxy": False,
            }
        },
        "prometheus": {"prometheusSpec": spec},
        "grafana": {
            "admin": {"existingSecret": admin_secret, "userKey": "admin-user", "passwordKey": "admin-password"},
            "defaultDashboardsTimezone": "utc",
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL[0],
                    "labelValue": DASHBOARD_LABEL[1],
                    "searchNamespace": "ALL",
                }
            },
            # grafana subchart keys (not repeated in kube-prometheus-stack's own values.yaml)
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        },
        # kube-state-metrics subchart key: which Kubernetes labels become kube_pod_labels / kube_node_labels labels.
        "kube-state-metrics": {"metricLabelsAllowlist": [f"pods=[{pods}]", f"nodes=[{nodes}]"]},
    }


def dcgm_values(args: MonitoringStackArgs) -> dict[str, Any]:
    """dcgm-exporter values: GPU nodes only, tolerating the GPU taint, scraped by the chart's Prometheus."""
    return {
        "tolerations": [gpu_toleration()],
        "affinity": gpu_node_affinity(),
        "serviceMonitor": {
            "enabled": True,
            "interval": "15s",
            # keep the exporter's namespace/pod/container labels: they name the workload holding the GPU
            "honorLabels": True,
            "additionalLabels": selector_labels(args),
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "200m", "memory": "512Mi"}},
    }


def pushgateway_values(args: MonitoringStackArgs) -> dict[str, Any]:
    return {
        "serviceMonitor": {
            "enabled": True,
            "namespace": args.namespace,
            "honorLabels": True,
            "additionalLabels": selector_labels(args),
        },
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "containerSecurityContext": ContainerSecurity().render(),
    }


class MonitoringStack(PlatformComponent):
    """kube-prometheus-stack (Prometheus, Alertmanager, Grafana), optionally dcgm-exporter, and a Pushgateway."""

    namespace: str
    """Namespace everything runs in."""
    selector_labels: dict[str, str]
    """Labels a ServiceMonitor, PodMonitor or PrometheusRule needs for this Prometheus to load it."""
    prometheus_url: str
    """In-cluster URL of Prometheus."""
    grafana_service: str
    """Name of Grafana's Service (port 80)."""
    pushgateway_url: str | None
    """In-cluster URL of the Pushgateway (None when not installed)."""
    grafana_admin_password: pulumi.Output[str]
    """Grafana admin password (secret)."""
    release: k8s.helm.v3.Release
    """The kube-prometheus-stack release (its CRDs exist once it is ready: depend on it)."""

    def __init__(self, name: str, args: MonitoringStackArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:monitoring_stack:MonitoringStack", name, args, opts)
        self.namespace = args.namespace
        self.selector_labels = selector_labels(args)
        self.prometheus_url = f"http://{args.release_name}-prometheus.{args.namespace}.svc:9090"
        self.grafana_service = f"{args.release_name}-grafana"
        depends = self._namespace(name, args)
        admin_secret_name = f"{name}-grafana-admin"
        admin_secret = self._grafana_admin(name, admin_secret_name, args, depends)
        self.release = self._release(
            args.release_name,
            args,
            args.release_name,
            KPS_CHART,
            args.chart_version,
            kps_values(args, admin_secret_name),
            depends=[*depends, admin_secret],
            timeout=900,
        )
        self._exporters(name, args)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "prometheus_url": self.prometheus_url,
                "pushgateway_url": self.pushgateway_url,
                "grafana_admin_password": self.grafana_admin_password,
            }
        )

    def _namespace(self, name: str, args: MonitoringStackArgs) -> list[pulumi.Resource]:
        """The namespace, when the stack creates it; returned as what everything in it depends on."""
        if not args.create_namespace:
            return []
        namespace = k8s.core.v1.Namespace(
            f"{name}-ns",
            # node-exporter and dcgm-exporter read host paths: the namespace cannot enforce the restricted profile
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace, labels={**MANAGED_BY_LABELS, "pod-security.kubernetes.io/enforce": "privileged"}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [namespace]

    def _grafana_admin(
        self, name: str, secret_name: str, args: MonitoringStackArgs, depends: list[pulumi.Resource]
    ) -> k8s.core.v1.Secret:
        """The Grafana admin password (given, or generated) in a Secret the chart reads."""
        if args.grafana_admin_password is None:
            generated = random.RandomPassword(
                f"{name}-grafana-admin", length=24, special=False, opts=pulumi.ResourceOptions(parent=self)
            )
            password: pulumi.Input[str] = generated.result
        else:
            password = args.grafana_admin_password
        self.grafana_admin_password = pulumi.Output.secret(password)
        return k8s.core.v1.Secret(
            secret_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=args.namespace, labels=MANAGED_BY_LABELS),
            string_data={"admin-user": "admin", "admin-password": self.grafana_admin_password},
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )

    def _exporters(self, name: str, args: MonitoringStackArgs) -> None:
        """dcgm-exporter and the Pushgateway; both create ServiceMonitors, whose CRDs come with the stack."""
        self.pushgateway_url = None
        if args.dcgm_exporter:
            self._release(
                f"{name}-dcgm-exporter",
                args,
                "dcgm-exporter",
                DCGM_CHART,
                args.dcgm_chart_version,
                dcgm_values(args),
                depends=[self.release],
                repo=DCGM_REPOSITORY,
            )
        if args.pushgateway:
            self._release(
                f"{name}-pushgateway",
                args,
                PUSHGATEWAY_CHART,
                PUSHGATEWAY_CHART,
                args.pushgateway_chart_version,
                pushgateway_values(args),
                depends=[self.release],
            )
            self.pushgateway_url = f"http://{PUSHGATEWAY_CHART}.{args.namespace}.svc:9091"

    def _release(
        self,
        resource: str,
        args: MonitoringStackArgs,
        release_name: str,
        chart: str,
        version: str,
        values: dict[str, Any],
        depends: list[pulumi.Resource],
        repo: str = PROMETHEUS_COMMUNITY,
        timeout: int = 600,
    ) -> k8s.helm.v3.Release:
        return chart_release(
            resource,
            release_name=release_name,
            chart=chart,
            version=version,
            repo=repo,
            namespace=args.namespace,
            values=values,
            timeout_seconds=timeout,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends),
        )
