"""A corpus of realistic bad inputs to the offline preview, as data.

Each case starts from a shipped stack file (``base``) and changes it (``set`` replaces the value at a ``/``-separated
key path, ``None`` removes it), or is the file's whole text (``text``). ``expect`` lists lines that the error output
must contain exactly; the test also checks exit code 1, the file named, and no traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERVING = "ml-platform:serving"
IRIS = f"{SERVING}/endpoints/iris"
LITERAL_IRIS: dict[str, Any] = {
    f"{IRIS}/model": None,
    f"{IRIS}/release": None,
    f"{IRIS}/versions": {
        "v1": {"storage_uri": "{artifact_root}/1/models/m-iris-v1/artifacts", "weight": 90},
        "v2": {"storage_uri": "{artifact_root}/1/models/m-iris-v2/artifacts", "weight": 10},
    },
}
"""Dev's demo endpoint with literal versions instead of following the registry (for cases about versions)."""
POOL = "ml-platform:gpu_pools/inference"
MLFLOW = "ml-platform:mlflow"
OBS = "ml-platform:observability"
CLUSTER = "ml-platform:cluster"


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    expect: tuple[str, ...]
    set: dict[str, Any] = field(default_factory=dict)
    text: str | bytes | None = None
    base: str = "dev"


def _drift(**model: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "drift": {
            "image": "ghcr.io/example/drift@sha256:" + "0" * 64,
            "models": {"iris": {"reference_uri": "s3://bucket/ref.csv", "current_uri": "s3://bucket/cur.csv", **model}},
        },
    }


CASES: list[Case] = [
    # --- the stack file is not YAML, or not a stack file ---
    Case(
        "tab-indent",
        "not-yaml",
        ("line 3, column 1: found character '\\t' that cannot start any token (YAML indents with spaces, never tabs)",),
        text="config:\n  aws:region: us-west-2\n\tml-platform:cloud: aws\n",
    ),
    Case(
        "broken-flow-list",
        "not-yaml",
        (
            "line 2, column 68: expected ',' or ']', but got '}' (while parsing a flow sequence that starts on line "
            "2, column 39)",
        ),
        text="config:\n  ml-platform:mlflow: {allowed_hosts: [a.example.com, b.example.com}\n",
    ),
    Case(
        "config-is-a-list",
        "not-yaml",
        ("config: must be a mapping of keys to values, got a list",),
        text="config:\n  - aws:region: us-west-2\n  - ml-platform:cloud: aws\n",
    ),
    Case(
        "config-is-a-string",
        "not-yaml",
        ("config: must be a mapping of keys to values, got 'aws'",),
        text="config: aws\n",
    ),
    Case(
        "document-is-a-list",
        "not-yaml",
        ("must be a mapping with a 'config' key, got a list",),
        text="- config:\n    ml-platform:cloud: aws\n",
    ),
    Case(
        "unclosed-quote",
        "not-yaml",
        (
            "line 3, column 1: found unexpected end of stream (while scanning a quoted scalar that starts on line 2, "
            "column 15)",
        ),
        text='config:\n  aws:region: "us-west-2\n',
    ),
    Case(
        "not-utf8",
        "not-yaml",
        ("is not UTF-8 text (byte 0xe9 at offset 32); save it as UTF-8",),
        text=b"config:\n  ml-platform:cloud: caf\xe9\n",
    ),
    Case(
        "flow-map-broken",
        "not-yaml",
        (
            "line 2, column 37: expected ',' or '}', but got ':' (while parsing a flow mapping that starts on line 2, "
            "column 23)",
        ),
        text="config:\n  ml-platform:mlflow: {enabled: true: false}\n",
    ),
    # --- duplicate keys ---
    Case(
        "duplicate-pool",
        "duplicate-key",
        (
            "line 8, column 5: config.ml-platform:gpu_pools.inference: duplicate key (first on line 5); YAML keeps "
            "only the last, dropping the first",
        ),
        text=(
            "config:\n  ml-platform:environment: dev\n  ml-platform:cloud: aws\n  ml-platform:gpu_pools:\n"
            "    inference:\n      instance_type: g5.xlarge\n      max_size: 2\n"
            "    inference:\n      instance_type: g6.xlarge\n  aws:region: us-west-2\n"
        ),
    ),
    Case(
        "duplicate-top-level-key",
        "duplicate-key",
        (
            "line 4, column 3: config.ml-platform:cloud: duplicate key (first on line 3); YAML keeps only the last, "
            "dropping the first",
        ),
        text=(
            "config:\n  ml-platform:environment: dev\n  ml-platform:cloud: aws\n  ml-platform:cloud: gcp\n"
            "  aws:region: us-west-2\n"
        ),
    ),
    Case(
        "duplicate-endpoint",
        "duplicate-key",
        (
            "line 9, column 7: config.ml-platform:serving.endpoints.iris: duplicate key (first on line 6); YAML keeps "
            "only the last, dropping the first",
        ),
        text=(
            "config:\n  ml-platform:environment: dev\n  ml-platform:cloud: aws\n  ml-platform:serving:\n    "
            "endpoints:\n"
            "      iris:\n        versions:\n          v1: {storage_uri: 's3://b/m', weight: 100}\n"
            "      iris:\n        versions:\n          v2: {storage_uri: 's3://b/n', weight: 100}\n  aws:region: "
            "us-west-2\n"
        ),
    ),
    Case(
        "duplicate-in-flow-map",
        "duplicate-key",
        (
            "line 2, column 39: config.ml-platform:mlflow.enabled: duplicate key (first on line 2); YAML keeps only "
            "the last, dropping the first",
        ),
        text="config:\n  ml-platform:mlflow: {enabled: true, enabled: false}\n",
    ),
    # --- wrong shapes where a mapping belongs ---
    Case(
        "gpu-pools-a-list",
        "shape",
        ("gpu_pools: must be a mapping, got ['inference']",),
        set={"ml-platform:gpu_pools": ["inference"]},
    ),
    Case("serving-a-string", "shape", ("serving: must be a mapping, got 'enabled'",), set={SERVING: "enabled"}),
    # --- names that are not DNS labels ---
    Case(
        "pool-non-ascii",
        "dns-name",
        (
            "gpu_pools.inférence: pool names are 1-30 lowercase letters, digits and dashes, starting with a letter "
            "and ending with a letter or digit, got 'inférence'",
        ),
        set={"ml-platform:gpu_pools": {"inférence": {"instance_type": "g5.xlarge"}}},
    ),
    Case(
        "pool-leading-dash",
        "dns-name",
        (
            "gpu_pools.-gpu: pool names are 1-30 lowercase letters, digits and dashes, starting with a letter and "
            "ending with a letter or digit, got '-gpu'",
        ),
        set={"ml-platform:gpu_pools": {"-gpu": {"instance_type": "g5.xlarge"}}},
    ),
    Case(
        "pool-space",
        "dns-name",
        (
            "gpu_pools.gpu pool: pool names are 1-30 lowercase letters, digits and dashes, starting with a letter and "
            "ending with a letter or digit, got 'gpu pool'",
        ),
        set={"ml-platform:gpu_pools": {"gpu pool": {"instance_type": "g5.xlarge"}}},
    ),
    Case(
        "serving-namespace-upper",
        "dns-name",
        ("serving.platform.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got 'ML-Serving'",),
        set={f"{SERVING}/platform": {"namespace": "ML-Serving"}},
    ),
    Case(
        "serving-namespace-underscore",
        "dns-name",
        ("serving.platform.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got 'ml_serving'",),
        set={f"{SERVING}/platform": {"namespace": "ml_serving"}},
    ),
    Case(
        "mlflow-namespace-non-ascii",
        "dns-name",
        ("mlflow.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got 'mlflöw'",),
        set={f"{MLFLOW}/namespace": "mlflöw"},
    ),
    Case(
        "mlflow-namespace-leading-dash",
        "dns-name",
        ("mlflow.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got '-mlflow'",),
        set={f"{MLFLOW}/namespace": "-mlflow"},
    ),
    Case(
        "monitoring-namespace-space",
        "dns-name",
        ("observability.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got 'my monitoring'",),
        set={f"{OBS}/namespace": "my monitoring"},
    ),
    Case(
        "monitoring-namespace-too-long",
        "dns-name",
        (
            "observability.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got '"
            + "m" * 64
            + "'",
        ),
        set={f"{OBS}/namespace": "m" * 64},
    ),
    Case(
        "api-key-secret-space",
        "dns-name",
        (
            "serving.endpoints.iris.auth.api_key_secret: must be a Kubernetes object name (lowercase letters, digits, "
            "'-' and '.', <= 253), got 'iris api keys'",
        ),
        set={f"{IRIS}/auth": {"api_key_secret": "iris api keys"}},
    ),
    Case(
        "tls-secret-upper",
        "dns-name",
        (
            "serving.platform.tls_secret_name: must be a Kubernetes object name (lowercase letters, digits, '-' and "
            "'.', <= 253), got 'Models-TLS'",
        ),
        set={f"{SERVING}/platform": {"tls_secret_name": "Models-TLS"}},
    ),
    Case(
        "endpoint-name-upper",
        "dns-name",
        ("serving.endpoints.Iris.model_name: must be a DNS label (lowercase letters, digits, '-'), got 'Iris'",),
        set={f"{SERVING}/endpoints": {"Iris": {"versions": {"v1": {"storage_uri": "s3://b/m", "weight": 100}}}}},
    ),
    Case(
        "version-name-non-ascii",
        "dns-name",
        (
            "serving.endpoints.iris.versions.vé.name: must be a DNS label short enough for "
            "'<model>-<version>-predictor' (<= 63), got 'vé'",
        ),
        set={**LITERAL_IRIS, f"{IRIS}/versions": {"vé": {"storage_uri": "s3://b/m", "weight": 100}}},
    ),
    Case(
        "pool-label-key-space",
        "dns-name",
        (
            "gpu_pools.inference.labels.team name: must be a label key ([prefix/]name: letters, digits, '-', '_', "
            "'.', <= 63), got 'team name'",
        ),
        set={f"{POOL}/labels": {"team name": "ml"}},
    ),
    Case(
        "pool-label-value-non-ascii",
        "dns-name",
        (
            "gpu_pools.inference.labels.team: must be a label value (letters, digits, '-', '_', '.', <= 63, starting "
            "and ending alphanumeric), got 'équipe'",
        ),
        set={f"{POOL}/labels": {"team": "équipe"}},
    ),
    Case(
        "pool-label-value-leading-dash",
        "dns-name",
        (
            "gpu_pools.inference.labels.team: must be a label value (letters, digits, '-', '_', '.', <= 63, starting "
            "and ending alphanumeric), got '-ml'",
        ),
        set={f"{POOL}/labels": {"team": "-ml"}},
    ),
    Case(
        "gcp-tag-upper",
        "dns-name",
        (
            "tags.Team: must be a GCP label key (lowercase letters, digits, '_' and '-', starting with a letter, <= "
            "63), got 'Team'",
        ),
        base="gke-dev",
        set={"ml-platform:tags": {"Team": "ml"}},
    ),
    Case(
        "drift-namespace-bad",
        "dns-name",
        (
            "observability.drift.models.iris.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), "
            "got 'Drift_Jobs'",
        ),
        set={OBS: _drift(namespace="Drift_Jobs")},
    ),
    # --- bucket names the clouds refuse ---
    Case(
        "s3-bucket-upper",
        "bucket",
        (
            "mlflow.bucket_name: S3 refuses this bucket name (3-63 lowercase letters, digits, '-' and '.', starting "
            "and ending with a letter or digit), got 'ML_Artifacts'",
        ),
        set={f"{MLFLOW}/bucket_name": "ML_Artifacts"},
    ),
    Case(
        "s3-bucket-short",
        "bucket",
        (
            "mlflow.bucket_name: S3 refuses this bucket name (3-63 lowercase letters, digits, '-' and '.', starting "
            "and ending with a letter or digit), got 'ab'",
        ),
        set={f"{MLFLOW}/bucket_name": "ab"},
    ),
    Case(
        "s3-bucket-ip",
        "bucket",
        ("mlflow.bucket_name: S3 refuses bucket names formatted as an IP address, got '192.168.10.20'",),
        set={f"{MLFLOW}/bucket_name": "192.168.10.20"},
    ),
    Case(
        "s3-bucket-xn-prefix",
        "bucket",
        ("mlflow.bucket_name: S3 refuses bucket names starting with 'xn--', got 'xn--artifacts'",),
        set={f"{MLFLOW}/bucket_name": "xn--artifacts"},
    ),
    Case(
        "s3-bucket-double-dot",
        "bucket",
        (
            "mlflow.bucket_name: S3 refuses bucket names with two adjacent periods or a period next to a dash, got "
            "'ml..artifacts'",
        ),
        set={f"{MLFLOW}/bucket_name": "ml..artifacts"},
    ),
    Case(
        "s3-bucket-s3alias",
        "bucket",
        ("mlflow.bucket_name: S3 refuses bucket names ending with '-s3alias', got 'ml-artifacts-s3alias'",),
        set={f"{MLFLOW}/bucket_name": "ml-artifacts-s3alias"},
    ),
    Case(
        "gcs-bucket-goog",
        "bucket",
        (
            "mlflow.bucket_name: GCS refuses bucket names starting with 'goog' or containing 'google', got "
            "'google-ml-artifacts'",
        ),
        base="gke-dev",
        set={f"{MLFLOW}/bucket_name": "google-ml-artifacts"},
    ),
    Case(
        "gcs-bucket-too-long",
        "bucket",
        (
            "mlflow.bucket_name: GCS refuses this bucket name (3-63 lowercase letters, digits, '-', '_' and '.', "
            "starting and ending with a letter or digit), got '" + "a" * 64 + "'",
        ),
        base="gke-dev",
        set={f"{MLFLOW}/bucket_name": "a" * 64},
    ),
    # --- quantities ---
    Case(
        "memory-2-gigs",
        "quantity",
        ("serving.endpoints.iris.memory_request: must be a Kubernetes quantity (e.g. 512Mi, 2Gi), got '2 gigs'",),
        set={f"{IRIS}/memory_request": "2 gigs"},
    ),
    Case(
        "cpu-half-a-core",
        "quantity",
        ("serving.endpoints.iris.cpu_request: must be a Kubernetes quantity (e.g. 500m, 2), got 'half a core'",),
        set={f"{IRIS}/cpu_request": "half a core"},
    ),
    Case(
        "memory-GB",
        "quantity",
        ("mlflow.memory_limit: must be a Kubernetes quantity (e.g. 512Mi, 2Gi), got '2GB'",),
        set={f"{MLFLOW}/memory_limit": "2GB"},
    ),
    Case(
        "cpu-negative",
        "quantity",
        ("mlflow.cpu_request: must be a Kubernetes quantity (e.g. 500m, 2), got '-1'",),
        set={f"{MLFLOW}/cpu_request": "-1"},
    ),
    Case(
        "cpu-request-over-limit",
        "quantity",
        ("serving.endpoints.iris.cpu_request: must be <= cpu_limit ('1'), got '2'",),
        set={f"{IRIS}/cpu_request": "2"},
    ),
    Case(
        "memory-request-over-limit",
        "quantity",
        ("mlflow.memory_request: must be <= memory_limit ('2Gi'), got '3Gi'",),
        set={f"{MLFLOW}/memory_request": "3Gi"},
    ),
    # --- counts and CIDRs ---
    Case(
        "accelerator-count-negative",
        "count",
        ("gpu_pools.l4-shared.accelerator_count: must be >= 1, got -1",),
        base="gke-dev",
        set={"ml-platform:gpu_pools/l4-shared/accelerator_count": -1},
    ),
    Case(
        "gpu-count-negative",
        "count",
        ("serving.endpoints.iris.gpu_count: must be >= 0, got -2",),
        set={f"{IRIS}/gpu_count": -2},
    ),
    Case(
        "system-min-negative",
        "count",
        ("cluster.system_nodes.min_size: must be >= 1, got -1",),
        set={f"{CLUSTER}/system_nodes/min_size": -1},
    ),
    Case(
        "pool-disk-zero",
        "count",
        ("gpu_pools.inference.disk_size_gib: must be >= 50 (GPU images are large), got 0",),
        set={f"{POOL}/disk_size_gib": 0},
    ),
    Case(
        "replicas-time-slicing-zero",
        "count",
        ("gpu_pools.inference.sharing.replicas: must be between 2 and 48, got 0",),
        set={f"{POOL}/sharing/replicas": 0},
    ),
    Case(
        "cidr-prefix-33",
        "cidr",
        ("cluster.vpc_cidr: must be an IPv4 network in CIDR form, got '10.20.0.0/33'",),
        set={f"{CLUSTER}/vpc_cidr": "10.20.0.0/33"},
    ),
    Case(
        "cidr-octet-300",
        "cidr",
        ("cluster.vpc_cidr: must be an IPv4 network in CIDR form, got '10.300.0.0/16'",),
        set={f"{CLUSTER}/vpc_cidr": "10.300.0.0/16"},
    ),
    Case(
        "cidr-host-bits",
        "cidr",
        ("cluster.vpc_cidr: must be an IPv4 network in CIDR form, got '10.20.1.0/16'",),
        set={f"{CLUSTER}/vpc_cidr": "10.20.1.0/16"},
    ),
    Case(
        "cidr-no-prefix",
        "cidr",
        ("cluster.vpc_cidr: must be a /16 to /20 network, got '10.20.0.0'",),
        set={f"{CLUSTER}/vpc_cidr": "10.20.0.0"},
    ),
    Case(
        "public-cidr-words",
        "cidr",
        ("cluster.public_access_cidrs[0]: must be an IPv4 CIDR like 203.0.113.0/24 (no prefix length), got 'office'",),
        set={f"{CLUSTER}/public_access_cidrs": ["office"]},
    ),
    # --- hostnames and URLs ---
    Case(
        "gateway-hostname-url",
        "hostname",
        (
            "serving.platform.gateway_hostname: must be a hostname like models.example.com, not a URL, got 'https://models.example.com'",
        ),
        set={f"{SERVING}/platform": {"gateway_hostname": "https://models.example.com"}},
    ),
    Case(
        "gateway-hostname-port",
        "hostname",
        (
            "serving.platform.gateway_hostname: must be a hostname like models.example.com, without a port or path, "
            "got 'models.example.com:443'",
        ),
        set={f"{SERVING}/platform": {"gateway_hostname": "models.example.com:443"}},
    ),
    Case(
        "route-hostname-path",
        "hostname",
        (
            "serving.endpoints.iris.hostnames[0]: must be a hostname like models.example.com, without a port or path, "
            "got 'models.example.com/iris'",
        ),
        set={f"{IRIS}/hostnames": ["models.example.com/iris"]},
    ),
    Case(
        "route-hostname-upper",
        "hostname",
        (
            "serving.endpoints.iris.hostnames[0]: must be a lowercase hostname like models.example.com, got "
            "'Models.Example.com'",
        ),
        set={f"{IRIS}/hostnames": ["Models.Example.com"]},
    ),
    Case(
        "mlflow-allowed-host-url",
        "hostname",
        (
            "mlflow.allowed_hosts[0]: must be a hostname like models.example.com, not a URL, got 'http://mlflow.example.com'",
        ),
        set={f"{MLFLOW}/allowed_hosts": ["http://mlflow.example.com"]},
    ),
    Case(
        "prometheus-address-no-scheme",
        "hostname",
        ("serving.platform.prometheus_address: must be an http:// or https:// URL, got 'prometheus.monitoring:9090'",),
        set={f"{SERVING}/platform": {"prometheus_address": "prometheus.monitoring:9090"}},
    ),
    # --- endpoints and model locations ---
    Case(
        "same-model-name-twice",
        "endpoint",
        (
            "serving.endpoints.iris-b.model_name: 'iris' is already served by endpoint 'iris'; two endpoints cannot "
            "serve the same model name, got 'iris'",
        ),
        set={
            f"{SERVING}/endpoints/iris-b": {
                "model_name": "iris",
                "versions": {"v1": {"storage_uri": "s3://b/m", "weight": 100}},
            }
        },
    ),
    Case(
        "storage-uri-bare-scheme",
        "storage-uri",
        ("serving.endpoints.iris.versions.v1.storage_uri: must name a bucket or host (s3://bucket/path), got 's3://'",),
        set={**LITERAL_IRIS, f"{IRIS}/versions/v1/storage_uri": "s3://"},
    ),
    Case(
        "storage-uri-no-bucket",
        "storage-uri",
        (
            "serving.endpoints.iris.versions.v1.storage_uri: must name a bucket or host (s3://bucket/path), got 's3:///models/iris'",
        ),
        set={**LITERAL_IRIS, f"{IRIS}/versions/v1/storage_uri": "s3:///models/iris"},
    ),
    Case(
        "storage-uri-scheme",
        "storage-uri",
        (
            "serving.endpoints.iris.versions.v1.storage_uri: must start with s3://, gs://, https://, http://, pvc://, "
            "hf://, oci:// or {artifact_root}, got 'ftp://models/iris'",
        ),
        set={**LITERAL_IRIS, f"{IRIS}/versions/v1/storage_uri": "ftp://models/iris"},
    ),
    Case(
        "storage-uri-placeholder-typo",
        "storage-uri",
        (
            "serving.endpoints.iris.versions.v1.storage_uri: the only placeholder is {artifact_root}, at the start, "
            "got '{artifact_rot}/1/models/m/artifacts'",
        ),
        set={**LITERAL_IRIS, f"{IRIS}/versions/v1/storage_uri": "{artifact_rot}/1/models/m/artifacts"},
    ),
    Case(
        "storage-uri-empty",
        "storage-uri",
        ("serving.endpoints.iris.versions.v1.storage_uri: must name a bucket or host (s3://bucket/path), got ''",),
        set={**LITERAL_IRIS, f"{IRIS}/versions/v1/storage_uri": ""},
    ),
    Case(
        "drift-uri-bare",
        "storage-uri",
        ("observability.drift.models.iris.reference_uri: must name a bucket or host (s3://bucket/path), got 's3://'",),
        set={OBS: _drift(reference_uri="s3://")},
    ),
    Case(
        "drift-schedule-words",
        "schedule",
        ("observability.drift.models.iris.schedule: must be a 5-field cron expression, got 'every hour'",),
        set={OBS: _drift(schedule="every hour")},
    ),
    Case(
        "drift-schedule-minute-60",
        "schedule",
        (
            "observability.drift.models.iris.schedule: must be a 5-field cron expression (minute 60 is out of range "
            "0-59), got '60 * * * *'",
        ),
        set={OBS: _drift(schedule="60 * * * *")},
    ),
    Case(
        "gpu-pool-unknown",
        "reference",
        ("serving.endpoints.iris.gpu_pool: must name a GPU pool of this stack (inference), got 'infrence'",),
        set={f"{IRIS}/gpu_count": 1, f"{IRIS}/gpu_pool": "infrence"},
    ),
    # --- cluster access ---
    Case(
        "kubeconfig-missing",
        "kubeconfig",
        (
            "cluster.kubeconfig_path: no such file (the preview and pulumi would otherwise use the default cluster), "
            "got '/nonexistent/kubeconfig'",
        ),
        base="local",
        set={f"{CLUSTER}/kubeconfig_path": "/nonexistent/kubeconfig"},
    ),
    Case(
        "kubeconfig-on-aws",
        "kubeconfig",
        (
            "cluster.kubeconfig_path: is only used with cloud existing (aws builds its own cluster), got "
            "'~/.kube/config'",
        ),
        set={f"{CLUSTER}/kubeconfig_path": "~/.kube/config"},
    ),
    # --- secrets in clear ---
    Case(
        "mlflow-password-plain",
        "secret",
        (
            "mlflow_admin_password: must be a secret (pulumi config set --secret ml-platform:mlflow_admin_password "
            "<password>), got a plaintext value",
        ),
        set={"ml-platform:mlflow_admin_password": "hunter2hunter2"},
    ),
    Case(
        "grafana-password-plain",
        "secret",
        (
            "grafana_admin_password: must be a secret (pulumi config set --secret ml-platform:grafana_admin_password "
            "<password>), got a plaintext value",
        ),
        set={"ml-platform:grafana_admin_password": "hunter2hunter2"},
    ),
    # --- regions and zones ---
    Case(
        "aws-zone-as-region",
        "region",
        ("aws:region: must be a region like us-west-2, not a zone, got 'us-west-2a'",),
        set={"aws:region": "us-west-2a"},
    ),
    Case(
        "gcp-zone-as-region",
        "region",
        ("gcp:region: must be a region like us-central1, not a zone, got 'us-central1-a'",),
        base="gke-dev",
        set={"gcp:region": "us-central1-a"},
    ),
    Case(
        "aws-region-upper",
        "region",
        ("aws:region: must be a region like us-west-2, got 'US-West-2'",),
        set={"aws:region": "US-West-2"},
    ),
    # --- values of the wrong kind (already caught; kept so they stay caught) ---
    Case(
        "environment-unknown",
        "enum",
        ("environment: must be one of 'local', 'dev', 'staging' or 'prod', got 'production'",),
        set={"ml-platform:environment": "production"},
    ),
    Case(
        "weights-110",
        "rule",
        ("serving.endpoints.iris.versions: weights must sum to 100 (v1: 90), (v2: 20), got 110",),
        set={**LITERAL_IRIS, f"{IRIS}/versions/v2/weight": 20},
    ),
    Case(
        "budget-words",
        "type",
        ("cost.monthly_budget_usd: must be a valid number, unable to parse string as a number, got 'lots'",),
        set={"ml-platform:cost/monthly_budget_usd": "lots"},
    ),
    Case(
        "override-row-without-spot",
        "type",
        ("cost.price_overrides.aws.instances.g5.xlarge: must be [on_demand, spot] USD per hour, got [1.0]",),
        set={"ml-platform:cost/price_overrides": {"aws": {"instances": {"g5.xlarge": [1.0]}}}},
    ),
    Case(
        "unknown-key",
        "type",
        ("mlflow.replica: is not a known key (check its spelling), got 2",),
        set={f"{MLFLOW}/replica": 2},
    ),
]


@dataclass(frozen=True)
class FileCase:
    """A bad price table or policy config: ``replace`` edits the shipped file's text (old -> new), or ``text``
    is the whole file."""

    id: str
    kind: str
    expect: str
    replace: tuple[str, str] | None = None
    text: str | None = None


TABLE_ROW = "g5.xlarge:       [1.0060, 0.4020, nvidia-a10g]"

PRICE_CASES: list[FileCase] = [
    FileCase(
        "tab",
        "not-yaml",
        "cost/prices.yaml: line 11, column 1: is not valid YAML (found character '\\t' that cannot start any token)",
        replace=("assumptions:\n", "\tassumptions:\n"),
    ),
    FileCase(
        "row-without-spot",
        "price-row",
        "cost/prices.yaml: aws.instances.g5.xlarge: must be [on_demand, spot] or [on_demand, spot, gpu model] in USD "
        "per hour (each >= 0), got [1.006]",
        replace=(TABLE_ROW, "g5.xlarge:       [1.0060]"),
    ),
    FileCase(
        "negative-price",
        "price-row",
        "cost/prices.yaml: aws.instances.g5.xlarge: must be [on_demand, spot] or [on_demand, spot, gpu model] in USD "
        "per hour (each >= 0), got [-1.006, 0.402, 'nvidia-a10g']",
        replace=(TABLE_ROW, "g5.xlarge:       [-1.0060, 0.4020, nvidia-a10g]"),
    ),
    FileCase(
        "price-as-text",
        "price-row",
        "cost/prices.yaml: aws.services.nat_gateway: must be a price >= 0 in USD, got 'cheap'",
        replace=("nat_gateway: 0.045 ", "nat_gateway: cheap "),
    ),
    FileCase(
        "hours-zero",
        "hours",
        "cost/prices.yaml: hours_per_month: must be a number of hours > 0 and <= 744, got 0",
        replace=("hours_per_month: 730", "hours_per_month: 0"),
    ),
    FileCase(
        "hours-text",
        "hours",
        "cost/prices.yaml: hours_per_month: must be a number of hours > 0 and <= 744, got 'monthly'",
        replace=("hours_per_month: 730", "hours_per_month: monthly"),
    ),
    FileCase(
        "region-factor-zero",
        "price-row",
        "cost/prices.yaml: aws.region_factor.us-west-2: must be a number > 0, got 0",
        replace=("us-west-2: 1.0,", "us-west-2: 0,"),
    ),
    FileCase(
        "a-list",
        "shape",
        "cost/prices.yaml: must be a mapping (currency, hours_per_month, aws, gcp...), got ['aws', 'gcp']",
        text="- aws\n- gcp\n",
    ),
    FileCase(
        "empty",
        "shape",
        "cost/prices.yaml: must be a mapping (currency, hours_per_month, aws, gcp...), got None",
        text="",
    ),
]

POLICY_CASES: list[FileCase] = [
    FileCase(
        "not-json",
        "not-json",
        "line 1, column 2: is not JSON (Expecting property name enclosed in double quotes)",
        text="{cost-budget: mandatory}\n",
    ),
    FileCase(
        "trailing-comma",
        "not-json",
        "line 3, column 1: is not JSON (Expecting property name enclosed in double quotes)",
        text='{"cost-budget": "mandatory",\n  "all": "advisory",\n}\n',
    ),
    FileCase("empty", "empty", 'is empty; it must be a JSON object like {"cost-budget": "mandatory"}', text=""),
    FileCase(
        "whitespace", "empty", 'is empty; it must be a JSON object like {"cost-budget": "mandatory"}', text="\n  \n"
    ),
    FileCase(
        "a-list",
        "list",
        "must be a JSON object of policy name to level or settings, got a list",
        text='["cost-budget"]\n',
    ),
    FileCase(
        "a-string",
        "list",
        "must be a JSON object of policy name to level or settings, got 'mandatory'",
        text='"mandatory"\n',
    ),
    FileCase(
        "prices-a-string",
        "schema",
        "cost-budget.prices: 'cheap' is not of type 'object'",
        text='{"cost-budget": {"prices": "cheap"}}\n',
    ),
    FileCase(
        "budget-a-word",
        "schema",
        "cost-budget.monthlyBudgetUsd: 'lots' is not of type 'number', 'null'",
        text='{"cost-budget": {"monthlyBudgetUsd": "lots"}}\n',
    ),
]
