"""Import of HST and JWST products: white-light curves, spectra, spectral time series and images.

Files are made in the pipelines' formats by tests/obsgen.py; values are compared with what astropy
reads from the same file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from larun_lake import Lake

from . import obsgen
from .conftest import run_cli

X1D = "jw02734-o002_t001_niriss_clear-gr700xd-substrip256_x1d.fits"
CAL = "jw01345001001_02201_00001_nrcblong_cal.fits"
I2D = "jw01345-o001_t001_nircam_clear-f444w_i2d.fits"
FLT = "ib1f01a1q_flt.fits"
CALINTS = "jw02734002001_04101_00001-seg001_nis_calints.fits"
NAMES = [obsgen.JWST_TSO_X1DINTS, obsgen.JWST_TSO_WHTLT, obsgen.HST_COS_X1D, X1D, CAL, I2D, FLT, CALINTS]


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("jwst_hst")
    for name in NAMES:
        obsgen.make_product(name, folder)
    return folder


@pytest.fixture(scope="module")
def lake_root(products: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("observatory_lake") / "lake"
    report = Lake(root).import_files([products])
    assert (report.ingested, report.skipped, report.quarantined, report.failed) == (8, 1, 0, 0), report.problems  # two orders in the whtlt
    return root


def test_white_light_curves_are_light_curves_of_each_order(lake_root: Path, products: Path) -> None:
    lake = Lake(lake_root)
    rows = lake.sql(
        "SELECT lc_id, mission, author, target_id, tic_id, target_name, period, bjdrefi, bjdreff, time_scale, "
        "n_cadences, spectral_order FROM lightcurves ORDER BY lc_id"
    ).fetchall()
    stem = obsgen.JWST_TSO_WHTLT.removesuffix("_whtlt.ecsv")
    assert rows == [
        (f"JWST:JWST:{stem}:{order}", "JWST", "JWST", None, None, "WASP-39", "p02734", 2400000, 0.5, "BJD_TDB", 20,
         order)
        for order in (1, 2)
    ]  # fmt: skip
    table = Table.read(products / obsgen.JWST_TSO_WHTLT, format="ascii.ecsv")
    cad = lake.sql(
        "SELECT time, flux, cadenceno FROM cadences WHERE lc_id = ? ORDER BY cadenceno", [f"JWST:JWST:{stem}:2"]
    ).df()
    time_column = next(c for c in table.colnames if "BJD_TDB" in c)
    np.testing.assert_array_equal(cad["time"], np.asarray(table[time_column], dtype=float))
    np.testing.assert_array_equal(cad["flux"], np.asarray(table["whitelight_flux_order_2"], dtype=np.float32))


def test_spectral_time_series_rows_equal_the_file(lake_root: Path, products: Path) -> None:
    lake = Lake(lake_root)
    frame = lake.spectral_timeseries(target_name="WASP-39", spectral_order=1)
    assert set(frame["suffix"]) == {"x1dints"} and frame["integration"].nunique() == 20
    with fits.open(products / obsgen.JWST_TSO_X1DINTS) as hdul:
        order1 = next(h for h in hdul if h.name == "EXTRACT1D" and h.header.get("SPORDER") == 1)
        wave, flux, tdb = order1.data["WAVELENGTH"], order1.data["FLUX"], order1.data["TDB-MID"]
    first = frame[frame["integration"] == 1].sort_values("wavelength")
    np.testing.assert_array_equal(first["flux"], flux[0][np.argsort(wave[0])])
    assert first["time"].iloc[0] == tdb[0]
    files = lake.sql("SELECT n_orders, n_integrations, layout FROM spectrum_files WHERE suffix = 'x1dints'").fetchall()
    assert files == [(2, 20, "per_order")]


def test_spectra_of_jwst_and_hst_with_their_units(lake_root: Path, products: Path) -> None:
    lake = Lake(lake_root)
    hst = lake.spectra(mission="HST")
    with fits.open(products / obsgen.HST_COS_X1D) as hdul:
        data = hdul[1].data
    assert list(hst.groupby("segment").size().index) == sorted(data["SEGMENT"])
    row = data[0]
    seg = hst[hst["segment"] == row["SEGMENT"]]
    np.testing.assert_array_equal(seg["wavelength"], row["WAVELENGTH"])
    np.testing.assert_array_equal(seg["flux"], row["FLUX"])
    units = lake.sql("SELECT mission, wavelength_unit FROM spectrum_files WHERE area = 'spectra' ORDER BY 1").fetchall()
    assert units == [("HST", "angstrom"), ("JWST", "um")]


def test_images_are_kept_and_found_by_position(lake_root: Path, products: Path) -> None:
    lake = Lake(lake_root)
    found = lake.sql("SELECT suffix, instrument, raw_path FROM images_cone(83.8221, -5.3911, 0.01) ORDER BY suffix")
    rows = found.fetchall()
    assert [r[0] for r in rows] == ["cal", "flt", "i2d"]
    for _, _, raw in rows:
        kept = lake_root / raw
        assert kept.read_bytes() == (products / kept.name).read_bytes()
    assert lake.sql("SELECT count(*) FROM images_cone(10, 10, 1)").fetchall() == [(0,)]
    assert lake.sql("SELECT count(*) FROM images WHERE filters LIKE '%F444W%'").fetchall() == [(2,)]


def test_products_the_lake_does_not_convert_are_skipped_with_the_reason(lake_root: Path) -> None:
    rows = Lake(lake_root).sql("SELECT product_type, state, last_error FROM products WHERE file_name = ?",
                               [CALINTS]).fetchall()  # fmt: skip
    assert rows == [("other", "skipped", "a calints product: the lake tracks it but does not convert it")]


def test_importing_again_changes_nothing(lake_root: Path, products: Path, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    shutil.copytree(lake_root, root)
    before = Lake(root).sql("SELECT path FROM data_files ORDER BY 1").fetchall()
    report = Lake(root).import_files([products])
    assert (report.ingested, report.unchanged) == (0, 8)
    assert Lake(root).sql("SELECT path FROM data_files ORDER BY 1").fetchall() == before


def test_a_later_calibration_supersedes_a_spectrum(lake_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    shutil.copytree(lake_root, root)
    newer = obsgen.make_product(X1D, tmp_path / "newer", cal_ver="1.19.1", seed=7)
    report = Lake(root).import_files([newer])
    assert (report.ingested, report.superseded) == (1, 1)
    lake = Lake(root)
    assert lake.sql("SELECT cal_ver FROM spectrum_files WHERE suffix = 'x1d' AND mission = 'JWST'").fetchall() == [
        ("1.19.1",)
    ]
    with fits.open(newer) as hdul:
        flux = hdul["EXTRACT1D"].data["FLUX"]
    np.testing.assert_array_equal(lake.spectra(mission="JWST")["flux"], flux)
    history = lake.sql("SELECT area, path FROM data_files WHERE area LIKE '%history'").fetchall()
    assert [a for a, _ in history] == ["spectra_history"] and history[0][1].startswith("_history/spectra/")
    # the older version comes second: importing it again does not make it current
    verify = run_cli("--lake", str(root), "verify")
    assert verify.returncode == 0, verify.stderr


@pytest.mark.parametrize("name", [X1D, obsgen.JWST_TSO_WHTLT])
def test_truncated_or_mislabelled_products_are_quarantined_with_one_line(name: str, products: Path,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    bad = tmp_path / "bad"
    bad.mkdir()
    data = (products / name).read_bytes()
    (bad / name).write_bytes(data[: len(data) // 3])
    liar = bad / X1D.replace("_x1d", "b_x1d")  # an image under a spectrum's name
    liar.write_bytes((products / CAL).read_bytes())
    proc = run_cli("--lake", str(tmp_path / "lake"), "import", str(bad))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("quarantined:")]
    assert len(lines) == 2 and all(len(line) < 300 for line in lines), proc.stderr
    states = Lake(tmp_path / "lake").sql("SELECT state, count(*) FROM products GROUP BY 1").fetchall()
    assert states == [("quarantined", 2)]


def test_materialize_takes_white_light_curves(lake_root: Path) -> None:
    lake = Lake(lake_root)
    lcs = lake.materialize("SELECT lc_id FROM lightcurves WHERE mission = 'JWST' AND spectral_order = 1")
    frame = lcs.to_pandas()
    assert len(frame) == 20 and frame["target_id"].isna().all()
    lc = next(iter(lcs.to_lightkurve()))
    assert lc.meta["OBJECT"] == "WASP-39" and lc.time.scale == "tdb"
    assert abs(lc.time.jd[0] - (frame["time"].iloc[0] + 2400000.5)) < 1e-9
    assert str(lc.flux.unit) == "Jy"


@pytest.mark.slow
def test_spectra_and_images_on_object_storage(s3_env, s3_bucket: str, products: Path, tmp_path: Path) -> None:
    url = f"s3://{s3_bucket}/lake"
    picked = tmp_path / "in"
    picked.mkdir()
    for name in (obsgen.JWST_TSO_X1DINTS, X1D, I2D):
        shutil.copy(products / name, picked / name)
    proc = run_cli("--lake", url, "import", str(picked))
    assert proc.returncode == 0, proc.stderr
    keys = s3_env.filesystem().find(s3_bucket)
    assert any("/spectral_timeseries/mission=JWST/period=p02734/part-" in k for k in keys)
    assert any(k.endswith(f"raw/mastDownload/JWST/{I2D.removesuffix('_i2d.fits')}/{I2D}") for k in keys)
    assert not any("/_staging/" in k for k in keys)
    other = run_cli("--lake", url, "sql", "SELECT count(*) FROM spectral_timeseries", "--format", "csv",
                    env={"XDG_CACHE_HOME": str(tmp_path / "other-machine")})  # fmt: skip
    assert other.returncode == 0, other.stderr
    with fits.open(products / obsgen.JWST_TSO_X1DINTS) as hdul:
        # integrations x wavelength bins (order 2 pads its rows with NaN past its last bin)
        n_values = sum(int(np.isfinite(h.data["WAVELENGTH"]).sum()) for h in hdul if h.name == "EXTRACT1D")
    assert other.stdout.split()[-1] == str(n_values)


def test_a_lost_catalog_is_rebuilt_with_spectra_images_and_observations(lake_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    shutil.copytree(lake_root, root)
    query = ("SELECT (SELECT count(*) FROM spectra), (SELECT count(*) FROM spectral_timeseries), "
             "(SELECT count(*) FROM images), (SELECT count(*) FROM lightcurves WHERE mission = 'JWST')")  # fmt: skip
    before = Lake(root).sql(query).fetchall()
    (root / "catalog.duckdb").unlink()
    Lake(root).rebuild_catalog()
    assert Lake(root).sql(query).fetchall() == before
    assert before[0][0] > 0 and before[0][2] == 3


def test_status_counts_what_is_not_a_light_curve(lake_root: Path) -> None:
    report = Lake(lake_root).status()
    assert report.others == {"observations": 0, "spectra": 2, "spectral_timeseries": 1, "images": 3}
    assert report.by_kind == [r for r in report.by_kind if r["mission"] == "JWST"] and report.by_kind[0]["n_targets"] == 1


@pytest.mark.slow
def test_import_on_dask_workers_gives_the_same_lake(lake_root: Path, products: Path, dask_client,
                                                    tmp_path: Path) -> None:  # fmt: skip
    query = ("SELECT (SELECT list(spec_id ORDER BY spec_id) FROM spectrum_files), "
             "(SELECT count(*) FROM spectra), (SELECT count(*) FROM spectral_timeseries), "
             "(SELECT list(image_id ORDER BY image_id) FROM images), (SELECT list(lc_id ORDER BY lc_id) FROM lightcurves)")  # fmt: skip
    report = Lake(tmp_path / "lake", executor=dask_client).import_files([products])
    assert (report.ingested, report.skipped) == (8, 1), report.problems
    assert Lake(tmp_path / "lake").sql(query).fetchall() == Lake(lake_root).sql(query).fetchall()


def test_verify_reports_a_lost_spectrum_file_and_forgets_it_when_asked(lake_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "lake"
    shutil.copytree(lake_root, root)
    lake = Lake(root)
    lost = lake.sql("SELECT data_file FROM spectrum_files WHERE mission = 'HST'").fetchall()[0][0]
    (root / lost).unlink()
    report = lake.verify()
    assert report.missing == [lost] and not report.consistent
    report = lake.verify(forget_missing=True)
    assert report.forgotten == [lost]
    assert lake.sql("SELECT count(*) FROM spectrum_files WHERE mission = 'HST'").fetchall() == [(0,)]
    assert lake.sql("SELECT state FROM products WHERE file_name = ?", [Path(obsgen.HST_COS_X1D).name]).fetchall() == [
        ("failed",)
    ]
    assert lake.verify().consistent and len(lake.spectra(mission="JWST")) > 0
