"""Another team's Pulumi program: the serving platform on a cluster it already has, and one model with a canary.

Install the components with ``pip install "ml-platform-components @ git+https://<your-git-host>/<org>/ml-platform"``
and run it like any Pulumi program. The README shows this file; a test runs it under mocks.
"""

import pulumi
import pulumi_kubernetes as k8s
from ml_platform_components import (
    ModelEndpoint,
    ModelEndpointArgs,
    ModelVersion,
    ServingPlatform,
    ServingPlatformArgs,
)

config = pulumi.Config()
provider = k8s.Provider("team-cluster", kubeconfig=config.get_secret("kubeconfig"))

platform = ServingPlatform(
    "serving",
    ServingPlatformArgs(gateway_hostname="models.team.example.com"),
    opts=pulumi.ResourceOptions(provider=provider),
)

fraud = ModelEndpoint(
    "fraud",
    ModelEndpointArgs(
        model_name="fraud",
        versions=[
            ModelVersion(name="v3", storage_uri="s3://team-models/fraud/v3", weight=90),
            ModelVersion(name="v4", storage_uri="s3://team-models/fraud/v4", weight=10),
        ],
        critical=True,
        min_replicas=2,
        api_key_secret="fraud-api-keys",
        rate_limit_requests=20,
        namespace=platform.serving_namespace,
        interceptor_namespace=platform.serving_namespace,
    ),
    opts=pulumi.ResourceOptions(provider=provider, depends_on=platform.dependencies),
)

pulumi.export("fraud_path", fraud.path_prefix)
