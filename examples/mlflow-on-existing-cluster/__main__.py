"""Another team's Pulumi program: MLflow tracking and model registry on a Kubernetes cluster it already has.

PostgreSQL (CloudNativePG) and an S3-compatible artifact store (SeaweedFS) run in the cluster on persistent
volumes, so no cloud account is needed. Install the components with
``pip install "ml-platform-components @ git+https://<your-git-host>/<org>/ml-platform"`` and run it like any
Pulumi program; a test runs it under mocks.
"""

import pulumi
import pulumi_kubernetes as k8s
from ml_platform_components import Cloud, Mlflow, MlflowArgs

config = pulumi.Config()
provider = k8s.Provider("team-cluster", kubeconfig=config.get_secret("kubeconfig"))

mlflow = Mlflow(
    "mlflow",
    MlflowArgs(
        cloud=Cloud.EXISTING,
        namespace="team-mlflow",
        replicas=2,
        high_availability=True,
        storage_class=config.get("storageClass"),
        allowed_hosts=["mlflow.team.example.com"],
    ),
    opts=pulumi.ResourceOptions(provider=provider),
)

pulumi.export("tracking_uri", mlflow.tracking_uri)
pulumi.export("artifact_root", mlflow.artifact_root)
