"""The price table and the GPU catalog describe the same machines with the same names.

The components' GPU catalog owns the hardware facts (which GPU a machine type carries, named as GKE names
accelerators); the price table repeats the GPU name only so that the policy pack, which may import nothing but
the cost model, can tell a GPU pool from its instance type. These tests keep the two in agreement.
"""

from __future__ import annotations

import pytest

from components.cluster._gpu_catalog import AWS_GPU_INSTANCES, GCP_GPU_MACHINES, GCP_N1_ACCELERATORS
from cost.prices import TABLE_PATH, PriceTable

CATALOG = {"aws": AWS_GPU_INSTANCES, "gcp": GCP_GPU_MACHINES}


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_price_table_names_the_gpu_the_catalog_names(cloud: str) -> None:
    prices = PriceTable()
    priced_gpus = {
        kind: prices.gpu_model(cloud, kind)
        for kind in prices._section(cloud, "instances")
        if prices.gpu_model(cloud, kind) is not None
    }
    catalog_gpus = {kind: m.gpu.name for kind, m in CATALOG[cloud].items() if m.gpu is not None}
    assert priced_gpus == catalog_gpus


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_every_catalog_machine_has_a_price(cloud: str) -> None:
    prices = PriceTable()
    for kind in CATALOG[cloud]:
        assert prices.instance_hourly(cloud, None, kind) > 0, kind
        assert prices.instance_hourly(cloud, None, kind, spot=True) > 0, kind


def test_every_attachable_accelerator_has_a_price() -> None:
    assert set(GCP_N1_ACCELERATORS) <= PriceTable().accelerators("gcp"), TABLE_PATH
