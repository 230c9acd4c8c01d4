"""Another team's Pulumi program: Prometheus, Grafana, the platform's alert rules and dashboards on its own cluster.

The rules are the ones the platform deploys, with this team's latency SLOs; the scrape targets follow the
platform's label contract, so model servers deployed with ``ModelEndpoint`` are picked up. Install the components
with ``pip install "ml-platform-components @ git+https://<your-git-host>/<org>/ml-platform"`` and run it like any
Pulumi program; a test runs it under mocks.
"""

import pulumi
import pulumi_kubernetes as k8s
from ml_platform_components import (
    AlertRules,
    AlertRulesArgs,
    Dashboards,
    DashboardsArgs,
    MonitoringStack,
    MonitoringStackArgs,
    ScrapeTargets,
    ScrapeTargetsArgs,
)

config = pulumi.Config()
provider = k8s.Provider("team-cluster", kubeconfig=config.get_secret("kubeconfig"))

stack = MonitoringStack(
    "monitoring",
    MonitoringStackArgs(retention_days=15, storage_gib=50),
    opts=pulumi.ResourceOptions(provider=provider),
)
# The PodMonitor and PrometheusRule kinds exist once the chart is installed.
after = pulumi.ResourceOptions(provider=provider, depends_on=[stack.release])
ScrapeTargets(
    "scrape",
    ScrapeTargetsArgs(namespace=stack.namespace, selector_labels=stack.selector_labels, keda_namespace="keda"),
    opts=after,
)
AlertRules(
    "team-rules",
    AlertRulesArgs(
        namespace=stack.namespace,
        selector_labels=stack.selector_labels,
        latency_slo_ms=300,
        latency_slo_ms_by_model={"ranker": 500},
    ),
    opts=after,
)
Dashboards("dashboards", DashboardsArgs(namespace=stack.namespace), opts=after)

pulumi.export("prometheus_url", stack.prometheus_url)
pulumi.export("grafana_admin_password", stack.grafana_admin_password)
