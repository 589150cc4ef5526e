"""Harvesting pixels over loopback: TESScut cutouts cut by astrocut from synthetic FFI cubes, and pipeline
target pixel files, through the real astroquery client and the project's downloader."""

from __future__ import annotations

from pathlib import Path

import lightkurve as lk
import numpy as np
import pandas as pd
import pytest

from larun_lake import Lake
from tests.mast_server import Fault, MastServer
from tests.mast_server.ffi import STARS
from tests.pixelgen import make_spoc_tpf

from .conftest import FIXTURES, run_cli

TARGET = STARS[0]  # TIC 25155310, on the cubes of sectors 1, 2 and 3
SPOC_LC = FIXTURES / "tess_spoc" / "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"


@pytest.fixture(scope="module")
def tess_tpf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SPOC target pixel file of sector 1 in the real format. (The real fixture was cut short by hand after
    the archive wrote it, so its CHECKSUM fails, and a harvest rightly quarantines such a download.)"""
    return make_spoc_tpf(tmp_path_factory.mktemp("tpf"), TARGET.tic, 1, n_cadences=600, seed=3)


@pytest.fixture(scope="module")
def server(ffi_cubes: dict, tess_tpf: Path):
    tic = pd.DataFrame([{"ID": s.tic, "ra": s.ra, "dec": s.dec, "Tmag": 10.0} for s in STARS])
    with MastServer(fits_files=[SPOC_LC, tess_tpf], cubes=ffi_cubes.values(), tic_rows=tic) as srv:
        for star in STARS:
            srv.add_star(star.tic, star.ra, star.dec)
        yield srv


@pytest.fixture
def lake(tmp_path: Path, clean_mast_server: MastServer, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setenv("LARUN_LAKE_MAST_URL", clean_mast_server.url)
    monkeypatch.setenv("LARUN_LAKE_RESOLVER_URL", clean_mast_server.url + "/Santa-war/query")
    monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "2")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return Lake(tmp_path / "lake")


def _lightkurve_normalized(path: Path, aperture: str | np.ndarray = "default") -> lk.LightCurve:
    tpf = lk.read(str(path))
    return tpf.to_lightcurve(aperture_mask=aperture).remove_nans().normalize()


def _assert_agrees(lake: Lake, lc_id: str, aperture: str | np.ndarray = "default") -> None:
    raw = lake.sql("SELECT p.raw_path FROM lightcurves l JOIN pixel_files p ON p.file_sha256 = l.pixel_sha256 "
                   "WHERE l.lc_id = ?", [lc_id]).fetchall()[0][0]
    ours = lake.materialize(f"SELECT '{lc_id}' AS lc_id", normalize=True).to_pandas()
    theirs = _lightkurve_normalized(lake.path / raw, aperture)
    assert len(ours) == len(theirs) > 0
    assert np.array_equal(ours["time"].to_numpy(), theirs.time.value)
    assert np.allclose(ours["flux"].to_numpy(), theirs.flux.value, rtol=1e-6)
    assert np.array_equal(ours["cadenceno"].to_numpy(), theirs.cadenceno.value)


def test_harvest_cutouts_lists_sectors_once_and_keeps_every_cutout(lake: Lake, clean_mast_server: MastServer) -> None:
    server = clean_mast_server
    report = lake.harvest_cutouts(f"TIC {TARGET.tic}", size=11, sectors="1-13")
    assert report.ok and report.ingested == 3, report.problems
    # One TIC query for the position, one sector list for the target, one cutout request per sector.
    assert server.count("tesscut", "sector") == 1 and server.count("tesscut", "astrocut") == 3
    rows = lake.sql("SELECT target_id, sector, author, aperture, n_good, n_cadences FROM lightcurves "
                    "WHERE author = 'TESScut' ORDER BY sector").fetchall()
    assert [r[:4] for r in rows] == [(TARGET.tic, s, "TESScut", "ap-threshold") for s in (1, 2, 3)]
    assert all(0 < r[4] <= r[5] for r in rows)
    files = lake.sql("SELECT sector, cutout_size, n_rows, n_cols, raw_path, product_type FROM pixel_files "
                     f"WHERE tic_id = {TARGET.tic} ORDER BY sector").fetchall()
    assert [f[:4] for f in files] == [(s, "11x11", 11, 11) for s in (1, 2, 3)]
    assert all(f[4].startswith(f"raw/tesscut/s000{f[0]}/") and (lake.path / f[4]).is_file() for f in files)
    states = lake.sql("SELECT product_type, state, count(*) FROM products GROUP BY ALL").fetchall()
    assert states == [("ffi_cutout", "ingested", 3)]
    assert not list((lake.path / "raw" / "tesscut").glob("_downloads/*"))  # the zips are gone
    for (lc_id,) in lake.sql("SELECT lc_id FROM lightcurves").fetchall():
        _assert_agrees(lake, lc_id)
    tpf = lake.pixels(f"TIC {TARGET.tic}", sector=2)
    assert isinstance(tpf, lk.TessTargetPixelFile) and tpf.shape[1:] == (11, 11)

    # The same request again fetches nothing; a bigger cutout is another product.
    server.reset_counts()
    again = lake.harvest_cutouts(f"TIC {TARGET.tic}", size=11)
    assert again.ingested == 0 and again.n_to_fetch == 0 and again.in_lake == 3
    assert server.count("tesscut", "astrocut") == 0
    bigger = lake.harvest_cutouts(f"TIC {TARGET.tic}", size="15", sectors="2")
    assert bigger.ingested == 1 and server.count("tesscut", "astrocut") == 1
    sizes = lake.sql("SELECT cutout_size, count(*) FROM pixel_files GROUP BY 1 ORDER BY 1").fetchall()
    assert sizes == [("11x11", 3), ("15x15", 1)]
    assert len(lake.pixels(f"TIC {TARGET.tic}", sector=2)) == 2  # both sizes: a collection
    # Another aperture is made from the kept cutouts, without asking TESScut again.
    server.reset_counts()
    wider = lake.harvest_cutouts(f"TIC {TARGET.tic}", size=11, aperture="all")
    assert wider.ingested == 3 and server.count("tesscut", "astrocut") == 0


def test_cutout_faults_are_retried_then_recorded(lake: Lake, clean_mast_server: MastServer) -> None:
    server = clean_mast_server
    server.add_fault(Fault(kind="tesscut", service="sector", status=503, retry_after=0.2))
    server.add_fault(Fault(kind="tesscut", service="astrocut", uri="sector=1", status=503, retry_after=0.2))
    server.add_fault(Fault(kind="tesscut", service="astrocut", uri="sector=2", truncate=0.5))
    server.add_fault(Fault(kind="tesscut", service="astrocut", uri="sector=3", corrupt=True, times=2))
    report = lake.harvest_cutouts(f"TIC {TARGET.tic}", size=5)
    assert report.ingested == 2 and report.quarantined == 1, report.problems
    assert server.count("tesscut", "sector") == 2  # the 503 was retried after its Retry-After
    state = dict(lake.sql("SELECT split_part(obs_id, '-', 2), state || ': ' || coalesce(last_error, '') "
                          "FROM products").fetchall())
    assert state["s0001"].startswith("ingested") and state["s0002"].startswith("ingested")
    assert state["s0003"] == "quarantined: truncated or corrupt cutout zip after a second download"
    # Quarantined stays put unless asked; asked, it is fetched again (the fault is spent).
    server.reset_counts()
    assert lake.harvest_cutouts(f"TIC {TARGET.tic}", size=5).n_to_fetch == 0
    retried = lake.harvest_cutouts(f"TIC {TARGET.tic}", size=5, retry_quarantined=True)
    assert retried.ingested == 1 and server.count("tesscut", "astrocut") == 1


def test_a_stalled_cutout_fails_and_the_next_run_fetches_it(lake: Lake, clean_mast_server: MastServer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    server = clean_mast_server
    monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "0.5")
    server.add_fault(Fault(kind="tesscut", service="astrocut", uri="sector=1", stall=3.0, times=10))
    report = lake.harvest_cutouts(f"TIC {TARGET.tic}", size=5, sectors="1,2")
    assert report.ingested == 1 and report.failed == 1
    failed = lake.sql("SELECT state, attempts, last_error FROM products WHERE obs_id LIKE 'tess-s0001%'").fetchall()
    assert failed[0][0] == "failed" and failed[0][1] == 1 and "timed out" in failed[0][2]
    server.clear_faults()
    again = lake.harvest_cutouts(f"TIC {TARGET.tic}", size=5, sectors="1,2")
    assert again.ingested == 1 and again.n_to_fetch == 1


def test_harvest_pixels_takes_pipeline_target_pixel_files_only(lake: Lake, clean_mast_server: MastServer,
                                                              tess_tpf: Path) -> None:
    server = clean_mast_server
    report = lake.harvest_pixels(f"TIC {TARGET.tic}", mission="TESS", author="SPOC")
    assert report.ok and report.ingested == 1 and server.count("download") == 1, report.problems
    row = lake.sql("SELECT lc_id, author, aperture, n_cadences FROM lightcurves").fetchall()
    assert row == [(f"TESS:SPOC-TPF:{TARGET.tic}:s0001:120:ap-pipeline", "SPOC-TPF", "ap-pipeline", 600)]
    raw = lake.sql("SELECT raw_path FROM pixel_files").fetchall()[0][0]
    assert raw.startswith("raw/mastDownload/TESS/") and (lake.path / raw).read_bytes() == tess_tpf.read_bytes()
    assert lake.sql("SELECT product_type, state FROM products").fetchall() == [("target_pixel", "ingested")]
    _assert_agrees(lake, row[0][0])
    server.reset_counts()
    again = lake.harvest_pixels(f"TIC {TARGET.tic}", mission="TESS", author="SPOC")
    assert again.ingested == 0 and again.n_to_fetch == 0 and server.count("download") == 0
    # Another aperture is made from the kept file: nothing is downloaded.
    server.reset_counts()
    wider = lake.harvest_pixels(f"TIC {TARGET.tic}", mission="TESS", author="SPOC", aperture="all")
    assert wider.ingested == 1 and server.count("download") == 0
    assert lake.sql("SELECT aperture FROM lightcurves ORDER BY 1").fetchall() == [("ap-all",), ("ap-pipeline",)]
    # The light curves are a separate harvest, from the same remembered search.
    server.reset_counts()
    lcs = lake.harvest_lightcurves(f"TIC {TARGET.tic}", mission="TESS", author="SPOC", max_age="1h")
    assert lcs.ingested == 1 and server.count("invoke") == 0


def test_harvest_cutouts_cli_and_bad_input(lake: Lake, clean_mast_server: MastServer) -> None:
    env_lake = str(lake.path)
    proc = run_cli("--lake", env_lake, "harvest", "cutouts", "--targets", f"TIC {TARGET.tic}", "--size", "7",
                   "--sectors", "1")
    assert proc.returncode == 0, proc.stderr
    assert "1 ingested" in proc.stderr
    out = run_cli("--lake", env_lake, "sql", "SELECT target_id, sector, author, aperture FROM lightcurves "
                  "WHERE author = 'TESScut'", "--format", "csv")
    assert out.returncode == 0 and f"{TARGET.tic},1,TESScut,ap-threshold" in out.stdout
    for args, message in [
        (["--size", "0"], "--size '0' is out of range"),
        (["--size", "big"], "is not a cutout size"),
        (["--aperture", "nope"], "--aperture nope: neither a named aperture nor a mask file"),
        (["--targets", "KIC 11904151"], "cutouts are of TESS full-frame images"),
    ]:
        argv = ["--lake", env_lake, "harvest", "cutouts", *(["--targets", f"TIC {TARGET.tic}"] if "--targets"
                                                           not in args else []), *args]
        bad = run_cli(*argv)
        assert bad.returncode == 2 and message in bad.stderr, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) <= 2


def test_a_kept_cutout_gone_is_fetched_again(lake: Lake, clean_mast_server: MastServer) -> None:
    server = clean_mast_server
    assert lake.harvest_cutouts(f"TIC {TARGET.tic}", size=5, sectors="1").ingested == 1
    kept = lake.path / lake.sql("SELECT raw_path FROM pixel_files").fetchall()[0][0]
    content = kept.read_bytes()
    kept.unlink()
    server.reset_counts()
    again = lake.harvest_cutouts(f"TIC {TARGET.tic}", size=5, sectors="1")
    assert again.n_to_fetch == 1 and again.unchanged == 1 and server.count("tesscut", "astrocut") == 1
    assert kept.read_bytes() == content
    assert lake.verify().consistent


def test_a_refused_pixel_download_is_not_left_in_the_raw_area(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = make_spoc_tpf(tmp_path / "served", 100000077, 2, n_cadences=200, seed=5, aperture=False)
    with MastServer(fits_files=[bad]) as srv:
        monkeypatch.setenv("LARUN_LAKE_MAST_URL", srv.url)
        monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "2")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        lake = Lake(tmp_path / "lake")
        report = lake.harvest_pixels("TIC 100000077", mission="TESS", author="SPOC")
    assert report.quarantined == 1 and "no aperture extension" in report.problems[0][2], report.problems
    assert lake.sql("SELECT product_type, state FROM products").fetchall() == [("target_pixel", "quarantined")]
    assert not [p for p in (lake.path / "raw").rglob("*") if p.is_file()]


def test_a_reprocessed_pixel_file_does_not_overwrite_the_kept_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = make_spoc_tpf(tmp_path / "v1", 100000078, 2, n_cadences=200, seed=5)
    second = make_spoc_tpf(tmp_path / "v2" / first.name, 100000078, 2, n_cadences=260, seed=6)  # same name
    with MastServer(fits_files=[first]) as srv:
        monkeypatch.setenv("LARUN_LAKE_MAST_URL", srv.url)
        monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "2")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        lake = Lake(tmp_path / "lake")
        assert lake.harvest_pixels("TIC 100000078", mission="TESS", author="SPOC").ingested == 1
        srv.replace_file(srv.products[0]["dataURI"], second)  # MAST reprocessed it under the same name
        assert lake.harvest_pixels("TIC 100000078", mission="TESS", author="SPOC").ingested == 1
    rows = lake.sql("SELECT raw_path, n_cadences FROM pixel_file_versions ORDER BY n_cadences").fetchall()
    assert [r[1] for r in rows] == [200, 260] and rows[0][0] != rows[1][0]
    assert (lake.path / rows[0][0]).read_bytes() == first.read_bytes()  # the older version's pixels are intact
    assert (lake.path / rows[1][0]).read_bytes() == second.read_bytes()
    assert lake.verify().consistent


@pytest.mark.parametrize("member", ["../../../catalog.duckdb.fits", "/etc/evil.fits", "s0001/../../x.fits"])
def test_a_cutout_zip_cannot_write_outside_the_raw_area(tmp_path: Path, member: str) -> None:
    """A zip member name with folders (relative or absolute) lands in raw/tesscut/<sector>/ by its base name."""
    import zipfile

    from larun_lake.config import Settings
    from larun_lake.harvest.cutouts import Cutout, CutoutHarvest

    lake = Lake(tmp_path / "lake")
    lake.catalog.create_if_missing()
    harvest = CutoutHarvest(lake.catalog, Settings.resolve(tmp_path / "lake"), client=None)
    zipped = tmp_path / "evil.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr(member, b"SIMPLE  =                    T")
    cutout = Cutout("TIC 1", 1, 10.0, 20.0, "tess-s0001-1-1", 1, 1, 1, 5, 5)
    written = harvest._unpack(cutout, zipped)
    assert written.parent == (tmp_path / "lake" / "raw" / "tesscut" / "s0001")
    assert sorted(p.name for p in tmp_path.rglob("*.fits")) == [Path(member).name]
    assert (tmp_path / "lake" / "catalog.duckdb").stat().st_size > 0  # untouched
