"""The synthetic light curves of tests/fitsgen.py must look like the real MAST products they copy."""

from __future__ import annotations

import datetime as dt
import gzip
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time

from tests.fitsgen import (
    DEFAULT_TEMPLATE_DIR,
    TEMPLATE_FILES,
    kepler_filename,
    make_spoc_set,
    spoc_filename,
    star_params,
    write_kepler_lightcurve,
    write_spoc_lightcurve,
)

pytestmark = pytest.mark.skipif(
    not all((DEFAULT_TEMPLATE_DIR / rel).is_file() for rel in TEMPLATE_FILES.values()),
    reason=f"template light curves not found under {DEFAULT_TEMPLATE_DIR}",
)

TEMPLATES = {kind: DEFAULT_TEMPLATE_DIR / rel for kind, rel in TEMPLATE_FILES.items()}
SPOC_ARGS = {"tic_id": 307210830, "sector": 3, "seed": 11, "tmag": 9.25, "teff": 3400.0, "radius": 0.31,
             "ra": 124.5319, "dec": -68.3130, "data_rel": 4, "procver": "spoc-3.3.48-20181212"}
# Integrity cards: real products carry CHECKSUM only, generated ones add DATASUM (both end the header).
VOLATILE = {"CHECKSUM", "DATASUM"}


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fitsgen")
    return {
        "tess": write_spoc_lightcurve(folder, **SPOC_ARGS),
        "tess_fast": write_spoc_lightcurve(folder, tic_id=261136679, sector=29, exptime_s=20, n_cadences=6000),
        "kepler": write_kepler_lightcurve(folder, kepler_id=11446443, quarter=5, seed=11),
        "k2": write_kepler_lightcurve(folder, kepler_id=211089792, campaign=4, seed=11),
    }


def _template_kind(name: str) -> str:
    return "tess" if name.startswith("tess") else name


def _keys(header: fits.Header) -> list[str]:
    return ["TMOFST" if k.startswith("TMOFST") else k for k in header if k not in VOLATILE]


def _quality(hdul: fits.HDUList) -> np.ndarray:
    return hdul[1].data["QUALITY" if "QUALITY" in hdul[1].columns.names else "SAP_QUALITY"]


# ---------------------------------------------------------------- names


def test_filenames_match_real_mast_names() -> None:
    real = sorted((DEFAULT_TEMPLATE_DIR / "tess_spoc").glob("tess*-s_lc.fits"))
    assert real, "no SPOC fixtures to compare names with"
    for path in real:  # tess<stamp>-s<sector>-<tic>-<scid>-s_lc.fits
        sector, tic = int(path.name.split("-")[1][1:]), int(path.name.split("-")[2])
        assert spoc_filename(tic, sector) == path.name
    assert spoc_filename(261136679, 29, exptime_s=20) == "tess2020238165205-s0029-0000000261136679-0193-a_fast-lc.fits"
    assert spoc_filename(1, 70).startswith("tess2023") and spoc_filename(1, 70).endswith("-s_lc.fits")
    for path in (DEFAULT_TEMPLATE_DIR / "kepler").glob("kplr*_llc.fits"):
        quarter = fits.getval(path, "QUARTER")
        assert kepler_filename(int(path.name[4:13]), quarter=quarter) == path.name
    assert kepler_filename(211117077, campaign=4) == TEMPLATES["k2"].name
    assert kepler_filename(8462852, quarter=9, short_cadence=True) == "kplr008462852-2011177032512_slc.fits"
    assert kepler_filename(200071160, campaign=91) == "ktwo200071160-c91_llc.fits"


# ---------------------------------------------------------------- format fidelity


@pytest.mark.parametrize("name", ["tess", "tess_fast", "kepler", "k2"])
def test_structure_columns_and_keywords_match_template(products: dict[str, Path], name: str) -> None:
    with fits.open(products[name]) as gen, fits.open(TEMPLATES[_template_kind(name)]) as real:
        assert [(type(h), h.name) for h in gen] == [(type(h), h.name) for h in real]
        gen_cols, real_cols = gen[1].columns, real[1].columns
        assert gen_cols.names == real_cols.names
        assert gen_cols.formats == real_cols.formats
        assert gen_cols.units == real_cols.units
        assert gen_cols.disps == real_cols.disps
        assert gen[1].data.dtype == real[1].data.dtype  # >f8 TIME, >f4 fluxes, >i4 QUALITY ...
        assert gen[2].data.dtype == real[2].data.dtype and gen[2].data.shape == real[2].data.shape
        for g, r in zip(gen, real, strict=True):
            # same cards in the same order; only DATASUM is new (real files carry CHECKSUM only)
            assert _keys(g.header) == _keys(r.header)
            assert set(g.header) - set(r.header) <= VOLATILE | {k for k in g.header if k.startswith("TMOFST")}
            for key in _keys(r.header):
                real_value = r.header.get(key)
                if key != "TMOFST" and real_value is not None and not isinstance(real_value, fits.card.Undefined):
                    assert type(g.header[key]) is type(real_value), key  # e.g. Kepler TEFF stays an int


def test_changed_keywords_describe_the_product(products: dict[str, Path]) -> None:
    a = SPOC_ARGS
    with fits.open(products["tess"]) as hdul:
        h0, h1, h2 = (h.header for h in hdul)
        for h in (h0, h1, h2):
            assert h["TICID"] == a["tic_id"] and h["OBJECT"] == f"TIC {a['tic_id']}"
            assert h["RA_OBJ"] == pytest.approx(a["ra"]) and h["DEC_OBJ"] == pytest.approx(a["dec"])
        assert (h0["SECTOR"], h0["DATA_REL"], h0["PROCVER"]) == (a["sector"], a["data_rel"], a["procver"])
        assert (h0["TESSMAG"], h0["TEFF"], h0["RADIUS"]) == pytest.approx((a["tmag"], a["teff"], a["radius"]))
        assert 1 <= h0["CAMERA"] <= 4 and 1 <= h0["CCD"] <= 4
        assert f"TMOFST{h0['CAMERA']}{h0['CCD']}" in h1
        assert h0["SIMDATA"] is True and h1["SIMDATA"] is True  # honest: the data are simulated
        assert (h2["CRVAL1"], h2["CRVAL2"]) == pytest.approx((a["ra"], a["dec"]))
        for key in ("CDPP0_5", "CDPP1_0", "CDPP2_0"):
            assert 5 < h1[key] < 5000
        assert h1["CDPP0_5"] > h1["CDPP1_0"] > h1["CDPP2_0"]
        assert 0 < h1["CROWDSAP"] <= 1 and 0 < h1["FLFRCSAP"] <= 1 and h1["PDCVAR"] > 0
        assert "PDCMETHD" in h1 and "NUMBAND" in h1
    with fits.open(products["kepler"]) as hdul:
        h0 = hdul[0].header
        assert (h0["KEPLERID"], h0["OBJECT"], h0["QUARTER"], h0["MISSION"]) == (11446443, "KIC 11446443", 5, "Kepler")
        assert h0["SEASON"] == 3 and h0["CHANNEL"] in range(1, 85) and 11 < h0["KEPMAG"] < 17
    with fits.open(products["k2"]) as hdul:
        h0 = hdul[0].header
        assert (h0["KEPLERID"], h0["OBJECT"], h0["CAMPAIGN"], h0["MISSION"]) == (211089792, "EPIC 211089792", 4, "K2")
        assert h0["TELESCOP"] == "Kepler" and "QUARTER" not in h0


@pytest.mark.parametrize(("name", "exptime_s"),
                         [("tess", 120), ("tess_fast", 20), ("kepler", 1765.46), ("k2", 1765.46)])
def test_timing_keywords_match_time_column(products: dict[str, Path], name: str, exptime_s: float) -> None:
    with fits.open(products[name]) as hdul:
        h1, data = hdul[1].header, hdul[1].data
        t = data["TIME"]
        assert h1["TIMEDEL"] == pytest.approx(exptime_s / 86400, rel=1e-4)
        assert h1["TSTART"] == pytest.approx(np.nanmin(t) - h1["TIMEDEL"] / 2, abs=1e-9)
        assert h1["TSTOP"] == pytest.approx(np.nanmax(t) + h1["TIMEDEL"] / 2, abs=1e-9)
        assert h1["TELAPSE"] == pytest.approx(h1["TSTOP"] - h1["TSTART"])
        assert h1["LIVETIME"] == pytest.approx(h1["TELAPSE"] * h1["DEADC"]) == h1["EXPOSURE"]
        for key, value in (("DATE-OBS", h1["TSTART"]), ("DATE-END", h1["TSTOP"])):
            expected = Time(value + h1["BJDREFI"], format="jd", scale="tdb").utc.datetime
            assert abs(dt.datetime.fromisoformat(h1[key].rstrip("Z")) - expected) < dt.timedelta(seconds=1)
            if "TSTART" in hdul[0].header:  # SPOC repeats the timing in the primary header
                assert hdul[0].header[key] == h1[key]
        finite = np.isfinite(t)
        assert np.all(np.diff(data["CADENCENO"]) == 1)  # gaps are NaN rows, cadences stay consecutive
        assert 0 < (~finite).sum() < 0.1 * len(t)
        steps = np.diff(t[finite])
        assert np.allclose(steps[steps < 1.5 * h1["TIMEDEL"]], h1["TIMEDEL"], rtol=0, atol=1e-9)


def test_spoc_time_layout(products: dict[str, Path]) -> None:
    with fits.open(products["tess"]) as hdul:
        t = hdul[1].data["TIME"]
        sector = hdul[0].header["SECTOR"]
        assert np.nanmin(t) == pytest.approx(1325.3 + 27.4 * (sector - 1), abs=0.2)
        finite = t[np.isfinite(t)]
        assert 0.7 < np.diff(finite).max() < 1.5  # the mid-sector downlink gap
        gap_at = finite[np.argmax(np.diff(finite))]
        assert abs(gap_at - np.median(finite)) < 2
        assert np.all(_quality(hdul)[np.isnan(t)] & 8)  # gap rows are flagged Earth point


@pytest.mark.parametrize(("name", "flags"), [("tess", "TessQualityFlags"), ("tess_fast", "TessQualityFlags"),
                                             ("kepler", "KeplerQualityFlags"), ("k2", "KeplerQualityFlags")])
def test_flux_errors_and_quality(products: dict[str, Path], name: str, flags: str) -> None:
    import lightkurve.utils

    qf = getattr(lightkurve.utils, flags)
    with fits.open(products[name]) as hdul:
        d, q = hdul[1].data, _quality(hdul)
        timed = np.isfinite(d["TIME"])
        pdc, sap = d["PDCSAP_FLUX"], d["SAP_FLUX"]
        assert 1e3 < np.nanmedian(pdc) < 3e5
        assert np.nanstd(pdc) / np.nanmedian(pdc) < 0.05
        assert np.all(d["PDCSAP_FLUX_ERR"][np.isfinite(pdc)] > 0) and np.all(d["SAP_FLUX_ERR"][np.isfinite(sap)] > 0)
        assert not np.allclose(sap, pdc, equal_nan=True)
        assert np.isnan(pdc[timed]).sum() > np.isnan(sap[timed]).sum()  # PDC blanks more, as in real files
        flagged = (q[timed] != 0).mean()
        assert 0.01 < flagged < 0.12
        assert np.any(q & qf.DEFAULT_BITMASK)
        assert np.any(q & (qf.HARD_BITMASK & ~qf.DEFAULT_BITMASK))  # cadences only "hard" masks drop
        assert np.all(np.isnan(pdc[(q & qf.DEFAULT_BITMASK & ~512 & ~2048) != 0]))
        for col in ("MOM_CENTR1", "MOM_CENTR2", "SAP_BKG", "POS_CORR1"):
            assert np.isfinite(d[col]).mean() > 0.85
        assert 0 < np.nanmedian(d["MOM_CENTR1"]) < 2200 and np.nanstd(d["MOM_CENTR1"]) < 0.5


def test_transit_dip_is_where_the_truth_says(tmp_path: Path) -> None:
    path = write_spoc_lightcurve(tmp_path, tic_id=4242, sector=5, seed=2, tmag=9.0, transit=True)
    planet = star_params(4242, mission="TESS", seed=2, mag=9.0, transit=True).transit
    assert planet is not None and star_params(4242, seed=2, transit=False).transit is None
    with fits.open(path) as hdul:
        t, pdc = hdul[1].data["TIME"], hdul[1].data["PDCSAP_FLUX"]
    phase = (t + 2457000 - planet.t0_bjd + planet.period / 2) % planet.period - planet.period / 2
    core = np.abs(phase) < 0.3 * planet.duration  # flat bottom, away from ingress/egress
    out = np.abs(phase) > planet.duration
    assert core.sum() > 10
    depth = 1 - np.nanmean(pdc[core]) / np.nanmean(pdc[out])
    assert depth == pytest.approx(planet.depth, rel=0.25)


# ---------------------------------------------------------------- lightkurve agreement


def test_lightkurve_reads_spoc(products: dict[str, Path]) -> None:
    import lightkurve as lk

    for name in ("tess", "tess_fast"):
        lc = lk.read(products[name])
        assert isinstance(lc, lk.TessLightCurve)
        with fits.open(products[name]) as hdul:
            h0, d, q = hdul[0].header, hdul[1].data, _quality(hdul)
        assert (lc.meta["TICID"], lc.meta["SECTOR"], lc.meta["AUTHOR"]) == (h0["TICID"], h0["SECTOR"], "SPOC")
        keep = np.isfinite(d["TIME"]) & ((q & lk.utils.TessQualityFlags.DEFAULT_BITMASK) == 0)
        np.testing.assert_array_equal(lc.flux.value, d["PDCSAP_FLUX"][keep])
        np.testing.assert_array_equal(lc.time.value, d["TIME"][keep])
        assert np.isfinite(lc.flux.value).mean() > 0.95
    assert lk.read(products["tess"]).meta["TICID"] == SPOC_ARGS["tic_id"]


@pytest.mark.parametrize(("name", "mission", "key", "value"),
                         [("kepler", "Kepler", "QUARTER", 5), ("k2", "K2", "CAMPAIGN", 4)])
def test_lightkurve_reads_kepler_and_k2(products: dict[str, Path], name: str, mission: str, key: str,
                                        value: int) -> None:
    import lightkurve as lk

    lc = lk.read(products[name])
    assert isinstance(lc, lk.KeplerLightCurve)
    assert (lc.meta["MISSION"], lc.meta[key]) == (mission, value)
    with fits.open(products[name]) as hdul:
        d, q = hdul[1].data, _quality(hdul)
        assert lc.meta["KEPLERID"] == hdul[0].header["KEPLERID"]
    keep = np.isfinite(d["TIME"]) & ((q & lk.utils.KeplerQualityFlags.DEFAULT_BITMASK) == 0)
    np.testing.assert_array_equal(lc.flux.value, d["PDCSAP_FLUX"][keep])
    np.testing.assert_array_equal(lc.quality.value, q[keep])


# ---------------------------------------------------------------- checksums, gzip, determinism


@pytest.mark.parametrize("name", ["tess", "tess_fast", "kepler", "k2"])
def test_checksum_and_datasum_valid(products: dict[str, Path], name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy warns on any checksum/datasum mismatch
        with fits.open(products[name], checksum=True) as hdul:
            hdul.verify("exception")
            for hdu in hdul:
                assert "CHECKSUM" in hdu.header and "DATASUM" in hdu.header
                assert hdu.verify_checksum() == 1 and hdu.verify_datasum() == 1


def test_gzip_is_the_same_file_compressed(tmp_path: Path) -> None:
    plain = write_spoc_lightcurve(tmp_path, tic_id=5, sector=2, n_cadences=1000, seed=1)
    packed = write_spoc_lightcurve(tmp_path, tic_id=5, sector=2, n_cadences=1000, seed=1, gzip=True)
    assert packed.name == plain.name + ".gz"
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    again = write_spoc_lightcurve(tmp_path / "again", tic_id=5, sector=2, n_cadences=1000, seed=1, gzip=True)
    assert again.read_bytes() == packed.read_bytes()  # no timestamp in the gzip header either
    with fits.open(packed, checksum=True) as hdul:
        assert all(h.verify_checksum() == 1 for h in hdul)
    named = write_spoc_lightcurve(tmp_path / "named.fits.gz", tic_id=5, sector=2, n_cadences=1000, seed=1)
    assert named.read_bytes()[:2] == b"\x1f\x8b" and gzip.decompress(named.read_bytes()) == plain.read_bytes()


def test_deterministic_and_distinct(tmp_path: Path) -> None:
    def spoc(folder: str, **kw: int) -> Path:
        args = {"tic_id": 77, "sector": 1, "n_cadences": 2000, "seed": 3} | kw
        return write_spoc_lightcurve(tmp_path / folder, **args)

    first = spoc("a").read_bytes()
    other_seed, other_tic, other_sector = spoc("b", seed=4), spoc("c", tic_id=78), spoc("d", sector=2)
    kepler = write_kepler_lightcurve(tmp_path / "e", kepler_id=77, quarter=3, n_cadences=2000)
    assert spoc("f").read_bytes() == first  # same inputs after other writes: same bytes
    assert write_kepler_lightcurve(tmp_path / "g", kepler_id=77, quarter=3, n_cadences=2000).read_bytes() \
        == kepler.read_bytes()

    with fits.open(tmp_path / "a" / spoc_filename(77, 1)) as ref:
        ref_pdc, ref_h0 = ref[1].data["PDCSAP_FLUX"].copy(), ref[0].header.copy()
    for path in (other_seed, other_tic, other_sector):
        with fits.open(path) as hdul:
            assert not np.array_equal(hdul[1].data["PDCSAP_FLUX"], ref_pdc, equal_nan=True)
    with fits.open(other_tic) as hdul:
        assert hdul[0].header["TESSMAG"] != ref_h0["TESSMAG"] and hdul[0].header["RA_OBJ"] != ref_h0["RA_OBJ"]
    with fits.open(other_sector) as hdul:  # same star seen in another sector
        assert (hdul[0].header["TESSMAG"], hdul[0].header["RA_OBJ"]) == (ref_h0["TESSMAG"], ref_h0["RA_OBJ"])


def test_make_spoc_set_names_distinct_files(tmp_path: Path) -> None:
    paths = make_spoc_set(tmp_path / "set", 7, n_cadences=300, seed=5, first_tic=200, sectors=(1, 2, 3))
    assert len(set(paths)) == 7 and all(p.is_file() for p in paths)
    seen = set()
    for path in paths:
        with fits.open(path) as hdul:
            tic, sector = hdul[0].header["TICID"], hdul[0].header["SECTOR"]
            assert path.name == spoc_filename(tic, sector) and len(hdul[1].data) == 300
            seen.add((tic, sector))
    assert seen == {(200, 1), (200, 2), (200, 3), (201, 1), (201, 2), (201, 3), (202, 1)}


def test_template_dir_is_used(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_spoc_lightcurve(tmp_path, tic_id=1, sector=1, n_cadences=200, template_dir=tmp_path / "nowhere")
    out = write_spoc_lightcurve(tmp_path, tic_id=1, sector=1, n_cadences=200, template_dir=DEFAULT_TEMPLATE_DIR)
    assert out.is_file()


@pytest.mark.benchmark
def test_generation_speed(tmp_path: Path) -> None:
    """Files/s for full 18,000-cadence SPOC files (reported, not asserted)."""
    make_spoc_set(tmp_path / "warm", 2)
    start = time.perf_counter()
    paths = make_spoc_set(tmp_path / "bench", 100, seed=1)
    rate = len(paths) / (time.perf_counter() - start)
    print(f"\nfitsgen: {rate:.0f} SPOC files/s at 18,000 cadences")
