"""The generated JWST/HST products of tests/obsgen.py must have the layout their formats document."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from tests.obsgen import (
    HST_COS_X1D,
    HST_STIS_X1D,
    JWST_TSO_WHTLT,
    JWST_TSO_X1DINTS,
    MJD_TO_BJD_TDB,
    jwst_stage3_name,
    make_product,
)

JWST_PRIMARY = (
    "TELESCOP",
    "INSTRUME",
    "DETECTOR",
    "FILTER",
    "PUPIL",
    "EXP_TYPE",
    "TSOVISIT",
    "PROGRAM",
    "OBSERVTN",
    "VISIT",
    "TARGNAME",
    "TARG_RA",
    "TARG_DEC",
    "DATE-OBS",
    "TIME-OBS",
    "EFFEXPTM",
    "CAL_VER",
    "DATE",
    "NINTS",
)
HST_PRIMARY = (
    "TELESCOP",
    "INSTRUME",
    "DETECTOR",
    "OPT_ELEM",
    "CENWAVE",
    "PROPOSID",
    "ROOTNAME",
    "TARGNAME",
    "RA_TARG",
    "DEC_TARG",
    "CAL_VER",
)
# stdatamodels spectable: column -> unit the pipeline writes
SPECTABLE = {
    "WAVELENGTH": "um",
    "FLUX": "Jy",
    "FLUX_ERROR": "Jy",
    "FLUX_VAR_POISSON": "Jy^2",
    "FLUX_VAR_RNOISE": "Jy^2",
    "FLUX_VAR_FLAT": "Jy^2",
    "SURF_BRIGHT": "MJy/sr",
    "SB_ERROR": "MJy/sr",
    "DQ": None,
    "BACKGROUND": "MJy/sr",
    "NPIXELS": None,
}
TSO_EXTRA = ("INT_NUM", "N_ALONGDISP", "SEGMENT", "MJD-BEG", "MJD-AVG", "MJD-END", "TDB-BEG", "TDB-MID", "TDB-END")
INT_TIMES = (
    "integration_number",
    "int_start_MJD_UTC",
    "int_mid_MJD_UTC",
    "int_end_MJD_UTC",
    "int_start_BJD_TDB",
    "int_mid_BJD_TDB",
    "int_end_BJD_TDB",
)


def _units(hdu: fits.BinTableHDU) -> dict[str, str | None]:
    return {c.name: c.unit for c in hdu.columns}


def test_jwst_x1d_has_one_extract1d_per_order_with_the_spectable_columns(tmp_path: Path) -> None:
    path = make_product("jw01366004001_04101_00001_nrs1_x1d.fits", tmp_path, orders=(1, 2), instrument="NIRSPEC")
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "EXTRACT1D", "EXTRACT1D", "ASDF"]
        assert all(k in hdul[0].header for k in JWST_PRIMARY)
        assert hdul[0].header["TELESCOP"] == "JWST" and hdul[0].header["PROGRAM"] == "01366"
        assert [hdul[i].header["SPORDER"] for i in (1, 2)] == [1, 2]
        units = _units(hdul[1])
        assert {k: units[k] for k in SPECTABLE} == SPECTABLE
        assert hdul[1].data["DQ"].dtype == np.uint32
        assert hdul[1].data["WAVELENGTH"].ndim == 1
    # astropy understands every unit the file declares
    assert Table.read(path, hdu=1)["FLUX"].unit == "Jy"


def test_early_jwst_x1d_has_error_instead_of_flux_error(tmp_path: Path) -> None:
    path = make_product("jw01366004001_04101_00001_nrs1_x1d.fits", tmp_path, error_column="ERROR")
    names = fits.getdata(path, "EXTRACT1D").columns.names
    assert "ERROR" in names and "FLUX_ERROR" not in names and "FLUX_VAR_POISSON" not in names


def test_x1dints_per_order_layout(tmp_path: Path) -> None:
    path = make_product(JWST_TSO_X1DINTS, tmp_path)
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "EXTRACT1D", "EXTRACT1D", "INT_TIMES", "ASDF"]
        h0 = hdul[0].header
        assert (h0["EXP_TYPE"], h0["INSTRUME"], h0["NINTS"], h0["TSOVISIT"]) == ("NIS_SOSS", "NIRISS", 20, True)
        for ext, order in ((1, 1), (2, 2)):
            table = hdul[ext]
            assert table.header["SPORDER"] == order
            assert all(c in table.columns.names for c in (*SPECTABLE, *TSO_EXTRA))
            assert table.data["WAVELENGTH"].shape == (20, 200)  # one row per integration, 2-D spectra
            assert list(table.data["INT_NUM"]) == list(range(1, 21))
            assert _units(table)["TDB-MID"] == "d"
        # order 2 is shorter: N_ALONGDISP valid values, NaN after
        o2 = hdul[2].data
        assert set(o2["N_ALONGDISP"]) == {150}
        assert np.isnan(o2["WAVELENGTH"][:, 150:]).all() and np.isfinite(o2["WAVELENGTH"][:, :150]).all()
        times = hdul["INT_TIMES"].data
        assert times.columns.names == list(INT_TIMES)
        np.testing.assert_array_equal(times["int_mid_BJD_TDB"], hdul[1].data["TDB-MID"])
        np.testing.assert_allclose(times["int_mid_BJD_TDB"] - times["int_mid_MJD_UTC"], MJD_TO_BJD_TDB)


def test_x1dints_per_integration_layout(tmp_path: Path) -> None:
    path = make_product(
        "jw02734002001_04101_00001-seg001_nis_x1dints.fits", tmp_path, layout="per_integration", n_ints=5
    )
    with fits.open(path) as hdul:
        spectra = [h for h in hdul if h.name == "EXTRACT1D"]
        assert len(spectra) == 10 and hdul[-2].name == "INT_TIMES" and hdul[-1].name == "ASDF"
        assert [(h.header["INT_NUM"], h.header["SPORDER"]) for h in spectra[:4]] == [(1, 1), (1, 2), (2, 1), (2, 2)]
        assert [h.ver for h in spectra] == list(range(1, 11))
        assert all(h.data["WAVELENGTH"].ndim == 1 for h in spectra)
        assert len(spectra[0].data) == 200 and len(spectra[1].data) == 150
        for h, mid in zip(spectra[::2], hdul["INT_TIMES"].data["int_mid_BJD_TDB"], strict=True):
            assert h.header["TDB-MID"] == mid


@pytest.mark.parametrize(
    ("times", "orders", "columns"),
    [
        ("bjd", (1, 2), ["MJD_UTC", "BJD_TDB", "whitelight_flux_order_1", "whitelight_flux_order_2"]),
        ("bjd", (1,), ["MJD_UTC", "BJD_TDB", "whitelight_flux"]),
        ("int_mid", (1,), ["int_mid_MJD_UTC", "int_mid_BJD_TDB", "whitelight_flux"]),
        ("utc", (1, 2), ["MJD", "whitelight_flux_order_1", "whitelight_flux_order_2"]),
    ],
)
def test_whtlt_is_the_white_light_step_table(tmp_path: Path, times: str, orders: tuple, columns: list) -> None:
    path = make_product(JWST_TSO_WHTLT, tmp_path, times=times, orders=orders)
    assert path.read_text().startswith("# %ECSV")
    table = Table.read(path, format="ascii.ecsv")
    assert table.colnames == columns and len(table) == 20
    assert {k: table.meta[k] for k in ("instrument", "exp_type", "filter", "pupil", "target_name")} == {
        "instrument": "NIRISS",
        "exp_type": "NIS_SOSS",
        "filter": "CLEAR",
        "pupil": "GR700XD",
        "target_name": "WASP-39",
    }
    assert str(table[columns[-1]].unit) == "Jy"
    assert np.all(np.diff(table[columns[0]]) > 0)


@pytest.mark.parametrize("times", ["bjd", "utc"])
def test_phot_is_the_tso_photometry_catalog(tmp_path: Path, times: str) -> None:
    name = jwst_stage3_name(1366, 4, "t001", "nircam_f210m-clear-sub64p", "phot")
    path = make_product(name, tmp_path, times=times)
    table = Table.read(path, format="ascii.ecsv")
    expected = ["MJD", "BJD_TDB"] if times == "bjd" else ["MJD"]
    assert table.colnames[: len(expected)] == expected
    for col in (
        "aperture_sum",
        "aperture_sum_err",
        "annulus_sum",
        "annulus_mean",
        "aperture_bkg",
        "net_aperture_sum",
        "net_aperture_sum_err",
        "aperture_x",
        "aperture_y",
        "aperture_ra_icrs",
        "aperture_dec_icrs",
    ):
        assert col in table.colnames
    assert str(table["net_aperture_sum"].unit) == "Jy" and str(table["aperture_x"].unit) == "pix"
    assert {"instrument", "detector", "filter", "pupil", "target_name", "apertures"} <= set(table.meta)


def test_hst_cos_x1d_rows_are_segments(tmp_path: Path) -> None:
    path = make_product(HST_COS_X1D, tmp_path)
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "SCI"]
        assert all(k in hdul[0].header for k in HST_PRIMARY)
        assert (hdul[0].header["INSTRUME"], hdul[0].header["ROOTNAME"]) == ("COS", "lbgu17qnq")
        data = hdul["SCI"].data
        assert list(data["SEGMENT"]) == ["FUVA", "FUVB"]
        for col in (
            "SEGMENT",
            "EXPTIME",
            "NELEM",
            "WAVELENGTH",
            "FLUX",
            "ERROR",
            "GROSS",
            "NET",
            "BACKGROUND",
            "DQ",
            "DQ_WGT",
        ):
            assert col in data.columns.names
        assert data["WAVELENGTH"].shape == (2, 500)
        assert _units(hdul["SCI"])["FLUX"] == "erg /s /cm**2 /angstrom"
        assert {"EXPTIME", "EXPSTART", "DATE-OBS"} <= set(hdul["SCI"].header)


def test_hst_stis_x1d_rows_are_orders(tmp_path: Path) -> None:
    path = make_product(HST_STIS_X1D, tmp_path, instrument="STIS")
    with fits.open(path) as hdul:
        assert hdul[0].header["INSTRUME"] == "STIS" and hdul[0].header["OPT_ELEM"] == "E140M"
        data = hdul["SCI"].data
        assert list(data["SPORDER"]) == [86, 85, 84]
        assert "SEGMENT" not in data.columns.names and "NET_ERROR" in data.columns.names


@pytest.mark.parametrize(
    ("name", "facts", "extensions"),
    [
        ("jw01234001001_02101_00001_nrcalong_cal.fits", {}, ["PRIMARY", "SCI", "ERR", "DQ", "ASDF"]),
        ("jw01234-o001_t001_nircam_clear-f444w_i2d.fits", {}, ["PRIMARY", "SCI", "ERR", "CON", "WHT", "ASDF"]),
        ("ibcf01abq_flt.fits", {"instrument": "WFC3"}, ["PRIMARY", "SCI", "ERR", "DQ"]),
        ("j8pu42ecq_drz.fits", {"instrument": "ACS"}, ["PRIMARY", "SCI", "WHT", "CTX"]),
    ],
)
def test_images_have_a_celestial_wcs_in_sci(tmp_path: Path, name: str, facts: dict, extensions: list) -> None:
    from astropy.wcs import WCS

    path = make_product(name, tmp_path, ra=83.82, dec=-5.39, **facts)
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == extensions
        wcs = WCS(hdul["SCI"].header)
        assert wcs.has_celestial
        ra, dec = wcs.pixel_to_world_values((hdul["SCI"].data.shape[1] - 1) / 2, (hdul["SCI"].data.shape[0] - 1) / 2)
        assert (float(ra), float(dec)) == pytest.approx((83.82, -5.39), abs=1e-9)
        h0 = hdul[0].header
        if name.startswith("jw"):
            assert (h0["TELESCOP"], h0["FILTER"], h0["PUPIL"]) == ("JWST", "F444W", "CLEAR")
            assert hdul["SCI"].header["BUNIT"] == "MJy/sr"
        elif facts["instrument"] == "ACS":
            assert (h0["FILTER1"], h0["FILTER2"]) == ("F658N", "CLEAR2L") and "FILTER" not in h0
        else:
            assert h0["FILTER"] == "F656N" and {"EXPTIME", "EXPSTART", "DATE-OBS"} <= set(h0)


@pytest.mark.parametrize("suffix", ["calints", "uncal"])
def test_large_products_are_small_cubes(tmp_path: Path, suffix: str) -> None:
    path = make_product(f"jw02734002001_04101_00001-seg001_nis_{suffix}.fits", tmp_path)
    with fits.open(path) as hdul:
        assert hdul["SCI"].data.ndim == (4 if suffix == "uncal" else 3)
        assert "INT_TIMES" in hdul
    assert path.stat().st_size < 100_000


def test_make_product_writes_to_a_folder_or_a_full_path_and_is_deterministic(tmp_path: Path) -> None:
    a = make_product(JWST_TSO_X1DINTS, tmp_path / "a")
    b = make_product(JWST_TSO_X1DINTS, tmp_path / "b" / JWST_TSO_X1DINTS)
    assert a == tmp_path / "a" / JWST_TSO_X1DINTS and b.parent == tmp_path / "b"
    np.testing.assert_array_equal(fits.getdata(a, 1)["FLUX"], fits.getdata(b, 1)["FLUX"])
    with pytest.raises(ValueError, match="no generator"):
        make_product("jw02734-o002_t001_niriss_foo.fits", tmp_path)
