"""Lake.lightcurve / Lake.lightcurves: one call gives what lightkurve.read gives for the same file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from larun_lake import Lake, LarunLakeError, UsageError
from larun_lake.errors import NotInLakeError

from .conftest import FIXTURES, K2_C4, KEPLER_Q2, QLP_S24, REPO, SPOC_S1, TESS_SPOC_FFI
from .obsgen import JWST_TSO_WHTLT, make_product

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lightkurve warns about optional extras at import
    import lightkurve as lk

SPOC_S24 = REPO / "data" / "samples" / "tess2020106103520-s0024-0000000039903405-0180-s_lc.fits"
SPOC_S25 = FIXTURES / "tess_spoc" / "tess2020133194932-s0025-0000000039903405-0182-s_lc.fits"
# Header values users read from lc.meta, compared with lightkurve's where the file has them.
KEY_META = [
    "EXPOSURE",
    "TIMEDEL",
    "SECTOR",
    "QUARTER",
    "CAMPAIGN",
    "TICID",
    "KEPLERID",
    "TARGETID",
    "LABEL",
    "OBJECT",
    "FLUX_ORIGIN",
    "MISSION",
    "RA",
    "DEC",
    "TESSMAG",
    "KEPMAG",
    "TEFF",
    "LOGG",
    "RADIUS",
    "CAMERA",
    "CCD",
    "DATA_REL",
    "PROCVER",
    "BJDREFI",
    "CDPP0_5",
    "CDPP1_0",
    "CDPP2_0",
    "NORMALIZED",
    "QUALITY_BITMASK",
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The samples (TIC 39903405 by SPOC, TESS-SPOC and QLP in sector 24; Kepler; K2), SPOC sector 25 of the
    same star, TIC 25155310, a TESS-SPOC FFI light curve and a JWST white-light curve of two orders."""
    root = tmp_path_factory.mktemp("access")
    whtlt = make_product(JWST_TSO_WHTLT, root / "jwst")
    lake = Lake(root / "lake")
    lake.import_files([REPO / "data" / "samples", SPOC_S25, SPOC_S1, TESS_SPOC_FFI, whtlt])
    return lake


def _lk_read(path: Path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lk.read(str(path), **kwargs)


def _values(column) -> np.ndarray:
    return np.asarray(getattr(column, "value", column))


def _unit(column) -> str | None:
    unit = getattr(column, "unit", None)
    return None if unit is None else str(unit)


@pytest.mark.parametrize(
    ("target", "options", "path", "read_options"),
    [
        ("TIC 25155310", {}, SPOC_S1, {}),
        (25155310, {"flux": "sap", "quality": "hard"}, SPOC_S1, {"flux_column": "sap_flux", "quality_bitmask": "hard"}),
        ("TIC 39903405", {"sector": 24, "author": "qlp"}, QLP_S24, {}),
        ("TIC 39903405", {"sector": 25}, SPOC_S25, {}),
        ("TIC 33910247", {"quality": "none"}, TESS_SPOC_FFI, {"quality_bitmask": "none"}),
        ("KIC 10002792", {}, KEPLER_Q2, {}),
        ("EPIC 211117077", {"quality": "hardest"}, K2_C4, {"quality_bitmask": "hardest"}),
    ],
)
def test_lightcurve_equals_lightkurve_read(lake: Lake, target, options: dict, path: Path, read_options: dict) -> None:
    """Same class, time, every column with its unit (NaN fluxes kept, as lightkurve keeps them), same meta."""
    lc = lake.lightcurve(target, **options)
    ref = _lk_read(path, **read_options)
    assert type(lc) is type(ref) and len(lc) == len(ref) > 1000
    assert lc.time.format == ref.time.format and lc.time.scale == ref.time.scale
    np.testing.assert_array_equal(lc.time.value, ref.time.value)
    assert set(lc.columns) == set(ref.columns)
    for name in ref.columns[1:]:
        assert _unit(lc[name]) == _unit(ref[name]), name
        assert type(lc[name]) is type(ref[name]), name  # NaN-holding columns masked, as astropy reads them
        np.testing.assert_array_equal(_values(lc[name]), _values(ref[name]), err_msg=name)
    compared = [key for key in KEY_META if key in ref.meta]
    assert {"EXPOSURE", "TIMEDEL", "LABEL", "FLUX_ORIGIN", "RA"} <= set(compared) or "NORMALIZED" in compared
    for key in compared:
        value, expected = lc.meta.get(key), ref.meta[key]
        expected = None if isinstance(expected, fits.card.Undefined) else expected  # a keyword without a value
        if isinstance(expected, float):  # TIMEDEL is kept as seconds in the catalog
            assert value == pytest.approx(expected, rel=1e-12), key
        else:
            assert value == expected, key
    assert lc.meta["AUTHOR"] == (ref.meta["AUTHOR"] if "K2" not in lc.meta["MISSION"] else "K2")


def test_flatten_fold_and_periodogram_as_on_the_file(lake: Lake) -> None:
    lc, ref = lake.lightcurve("TIC 25155310"), _lk_read(SPOC_S1)
    # float32 sums differ in the last bits between the file's big-endian arrays and native ones
    np.testing.assert_allclose(lc.flatten().flux.value, ref.flatten().flux.value, rtol=1e-5)
    folded, ref_folded = lc.fold(period=4.17, epoch_time=1326.5), ref.fold(period=4.17, epoch_time=1326.5)
    np.testing.assert_array_equal(folded.time.value, ref_folded.time.value)
    np.testing.assert_array_equal(folded.sap_flux.value, ref_folded.sap_flux.value)
    periodogram, ref_periodogram = lc.normalize().to_periodogram(), ref.normalize().to_periodogram()
    assert periodogram.period_at_max_power == ref_periodogram.period_at_max_power
    np.testing.assert_allclose(periodogram.power.value, ref_periodogram.power.value, rtol=1e-4)
    assert lc.bin(time_bin_size=0.5).flux.unit == "electron / s"


def test_lightcurves_gives_every_match_oldest_period_first(lake: Lake) -> None:
    every = lake.lightcurves("TIC 39903405")
    assert isinstance(every, lk.LightCurveCollection)
    assert [(lc.meta["SECTOR"], lc.meta["AUTHOR"]) for lc in every] == [
        (24, "QLP"),
        (24, "SPOC"),
        (24, "TESS-SPOC"),
        (25, "SPOC"),
    ]
    spoc = lake.lightcurves("TIC 39903405", author="SPOC", exptime=120)
    assert [lc.meta["SECTOR"] for lc in spoc] == [24, 25]
    assert all("pdcsap_flux" in lc.columns and "mom_centr1" in lc.columns for lc in spoc)
    stitched = spoc.stitch()
    assert len(stitched) == len(spoc[0]) + len(spoc[1])
    assert len(lake.lightcurves("TESS:QLP:39903405:s0024:1800")) == 1


def test_several_matches_name_the_options_that_pick_one(lake: Lake) -> None:
    with pytest.raises(UsageError) as caught:
        lake.lightcurve("TIC 39903405")
    text = str(caught.value)
    assert "has 4 light curves" in text and "TESS:SPOC:39903405:s0025:120" in text
    assert "sector=24 or 25" in text and "author='QLP', 'SPOC' or 'TESS-SPOC'" in text and "exptime=120 or 1800" in text
    with pytest.raises(UsageError, match=r"author='QLP' or 'TESS-SPOC'"):
        lake.lightcurve("TIC 39903405", sector=24, exptime=1800)
    assert lake.lightcurve("TIC 39903405", sector=24, exptime=1800, author="TESS-SPOC").meta["AUTHOR"] == "TESS-SPOC"
    # Two spectral orders of one JWST observation differ in nothing the options name: the lc_id tells them apart.
    with pytest.raises(UsageError, match="pick one with its lc_id"):
        lake.lightcurve("wasp-39")
    (lc_id,) = [r[0] for r in lake.sql("SELECT lc_id FROM lightcurves WHERE spectral_order = 2").fetchall()]
    jwst = lake.lightcurve(lc_id)
    assert jwst.meta["OBJECT"] == "WASP-39" and jwst.time.scale == "tdb" and len(jwst) == 20
    assert str(jwst.flux.unit) == "Jy" and len(lake.lightcurves("WASP-39")) == 2


def test_nothing_found_and_bad_requests(lake: Lake) -> None:
    with pytest.raises(NotInLakeError, match=r"no light curve of 'TIC 1'.*import or harvest") as caught:
        lake.lightcurve("TIC 1")
    assert isinstance(caught.value, LarunLakeError) and not isinstance(caught.value, UsageError)
    with pytest.raises(NotInLakeError, match=r"none of the 4 light curves .* has sector=3.*it has sector 24, 25"):
        lake.lightcurves("TIC 39903405", sector=3)
    with pytest.raises(NotInLakeError, match="has quarter=2"):
        lake.lightcurve("TIC 25155310", quarter=2)
    with pytest.raises(UsageError, match="bare id '25155310' is ambiguous"):
        lake.lightcurve("25155310")
    with pytest.raises(UsageError, match="malformed TIC id"):
        lake.lightcurve("TIC x5")
    with pytest.raises(UsageError, match="give one of sector, quarter and campaign"):
        lake.lightcurve("KIC 10002792", sector=1, quarter=2)
    with pytest.raises(UsageError, match="'kspsap_flux' is not in TESS/SPOC"):
        lake.lightcurve("TIC 25155310", flux="kspsap_flux")
    with pytest.raises(UsageError, match="unknown flux column"):
        lake.lightcurve("TIC 25155310", flux="pdc")
