"""Alert and recording rules for model serving, GPUs, cost, drift and MLflow, from one Python definition each.

Why one definition: the rule text that reaches the cluster (a ``PrometheusRule``) and the text ``promtool test rules``
proves are the same string, produced by :func:`rule_groups`. A threshold changed in a stack file changes both, so a
rule that no longer fires on a bad canary fails the tests before it reaches production.

Label contract of the series the rules read (set by the scrape objects in :mod:`._scrape_targets`):
``namespace``, ``pod``, ``model``, ``model_version``, ``endpoint`` on every model-server series (from the pod's
``ml-platform.io/*`` labels); dcgm-exporter series keep the ``namespace``/``pod`` of the workload holding the GPU.
The stable version of an endpoint is the one serving the most requests, so the canary rule needs no knowledge of
how a rollout is declared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import (
    CRITICAL_LABEL,
    ENDPOINT_LABEL,
    MANAGED_BY_LABELS,
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    PlatformComponent,
    Problems,
)
from ._cost_rules import cost_group
from ._rule_model import Alert, Record, Rule, RuleGroup, Severity, ksm_label, num, relabel

SERIES = "namespace, model, model_version, endpoint"
"""The labels that identify one model version's series."""

DRIFT_CRONJOBS = "drift-.+"
"""Names of the drift checks' CronJobs (see :mod:`._drift_monitor`)."""

INFER_PATHS = 'path=~"/v2/models/.+/infer"'
"""MLServer's REST inference routes (its histogram labels the route template, not the model)."""


@dataclass(kw_only=True)
class AlertRulesArgs:
    """Arguments of :class:`AlertRules` (and of :func:`rule_groups`)."""

    latency_slo_ms: int = 200
    """p95 latency SLO of every model version, milliseconds. Default 200."""
    latency_slo_ms_by_model: dict[str, int] = field(default_factory=dict)
    """Per-model p95 SLO in milliseconds, overriding ``latency_slo_ms``. Default none."""
    error_rate_percent: float = 1.0
    """Share of failed requests (%) above which ``ModelHighErrorRate`` fires. Default 1."""
    canary_latency_margin_percent: float = 30.0
    """How much slower (p95, %) than the stable version a canary may be before ``CanaryLatencyRegression``.
    Default 30."""
    gpu_memory_percent: float = 80.0
    """GPU memory in use (%) above which ``GpuMemoryHigh`` fires. Default 80."""
    gpu_idle_percent: float = 5.0
    """Utilisation (%) under which a GPU held by a pod counts as idle. Default 5."""
    gpu_idle_minutes: int = 30
    """How long an allocated GPU stays idle before ``GpuIdleWhileAllocated`` fires. Default 30."""
    scale_from_zero_budget_seconds: int = 300
    """Longest a model server may take from pod creation to ready. Default 300."""
    mlflow_job: str | None = None
    """``job`` label of the MLflow scrape target; None leaves out ``MlflowDown``. Default None."""
    pool_hourly_prices_usd: dict[str, float] = field(default_factory=dict)
    """Hourly price of one node per node pool (``ml-platform.io/pool`` label: the GPU pools and ``system``, where
    CPU model pods run), from the cost model, for the cost rules. Default none."""
    namespace: str = "monitoring"
    """Namespace of the ``PrometheusRule``. Default ``monitoring``."""
    selector_labels: dict[str, str] = field(default_factory=dict)
    """Labels the Prometheus's ``ruleSelector`` matches (``release: <chart release>``). Default none."""

    def validate(self, problems: Problems) -> None:
        problems.check(self.latency_slo_ms > 0, "latency_slo_ms", "must be > 0", self.latency_slo_ms)
        for model, slo in self.latency_slo_ms_by_model.items():
            problems.check(slo > 0, f"latency_slo_ms_by_model.{model}", "must be > 0", slo)
        problems.check(
            0 < self.error_rate_percent < 100,
            "error_rate_percent",
            "must be between 0 and 100",
            self.error_rate_percent,
        )
        problems.check(
            self.canary_latency_margin_percent > 0,
            "canary_latency_margin_percent",
            "must be > 0",
            self.canary_latency_margin_percent,
        )
        problems.check(
            0 < self.gpu_memory_percent <= 100, "gpu_memory_percent", "must be in (0, 100]", self.gpu_memory_percent
        )
        problems.check(
            0 <= self.gpu_idle_percent < 100, "gpu_idle_percent", "must be in [0, 100)", self.gpu_idle_percent
        )
        problems.check(self.gpu_idle_minutes >= 5, "gpu_idle_minutes", "must be >= 5", self.gpu_idle_minutes)
        problems.check(
            self.scale_from_zero_budget_seconds >= 10,
            "scale_from_zero_budget_seconds",
            "must be >= 10",
            self.scale_from_zero_budget_seconds,
        )
        for pool, price in self.pool_hourly_prices_usd.items():
            problems.check(price >= 0, f"pool_hourly_prices_usd.{pool}", "must be >= 0", price)

    # The rules compare ratios and seconds; the arguments speak percent and milliseconds like the stack file.
    @property
    def latency_slo_seconds(self) -> float:
        return self.latency_slo_ms / 1000

    @property
    def latency_slo_seconds_by_model(self) -> dict[str, float]:
        return {m: ms / 1000 for m, ms in self.latency_slo_ms_by_model.items()}

    @property
    def error_ratio(self) -> float:
        return self.error_rate_percent / 100

    @property
    def canary_latency_ratio(self) -> float:
        return 1 + self.canary_latency_margin_percent / 100

    @property
    def gpu_memory_ratio(self) -> float:
        return self.gpu_memory_percent / 100


# --- the rules -------------------------------------------------------------------------------------------------


def serving_group(a: AlertRulesArgs) -> RuleGroup:
    return RuleGroup("ml-platform.serving", (*serving_records(), *latency_alerts(a), *serving_alerts(a)))


def serving_records() -> list[Rule]:
    """Per-version request, error and latency series, and which version of an endpoint is the stable one."""
    pod_info = relabel(
        f'kube_pod_labels{{{ksm_label(MODEL_LABEL)}!=""}}',
        [
            ("model", ksm_label(MODEL_LABEL)),
            ("model_version", ksm_label(MODEL_VERSION_LABEL)),
            ("endpoint", ksm_label(ENDPOINT_LABEL)),
            ("critical", ksm_label(CRITICAL_LABEL)),
        ],
    )
    by = f"sum by ({SERIES})"
    records: list[Rule] = [
        Record(
            "ml_platform:model_pod_info",
            f"max by (namespace, pod, model, model_version, endpoint, critical) ({pod_info})",
        ),
        Record(
            "ml_platform:model_requests:rate5m",
            f"{by} (rate(model_infer_request_success_total[5m])) + {by} (rate(model_infer_request_failure_total[5m]))"
            f" or {by} (rate(model_infer_request_success_total[5m]))",
        ),
        Record("ml_platform:model_errors:rate5m", f"{by} (rate(model_infer_request_failure_total[5m]))"),
        Record(
            "ml_platform:model_error_ratio:rate5m",
            "ml_platform:model_errors:rate5m / ml_platform:model_requests:rate5m",
        ),
    ]
    for q in ("50", "95", "99"):
        records.append(
            Record(
                f"ml_platform:model_latency_seconds:p{q}",
                f"histogram_quantile(0.{q}, sum by ({SERIES}, le) "
                f"(rate(rest_server_request_duration_seconds_bucket{{{INFER_PATHS}}}[5m])))",
            )
        )
    # The stable version of an endpoint: the one serving the most requests.
    records.append(
        Record(
            "ml_platform:stable_version_requests:rate5m",
            'ml_platform:model_requests:rate5m{endpoint!=""} == on (namespace, endpoint) group_left '
            'max by (namespace, endpoint) (ml_platform:model_requests:rate5m{endpoint!=""})',
        )
    )
    records.append(
        Record(
            "ml_platform:endpoint_stable_latency_seconds:p95",
            "max by (namespace, endpoint) (ml_platform:model_latency_seconds:p95 "
            "and on (namespace, endpoint, model_version) ml_platform:stable_version_requests:rate5m)",
        )
    )
    return records


def latency_alerts(a: AlertRulesArgs) -> list[Rule]:
    """p95 latency over the SLO: one rule for the default SLO, one per model with its own."""
    overridden = sorted(a.latency_slo_seconds_by_model)
    latency: list[Rule] = []
    default_selector = f'{{model!~"{"|".join(overridden)}"}}' if overridden else ""
    slos = [(default_selector, a.latency_slo_seconds)] + [
        (f'{{model="{m}"}}', a.latency_slo_seconds_by_model[m]) for m in overridden
    ]
    for selector, slo in slos:
        latency.append(
            Alert(
                "ModelLatencyHigh",
                f"ml_platform:model_latency_seconds:p95{selector} > {num(slo)}",
                "10m",
                Severity.PAGE,
                "p95 latency of {{ $labels.model }} {{ $labels.model_version }} is "
                f"{{{{ $value | humanizeDuration }}}} (SLO {round(slo * 1000)} ms)",
                "Check the GPU and replica panels of the model serving dashboard: saturated replicas → raise max "
                "replicas; one slow version → roll it back; all slow → look at the node pool.",
                (("slo_ms", str(round(slo * 1000))),),
            )
        )
    return latency


def serving_alerts(a: AlertRulesArgs) -> list[Rule]:
    """Errors, a canary slower than its stable version, and a slow scale from zero."""
    return [
        Alert(
            "ModelHighErrorRate",
            f"ml_platform:model_error_ratio:rate5m > {num(a.error_ratio)}",
            "5m",
            Severity.PAGE,
            "{{ $labels.model }} {{ $labels.model_version }} fails {{ $value | humanizePercentage }} of requests"
            f" (limit {num(a.error_ratio * 100)}%)",
            "Read the model server logs of the failing version (kubectl logs -l ml-platform.io/model-version=...); "
            "a new version → roll back; input errors → contact the caller.",
        ),
        Alert(
            "CanaryLatencyRegression",
            '(ml_platform:model_latency_seconds:p95{endpoint!=""} unless on (namespace, endpoint, model_version) '
            "ml_platform:stable_version_requests:rate5m) > on (namespace, endpoint) group_left "
            f"ml_platform:endpoint_stable_latency_seconds:p95 * {num(a.canary_latency_ratio)}",
            "10m",
            Severity.PAGE,
            "canary {{ $labels.model_version }} of {{ $labels.endpoint }} is more than "
            f"{round((a.canary_latency_ratio - 1) * 100)}% slower (p95) than the stable version",
            "Roll the canary back (set its traffic to 0) and compare its resources, batch size and model size with "
            "the stable version before retrying.",
        ),
        Alert(
            "ScaleFromZeroSlow",
            "((kube_pod_status_ready_time - kube_pod_created) "
            "or ((time() - kube_pod_created) unless on (namespace, pod) kube_pod_status_ready_time)) "
            "* on (namespace, pod) group_left (model, model_version, endpoint) "
            '(ml_platform:model_pod_info{critical!="true"}) '
            f"> {a.scale_from_zero_budget_seconds} "
            "and on (namespace, pod) (time() - kube_pod_created < 3600)",
            "0m",
            Severity.TICKET,
            "{{ $labels.model }} {{ $labels.model_version }} took {{ $value | humanizeDuration }} to become ready "
            f"(budget {a.scale_from_zero_budget_seconds}s)",
            "See where the time went (kubectl describe pod): waiting for a GPU node → keep one warm (min_size 1) "
            "or mark the endpoint critical; pulling the image or model → cache them on the node.",
        ),
    ]


def gpu_group(a: AlertRulesArgs) -> RuleGroup:
    return RuleGroup(
        "ml-platform.gpu",
        (
            Record(
                "ml_platform:gpu_memory_used:ratio", "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"
            ),
            Record(
                "ml_platform:gpus_allocated",
                'sum by (namespace, model) (kube_pod_container_resource_requests{resource="nvidia_com_gpu"} '
                "* on (namespace, pod) group_left (model) ml_platform:model_pod_info)",
            ),
            Record(
                "ml_platform:gpu_hours:1h", "sum by (namespace, model) (avg_over_time(ml_platform:gpus_allocated[1h]))"
            ),
            Alert(
                "GpuMemoryHigh",
                f"ml_platform:gpu_memory_used:ratio > {num(a.gpu_memory_ratio)}",
                "10m",
                Severity.TICKET,
                "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} ({{ $labels.pod }}) uses "
                "{{ $value | humanizePercentage }} of its memory",
                "Near the limit a larger batch or a second model fails with CUDA out-of-memory: lower the batch size, "
                "give time-sliced pods fewer replicas per GPU, or move the model to a larger GPU.",
            ),
            Alert(
                "GpuIdleWhileAllocated",
                f'avg_over_time(DCGM_FI_DEV_GPU_UTIL{{pod!=""}}[10m]) < {num(a.gpu_idle_percent)}',
                f"{a.gpu_idle_minutes}m",
                Severity.TICKET,
                "{{ $labels.pod }} holds GPU {{ $labels.gpu }} on {{ $labels.Hostname }} but uses {{ $value }}% of it",
                "Money spent for nothing: let the endpoint scale to zero, share the GPU (time-slicing) or move the "
                "model to CPU; a stuck job → delete it.",
            ),
        ),
    )


def drift_group(a: AlertRulesArgs) -> RuleGroup:
    return RuleGroup(
        "ml-platform.drift",
        (
            Alert(
                "ModelInputDrift",
                "max by (model) (ml_drift_share) > on (model) max by (model) (ml_drift_threshold)",
                "0m",
                Severity.TICKET,
                "{{ $value | humanizePercentage }} of the input columns of {{ $labels.model }} drifted",
                "Open the drift dashboard: one column → check the upstream feature pipeline; many columns → the world "
                "changed: retrain on recent data and compare it with the current version as a canary.",
            ),
            Alert(
                "DriftCheckFailing",
                f'max by (namespace, cronjob) ((kube_cronjob_status_last_schedule_time{{cronjob=~"{DRIFT_CRONJOBS}"}} '
                "- on (namespace, cronjob) kube_cronjob_status_last_successful_time) > 0 "
                f'or (kube_cronjob_status_last_schedule_time{{cronjob=~"{DRIFT_CRONJOBS}"}} '
                "unless on (namespace, cronjob) kube_cronjob_status_last_successful_time))",
                "1h",
                Severity.TICKET,
                "the drift check {{ $labels.namespace }}/{{ $labels.cronjob }} has not succeeded since its last "
                "schedule",
                "Without it drift goes unnoticed: kubectl logs job/<latest job> shows why (data path, permissions of "
                "its service account, out of memory); exit 1 is unreadable data or a failed push.",
            ),
        ),
        interval="1m",
    )


def mlflow_group(a: AlertRulesArgs) -> RuleGroup | None:
    if not a.mlflow_job:
        return None
    up = f'up{{job="{a.mlflow_job}"}}'
    return RuleGroup(
        "ml-platform.mlflow",
        (
            Alert(
                "MlflowDown",
                f"max({up}) == 0 or absent({up})",
                "5m",
                Severity.PAGE,
                "MLflow tracking server and model registry are unreachable",
                "kubectl -n <mlflow namespace> get pods,events: crash-looping → read its logs (database credentials, "
                "migrations); not scheduled → node capacity. Deployments that load models from the registry fail "
                "meanwhile.",
            ),
        ),
    )


def release_group(a: AlertRulesArgs) -> RuleGroup:
    """The release controller exports, per endpoint, whether a release is open and when it must have decided."""
    return RuleGroup(
        "ml-platform.releases",
        (
            Alert(
                "ReleaseStuck",
                "(ml_platform_release_deadline_timestamp_seconds > 0) < on () group_left time() "
                "and on (namespace, endpoint) ml_platform_release_active == 1",
                "0m",
                Severity.TICKET,
                "the release on {{ $labels.endpoint }} has no decision past its analysis time and margin",
                "python -m release status <endpoint> shows the phase and its last windows: too few requests per "
                "window → lower min_requests or wait for traffic; candidate not Ready → kubectl describe its "
                "InferenceService; controller down → kubectl -n ml-serving logs deploy/release-controller. "
                "Roll back by hand if unsure.",
            ),
        ),
    )


def rule_groups(args: AlertRulesArgs) -> list[RuleGroup]:
    """Every rule group, in evaluation order."""
    groups = [
        serving_group(args),
        gpu_group(args),
        cost_group(args.pool_hourly_prices_usd),
        drift_group(args),
        mlflow_group(args),
        release_group(args),
    ]
    return [g for g in groups if g is not None]


def rule_file(args: AlertRulesArgs) -> dict[str, Any]:
    """The rules as a Prometheus rule file (``{"groups": [...]}``): also the ``PrometheusRule`` spec."""
    return {"groups": [g.to_group() for g in rule_groups(args)]}


def alerts(args: AlertRulesArgs) -> list[Alert]:
    return [r for g in rule_groups(args) for r in g.rules if isinstance(r, Alert)]


def recorded_names(args: AlertRulesArgs) -> set[str]:
    return {r.name for g in rule_groups(args) for r in g.rules if isinstance(r, Record)}


class AlertRules(PlatformComponent):
    """The platform's rules as one ``PrometheusRule`` the chart's Prometheus loads."""

    name: pulumi.Output[str]
    """Name of the ``PrometheusRule``."""
    spec: dict[str, Any]
    """The rule file it carries (what the tests run through promtool)."""

    def __init__(self, name: str, args: AlertRulesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:alert_rules:AlertRules", name, args, opts)
        self.spec = rule_file(args)
        k8s.apiextensions.CustomResource(
            name,
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=args.namespace, labels={**MANAGED_BY_LABELS, **args.selector_labels}
            ),
            spec=self.spec,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = pulumi.Output.from_input(name)
        self.register_outputs({"name": self.name})
