"""Warm windows priced from resources: the GPU share the extra warm replicas hold, for the window's hours."""

from __future__ import annotations

import pytest

from cost.model import Resource, estimate
from cost.schedule import days_of, window_hours_per_week

M = 730


def r(typ: str, name: str, props: dict) -> Resource:
    return Resource(typ, name, f"urn:pulumi:s::p::{typ}::{name}", props)


def endpoint(pool: str | None, gpus: int, cron: list[dict], floor: int = 0) -> list[Resource]:
    predictor: dict = {"model": {"resources": {"limits": {"nvidia.com/gpu": str(gpus)} if gpus else {}}}}
    if pool:
        predictor["nodeSelector"] = {"ml-platform.io/pool": pool}
    isvc = r(
        "kubernetes:serving.kserve.io/v1beta1:InferenceService",
        "isvc",
        {"metadata": {"name": "e-v1"}, "spec": {"predictor": predictor}},
    )
    triggers = [{"type": "prometheus", "metadata": {}}] + [{"type": "cron", "metadata": m} for m in cron]
    so = r(
        "kubernetes:keda.sh/v1alpha1:ScaledObject",
        "so",
        {"spec": {"scaleTargetRef": {"name": "e-v1-predictor"}, "minReplicaCount": floor, "triggers": triggers}},
    )
    return [isvc, so]


def gke_pool(name: str, count: int, shared: int | None) -> Resource:
    acc: dict = {"type": "nvidia-l4", "count": count}
    if shared:
        acc["gpuSharingConfig"] = {"gpuSharingStrategy": "TIME_SHARING", "maxSharedClientsPerGpu": shared}
    return r(
        "gcp:container/nodePool:NodePool",
        name,
        {
            "location": "us-central1",
            "autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2},
            "nodeConfig": {
                "machineType": "g2-standard-8",
                "spot": True,
                "labels": {"ml-platform.io/pool": name},
                "guestAccelerators": [acc],
            },
        },
    )


OFFICE = {"timezone": "Europe/Berlin", "start": "0 8 * * 1-5", "end": "30 17 * * 1-5", "desiredReplicas": "3"}


def test_cron_windows_read_as_hours_per_week() -> None:
    assert days_of("1-5") == {1, 2, 3, 4, 5} and days_of("0,7") == {0}
    assert window_hours_per_week("0 8 * * 1-5", "30 17 * * 1-5") == 47.5
    assert window_hours_per_week("0 8 * * 1-5", "0 8 * * 6") is None  # different days: not a same-day window
    assert window_hours_per_week("*/5 8 * * *", "0 9 * * *") is None


def test_extra_warm_replicas_cost_their_share_of_a_time_shared_gpu_node_for_the_window_hours() -> None:
    report = estimate([gke_pool("l4", 1, 4), *endpoint("l4", 1, [OFFICE], floor=1)])
    item = next(i for i in report.items if i.name == "so")
    node_hourly = 0.3414  # g2-standard-8 spot
    assert item.monthly_idle == pytest.approx(2 * node_hourly / 4 * M * 47.5 / 168)
    assert item.monthly_full == 0  # full scale already counts the pool at its maximum
    assert "warm windows 47.5 h/week: up to 2 extra x 1/4 of a g2-standard-8 spot" in item.what
    assert report.problems == []


def test_cpu_endpoints_add_nothing_and_unknown_pools_or_windows_are_reported() -> None:
    assert [i.name for i in estimate([gke_pool("l4", 1, None), *endpoint(None, 0, [OFFICE])]).items] == ["l4"]
    report = estimate([gke_pool("l4", 1, None), *endpoint("a100", 1, [OFFICE])])
    assert report.problems == [
        "kubernetes:keda.sh/v1alpha1:ScaledObject so: warm windows on GPU pool 'a100', which is not found"
    ]
    odd = dict(OFFICE, start="0 8 * * *", end="0 7 * * *")
    report = estimate([gke_pool("l4", 1, None), *endpoint("l4", 1, [odd])])
    assert report.problems and "cannot read warm window" in report.problems[0]
