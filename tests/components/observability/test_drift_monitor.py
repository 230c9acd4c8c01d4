"""DriftMonitor: a CronJob that validates against the Kubernetes API, runs non-root, and never looks like a model
server."""

from __future__ import annotations

import pytest

from components.common import MODEL_LABEL, ArgsError
from components.observability import DriftMonitor, DriftMonitorArgs, command
from tests import k8s_schemas
from tests.conftest import one

ARGS = DriftMonitorArgs(
    model="fraud",
    image="registry.example.com/ml-platform/drift-job:0.1.0",
    reference_uri="s3://b/ref.parquet",
    current_uri="s3://b/current/",
    pushgateway_url="http://prometheus-pushgateway.monitoring.svc:9091",
    timestamp_column="ts",
    columns=["amount", "country"],
    service_account="drift-reader",
)


def test_cronjob_is_valid_and_safe(mocked) -> None:
    regs = mocked.run(lambda: DriftMonitor("drift-fraud", ARGS))
    job = one(regs, "kubernetes:batch/v1:CronJob").inputs
    obj = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        **{k: v for k, v in job.items() if k not in ("apiVersion", "kind")},
    }
    assert k8s_schemas.validate_object(obj, "1.35") == []
    spec = job["spec"]
    assert spec["schedule"] == "0 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]
    assert MODEL_LABEL not in pod["metadata"]["labels"]  # the model-server PodMonitor must not pick the job up
    container = pod["spec"]["containers"][0]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]["memory"] == "2048Mi"
    assert pod["spec"]["serviceAccountName"] == "drift-reader"


def test_command_line() -> None:
    assert command(ARGS) == [
        "python",
        "-m",
        "drift",
        "--model",
        "fraud",
        "--reference",
        "s3://b/ref.parquet",
        "--current",
        "s3://b/current/",
        "--threshold",
        "0.3",
        "--pushgateway",
        "http://prometheus-pushgateway.monitoring.svc:9091",
        "--timestamp-column",
        "ts",
        "--window-hours",
        "24",
        "--columns",
        "amount,country",
    ]


def test_problems_are_reported_together() -> None:
    with pytest.raises(ArgsError) as err:
        DriftMonitor(
            "d",
            DriftMonitorArgs(
                model="m",
                image="drift:latest",
                reference_uri="r",
                current_uri="",
                pushgateway_url="p",
                threshold=1.5,
                schedule="hourly",
            ),
        )
    assert err.value.problems == [
        "d.threshold: must be in (0, 1], got 1.5",
        "d.schedule: must be a 5-field cron expression, got 'hourly'",
        "d.image: must be pinned with a tag or digest (not latest), got 'drift:latest'",
        "d.current_uri: must be set, got ''",
    ]
