"""The mlflow layer: environment defaults (prod vs dev), stack-path messages, and no secret in the clear anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.common import Problems
from components.mlflow import MlflowArgs
from infra import mlflow
from infra.config import component_default, parse
from infra.config.mlflow import MlflowConfig
from offline import render, runner
from tests.conftest import by_type, one

AWS = {"ml-platform:environment": "prod", "ml-platform:cloud": "aws", "aws:region": "us-east-1"}


def _args(environment: str, **settings: object) -> MlflowArgs:
    """The component's arguments for an AWS stack of this environment class with these mlflow settings."""
    raw = {**AWS, "ml-platform:environment": environment, "ml-platform:mlflow": settings}
    return mlflow.mlflow_args(parse("s", raw))


def test_prod_defaults_are_the_safe_ones() -> None:
    prod, dev = _args("prod"), _args("dev")
    assert (
        prod.replicas,
        prod.backup_retention_days,
        prod.deletion_protection,
        prod.high_availability,
        prod.basic_auth,
    ) == (2, 14, True, True, True)
    assert (
        dev.replicas,
        dev.backup_retention_days,
        dev.deletion_protection,
        dev.high_availability,
        dev.basic_auth,
    ) == (1, 3, False, False, False)
    assert _args("prod", replicas=3).replicas == 3  # a set value wins


def test_environments_state_only_departures_from_the_component() -> None:
    for environment, departures in MlflowConfig.environment_defaults.items():
        for key, value in departures.items():
            assert value != component_default(MlflowArgs, key), (environment, key)
    assert _args("dev").replicas == component_default(MlflowArgs, "replicas")


def test_prod_stack_differs_from_dev_in_backups_protection_ha_and_replicas(stack_run) -> None:
    shapes = {}
    for stack in ("dev", "prod"):
        regs = stack_run(stack).registrations
        db = one(regs, "aws:rds/instance:Instance")
        dep = one(regs, "kubernetes:apps/v1:Deployment", "mlflow-deployment").inputs
        shapes[stack] = (
            db.inputs["backupRetentionPeriod"],
            db.inputs["deletionProtection"],
            db.protect,
            db.inputs["multiAz"],
            dep["spec"]["replicas"],
            len([r for r in by_type(regs, "kubernetes:policy/v1:PodDisruptionBudget") if r.name == "mlflow-pdb"]),
            one(regs, "aws:s3/bucket:Bucket").protect,
        )
    assert shapes["dev"] == (3, False, False, False, 1, 0, False)
    assert shapes["prod"] == (14, True, True, True, 2, 1, True)


def test_gke_dev_has_cloud_sql_gcs_and_workload_identity(stack_run) -> None:
    regs = stack_run("gke-dev").registrations
    assert one(regs, "gcp:sql/databaseInstance:DatabaseInstance").inputs["settings"]["availabilityType"] == "ZONAL"
    assert one(regs, "gcp:storage/bucket:Bucket")
    sa = one(regs, "kubernetes:core/v1:ServiceAccount", "mlflow-sa").inputs
    assert sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].endswith(".iam.gserviceaccount.com")


def test_local_stack_runs_everything_in_the_cluster(stack_run) -> None:
    regs = stack_run("local").registrations
    assert one(regs, "kubernetes:postgresql.cnpg.io/v1:Cluster")
    assert (
        one(regs, "kubernetes:apps/v1:StatefulSet")
        .inputs["spec"]["template"]["spec"]["containers"][0]["image"]
        .startswith("chrislusf/seaweedfs:")
    )
    env = {
        e["name"]: e
        for e in one(regs, "kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == "http://mlflow-artifacts.mlflow.svc.cluster.local:8333"
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "mlflow-artifacts-credentials"


def test_validation_uses_stack_key_paths() -> None:
    cfg = parse(
        "p",
        {
            **AWS,
            "ml-platform:mlflow": {
                "enabled": True,
                "backup_retention_days": 3,
                "deletion_protection": False,
                "replicas": 1,
                "image": "ghcr.io/mlflow/mlflow:latest",
                "basic_auth": False,
                "bucket_name": "Not_A_Bucket",
            },
        },
    )
    p = Problems()
    mlflow.validate(cfg, p)
    assert p.items == [
        "mlflow.backup_retention_days: must be >= 7 in prod, got 3",
        "mlflow.deletion_protection: must be true in prod, got False",
        "mlflow.replicas: must be >= 2 in prod, got 1",
        "mlflow.bucket_name: must be 3-63 lowercase letters, digits, dots and dashes, got 'Not_A_Bucket'",
        "mlflow.image: must be pinned to a tag other than latest, got 'ghcr.io/mlflow/mlflow:latest'",
    ]


def test_basic_auth_without_its_secret_is_a_config_error() -> None:
    result = runner.run("prod", overrides={"ml-platform:mlflow_admin_password": None})
    assert result.error is not None
    assert (
        "mlflow.basic_auth: needs the secret mlflow_admin_password "
        "(pulumi config set --secret ml-platform:mlflow_admin_password <password>), got True"
    ) in result.error


@pytest.mark.parametrize("stack", runner.stack_names())
def test_no_secret_in_plain_text_in_stack_files_or_rendered_objects(stack_run, stack: str) -> None:
    text = Path(runner.STACKS / f"Pulumi.{stack}.yaml").read_text()
    assert "password:" not in text.lower().replace("mlflow_admin_password", "")
    result = stack_run(stack)
    objects = [render.manifest(r) for r in result.registrations if render.is_kubernetes_object(r)]
    rendered = json.dumps(objects) + json.dumps(render.plan(result))
    for placeholder in ("[secret ml-platform:", "[random "):
        assert placeholder not in rendered  # every secret value is masked wherever it flows
    for reg in result.registrations:
        if reg.type == "kubernetes:apps/v1:Deployment" and reg.name == "mlflow-deployment":
            env = reg.inputs["spec"]["template"]["spec"]["containers"][0]["env"]
            secret_env = {
                "MLFLOW_DB_PASSWORD",
                "MLFLOW_FLASK_SERVER_SECRET_KEY",
                "MLFLOW_AUTH_ADMIN_PASSWORD",
                "AWS_SECRET_ACCESS_KEY",
            }
            assert all("valueFrom" in e for e in env if e["name"] in secret_env)
