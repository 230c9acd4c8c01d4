"""Monitoring: Prometheus, Grafana and DCGM, the platform's alert and recording rules, dashboards, scrape
targets and the input-drift job.

This module is the domain's public surface; the underscored modules beside it are internals.
"""

from ._alert_rules import (
    AlertRules,
    AlertRulesArgs,
    Severity,
    alerts,
    recorded_names,
    rule_file,
)
from ._dashboards import (
    Dashboards,
    DashboardsArgs,
    all_dashboards,
    queries,
)
from ._drift_monitor import (
    DriftMonitor,
    DriftMonitorArgs,
    command,
)
from ._monitoring_stack import (
    DASHBOARD_LABEL,
    ClusterDns,
    MonitoringStack,
    MonitoringStackArgs,
    dcgm_values,
    kps_values,
)
from ._scrape_targets import (
    MLFLOW_JOB,
    ScrapeTargets,
    ScrapeTargetsArgs,
    monitor_namespace,
    pod_monitors,
)

__all__ = [
    "DASHBOARD_LABEL",
    "MLFLOW_JOB",
    "AlertRules",
    "AlertRulesArgs",
    "ClusterDns",
    "Dashboards",
    "DashboardsArgs",
    "DriftMonitor",
    "DriftMonitorArgs",
    "MonitoringStack",
    "MonitoringStackArgs",
    "ScrapeTargets",
    "ScrapeTargetsArgs",
    "Severity",
    "alerts",
    "all_dashboards",
    "command",
    "dcgm_values",
    "kps_values",
    "monitor_namespace",
    "pod_monitors",
    "queries",
    "recorded_names",
    "rule_file",
]
