"""Harvesting HST and JWST observations and products over loopback: the real astroquery client and the
lake's downloader against the MAST-compatible server (rows in tests/mast_server/observatory.py, files made
in the pipelines' formats by tests/obsgen.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from larun_lake import Lake
from tests.mast_server import Fault, MastServer

from .conftest import run_cli

SOSS3 = "jw02734-o002_t001_niriss_clear-gr700xd-substrip256"
SOSS = ["--collection", "JWST", "--instrument", "NIRISS/SOSS", "--type", "timeseries", "--target", "WASP-39"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with MastServer(observatory=tmp_path_factory.mktemp("observatory_files")) as srv:
        yield srv


@pytest.fixture
def mast(clean_mast_server: MastServer, monkeypatch: pytest.MonkeyPatch) -> MastServer:
    monkeypatch.setenv("LARUN_LAKE_MAST_URL", clean_mast_server.url)
    monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "3")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return clean_mast_server


def served(server: MastServer, name: str) -> Path:
    uri = next(p["dataURI"] for p in server.observatory.products() if p["productFilename"] == name)
    return server.observatory.file_for_uri(uri)[1]


@pytest.mark.slow
def test_jwst_time_series_harvest_lists_everything_and_fetches_what_was_asked(mast: MastServer,
                                                                              tmp_path: Path) -> None:  # fmt: skip
    lake_dir = tmp_path / "lake"
    proc = run_cli("--lake", str(lake_dir), "harvest", "observations", *SOSS, "--download", "x1dints,whtlt")
    assert proc.returncode == 0, proc.stderr
    lake = Lake(lake_dir)
    obs = lake.sql("SELECT obs_id, calib_level, proposal_id, filters FROM observations ORDER BY obsid").fetchall()
    assert obs == [
        (SOSS3, 3, "2734", "CLEAR;GR700XD"),
        ("jw02734002001_04101_00001-seg001_nis", 2, "2734", "CLEAR;GR700XD"),
        ("jw02734002001_04101_00001-seg002_nis", 2, "2734", "CLEAR;GR700XD"),
    ]
    states = dict(lake.sql("SELECT suffix, list(DISTINCT state) FROM products GROUP BY 1").fetchall())
    assert states["x1dints"] == ["ingested"] and states["whtlt"] == ["ingested"]
    assert states["uncal"] == ["known"] and states["calints"] == ["known"]  # listed, never downloaded
    # one observation query, one product listing, one download per selected file (JWST lists the stage-3
    # products under three observations: fetched once)
    assert mast.count("Mast.Caom.Filtered") == 1 and mast.count("Mast.Caom.Products") == 1
    assert mast.count("download") == lake.sql("SELECT count(*) FROM products WHERE state = 'ingested'").fetchall()[0][0]
    assert not any(n.endswith((".fits", ".ecsv")) for n in map(str, (lake_dir / "raw").rglob("*")))
    # the white-light curve, one light curve per order, equals the served file
    table = Table.read(served(mast, f"{SOSS3}_whtlt.ecsv"), format="ascii.ecsv")
    flux = lake.sql("SELECT flux FROM cadences WHERE lc_id = ? ORDER BY cadenceno", [f"JWST:JWST:{SOSS3}:1"]).df()
    flux_column = next(c for c in table.colnames if c.startswith("whitelight_flux") and c.endswith("1"))
    np.testing.assert_array_equal(flux["flux"], np.asarray(table[flux_column], dtype=np.float32))
    rows = lake.sql("SELECT count(*) FROM spectral_timeseries WHERE obs_id = ? AND spectral_order = 1", [SOSS3])
    with fits.open(served(mast, f"{SOSS3}_x1dints.fits")) as hdul:
        order1 = next(h for h in hdul if h.name == "EXTRACT1D" and h.header.get("SPORDER", 1) == 1)
        assert rows.fetchall()[0][0] == int(np.isfinite(order1.data["WAVELENGTH"]).sum())


@pytest.mark.slow
def test_a_second_run_fetches_nothing_and_a_remembered_search_asks_nothing(mast: MastServer, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    first = lake.harvest_observations(collection="JWST", instrument="NIRISS/SOSS", target="WASP-39",
                                      download="whtlt")  # fmt: skip
    assert first.ok and first.ingested == 2  # two orders
    mast.reset_counts()
    again = lake.harvest_observations(collection="JWST", instrument="NIRISS/SOSS", target="WASP-39",
                                      download="whtlt")  # fmt: skip
    assert again.ok and (again.ingested, again.downloaded) == (0, 0)
    assert mast.count("download") == 0
    mast.reset_counts()
    cached = lake.harvest_observations(collection="JWST", instrument="NIRISS/SOSS", target="WASP-39",
                                       download="whtlt,x1dints", max_age="1h")  # fmt: skip
    assert mast.count("invoke") == 0 and cached.ingested == 3  # the stage-3 and both segments' x1dints
    offline = run_cli("--lake", str(tmp_path / "lake"), "harvest", "observations", "--collection", "HST",
                      "--proposal", "11575", "--offline")  # fmt: skip
    assert offline.returncode == 2 and "never made" in offline.stderr


@pytest.mark.slow
def test_hst_cone_spectra_and_products_of_observations_chosen_by_sql(mast: MastServer, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    report = lake.harvest_observations(collection="HST", cone=(83.82, -5.39, 0.1), type="spectrum", download="x1d")
    assert report.ok and report.n_observations == 2
    spectra = lake.spectra(mission="HST")
    assert set(spectra["instrument"]) == {"COS", "STIS"}
    with fits.open(served(mast, "o6d701030_x1d.fits")) as hdul:
        data = hdul[1].data
    stis = spectra[spectra["obs_id"] == "o6d701030"].sort_values(["spectral_order", "wavelength"])
    assert stis["spectral_order"].nunique() == len(data)
    proc = run_cli("--lake", str(tmp_path / "lake"), "harvest", "products", "--from-sql",
                   "SELECT obsid FROM observations WHERE instrument_name LIKE 'STIS%'", "--suffix", "flt")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    images = lake.sql("SELECT image_id, raw_path FROM images").fetchall()
    assert [i for i, _ in images] == ["HST:o6d701030:flt"]
    assert (tmp_path / "lake" / images[0][1]).read_bytes() == served(mast, "o6d701030_flt.fits").read_bytes()


def test_downloads_recover_from_errors_and_truncation(mast: MastServer, tmp_path: Path) -> None:
    mast.add_fault(Fault(kind="download", status=503, retry_after=0.05, times=1))
    mast.add_fault(Fault(kind="download", uri="x1dints", truncate=0.5, times=1))
    mast.add_fault(Fault(kind="invoke", service="Mast.Caom.Products", status=500, times=1))
    report = Lake(tmp_path / "lake").harvest_observations(collection="JWST", proposal="2734", download="x1dints")
    assert report.ok and report.ingested == 3, report.problems


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["observations", "--collection", "JWTS", "--target", "WASP-39"], "unknown collection 'JWTS'"),
        (["observations", "--collection", "JWST", "--target", "WASP-39", "--download", "x1dz"],
         "unknown product suffix 'x1dz'"),
        (["observations", "--collection", "JWST"], "needs --target, --cone, --proposal or --instrument"),
        (["products", "--obsid", "87602009"], "say which products to fetch"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_before_any_query(mast: MastServer, tmp_path: Path, args: list[str],
                                                   message: str) -> None:  # fmt: skip
    proc = run_cli("--lake", str(tmp_path / "lake"), "harvest", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert mast.count("invoke") == 0


def test_mrp_harvest_of_ten_observations(mast: MastServer, tmp_path: Path) -> None:
    """MAST's minimum recommended products of ten JWST and HST observations: what each product costs."""
    lake = Lake(tmp_path / "lake")
    report = lake.harvest_observations(collection=["JWST", "HST"],
                                       proposal=["2734", "1366", "1288", "11575", "12410"], mrp=True)  # fmt: skip
    assert report.n_observations == 10 and report.ok, report.problems
    assert report.n_listed == lake.sql("SELECT count(*) FROM products").fetchall()[0][0] > report.n_products
    fetched = lake.sql("SELECT count(*) FROM products WHERE state IN ('ingested', 'downloaded')").fetchall()[0][0]
    assert fetched == report.downloaded
    requests = report.metadata_requests + report.download_requests
    assert requests <= fetched + 4  # columns config, one search, one product listing (and one retry at most)
    kinds = dict(lake.sql("SELECT product_type, count(*) FROM products WHERE state = 'ingested' GROUP BY 1").fetchall())
    assert kinds.keys() >= {"lightcurve", "spectral_timeseries", "spectrum", "image"}
