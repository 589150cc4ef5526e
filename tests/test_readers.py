"""Readers: kind detection from headers, column mapping, checksums, and refusal of bad files."""

from __future__ import annotations

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from larun_lake.errors import ProductError
from larun_lake.readers.fitsfile import ones_complement_sum, open_fits
from larun_lake.readers.lightcurve import read_lightcurve, version_key

from .conftest import (
    FIXTURES,
    GOLDEN_STALE,
    K2_C4,
    KEPLER_Q2,
    LIGHTKURVE_READABLE,
    QLP_S24,
    SPOC_S1,
    TESS_SPOC_FFI,
)


def lk_read(path: Path, **kwargs):
    import lightkurve as lk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lk.read(str(path), **kwargs)


@pytest.mark.parametrize(
    ("path", "lc_id", "n_cadences"),
    [
        (SPOC_S1, "TESS:SPOC:25155310:s0001:120", 20076),
        (FIXTURES / "tess_spoc_renamed" / "target_s0006.fits", "TESS:SPOC:25155310:s0006:120", 15678),
        (TESS_SPOC_FFI, "TESS:TESS-SPOC:33910247:s0001:1800", 1337),
        (QLP_S24, "TESS:QLP:39903405:s0024:1800", 1226),
        (FIXTURES / "tess_hlsp" / "hlsp_tess-data-alerts_tess_phot_00055652896-s01_tess_v1_lc.fits",
         "TESS:SPOC:55652896:s0001:120", 20076),
        (KEPLER_Q2, "Kepler:Kepler:10002792:q02:1800", 4354),
        (K2_C4, "K2:K2:211117077:c04:1800", 3470),
        (FIXTURES / "k2_hlsp" / "hlsp_k2sff_k2_lightcurve_221312395-c91_kepler_v1_llc.fits", None, None),
    ],
)
def test_kind_and_identity_come_from_headers(path: Path, lc_id: str | None, n_cadences: int | None) -> None:
    if lc_id is None:
        with pytest.raises(ProductError) as err:
            read_lightcurve(str(path))
        assert err.value.state == "skipped"
        return
    lc = read_lightcurve(str(path))
    assert lc.lc_id == lc_id
    assert lc.meta["n_cadences"] == n_cadences == lc.n_rows


@pytest.mark.parametrize("path", LIGHTKURVE_READABLE, ids=lambda p: p.name)
def test_flux_and_good_cadences_agree_with_lightkurve(path: Path) -> None:
    lc = read_lightcurve(str(path))
    ref = lk_read(path)  # default quality mask, NaN times dropped
    good_time = np.isfinite(lc.columns["time"])
    from larun_lake.quality import bitmask_for

    mask = bitmask_for(lc.meta["mission"], lc.meta["author"], "default", lc.meta["sector"])
    keep = good_time & ((lc.columns["quality"] & mask) == 0)
    np.testing.assert_array_equal(lc.columns["time"][keep], ref.time.value)
    np.testing.assert_array_equal(lc.columns["flux"][keep], np.asarray(ref.flux.value))
    np.testing.assert_array_equal(lc.columns["flux_err"][keep], np.asarray(ref.flux_err.value))
    assert lc.meta["n_good"] == len(ref.remove_nans())
    # MAST's provenance for K2 is 'K2'; lightkurve's reader labels K2 files 'Kepler'.
    expected_author = "K2" if ref.meta.get("MISSION") == "K2" else ref.meta["AUTHOR"]
    assert lc.meta["author"] == expected_author


def test_native_dtypes_are_kept() -> None:
    lc = read_lightcurve(str(SPOC_S1))
    assert lc.columns["time"].dtype == np.float64
    assert lc.columns["flux"].dtype == np.float32
    assert lc.columns["mom_centr1"].dtype == np.float64
    assert lc.columns["quality"].dtype == np.int32
    assert lc.columns["flux"].dtype.isnative


def test_header_metadata() -> None:
    meta = read_lightcurve(str(SPOC_S1)).meta
    assert meta["tic_id"] == 25155310 and meta["sector"] == 1 and meta["quarter"] is None
    assert meta["data_rel"] == 42 and meta["procver"] == "spoc-5.0.10-20200904"
    assert meta["cdpp_1h"] == pytest.approx(280.44348145)
    assert meta["bjdrefi"] == 2457000 and meta["exptime_s"] == 120
    assert meta["cadence_s"] == pytest.approx(120.0)
    kepler = read_lightcurve(str(KEPLER_Q2)).meta
    assert kepler["quarter"] == 2 and kepler["tic_id"] is None and kepler["kepmag"] == pytest.approx(13.005)
    assert kepler["bjdrefi"] == 2454833 and kepler["exptime_s"] == 1800


def test_qlp_flux_is_sap_flux_and_error_is_kspsap_error() -> None:
    lc = read_lightcurve(str(QLP_S24))
    raw = fits.getdata(QLP_S24, 1)
    np.testing.assert_array_equal(lc.columns["flux"], raw["SAP_FLUX"])
    np.testing.assert_array_equal(lc.columns["flux_err"], raw["KSPSAP_FLUX_ERR"])
    assert lc.meta["flux_column"] == "sap_flux"


def test_checksums_verified_with_ones_complement_sum() -> None:
    assert open_fits(SPOC_S1).checksum_ok is True
    assert open_fits(GOLDEN_STALE).checksum_ok is False  # edited after the pipeline wrote CHECKSUM
    assert open_fits(QLP_S24).checksum_ok is None  # QLP files carry no CHECKSUM
    assert ones_complement_sum(b"\x00\x00\x00\x01" * 3) == 3
    assert ones_complement_sum(b"\xff\xff\xff\xff\x00\x00\x00\x02") == 2  # end-around carry


def test_stale_checksum_is_still_read() -> None:
    lc = read_lightcurve(str(GOLDEN_STALE))
    assert lc.meta["checksum_ok"] is False
    assert lc.meta["dropped_columns"] == "RAW_FLUX"


def test_a_target_pixel_file_is_read_into_its_aperture_light_curve() -> None:
    lc = read_lightcurve(str(FIXTURES / "truncated" / "tess25155310-s01-first-cadences.fits.gz"))
    assert lc.meta["author"] == "SPOC-TPF" and lc.meta["aperture"] == "ap-pipeline" and lc.n_rows == 5


def test_a_pixel_file_cut_to_one_image_is_quarantined_as_truncated() -> None:
    with pytest.raises(ProductError, match="truncated FITS file") as err:
        read_lightcurve(str(FIXTURES / "truncated" / "ktwo201907706-c01-first-cadence.fits.gz"))
    assert err.value.state == "quarantined"


def test_lightkurve_derived_file_is_skipped() -> None:
    with pytest.raises(ProductError, match="Unofficial") as err:
        read_lightcurve(str(FIXTURES / "truncated" / "test_TESS_interact_generated_custom-lc.fits"))
    assert err.value.state == "skipped"


def _variant(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b[:2880 * 3], "truncated"),
        (lambda b: b"", "empty file"),
        (lambda b: b"not a fits file at all\n" * 200, "not a FITS file"),
        (lambda b: gzip.compress(b)[:5000], "gzip"),
    ],
    ids=["half", "headers-only", "empty", "text", "cut-gzip"],
)
def test_corrupt_variants_are_quarantined(tmp_path: Path, make, reason: str) -> None:
    path = _variant(tmp_path, "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits", make(SPOC_S1.read_bytes()))
    with pytest.raises(ProductError, match=reason) as err:
        read_lightcurve(str(path))
    assert err.value.state == "quarantined"
    assert str(path) in str(err.value)


def test_bit_flip_in_data_is_read_with_checksum_mismatch(tmp_path: Path) -> None:
    data = bytearray(SPOC_S1.read_bytes())
    data[100_000] ^= 0x10  # inside the LIGHTCURVE table
    path = _variant(tmp_path, "flipped_lc.fits", bytes(data))
    lc = read_lightcurve(str(path))
    assert lc.meta["checksum_ok"] is False


def test_missing_target_id_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "noid_lc.fits"
    with fits.open(SPOC_S1) as hdul:
        del hdul[0].header["TICID"]
        hdul.writeto(path)
    with pytest.raises(ProductError, match="no target id") as err:
        read_lightcurve(str(path))
    assert err.value.state == "quarantined"


def test_unknown_kind_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "mystery.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("X", "E", array=np.ones(3))])]).writeto(path)
    with pytest.raises(ProductError, match="unknown product kind") as err:
        read_lightcurve(str(path))
    assert err.value.state == "quarantined"


def test_gzipped_light_curve_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / (KEPLER_Q2.name + ".gz")
    path.write_bytes(gzip.compress(KEPLER_Q2.read_bytes()))
    plain, packed = read_lightcurve(str(KEPLER_Q2)), read_lightcurve(str(path))
    assert packed.lc_id == plain.lc_id
    np.testing.assert_array_equal(packed.columns["flux"], plain.columns["flux"])
    assert packed.meta["checksum_ok"] is True


def test_version_order_uses_release_then_processing_version() -> None:
    old = {"data_rel": 1, "procver": "spoc-3.3.36-20180925", "filever": "1.0", "file_date": "2018-09-27"}
    new = {"data_rel": 42, "procver": "spoc-5.0.10-20200904", "filever": "1.0", "file_date": "2020-09-10"}
    assert version_key(new) > version_key(old)
    same_rel = dict(old, procver="spoc-3.3.40-20181001")
    assert version_key(same_rel) > version_key(old)


def test_renamed_copy_has_same_identity(tmp_path: Path) -> None:
    copy = tmp_path / "anything.fits"
    shutil.copy(SPOC_S1, copy)
    assert read_lightcurve(str(copy)).lc_id == read_lightcurve(str(SPOC_S1)).lc_id


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/*.fits")), ids=lambda p: p.name)
def test_header_parsing_agrees_with_astropy(path: Path) -> None:
    ff = open_fits(path)
    with fits.open(path) as hdul:
        assert len(hdul) == len(ff.hdus)
        for ours, ref in zip(ff.hdus, hdul, strict=True):
            expected = {k: (None if isinstance(v, fits.card.Undefined) else v)
                        for k, v in ref.header.items() if k and k not in ("COMMENT", "HISTORY")}
            assert ours.header == expected
            assert {k: type(v) for k, v in ours.header.items()} == {k: type(v) for k, v in expected.items()}
            assert ours.offsets["data_start"] == ref._data_offset
