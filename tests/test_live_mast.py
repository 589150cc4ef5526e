"""MastClient against the real MAST (run with LARUN_LAKE_LIVE_MAST=1; skipped otherwise)."""

from __future__ import annotations

import pytest

from larun_lake.config import DEFAULT_MAST_URL, DEFAULT_RESOLVER_URL
from larun_lake.mast import MastClient

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def client():
    with MastClient(DEFAULT_MAST_URL, resolver_url=DEFAULT_RESOLVER_URL, timeout=60, retries=3) as mast:
        yield mast


def test_observations_and_products_for_a_spoc_target(client: MastClient) -> None:
    rows = client.observations(target_names=["25155310"], obs_collection=["TESS"], provenance_name=["SPOC"])
    assert rows and all(r["target_name"] == "25155310" and r["provenance_name"] == "SPOC" for r in rows)
    assert 1 in {r["sequence_number"] for r in rows} and all(isinstance(r["obsid"], str) for r in rows)
    products = client.products([r["obsid"] for r in rows[:2]])
    assert any(p["productFilename"].endswith("_lc.fits") and p["size"] > 0 for p in products)


def test_tic_by_id(client: MastClient) -> None:
    (row,) = client.tic_by_ids([25155310])
    assert row["ID"] == 25155310 and 60 < row["ra"] < 66 and row["Tmag"] is not None


def test_small_cone(client: MastClient) -> None:
    rows = client.tic_cone(63.3739396, -69.2268227, 0.02)
    assert 25155310 in {r["ID"] for r in rows}
    assert client.request_count["invoke"] >= 1
