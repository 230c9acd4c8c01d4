"""A private PostgreSQL database for a platform service, one argument shape on AWS, GCP and in the cluster.

Why one component for three backends: MLflow (and anything else that needs a metadata store) asks for "a
PostgreSQL database, this big, this safe", not for RDS subnet groups or Cloud SQL peering. Each backend keeps
the same promises: reachable only from the cluster, encrypted, backed up daily for ``backup_retention_days``,
highly available and protected from deletion when asked, and a generated password that exists only as a
Pulumi secret.

* ``aws``: RDS PostgreSQL in the cluster's private subnets; the security group admits port 5432 from the EKS
  cluster security group only; storage encrypted; ``rds.force_ssl``; Multi-AZ with ``high_availability``.
* ``gcp``: Cloud SQL PostgreSQL on a private IP peered with the cluster's VPC (no public IP), TLS only,
  point-in-time recovery; ``REGIONAL`` availability with ``high_availability``.
* ``existing``: a CloudNativePG ``Cluster`` on a persistent volume, the operator installed from its pinned chart;
  two instances with ``high_availability``. TLS is on by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..common import MANAGED_BY_LABELS, Cloud, PlatformComponent, Problems, aws, gcp, merge_labels

CNPG_CHART_REPOSITORY = "https://cloudnative-pg.github.io/charts"
POSTGRES_PORT = 5432


@dataclass(kw_only=True)
class PostgresDatabaseArgs:
    """Arguments of :class:`PostgresDatabase`. Fields marked AWS, GCP or existing are read only there."""

    cloud: Cloud
    """Where the database runs: ``aws`` (RDS), ``gcp`` (Cloud SQL) or ``existing`` (in the cluster). Required."""
    database_name: str = "mlflow"
    """Database to create. Default ``mlflow``."""
    username: str = "mlflow"
    """Owner of the database. Default ``mlflow``."""
    postgres_version: str = "16"
    """PostgreSQL major version. Default ``16``."""
    storage_gib: int = 20
    """Initial storage in GiB; grows automatically on AWS (up to 5x) and GCP. Default 20."""
    backup_retention_days: int = 7
    """Days of daily automated backups, 1 to 35. Default 7."""
    high_availability: bool = False
    """Multi-AZ (AWS), regional (GCP) or two instances (existing). Default False."""
    deletion_protection: bool = False
    """Refuse to delete the database, and protect it in Pulumi. Default False."""
    instance_class: str = "db.t4g.small"
    """AWS: RDS instance class. Default ``db.t4g.small``."""
    vpc_id: pulumi.Input[str] | None = None
    """AWS: VPC of the cluster. Required on AWS."""
    subnet_ids: pulumi.Input[list[str]] | None = None
    """AWS: private subnets for the database (two zones at least). Required on AWS."""
    client_security_group_id: pulumi.Input[str] | None = None
    """AWS: the only security group allowed to connect (the EKS cluster security group). Required on AWS."""
    tier: str = "db-custom-1-3840"
    """GCP: Cloud SQL machine tier. Default ``db-custom-1-3840``."""
    project: str | None = None
    """GCP: project. Required on GCP."""
    region: str | None = None
    """GCP: region. Required on GCP."""
    network_id: pulumi.Input[str] | None = None
    """GCP: VPC network the private IP is peered with. Required on GCP."""
    namespace: str = "mlflow"
    """existing: namespace of the CloudNativePG ``Cluster``; must exist. Default ``mlflow``."""
    storage_class: str | None = None
    """existing: storage class of the volumes. Default the cluster's default."""
    operator_chart_version: str = "0.29.0"
    """existing: CloudNativePG operator chart version. Default ``0.29.0``."""
    install_operator: bool = True
    """existing: install the CloudNativePG operator (cluster-wide, namespace ``cnpg-system``). Default True."""
    tags: dict[str, str] = field(default_factory=dict)
    """Cloud tags (AWS), labels (GCP) or Kubernetes labels (existing). Default none."""

    def validate(self, problems: Problems) -> None:
        p = problems
        p.check(
            1 <= self.backup_retention_days <= 35,
            "backup_retention_days",
            "must be between 1 and 35",
            self.backup_retention_days,
        )
        p.check(self.storage_gib >= 10, "storage_gib", "must be >= 10", self.storage_gib)
        p.check(
            self.postgres_version.isdigit() and 14 <= int(self.postgres_version) <= 18,
            "postgres_version",
            "must be a major version from 14 to 18",
            self.postgres_version,
        )
        for key in ("database_name", "username"):
            value = getattr(self, key)
            p.check(
                value.replace("_", "").isalnum() and value[:1].isalpha() and value.islower(),
                key,
                "must be lowercase letters, digits and underscores, starting with a letter",
                value,
            )
        if self.cloud == Cloud.AWS:
            for key in ("vpc_id", "subnet_ids", "client_security_group_id"):
                p.check(getattr(self, key) is not None, key, "is required on aws", None)
            p.check(
                self.instance_class.startswith("db."),
                "db_instance_class",
                "must be an RDS class like db.t4g.small",
                self.instance_class,
            )
        elif self.cloud == Cloud.GCP:
            for key in ("project", "region", "network_id"):
                p.check(getattr(self, key) is not None, key, "is required on gcp", None)
            p.check(self.tier.startswith("db-"), "db_tier", "must be a Cloud SQL tier like db-custom-1-3840", self.tier)


class PostgresDatabase(PlatformComponent):
    """A PostgreSQL database with a generated password; see the module docstring for each backend."""

    host: pulumi.Output[str]
    """Host name or private IP clients connect to."""
    port: int
    """Port, 5432."""
    database_name: str
    """Database name."""
    username: str
    """Owner of the database."""
    password: pulumi.Output[str]
    """The generated password (a secret; letters and digits only)."""

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ml-platform:postgres_database:PostgresDatabase", name, args, opts)
        self.port, self.database_name, self.username = POSTGRES_PORT, args.database_name, args.username
        secret_opts = pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"])
        password = random.RandomPassword(f"{name}-password", length=32, special=False, opts=secret_opts)
        self.password = pulumi.Output.secret(password.result)
        if args.cloud == Cloud.AWS:
            self.host = self._rds(name, args)
        elif args.cloud == Cloud.GCP:
            self.host = self._cloud_sql(name, args)
        else:
            self.host = self._cnpg(name, args)
        self.register_outputs({"host": self.host, "port": self.port, "database_name": self.database_name})

    def _protected(self, args: PostgresDatabaseArgs, **kw: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, protect=args.deletion_protection, **kw)

    def _rds(self, name: str, args: PostgresDatabaseArgs) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        tags = merge_labels({"ml-platform.io/database": name}, args.tags)
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids, tags=tags, opts=child)
        sg = aws.ec2.SecurityGroup(
            f"{name}-db", vpc_id=args.vpc_id, description=f"PostgreSQL {name}: cluster only", tags=tags, opts=child
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-cluster",
            security_group_id=sg.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description="PostgreSQL from the cluster's nodes and pods",
            opts=child,
        )
        params = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{args.postgres_version}",
            parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            tags=tags,
            opts=child,
        )
        instance = aws.rds.Instance(
            f"{name}-db",
            engine="postgres",
            engine_version=args.postgres_version,
            instance_class=args.instance_class,
            allocated_storage=args.storage_gib,
            max_allocated_storage=args.storage_gib * 5,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=args.database_name,
            username=args.username,
            password=self.password,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[sg.id],
            parameter_group_name=params.name,
            publicly_accessible=False,
            multi_az=args.high_availability,
            backup_retention_period=args.backup_retention_days,
            backup_window="03:00-04:00",
            maintenance_window="sun:04:30-sun:05:30",
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=not args.deletion_protection,
            final_snapshot_identifier=f"{name}-final" if args.deletion_protection else None,
            auto_minor_version_upgrade=True,
            performance_insights_enabled=True,
            tags=tags,
            opts=self._protected(args),
        )
        return instance.address

    def _cloud_sql(self, name: str, args: PostgresDatabaseArgs) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        peering_range = gcp.compute.GlobalAddress(
            f"{name}-peering",
            project=args.project,
            network=args.network_id,
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            prefix_length=20,
            opts=child,
        )
        peering = gcp.servicenetworking.Connection(
            f"{name}-peering",
            network=args.network_id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[peering_range.name],
            opts=child,
        )
        instance = gcp.sql.DatabaseInstance(
            f"{name}-db",
            project=args.project,
            region=args.region,
            database_version=f"POSTGRES_{args.postgres_version}",
            deletion_protection=args.deletion_protection,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=args.tier,
                edition="ENTERPRISE",
                availability_type="REGIONAL" if args.high_availability else "ZONAL",
                disk_type="PD_SSD",
                disk_size=args.storage_gib,
                disk_autoresize=True,
                deletion_protection_enabled=args.deletion_protection,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False, private_network=args.network_id, ssl_mode="ENCRYPTED_ONLY"
                ),
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    start_time="03:00",
                    point_in_time_recovery_enabled=True,
                    transaction_log_retention_days=min(args.backup_retention_days, 7),
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=args.backup_retention_days, retention_unit="COUNT"
                    ),
                ),
                maintenance_window=gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgs(day=7, hour=4),
                user_labels=args.tags or None,
            ),
            opts=self._protected(args, depends_on=[peering]),
        )
        gcp.sql.Database(
            f"{name}-database", project=args.project, instance=instance.name, name=args.database_name, opts=child
        )
        gcp.sql.User(
            f"{name}-user",
            project=args.project,
            instance=instance.name,
            name=args.username,
            password=self.password,
            opts=child,
        )
        return instance.private_ip_address

    def _cnpg(self, name: str, args: PostgresDatabaseArgs) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        labels = merge_labels(
            MANAGED_BY_LABELS, args.tags, {"app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": name}
        )
        depends: list[pulumi.Resource] = []
        if args.install_operator:
            depends.append(
                k8s.helm.v3.Release(
                    f"{name}-cnpg-operator",
                    name="cnpg",
                    chart="cloudnative-pg",
                    version=args.operator_chart_version,
                    repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CNPG_CHART_REPOSITORY),
                    namespace="cnpg-system",
                    create_namespace=True,
                    values={
                        "crds": {"create": True},
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "128Mi"},
                            "limits": {"cpu": "500m", "memory": "256Mi"},
                        },
                    },
                    opts=child,
                )
            )
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-credentials", namespace=args.namespace, labels=labels),
            type="kubernetes.io/basic-auth",
            string_data={"username": args.username, "password": self.password},
            opts=child,
        )
        storage: dict[str, Any] = {"size": f"{args.storage_gib}Gi"}
        if args.storage_class:
            storage["storageClass"] = args.storage_class
        k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=labels),
            spec={
                "instances": 2 if args.high_availability else 1,
                "imageName": f"ghcr.io/cloudnative-pg/postgresql:{args.postgres_version}",
                "storage": storage,
                "enableSuperuserAccess": False,
                "bootstrap": {
                    "initdb": {
                        "database": args.database_name,
                        "owner": args.username,
                        "secret": {"name": f"{name}-credentials"},
                    }
                },
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "512Mi"},
                },
            },
            opts=self._protected(args, depends_on=[credentials, *depends]),
        )
        return pulumi.Output.from_input(f"{name}-rw.{args.namespace}.svc.cluster.local")
