"""The metric names the platform's rules and dashboards read, with where each one comes from.

Why a catalogue: a query on a misspelt or renamed metric returns nothing rather than an error, so an alert that
can never fire and a dashboard panel that is always empty look exactly like a healthy system. Every rule and every
dashboard query is checked (in tests) against this list plus the names the recording rules produce.

How the names were established:

* MLServer 1.7.1 (the v2-protocol server KServe runs): scraped from a real ``mlserver start`` on loopback.
  Its metrics port (8082 by default) serves ``model_infer_request_success_total`` and
  ``model_infer_request_failure_total`` (counters, labels ``model``, ``version``; REST and gRPC alike),
  ``model_infer_request_duration`` (a *summary* without quantiles: count and sum only, so no percentile can be
  computed from it) and ``rest_server_request_duration_seconds`` (a histogram with buckets 5 ms to 10 s, labels
  ``method``, ``path`` (the route template, e.g. ``/v2/models/{model_name}/infer``) and ``status_code``), which is
  what the latency percentiles use. ``batch_request_queue`` is the adaptive batcher's histogram (labels
  ``model_name``, ``model_version``) registered in ``mlserver/batching/adaptive.py``.
* dcgm-exporter 4.8.2 default counters: ``DCGM_FI_DEV_GPU_UTIL`` (%), ``DCGM_FI_DEV_FB_USED`` and
  ``DCGM_FI_DEV_FB_FREE`` (MiB), ``DCGM_FI_DEV_GPU_TEMP`` (°C), ``DCGM_FI_DEV_POWER_USAGE`` (W); with
  ``honorLabels`` the ``namespace``/``pod``/``container`` labels name the workload holding the GPU.
* kube-state-metrics (bundled with kube-prometheus-stack): ``kube_pod_labels``/``kube_node_labels`` carry only the
  labels allow-listed in the chart values (``label_ml_platform_io_model``...); ``nvidia.com/gpu`` is the resource
  ``nvidia_com_gpu``.
* Envoy Gateway's proxies (``envoy_cluster_upstream_rq_total``, ``envoy_cluster_upstream_rq_xx``), KEDA's operator
  (``keda_scaler_metrics_value``, ``keda_scaler_active``, ``keda_scaled_object_errors_total``) and the KEDA HTTP
  add-on interceptor (``interceptor_pending_request_count``, ``interceptor_request_count_total``, port 2223) from
  their upstream code and documentation.
* cAdvisor (the kubelet's ``/metrics/cadvisor``, which kube-prometheus-stack scrapes by default):
  ``container_cpu_usage_seconds_total`` and ``container_memory_working_set_bytes`` with ``namespace``, ``pod`` and
  ``container`` (``container=""`` is the pod's cgroup, ``POD`` its pause container).
* The drift job (``drift/``) pushes the ``ml_drift_*`` series to the Pushgateway.
"""

from __future__ import annotations

EXPORTED: dict[str, str] = {
    # MLServer (model servers)
    "model_infer_request_success_total": "MLServer: successful inference requests (model, version)",
    "model_infer_request_failure_total": "MLServer: failed inference requests (model, version)",
    "model_infer_request_duration_count": "MLServer: inference requests timed (summary count)",
    "model_infer_request_duration_sum": "MLServer: inference time in seconds (summary sum)",
    "rest_server_request_duration_seconds_bucket": "MLServer: REST request latency histogram",
    "rest_server_request_duration_seconds_count": "MLServer: REST requests timed",
    "rest_server_requests_total": "MLServer: REST requests by status code",
    "batch_request_queue_bucket": "MLServer: adaptive batch sizes (histogram)",
    "batch_request_queue_sum": "MLServer: adaptive batch sizes, sum",
    "batch_request_queue_count": "MLServer: adaptive batches formed",
    # dcgm-exporter
    "DCGM_FI_DEV_GPU_UTIL": "dcgm-exporter: GPU utilisation, percent",
    "DCGM_FI_DEV_FB_USED": "dcgm-exporter: framebuffer memory used, MiB",
    "DCGM_FI_DEV_FB_FREE": "dcgm-exporter: framebuffer memory free, MiB",
    "DCGM_FI_DEV_GPU_TEMP": "dcgm-exporter: GPU temperature, Celsius",
    "DCGM_FI_DEV_POWER_USAGE": "dcgm-exporter: power draw, watts",
    # kube-state-metrics
    "kube_pod_labels": "kube-state-metrics: allow-listed pod labels",
    "kube_node_labels": "kube-state-metrics: allow-listed node labels",
    "kube_pod_created": "kube-state-metrics: pod creation time, unix seconds",
    "kube_pod_status_ready": "kube-state-metrics: pod Ready condition (condition=true|false|unknown)",
    "kube_pod_status_ready_time": "kube-state-metrics: time the pod became ready, unix seconds",
    "kube_pod_container_resource_requests": "kube-state-metrics: container resource requests",
    "kube_node_status_capacity": "kube-state-metrics: node capacity by resource",
    "kube_node_status_allocatable": "kube-state-metrics: node allocatable by resource (what pods can request)",
    # cAdvisor (the kubelet's, scraped by kube-prometheus-stack)
    "container_cpu_usage_seconds_total": "cAdvisor: CPU time used per container (namespace, pod, container)",
    "container_memory_working_set_bytes": "cAdvisor: working-set memory per container",
    "kube_deployment_status_replicas_available": "kube-state-metrics: available replicas of a Deployment",
    "kube_cronjob_status_last_schedule_time": "kube-state-metrics: last time a CronJob was scheduled",
    "kube_cronjob_status_last_successful_time": "kube-state-metrics: last time a CronJob's job succeeded",
    # Envoy Gateway proxies
    "envoy_cluster_upstream_rq_total": "Envoy: requests sent to an upstream cluster",
    "envoy_cluster_upstream_rq_xx": "Envoy: upstream responses by status class",
    # KEDA and its HTTP add-on
    "keda_scaler_metrics_value": "KEDA: the metric value a scaler reports",
    "keda_scaler_active": "KEDA: 1 when a scaler is active",
    "keda_scaled_object_errors_total": "KEDA: errors per ScaledObject",
    "interceptor_pending_request_count": "KEDA HTTP add-on interceptor: requests held (cold start) per host",
    "interceptor_request_count_total": "KEDA HTTP add-on interceptor: requests by host, method, path, code",
    # Prometheus itself
    "up": "Prometheus: 1 when the last scrape of a target succeeded",
    # drift job, through the Pushgateway
    "ml_drift_share": "drift job: share of feature columns that drifted (0-1)",
    "ml_drift_threshold": "drift job: the share above which the model counts as drifted",
    "ml_drift_columns_drifted": "drift job: number of drifted columns",
    "ml_drift_column_score": "drift job: per-column drift score of the column's statistical test",
    "ml_drift_column_drifted": "drift job: 1 when the column drifted",
    "ml_drift_rows": "drift job: rows compared (window: reference or current)",
    "ml_drift_last_success_timestamp_seconds": "drift job: end time of the last successful check",
    # release controller (release/audit.py; checked against its own registry in tests/release/test_audit.py)
    "ml_platform_release_phase": "release controller: 1 for the phase of the endpoint's open release",
    "ml_platform_release_active": "release controller: 1 while the endpoint has a release without decision",
    "ml_platform_release_weight": "release controller: route weight per slot",
    "ml_platform_release_slot_version": "release controller: registry version loaded in each slot",
    "ml_platform_release_deadline_timestamp_seconds": "release controller: when an open release counts as stuck",
    "ml_platform_release_decisions_total": "release controller: releases decided, by decision",
}
"""Metric name → what produces it and what it means."""
