"""Access from Python and notebooks: Lake.lightcurve(s) give what lightkurve.read gives for the same file;
a set's items convert to lightkurve; query results and sets render as HTML tables."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from larun_lake import Lake, LarunLakeError, UsageError
from larun_lake.errors import NotInLakeError

from .conftest import FIXTURES, K2_C4, KEPLER_Q2, QLP_S24, REPO, SPOC_S1, TESS_SPOC_FFI
from .obsgen import JWST_TSO_WHTLT, jwst_stage3_name, make_product

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lightkurve warns about optional extras at import
    import lightkurve as lk

SPOC_S24 = REPO / "data" / "samples" / "tess2020106103520-s0024-0000000039903405-0180-s_lc.fits"
SPOC_S25 = FIXTURES / "tess_spoc" / "tess2020133194932-s0025-0000000039903405-0182-s_lc.fits"
MARKUP = "HAT-P-1 <b>&amp;</b>"
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
    same star, TIC 25155310, a TESS-SPOC FFI light curve, a JWST white-light curve of two orders and one of a
    target whose name holds markup."""
    root = tmp_path_factory.mktemp("access")
    whtlt = make_product(JWST_TSO_WHTLT, root / "jwst")
    marked = make_product(jwst_stage3_name(1366, 4, "t001", "niriss_clear", "whtlt"), root / "jwst", target=MARKUP,
                          orders=(1,))  # fmt: skip
    lake = Lake(root / "lake")
    lake.import_files([REPO / "data" / "samples", SPOC_S25, SPOC_S1, TESS_SPOC_FFI, whtlt, marked])
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
        (
            np.int64(25155310),
            {"flux": "sap", "quality": "hard"},
            SPOC_S1,
            {"flux_column": "sap_flux", "quality_bitmask": "hard"},
        ),
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
    lc, ref = lake.lightcurve("KIC 10002792"), _lk_read(KEPLER_Q2)
    # float32 sums differ in the last bits between the file's big-endian arrays and native ones
    np.testing.assert_allclose(lc.flatten().flux.value, ref.flatten().flux.value, rtol=1e-5)
    folded, ref_folded = lc.fold(period=4.17, epoch_time=170.5), ref.fold(period=4.17, epoch_time=170.5)
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


# -- iterating a set ----------------------------------------------------------------------------------
def test_set_items_stay_light_and_convert_to_lightkurve_one_by_one(lake: Lake) -> None:
    """Iteration yields the lake's own light curves (numpy columns, members); each converts on demand."""
    lcs = lake.materialize("SELECT lc_id FROM lightcurves WHERE tic_id = 39903405", normalize=True)
    items = list(lcs)
    assert [type(lc).__name__ for lc in items] == ["MaterializedLightCurve"] * 4
    whole = lcs.to_lightkurve()
    for item, expected in zip(items, whole, strict=True):
        lc = item.to_lightkurve()
        assert isinstance(lc, lk.TessLightCurve) and lc.meta["LC_ID"] == item.lc_id
        np.testing.assert_array_equal(lc.flux.value, expected.flux.value)
        np.testing.assert_array_equal(lc.time.value, item.time)
        assert lc.meta["TIMEDEL"] == pytest.approx(item.members[0]["cadence_s"] / 86400)
    spoc = next(i for i in items if i.lc_id == "TESS:SPOC:39903405:s0024:120").to_lightkurve()
    assert spoc.meta["EXPOSURE"] == pytest.approx(_lk_read(SPOC_S24).meta["EXPOSURE"], rel=1e-12)
    qlp = next(i for i in items if i.lc_id.startswith("TESS:QLP")).to_lightkurve()
    assert qlp.meta["NORMALIZED"] and qlp.flux.unit == ""  # QLP's flux is normalized by the pipeline


# -- notebooks ------------------------------------------------------------------------------------------
def test_query_result_html_shows_first_and_last_rows_and_the_size(lake: Lake) -> None:
    result = lake.sql("SELECT i, i * 0.5 AS half, 'row ' || i AS label FROM range(50) t(i) ORDER BY i")
    page = result._repr_html_()
    cells = [c.split("</td>")[0] for c in page.split("<td>")[1:]]
    assert cells[:3] == ["0", "0.0", "row 0"] and cells[-3:] == ["49", "24.5", "row 49"]
    assert "row 9" in page and "row 40" in page and "row 10<" not in page and "row 39<" not in page
    assert len(cells) == 21 * 3 and cells[30:33] == ["…"] * 3  # 10 + 10 rows and the ellipsis row between
    assert "50 rows × 3 columns" in page and "<th>half</th>" in page
    small = lake.sql("SELECT lc_id, n_cadences FROM lightcurves WHERE tic_id = 25155310")._repr_html_()
    assert "TESS:SPOC:25155310:s0001:120" in small and "…" not in small and "1 row × 2 columns" in small


def test_query_result_html_escapes_values_and_names_and_shortens_long_ones(lake: Lake) -> None:
    page = lake.sql(
        "SELECT '<script>alert(1)</script>' AS \"<b>name</b>\", NULL AS missing, repeat('x', 500) AS long, "
        "'nan'::DOUBLE AS f, " + ", ".join(f"{i} AS c{i}" for i in range(30))
    )._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<th>&lt;b&gt;name&lt;/b&gt;</th>" in page and "<i>NULL</i>" in page and "NaN" in page
    assert "x" * 79 + "…" in page and "x" * 80 not in page
    assert "<th>c7</th>" in page and "<th>c29</th>" in page and "<th>c8</th>" not in page  # 12 first, 12 last
    assert "1 row × 34 columns" in page


def test_set_html_has_one_row_per_light_curve_without_reading_cadences(lake: Lake, monkeypatch) -> None:
    lcs = lake.materialize("SELECT lc_id FROM lightcurves WHERE mission IN ('TESS', 'JWST')", quality="hard")

    def no_reading(*args, **kwargs):
        raise AssertionError("the notebook view read cadences")

    monkeypatch.setattr(type(lcs), "_batches", no_reading)
    page = lcs._repr_html_()
    rows = page.split("<tr>")[1:]  # the header row has a style
    assert len(rows) == lcs.members.num_rows == 9
    spoc = next(r for r in rows if "TESS:SPOC:25155310:s0001:120" in r)
    cells = [c.split("</td>")[0] for c in spoc.split("<td>")[1:]]
    n_cadences = lake.sql("SELECT n_cadences FROM lightcurves WHERE tic_id = 25155310").fetchall()[0][0]
    assert cells == ["TESS:SPOC:25155310:s0001:120", "TESS", "SPOC", "TIC 25155310", "s0001", "120", str(n_cadences)]
    assert "<th>target</th>" in page and "<th>cadences</th>" in page
    assert "9 light curves; flux=auto, quality=hard, remove_nans=True" in page
    assert "HAT-P-1 &lt;b&gt;&amp;amp;&lt;/b&gt;" in page and "<b>&amp;" not in page
    stitched = lake.materialize("SELECT lc_id FROM lightcurves WHERE tic_id = 39903405", stitch=True)
    assert "4 light curves in 3 stitched series" in stitched._repr_html_()
