"""Cost recording rules: node pool prices, and each model version's cost per 1,000 inferences by hardware.

Why per model version and by requests: a GPU node's price divided by every inference in the cluster charges CPU
endpoints for GPUs they never touch. Here each pod pays for what it holds (its share of its node's GPUs, or of its
vCPUs when it holds no GPU), each model version sums its pods, and that money is divided by the inferences the
version served in the same hour. The result carries ``hardware`` (``cpu`` or ``gpu``), ``model`` and
``model_version``, so the cost dashboard can set it beside the FinOps report's measured figures.
"""

from __future__ import annotations

from ..common import POOL_LABEL
from ._rule_model import Record, Rule, RuleGroup, ksm_label, num, relabel

COST_INTERVAL_SECONDS = 60
"""Evaluation interval of the cost group. A version's money spent in the last hour is its average hourly cost
while it had pods times the share of the hour it had them (samples seen over samples one hour holds), so a
version that scaled to zero for part of the hour pays only for the part it ran."""

MODEL_POD = "on (namespace, pod) group_left (model, model_version, endpoint) ml_platform:model_pod_info"
"""Joins a per-pod series to the model version the pod serves."""


def _pod_cost(resource: str, pods: str) -> str:
    """Hourly cost of each pod's share of its node: its requests of ``resource`` over the node's allocatable."""
    return (
        f"({pods}) / on (node) group_left sum by (node) "
        f'(kube_node_status_allocatable{{resource="{resource}"}}) '
        "* on (node) group_left ml_platform:node_hourly_price_usd"
    )


def cost_group(pool_hourly_prices_usd: dict[str, float]) -> RuleGroup:
    """Node pool prices, and each model version's cost from what its pods hold, per 1,000 inferences it served.

    A pod that requests GPUs pays its share of the node's GPUs (a time-sliced GPU counts as several); any other
    pod pays its share of the node's vCPUs. Capacity no model pod requests is not attributed to a model: it shows as
    ``ml_platform:unattributed_cost_usd_per_hour``.
    """
    node_pool = relabel(f'kube_node_labels{{{ksm_label(POOL_LABEL)}!=""}}', [("pool", ksm_label(POOL_LABEL))])
    gpu_pods = 'sum by (namespace, pod, node) (kube_pod_container_resource_requests{resource="nvidia_com_gpu"} > 0)'
    cpu_pods = (
        'sum by (namespace, pod, node) (kube_pod_container_resource_requests{resource="cpu"}) unless on '
        '(namespace, pod) (kube_pod_container_resource_requests{resource="nvidia_com_gpu"} > 0)'
    )
    version = "namespace, model, model_version, endpoint"
    rules: list[Rule] = [
        Record("ml_platform:node_pool_hourly_price_usd", f"vector({num(price)})", (("pool", pool),))
        for pool, price in sorted(pool_hourly_prices_usd.items())
    ]
    rules += [
        Record("ml_platform:node_pool_info", f"max by (node, pool) ({node_pool})"),
        Record("ml_platform:node_pool_nodes", "count by (pool) (ml_platform:node_pool_info)"),
        Record(
            "ml_platform:node_pool_gpus",
            'sum by (pool) (kube_node_status_capacity{resource="nvidia_com_gpu"} '
            "* on (node) group_left (pool) ml_platform:node_pool_info)",
        ),
        Record("ml_platform:gpu_hours_provisioned:1h", "sum by (pool) (avg_over_time(ml_platform:node_pool_gpus[1h]))"),
        Record(
            "ml_platform:node_pool_cost_usd_per_hour",
            "ml_platform:node_pool_nodes * on (pool) group_left ml_platform:node_pool_hourly_price_usd",
        ),
        Record(
            "ml_platform:node_hourly_price_usd",
            "ml_platform:node_pool_info * on (pool) group_left ml_platform:node_pool_hourly_price_usd",
        ),
        Record("ml_platform:pod_cost_usd_per_hour", _pod_cost("nvidia_com_gpu", gpu_pods), (("hardware", "gpu"),)),
        Record("ml_platform:pod_cost_usd_per_hour", _pod_cost("cpu", cpu_pods), (("hardware", "cpu"),)),
        Record(
            "ml_platform:model_version_cost_usd_per_hour",
            f"sum by ({version}, hardware) (ml_platform:pod_cost_usd_per_hour * {MODEL_POD})",
        ),
        Record(
            "ml_platform:unattributed_cost_usd_per_hour",
            "sum(ml_platform:node_pool_cost_usd_per_hour) - "
            "(sum(ml_platform:model_version_cost_usd_per_hour) or vector(0))",
        ),
        Record(
            "ml_platform:model_version_cost_usd:1h",
            "avg_over_time(ml_platform:model_version_cost_usd_per_hour[1h]) * clamp_max(count_over_time("
            f"ml_platform:model_version_cost_usd_per_hour[1h]) / {num(3600 / COST_INTERVAL_SECONDS)}, 1)",
        ),
        Record(
            "ml_platform:model_version_inferences:1h",
            # Only versions that served something: a cost per 1,000 of nothing is undefined, not infinite.
            f"sum by ({version}) (increase(model_infer_request_success_total[1h])) > 0",
        ),
        Record("ml_platform:inferences:rate1h", "sum(rate(model_infer_request_success_total[1h]))"),
        Record(
            "ml_platform:cost_per_1k_inferences_usd",
            f"1000 * ml_platform:model_version_cost_usd:1h / on ({version}) group_left "
            "ml_platform:model_version_inferences:1h",
        ),
        Record(
            "ml_platform:cost_per_1k_inferences_usd:by_hardware",
            "1000 * sum by (hardware) (ml_platform:model_version_cost_usd:1h) / sum by (hardware) "
            f"(ml_platform:model_version_inferences:1h * on ({version}) group_left (hardware) "
            "(ml_platform:model_version_cost_usd:1h * 0 + 1)) > 0",
        ),
    ]
    return RuleGroup("ml-platform.cost", tuple(rules), interval=f"{COST_INTERVAL_SECONDS}s")
