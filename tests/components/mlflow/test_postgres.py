"""PostgresDatabase: private, encrypted, backed up, HA and protected when asked, on each backend."""

from __future__ import annotations

from components.common import Cloud, Problems
from components.mlflow import PostgresDatabase, PostgresDatabaseArgs
from tests import k8s_schemas
from tests.conftest import one

AWS = dict(cloud=Cloud.AWS, vpc_id="vpc-1", subnet_ids=["s-1", "s-2"], client_security_group_id="sg-cluster")
GCP = dict(cloud=Cloud.GCP, project="p", region="us-central1", network_id="projects/p/global/networks/n")


def test_rds_is_private_encrypted_and_reachable_from_the_cluster_only(mocked) -> None:
    regs = mocked.run(lambda: PostgresDatabase("db", PostgresDatabaseArgs(**AWS)))
    db = one(regs, "aws:rds/instance:Instance")
    i = db.inputs
    assert i["publiclyAccessible"] is False and i["storageEncrypted"] is True
    assert (i["multiAz"], i["deletionProtection"], i["backupRetentionPeriod"], db.protect) == (False, False, 7, False)
    assert i["password"] == "[secret]"
    rule = one(regs, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").inputs
    assert rule["referencedSecurityGroupId"] == "sg-cluster" and (rule["fromPort"], rule["toPort"]) == (5432, 5432)
    assert "cidrIpv4" not in rule
    params = one(regs, "aws:rds/parameterGroup:ParameterGroup").inputs
    assert [(x["name"], x["value"]) for x in params["parameters"]] == [("rds.force_ssl", "1")]


def test_rds_in_production_shape(mocked) -> None:
    args = PostgresDatabaseArgs(**AWS, high_availability=True, deletion_protection=True, backup_retention_days=14)
    db = one(mocked.run(lambda: PostgresDatabase("db", args)), "aws:rds/instance:Instance")
    assert (db.inputs["multiAz"], db.inputs["deletionProtection"], db.inputs["backupRetentionPeriod"]) == (
        True,
        True,
        14,
    )
    assert db.protect and db.inputs["skipFinalSnapshot"] is False and db.inputs["finalSnapshotIdentifier"] == "db-final"


def test_cloud_sql_has_private_ip_only_and_regional_ha(mocked) -> None:
    args = PostgresDatabaseArgs(**GCP, high_availability=True, deletion_protection=True, backup_retention_days=10)
    regs = mocked.run(lambda: PostgresDatabase("db", args))
    s = one(regs, "gcp:sql/databaseInstance:DatabaseInstance").inputs["settings"]
    assert s["availabilityType"] == "REGIONAL" and s["deletionProtectionEnabled"] is True
    assert s["ipConfiguration"]["ipv4Enabled"] is False and s["ipConfiguration"]["sslMode"] == "ENCRYPTED_ONLY"
    assert s["backupConfiguration"]["backupRetentionSettings"]["retainedBackups"] == 10
    assert s["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    assert one(regs, "gcp:sql/user:User").inputs["password"] == "[secret]"
    assert one(regs, "gcp:servicenetworking/connection:Connection")


def test_in_cluster_database_uses_the_pinned_operator_and_a_valid_cluster(mocked) -> None:
    regs = mocked.run(lambda: PostgresDatabase("db", PostgresDatabaseArgs(cloud=Cloud.EXISTING, namespace="mlflow")))
    release = one(regs, "kubernetes:helm.sh/v3:Release").inputs
    assert (release["chart"], release["version"]) == ("cloudnative-pg", "0.29.0")
    cluster = one(regs, "kubernetes:postgresql.cnpg.io/v1:Cluster")
    spec = cluster.inputs["spec"]
    assert spec["bootstrap"]["initdb"] == {
        "database": "mlflow",
        "owner": "mlflow",
        "secret": {"name": "db-credentials"},
    }
    assert spec["storage"]["size"] == "20Gi" and spec["instances"] == 1
    assert any("cnpg-operator" in d for d in cluster.depends_on)  # the operator (and its CRD) first
    obj = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", **cluster.inputs}
    assert k8s_schemas.validate_object(obj, "1.35") == []
    assert k8s_schemas.unknown_values_keys(release["values"], k8s_schemas.chart_values("cloudnative-pg")) == []


def test_validation_messages() -> None:
    p = Problems(prefix="mlflow")
    PostgresDatabaseArgs(
        cloud=Cloud.AWS, backup_retention_days=40, postgres_version="9", username="Admin", instance_class="m5.large"
    ).validate(p)
    assert p.items == [
        "mlflow.backup_retention_days: must be between 1 and 35, got 40",
        "mlflow.postgres_version: must be a major version from 14 to 18, got '9'",
        "mlflow.username: must be lowercase letters, digits and underscores, starting with a letter, got 'Admin'",
        "mlflow.vpc_id: is required on aws, got None",
        "mlflow.subnet_ids: is required on aws, got None",
        "mlflow.client_security_group_id: is required on aws, got None",
        "mlflow.db_instance_class: must be an RDS class like db.t4g.small, got 'm5.large'",
    ]
