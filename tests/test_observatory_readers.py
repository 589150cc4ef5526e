"""The readers of JWST/HST products give the values astropy reads from the same generated files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from larun_lake.errors import ProductError
from larun_lake.kinds.base import LightCurveData
from larun_lake.readers.image import read_image
from larun_lake.readers.observatory import ImageData, SpectrumData, read_observatory_product
from larun_lake.readers.spectral_timeseries import read_spectral_timeseries
from larun_lake.readers.spectrum import read_spectrum
from larun_lake.readers.whitelight import read_whitelight
from larun_lake.schema import SPECTRAL_TIMESERIES_SCHEMA, SPECTRUM_SCHEMA
from tests.obsgen import HST_COS_X1D, HST_STIS_X1D, JWST_TSO_WHTLT, JWST_TSO_X1DINTS, make_product

STAGE2_X1DINTS = "jw02734002001_04101_00001-seg001_nis_x1dints.fits"
PHOT = "jw01366-o004_t001_nircam_f210m-clear-sub64p_phot.ecsv"
NIRSPEC_X1D = "jw01366004001_04101_00001_nrs1_x1d.fits"
LC_KEYS = {  # what lcfile.py's readers set, and the observatory columns of lightcurve_versions
    "lc_id",
    "mission",
    "author",
    "target_id",
    "tic_id",
    "sector",
    "quarter",
    "campaign",
    "period",
    "segment",
    "exptime_s",
    "cadence_s",
    "n_cadences",
    "n_good",
    "time_start",
    "time_stop",
    "bjdrefi",
    "bjdreff",
    "ra",
    "dec",
    "tmag",
    "kepmag",
    "teff",
    "logg",
    "radius",
    "camera",
    "ccd",
    "procver",
    "data_rel",
    "filever",
    "file_date",
    "cdpp_0_5h",
    "cdpp_1h",
    "cdpp_2h",
    "flux_column",
    "flux_err_column",
    "flux_unit",
    "median_flux_none",
    "median_flux_default",
    "median_flux_hard",
    "median_flux_hardest",
    "dropped_columns",
    "checksum_ok",
    "file_name",
    "file_size",
    "file_sha256",
    "target_name",
    "obs_id",
    "instrument",
    "spectral_order",
    "time_scale",
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _catalog_columns(con_sql: str) -> set[str]:
    import duckdb

    con = duckdb.connect()
    root = Path(__file__).resolve().parents[1] / "sql" / "migrations"
    for f in sorted(root.glob("*.sql")):
        con.execute(f.read_text())
    return {r[0] for r in con.execute(f"DESCRIBE {con_sql}").fetchall()}


# columns only ingest fills, and those of light curves made from pixel files
CATALOG_ONLY = {
    "pixel_sha256",
    "source_sha256",  # set by ingest where one file holds several light curves
    "aperture",
    "n_aperture_pixels",
    "is_current",
    "data_file",
    "row_offset",
    "row_count",
    "ingested_at",
    "superseded_at",
    "superseded_by",
    "run_id",
    "raw_path",
}


# ---------------------------------------------------------------- white-light curves and photometry


@pytest.mark.parametrize(("times", "time_column"), [("bjd", "BJD_TDB"), ("int_mid", "int_mid_BJD_TDB")])
def test_whitelight_gives_one_lightcurve_per_order_with_the_files_values(tmp_path: Path, times, time_column) -> None:
    path = make_product(JWST_TSO_WHTLT, tmp_path, times=times, orders=(1, 2))
    curves = read_whitelight(path)
    table = Table.read(path, format="ascii.ecsv")
    assert [lc.lc_id for lc in curves] == [
        "JWST:JWST:jw02734-o002_t001_niriss_clear-gr700xd-substrip256:1",
        "JWST:JWST:jw02734-o002_t001_niriss_clear-gr700xd-substrip256:2",
    ]
    for order, lc in zip((1, 2), curves, strict=True):
        assert isinstance(lc, LightCurveData) and set(lc.meta) >= LC_KEYS
        np.testing.assert_array_equal(lc.columns["time"], np.asarray(table[time_column]))
        flux = np.asarray(table[f"whitelight_flux_order_{order}"].value)
        np.testing.assert_array_equal(lc.columns["flux"], flux.astype(np.float32))
        assert np.isnan(lc.columns["flux_err"]).all()  # the white_light step writes no error
        np.testing.assert_array_equal(lc.columns["cadenceno"], np.arange(1, 21))
        assert not lc.columns["quality"].any()
        m = lc.meta
        assert (m["mission"], m["author"], m["period"], m["target_id"], m["tic_id"]) == (
            "JWST",
            "JWST",
            "p02734",
            None,
            None,
        )
        assert (m["target_name"], m["instrument"], m["spectral_order"], m["time_scale"]) == (
            "WASP-39",
            "NIRISS",
            order,
            "BJD_TDB",
        )
        assert (m["bjdrefi"], m["bjdreff"], m["segment"]) == (2400000, 0.5, None)
        assert m["obs_id"] == "jw02734-o002_t001_niriss_clear-gr700xd-substrip256"
        spacing = np.median(np.diff(np.asarray(table[time_column]))) * 86400
        assert m["cadence_s"] == pytest.approx(spacing) and m["exptime_s"] == round(spacing)
        assert m["time_start"] == table[time_column].min() and m["time_stop"] == table[time_column].max()
        median = float(np.nanmedian(flux.astype(np.float32)))
        assert m["median_flux_none"] == m["median_flux_default"] == m["median_flux_hardest"] == median
        assert (m["n_good"], m["n_cadences"], m["flux_unit"], m["flux_column"]) == (
            20,
            20,
            "Jy",
            f"whitelight_flux_order_{order}",
        )
        assert m["file_sha256"] == m["sha256"] == _sha(path) and m["file_size"] == path.stat().st_size
        assert m["checksum_ok"] is None


def test_whitelight_of_one_order_has_order_one(tmp_path: Path) -> None:
    (lc,) = read_whitelight(make_product(JWST_TSO_WHTLT, tmp_path, orders=(1,)))
    assert lc.lc_id.endswith(":1") and lc.meta["spectral_order"] == 1 and lc.meta["flux_column"] == "whitelight_flux"


def test_phot_is_one_lightcurve_of_net_aperture_sum(tmp_path: Path) -> None:
    path = make_product(PHOT, tmp_path)
    (lc,) = read_whitelight(path)
    table = Table.read(path, format="ascii.ecsv")
    np.testing.assert_array_equal(lc.columns["time"], np.asarray(table["BJD_TDB"]))
    np.testing.assert_array_equal(lc.columns["flux"], np.asarray(table["net_aperture_sum"].value, dtype=np.float32))
    np.testing.assert_array_equal(
        lc.columns["flux_err"], np.asarray(table["net_aperture_sum_err"].value, dtype=np.float32)
    )
    np.testing.assert_array_equal(lc.columns["sap_bkg"], np.asarray(table["aperture_bkg"].value, dtype=np.float32))
    assert lc.lc_id == "JWST:JWST:jw01366-o004_t001_nircam_f210m-clear-sub64p:0"
    assert (lc.meta["period"], lc.meta["instrument"], lc.meta["spectral_order"]) == ("p01366", "NIRCAM", None)
    assert lc.meta["ra"] == pytest.approx(217.3266) and lc.meta["flux_err_column"] == "net_aperture_sum_err"


@pytest.mark.parametrize(("name", "facts"), [(JWST_TSO_WHTLT, {"times": "utc"}), (PHOT, {"times": "utc"})])
def test_utc_only_tables_are_quarantined(tmp_path: Path, name: str, facts: dict) -> None:
    with pytest.raises(ProductError, match="UTC only") as err:
        read_whitelight(make_product(name, tmp_path, **facts))
    assert err.value.state == "quarantined"


# ---------------------------------------------------------------- spectra


def _trimmed(values, n: int | None) -> np.ndarray:
    return np.asarray(values)[:n] if n is not None else np.asarray(values)


@pytest.mark.parametrize("error_column", ["FLUX_ERROR", "ERROR"])
def test_jwst_x1d_rows_equal_astropy(tmp_path: Path, error_column: str) -> None:
    path = make_product(NIRSPEC_X1D, tmp_path, orders=(1, 2), error_column=error_column, instrument="NIRSPEC")
    spec = read_spectrum(path)
    assert isinstance(spec, SpectrumData) and spec.area == "spectra"
    assert spec.table.schema == SPECTRUM_SCHEMA
    rows = spec.table.to_pydict()
    expected = {
        k: []
        for k in ("spectral_order", "wavelength", "flux", "flux_error", "dq", "surf_bright", "background", "npixels")
    }
    with fits.open(path) as hdul:
        for hdu in hdul[1:3]:
            t = Table.read(hdu)
            n = len(t)
            expected["spectral_order"] += [hdu.header["SPORDER"]] * n
            for lake, col in (
                ("wavelength", "WAVELENGTH"),
                ("flux", "FLUX"),
                ("flux_error", error_column),
                ("dq", "DQ"),
                ("surf_bright", "SURF_BRIGHT"),
                ("background", "BACKGROUND"),
                ("npixels", "NPIXELS"),
            ):
                expected[lake] += np.asarray(t[col]).tolist()
    for key, values in expected.items():
        assert rows[key] == values, key
    assert set(rows["spec_id"]) == {"JWST:JWST:jw01366004001_04101_00001_nrs1:x1d"}
    assert set(rows["segment"]) == {None} and set(rows["net"]) == {None}
    m = spec.meta
    assert (m["mission"], m["author"], m["period"], m["suffix"], m["n_orders"], m["n_wavelengths"]) == (
        "JWST",
        "JWST",
        "p01366",
        "x1d",
        2,
        200,
    )
    assert (m["instrument"], m["grating"], m["filter"], m["wavelength_unit"], m["flux_unit"]) == (
        "NIRSPEC",
        "G395H",
        "F290LP",
        "um",
        "Jy",
    )
    assert m["wavelength_min"] == min(expected["wavelength"]) and m["checksum_ok"] is True
    assert m["file_sha256"] == _sha(path)


@pytest.mark.parametrize(("name", "instrument"), [(HST_COS_X1D, "COS"), (HST_STIS_X1D, "STIS")])
def test_hst_x1d_rows_equal_astropy(tmp_path: Path, name: str, instrument: str) -> None:
    path = make_product(name, tmp_path, instrument=instrument)
    spec = read_spectrum(path)
    rows = spec.table.to_pydict()
    t = Table.read(path, hdu="SCI")
    expected: dict[str, list] = {
        k: []
        for k in ("spectral_order", "segment", "wavelength", "flux", "flux_error", "dq", "net", "gross", "background")
    }
    for i, row in enumerate(t):
        n = int(row["NELEM"])
        expected["spectral_order"] += [int(row["SPORDER"]) if "SPORDER" in t.colnames else i + 1] * n
        expected["segment"] += [row["SEGMENT"] if "SEGMENT" in t.colnames else None] * n
        for lake, col in (
            ("wavelength", "WAVELENGTH"),
            ("flux", "FLUX"),
            ("flux_error", "ERROR"),
            ("dq", "DQ"),
            ("net", "NET"),
            ("gross", "GROSS"),
            ("background", "BACKGROUND"),
        ):
            expected[lake] += np.asarray(row[col][:n], dtype=np.float64 if lake != "dq" else np.int64).tolist()
    for key, values in expected.items():
        assert rows[key] == values, key
    m = spec.meta
    h0 = fits.getheader(path)
    assert (m["mission"], m["period"], m["instrument"], m["grating"]) == (
        "HST",
        f"p{h0['PROPOSID']:05d}",
        instrument,
        h0["OPT_ELEM"],
    )
    assert m["spec_id"] == f"HST:HST:{path.name.split('_')[0]}:x1d" and m["obs_id"] == h0["ROOTNAME"]
    assert m["exptime_s"] == fits.getheader(path, "SCI")["EXPTIME"]
    assert (m["wavelength_unit"], m["flux_unit"]) == ("angstrom", "erg /s /cm**2 /angstrom")
    assert m["n_orders"] == len(t) and m["layout"] == ("per_segment" if instrument == "COS" else "per_order")


# ---------------------------------------------------------------- spectral time series


@pytest.mark.parametrize(("name", "layout"), [(JWST_TSO_X1DINTS, "per_order"), (STAGE2_X1DINTS, "per_integration")])
def test_x1dints_rows_equal_astropy_in_both_layouts(tmp_path: Path, name: str, layout: str) -> None:
    path = make_product(name, tmp_path, layout=layout, n_ints=20, orders=(1, 2), n_wave=200)
    series = read_spectral_timeseries(path)
    assert series.area == "spectral_timeseries" and series.table.schema == SPECTRAL_TIMESERIES_SCHEMA
    # what astropy reads, in (order, integration, wavelength) order
    expected: dict[tuple[int, int], dict] = {}
    with fits.open(path) as hdul:
        int_mid = dict(
            zip(hdul["INT_TIMES"].data["integration_number"], hdul["INT_TIMES"].data["int_mid_BJD_TDB"], strict=True)
        )
        for hdu in (h for h in hdul if h.name == "EXTRACT1D"):
            t = Table.read(hdu)
            order = hdu.header["SPORDER"]
            if layout == "per_order":
                for row in t:
                    n = int(row["N_ALONGDISP"])
                    expected[(order, int(row["INT_NUM"]))] = {
                        "time": float(row["TDB-MID"]),
                        **{k: np.asarray(row[c][:n]).tolist() for k, c in _SERIES},
                    }
            else:
                expected[(order, hdu.header["INT_NUM"])] = {
                    "time": hdu.header["TDB-MID"],
                    **{k: np.asarray(t[c]).tolist() for k, c in _SERIES},
                }
    rows = series.table.to_pydict()
    flat: dict[str, list] = {"integration": [], "time": [], "spectral_order": [], **{k: [] for k, _ in _SERIES}}
    for (order, integration), values in sorted(expected.items()):
        n = len(values["wavelength"])
        assert values["time"] == int_mid[integration]  # the table's TDB-MID is INT_TIMES' mid time
        flat["integration"] += [integration] * n
        flat["spectral_order"] += [order] * n
        flat["time"] += [values["time"]] * n
        for k, _ in _SERIES:
            flat[k] += values[k]
    for key, values in flat.items():
        assert rows[key] == values, key
    assert len(rows["wavelength"]) == 20 * (200 + 150)  # order 2 has 150 valid bins
    m = series.meta
    assert (m["layout"], m["n_orders"], m["n_integrations"], m["n_wavelengths"]) == (layout, 2, 20, 200)
    assert (m["bjdrefi"], m["bjdreff"]) == (2400000, 0.5)
    assert (m["time_start"], m["time_stop"]) == (min(int_mid.values()), max(int_mid.values()))
    assert (m["exp_type"], m["grating"], m["period"], m["cal_ver"]) == ("NIS_SOSS", "GR700XD", "p02734", "1.18.0")


_SERIES = (
    ("wavelength", "WAVELENGTH"),
    ("flux", "FLUX"),
    ("flux_error", "FLUX_ERROR"),
    ("dq", "DQ"),
    ("surf_bright", "SURF_BRIGHT"),
    ("background", "BACKGROUND"),
)


def test_x1dints_without_table_times_uses_int_times(tmp_path: Path) -> None:
    path = make_product(JWST_TSO_X1DINTS, tmp_path, n_ints=4)
    with fits.open(path, mode="update") as hdul:  # early per-order files left the time columns NaN
        for hdu in hdul[1:3]:
            hdu.data["TDB-MID"][:] = np.nan
        mid = hdul["INT_TIMES"].data["int_mid_BJD_TDB"].copy()
    series = read_spectral_timeseries(path)
    times = dict(zip(series.table["integration"].to_pylist(), series.table["time"].to_pylist(), strict=True))
    assert [times[i] for i in (1, 2, 3, 4)] == mid.tolist()


# ---------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("name", "facts", "filters"),
    [
        ("jw01234001001_02101_00001_nrcalong_cal.fits", {}, "F444W;CLEAR"),
        ("jw01234-o001_t001_nircam_clear-f444w_i2d.fits", {}, "F444W;CLEAR"),
        ("ibcf01abq_flt.fits", {"instrument": "WFC3"}, "F656N"),
        ("j8pu42ecq_drz.fits", {"instrument": "ACS"}, "F658N;CLEAR2L"),
    ],
)
def test_image_header_facts_and_footprint(tmp_path: Path, name: str, facts: dict, filters: str) -> None:
    path = make_product(name, tmp_path, ra=83.82, dec=-5.39, **facts)
    image = read_image(path)
    assert isinstance(image, ImageData)
    m = image.meta
    with fits.open(path) as hdul:
        sci = hdul["SCI"]
        wcs = WCS(sci.header)
        n_y, n_x = sci.data.shape
        ra, dec = wcs.all_pix2world([(n_x - 1) / 2], [(n_y - 1) / 2], 0)
        corners = wcs.all_pix2world([-0.5, n_x - 0.5, n_x - 0.5, -0.5], [-0.5, -0.5, n_y - 0.5, n_y - 0.5], 0)
        h0 = hdul[0].header
        assert (m["n_x"], m["n_y"], m["bunit"]) == (n_x, n_y, sci.header["BUNIT"])
        assert (m["instrument"], m["cal_ver"]) == (h0["INSTRUME"], h0["CAL_VER"])
    assert (m["ra"], m["dec"]) == (float(ra[0]), float(dec[0]))
    values = [float(v) for v in m["s_region"].removeprefix("POLYGON ICRS ").split()]
    np.testing.assert_allclose(values[0::2], corners[0], atol=1e-8)
    np.testing.assert_allclose(values[1::2], corners[1], atol=1e-8)
    # centre to farthest corner: half the diagonal of the array
    scale = 0.063 if name.startswith("jw") else (0.04 if facts["instrument"] == "WFC3" else 0.05)
    assert m["radius_deg"] == pytest.approx(np.hypot(n_x, n_y) / 2 * scale / 3600, rel=1e-3)
    assert m["filters"] == filters and m["mission"] == ("JWST" if name.startswith("jw") else "HST")
    stem, suffix = name.rsplit("_", 1)
    assert m["image_id"] == f"{m['mission']}:{stem}:{suffix.removesuffix('.fits')}"
    assert m["file_sha256"] == _sha(path) and m["checksum_ok"] is True


# ---------------------------------------------------------------- meta keys are catalog columns


def test_meta_keys_are_the_version_columns(tmp_path: Path) -> None:
    spectrum = read_spectrum(make_product(HST_COS_X1D, tmp_path))
    series = read_spectral_timeseries(make_product(JWST_TSO_X1DINTS, tmp_path, n_ints=3))
    image = read_image(make_product("ibcf01abq_flt.fits", tmp_path))
    (lc,) = read_whitelight(make_product(PHOT, tmp_path))
    aliases = {"sha256"}  # the file hash is also given under the name ingest's other readers use
    for meta, table in (
        (spectrum.meta, "spectrum_versions"),
        (series.meta, "spectrum_versions"),
        (image.meta, "image_versions"),
        (lc.meta, "lightcurve_versions"),
    ):
        columns = _catalog_columns(table)
        assert set(meta) - aliases <= columns, set(meta) - aliases - columns
        assert columns - CATALOG_ONLY <= set(meta), columns - CATALOG_ONLY - set(meta)


# ---------------------------------------------------------------- entry point and bad input


def test_entry_point_picks_the_reader_from_the_suffix(tmp_path: Path) -> None:
    assert isinstance(read_observatory_product(make_product(JWST_TSO_WHTLT, tmp_path)), list)
    assert read_observatory_product(make_product(JWST_TSO_X1DINTS, tmp_path, n_ints=2)).area == "spectral_timeseries"
    assert read_observatory_product(make_product(HST_STIS_X1D, tmp_path, instrument="STIS")).area == "spectra"
    assert isinstance(read_observatory_product(make_product("ibcf01abq_flt.fits", tmp_path)), ImageData)
    with pytest.raises(ProductError, match="tracked, not converted") as err:
        read_observatory_product(make_product("jw02734002001_04101_00001-seg001_nis_calints.fits", tmp_path))
    assert err.value.state == "skipped"


def _bad(tmp_path: Path, name: str, content: bytes) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        # an image named x1d: no EXTRACT1D/SCI table
        (
            lambda d: _bad(
                d,
                "jw01234001001_02101_00001_nrcalong_x1d.fits",
                make_product("jw01234001001_02101_00001_nrcalong_cal.fits", d).read_bytes(),
            ),
            "no EXTRACT1D table",
        ),
        (lambda d: _bad(d, "lbgu17qnq_x1d.fits", make_product("ibcf01abq_flt.fits", d).read_bytes()), "no SCI table"),
        # a spectral time series named x1d
        (lambda d: _bad(d, NIRSPEC_X1D, make_product(JWST_TSO_X1DINTS, d, n_ints=2).read_bytes()), "time series"),
        # a spectrum named x1dints is read as a one-integration series only if it has times; this one has none
        (lambda d: _bad(d, JWST_TSO_X1DINTS, make_product(NIRSPEC_X1D, d).read_bytes()), "no BJD_TDB time"),
        # truncated files
        (
            lambda d: _bad(d, JWST_TSO_X1DINTS, make_product(JWST_TSO_X1DINTS, d, n_ints=2).read_bytes()[:20000]),
            "truncated",
        ),
        (lambda d: _bad(d, HST_COS_X1D, make_product(HST_COS_X1D, d).read_bytes()[: 2880 * 3]), "unreadable FITS"),
        (
            lambda d: _bad(d, JWST_TSO_WHTLT, make_product(JWST_TSO_WHTLT, d).read_bytes()[:1500]),
            "truncated ECSV",
        ),
        # text that is not what the name says
        (lambda d: _bad(d, JWST_TSO_WHTLT, b"MJD,flux\n1,2\n"), "not an ECSV"),
        (lambda d: _bad(d, PHOT, make_product(JWST_TSO_WHTLT, d).read_bytes()), "no net_aperture_sum"),
        (lambda d: _bad(d, JWST_TSO_WHTLT, make_product(PHOT, d).read_bytes()), "no whitelight_flux"),
        (lambda d: _bad(d, "ibcf01abq_flt.fits", make_product(HST_COS_X1D, d).read_bytes()), "no SCI image"),
        (lambda d: _bad(d, "ibcf01abq_drz.fits", b""), "empty file"),
        (lambda d: _bad(d, "ibcf01abq_drz.fits", b"hello" * 1000), "not a FITS"),
    ],
    ids=[
        "cal-as-x1d",
        "flt-as-hst-x1d",
        "x1dints-as-x1d",
        "x1d-as-x1dints",
        "truncated-x1dints",
        "truncated-hst-x1d",
        "truncated-whtlt",
        "csv-as-whtlt",
        "whtlt-as-phot",
        "phot-as-whtlt",
        "x1d-as-flt",
        "empty",
        "garbage",
    ],
)
def test_bad_input_is_quarantined_with_one_reason(tmp_path: Path, make, reason: str) -> None:
    src = tmp_path / "src"
    bad = tmp_path / "bad"
    bad.mkdir()
    content = make(src)
    path = bad / content.name
    path.write_bytes(content.read_bytes())
    with pytest.raises(ProductError, match=reason) as err:
        read_observatory_product(path)
    assert err.value.state == "quarantined"
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_telescope_other_than_jwst_or_hst_is_refused(tmp_path: Path) -> None:
    path = make_product(HST_COS_X1D, tmp_path)
    with fits.open(path, mode="update") as hdul:
        hdul[0].header["TELESCOP"] = "TESS"
    with pytest.raises(ProductError, match="TELESCOP is TESS"):
        read_spectrum(path)
