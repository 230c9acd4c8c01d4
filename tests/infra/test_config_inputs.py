"""The value checks of ``infra/config/inputs.py`` on their own (the preview-level corpus is in tests/offline)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from components.common import Problems
from infra.config import inputs


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", 2),
        ("2Gi", 2**31),
        ("1.5G", Decimal("1.5e9")),
        ("1e3", 1000),
        (".5", Decimal("0.5")),
    ],
)
def test_quantities_parse_as_kubernetes_reads_them(text: str, value: Decimal) -> None:
    assert inputs.quantity(text) == value


@pytest.mark.parametrize("text", ["2 gigs", "half a core", "2GB", "-1", "", "Gi", "1.2.3", "2gi"])
def test_what_is_not_a_quantity(text: str) -> None:
    assert inputs.quantity(text) is None


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("s3://bucket/models/m", True),
        ("{artifact_root}/1/models/m/artifacts", True),
        ("gs://b/p", True),
        ("/data/ref.csv", True),
        ("s3://", False),
        ("s3://bucket", True),
        ("s3:///path", False),
        ("ftp://h/p", False),
        ("x/{artifact_root}/m", False),
    ],
)
def test_data_locations(uri: str, ok: bool) -> None:
    p = Problems()
    inputs.check_uri(p, "u", uri)
    assert (p.items == []) == ok, p.items


def test_user_facing_rewrites_internal_keys_and_keeps_one_problem_per_key() -> None:
    assert inputs.user_facing(
        [
            "serving.platform.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got 'A'",
            "serving.platform.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got 'A'",
            "serving.endpoints.iris.namespace: must be a DNS label, got 'A'",
            "device_plugin.sharing_modes[0].replicas: must be >= 2, got 0",
            "observability.pool_hourly_prices_usd.inference: must be >= 0, got -1.0",
            "gpu_pools.a.max_size: must be >= min_size (2), got 1",
        ]
    ) == [
        "serving.platform.namespace: must be a DNS label (lowercase letters, digits, '-', <= 63), got 'A'",
        "gpu_pools.a.max_size: must be >= min_size (2), got 1",
    ]


def test_hostnames_and_host_patterns() -> None:
    p = Problems()
    for ok in ("models.example.com", "*.example.com", "localhost"):
        inputs.check_hostname(p, "h", ok)
    inputs.check_hostname(p, "mlflow", "mlflow.example.com:5000", port_ok=True)
    assert p.items == []
    inputs.check_hostname(p, "route", "models.example.com:443")
    inputs.check_hostname(p, "url", "https://mlflow.example.com", port_ok=True)
    assert p.items == [
        "route: must be a hostname like models.example.com, without a port or path, got 'models.example.com:443'",
        "url: must be a hostname like models.example.com, not a URL, got 'https://mlflow.example.com'",
    ]
