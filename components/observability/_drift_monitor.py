"""A scheduled input-drift check for one model: a CronJob running the repository's ``drift`` job.

Why a CronJob that pushes: drift is a property of a window of requests, not of a moment, so it is computed in
batches (hourly by default) and the result is pushed to the Pushgateway, where Prometheus picks it up and the
``ModelInputDrift`` alert compares it with the threshold the job pushed alongside it. The job's pod carries no
``ml-platform.io/model`` label on purpose: that label makes a pod a model server to the scrape objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..common import MANAGED_BY_LABELS, ContainerSecurity, PlatformComponent, PodSecurity, Problems, ScratchDir

SCRATCH = ScratchDir()
"""The job's one writable path under its read-only root (temporary files, HOME, matplotlib's cache)."""

DRIFT_JOB = "ml-drift"
"""``job`` label the drift check pushes under."""


@dataclass(kw_only=True)
class DriftMonitorArgs:
    """Arguments of :class:`DriftMonitor`."""

    model: str
    """Model name (the ``model`` label of the pushed series). Required."""
    image: str
    """Image built from ``drift/Dockerfile``, pinned by tag or digest. Required."""
    reference_uri: str
    """Reference data (training inputs): CSV or Parquet, local path, ``s3://`` or ``gs://``. Required."""
    current_uri: str
    """Recent inputs, same formats. Required."""
    pushgateway_url: str
    """Where to push the results. Required."""
    schedule: str = "0 * * * *"
    """Cron schedule. Default hourly."""
    threshold: float = 0.3
    """Drifted share of columns above which the model counts as drifted. Default 0.3."""
    window_hours: int = 24
    """Compare only the last N hours of ``current_uri`` (needs ``timestamp_column``). Default 24."""
    timestamp_column: str | None = None
    """Column with each row's time. Default none (every row)."""
    columns: list[str] = field(default_factory=list)
    """Columns to compare. Default every column but the timestamp."""
    namespace: str = "ml-models"
    """Namespace of the CronJob. Default ``ml-models``."""
    service_account: str | None = None
    """Service account with read access to the data. Default the namespace's ``default``."""
    memory_mib: int = 2048
    """Memory request and limit of the check. Default 2048."""
    deadline_seconds: int = 1800
    """A check running longer is stopped. Default 1800."""

    def validate(self, problems: Problems) -> None:
        problems.check(0 < self.threshold <= 1, "threshold", "must be in (0, 1]", self.threshold)
        problems.check(len(self.schedule.split()) == 5, "schedule", "must be a 5-field cron expression", self.schedule)
        if len(self.schedule.split()) == 5:
            wrong = cron_field_problem(self.schedule)
            problems.check(wrong is None, "schedule", f"must be a 5-field cron expression ({wrong})", self.schedule)
        problems.check(
            ":" in self.image and not self.image.endswith(":latest"),
            "image",
            "must be pinned with a tag or digest (not latest)",
            self.image,
        )
        problems.check(self.window_hours >= 1, "window_hours", "must be >= 1", self.window_hours)
        problems.check(self.memory_mib >= 256, "memory_mib", "must be >= 256", self.memory_mib)
        for name in ("reference_uri", "current_uri", "pushgateway_url"):
            problems.check(bool(getattr(self, name)), name, "must be set", getattr(self, name))


CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


def cron_field_problem(schedule: str) -> str | None:
    """What is wrong with one field of a 5-field cron schedule (numbers, ``*``, ranges, lists, steps), or None."""
    for text, (name, low, high) in zip(schedule.split(), CRON_FIELDS, strict=False):
        for part in text.split(","):
            base, _, step = part.partition("/")
            if step and not (step.isdigit() and int(step) >= 1):
                return f"{name} step {step!r} is not a number >= 1"
            if base == "*":
                continue
            for bound in base.split("-", 1):
                if not bound.isdigit():
                    return f"{name} {bound!r} is not a number"
                if not low <= int(bound) <= high:
                    return f"{name} {bound} is out of range {low}-{high}"
    return None


def command(args: DriftMonitorArgs) -> list[str]:
    """The job's command line (exposed for tests: the drift package's CLI must accept it)."""
    cmd = [
        "python",
        "-m",
        "drift",
        "--model",
        args.model,
        "--reference",
        args.reference_uri,
        "--current",
        args.current_uri,
        "--threshold",
        str(args.threshold),
        "--pushgateway",
        args.pushgateway_url,
    ]
    if args.timestamp_column:
        cmd += ["--timestamp-column", args.timestamp_column, "--window-hours", str(args.window_hours)]
    if args.columns:
        cmd += ["--columns", ",".join(args.columns)]
    return cmd


def cronjob_spec(args: DriftMonitorArgs) -> dict[str, Any]:
    labels = {**MANAGED_BY_LABELS, "app.kubernetes.io/name": DRIFT_JOB, "app.kubernetes.io/instance": args.model}
    memory = f"{args.memory_mib}Mi"
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        # The job never calls the Kubernetes API; IRSA and GKE's metadata server need no API token in the pod.
        "automountServiceAccountToken": False,
        "securityContext": PodSecurity(run_as_user=10001, run_as_group=10001).render(),
        "containers": [
            {
                "name": "drift",
                "image": args.image,
                "command": command(args),
                "env": [{"name": "HOME", "value": "/tmp"}, {"name": "MPLCONFIGDIR", "value": "/tmp"}],
                "resources": {"requests": {"cpu": "500m", "memory": memory}, "limits": {"cpu": "2", "memory": memory}},
                "securityContext": ContainerSecurity().render(),
                # HOME and matplotlib's cache point here too: the only writable path.
                "volumeMounts": [SCRATCH.mount()],
            }
        ],
        "volumes": [SCRATCH.volume()],
    }
    if args.service_account:
        pod["serviceAccountName"] = args.service_account
    return {
        "schedule": args.schedule,
        "concurrencyPolicy": "Forbid",
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": args.deadline_seconds,
                "ttlSecondsAfterFinished": 86400,
                "template": {"metadata": {"labels": labels}, "spec": pod},
            }
        },
    }


class DriftMonitor(PlatformComponent):
    """A CronJob that checks one model's recent inputs for drift and pushes the result."""

    cronjob_name: str
    """Name of the CronJob."""

    def __init__(self, name: str, args: DriftMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:drift_monitor:DriftMonitor", name, args, opts)
        self.cronjob_name = f"drift-{args.model}"[:52]
        k8s.batch.v1.CronJob(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self.cronjob_name,
                namespace=args.namespace,
                labels={
                    **MANAGED_BY_LABELS,
                    "app.kubernetes.io/name": DRIFT_JOB,
                    "app.kubernetes.io/instance": args.model,
                },
            ),
            spec=cronjob_spec(args),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"cronjob_name": self.cronjob_name})
