"""Harvesting over loopback: the real astroquery client and our downloader against the MAST-compatible server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from astropy.io import fits

from larun_lake import Lake, MastUnavailableError, UsageError
from tests.fitsgen import write_spoc_lightcurve
from tests.mast_server import Fault, MastServer
from tests.mast_server.fixtures import make_tic_rows

from .conftest import FIXTURES, SPOC_S1, run_cli

SERVED = [FIXTURES / d for d in ("tess_spoc", "tess_spoc_renamed", "tess_hlsp", "kepler", "k2")]


@pytest.fixture
def server():
    with MastServer(fits_dir=SERVED, tic_rows=make_tic_rows(), names={"HAT-P-2": (245.151491, 41.048086)}) as srv:
        yield srv


@pytest.fixture
def lake(tmp_path: Path, server: MastServer, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setenv("LARUN_LAKE_MAST_URL", server.url)
    monkeypatch.setenv("LARUN_LAKE_RESOLVER_URL", server.url + "/Santa-war/query")
    monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "2")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return Lake(tmp_path / "lake")


def test_harvest_spoc_light_curves_of_a_target(lake: Lake, server: MastServer) -> None:
    report = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", exptime=120)
    assert report.ok and report.ingested == 2  # sectors 1 and 6
    rows = lake.sql("SELECT lc_id, data_uri, run_id FROM lightcurves ORDER BY lc_id").fetchall()
    assert [r[0] for r in rows] == ["TESS:SPOC:25155310:s0001:120", "TESS:SPOC:25155310:s0006:120"]
    assert all(r[1].startswith("mast:TESS/product/") and r[2] == report.run_id for r in rows)
    states = lake.sql("SELECT state, count(*) FROM products GROUP BY ALL").fetchall()
    assert states == [("ingested", 2)]
    assert not any((lake.path / "raw").rglob("*.fits"))  # removed once ingested
    run = lake.sql("SELECT command, mast_url, astroquery_version FROM runs").fetchall()[0]
    assert run[0] == "harvest lightcurves" and run[1] == server.url and run[2]
    # Few requests: one observation query, one product query (plus column configs), one download each.
    assert server.count("download") == 2
    assert report.metadata_requests <= 4


def test_second_run_downloads_nothing_and_max_age_asks_nothing(lake: Lake, server: MastServer) -> None:
    lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC")
    server.reset_counts()
    again = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC")
    assert again.ingested == 0 and again.n_to_fetch == 0
    assert server.count("download") == 0 and server.count("invoke") > 0
    server.reset_counts()
    cached = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", max_age="1h")
    assert cached.n_products == 2 and len(server.requests) == 0


def test_offline_answers_from_remembered_searches(lake: Lake, server: MastServer) -> None:
    lake.harvest_lightcurves("TIC 39903405", mission="TESS", dry_run=True)
    server.stop()
    report = lake.harvest_lightcurves(["TIC 39903405", "TIC 1"], mission="TESS", offline=True)
    assert report.n_products == 6  # SPOC, TESS-SPOC and QLP for sectors 24 and 25
    assert report.unknown_targets == ["1"]


def test_dry_run_counts_and_bytes(lake: Lake, server: MastServer) -> None:
    report = lake.harvest_lightcurves("TIC 39903405", mission="TESS", author="QLP", dry_run=True)
    expected = sorted((FIXTURES / "tess_hlsp").glob("hlsp_qlp*"))
    assert report.n_to_fetch == len(expected) == 2
    assert report.bytes_to_fetch == sum(p.stat().st_size for p in expected)
    assert server.count("download") == 0
    assert lake.sql("SELECT count(*) FROM lightcurves").fetchall() == [(0,)]


def test_harvest_many_targets_in_few_requests(lake: Lake, server: MastServer, tmp_path: Path) -> None:
    tics = list(range(200_000_001, 200_000_031))
    for tic in tics:
        for sector in (1, 2):
            server.add_file(write_spoc_lightcurve(tmp_path / "gen", tic_id=tic, sector=sector, n_cadences=2000))
    report = lake.harvest_lightcurves([f"TIC {t}" for t in tics], mission="TESS", author="SPOC", workers=8)
    assert report.ok and report.ingested == 60
    assert lake.sql("SELECT count(DISTINCT target_id) FROM lightcurves").fetchall() == [(30,)]
    assert server.count("invoke", "Mast.Caom.Filtered") == 1  # one observation query for 30 targets
    assert server.count("invoke", "Mast.Caom.Products") == 1
    assert report.requests_per_lightcurve < 1.2


@pytest.mark.parametrize("fault", [
    Fault(kind="download", status=503, retry_after=0.2, times=3),
    Fault(kind="download", status=429, retry_after=0.1, times=2),
    Fault(kind="download", drop=True, times=2),
    Fault(kind="download", truncate=0.5, times=2),
    Fault(kind="download", stall=5.0, times=1),
    Fault(kind="invoke", status=503, times=2),
    Fault(kind="invoke", executing=True, times=1),
    Fault(kind="columnsconfig", drop=True, times=1),
], ids=["503", "429", "drop", "truncate", "stall", "invoke-503", "executing", "config-drop"])
def test_faults_are_survived(lake: Lake, server: MastServer, fault: Fault) -> None:
    server.add_fault(fault)
    report = lake.harvest_lightcurves("TIC 39903405", mission="TESS", workers=2)
    assert report.ok, report.problems
    assert report.ingested == 6
    assert fault.hits >= 1
    assert lake.sql("SELECT count(*) FROM lightcurves").fetchall() == [(6,)]


def test_a_product_that_keeps_failing_is_marked_failed_and_retried_next_run(lake: Lake, server: MastServer) -> None:
    bad = next(p["dataURI"] for p in server.products if p["productFilename"].startswith("hlsp_qlp_tess_ffi_s0024"))
    server.add_fault(Fault(kind="download", uri=bad, status=500, times=100))
    report = lake.harvest_lightcurves("TIC 39903405", mission="TESS")
    assert not report.ok and report.failed == 1 and report.ingested == 5
    row = lake.sql("SELECT state, attempts, last_error FROM products WHERE product_uri = ?", [bad]).fetchall()[0]
    assert row[0] == "failed" and row[1] == 1 and "500" in row[2]
    server.clear_faults()
    again = lake.harvest_lightcurves("TIC 39903405", mission="TESS")
    assert again.ok and again.ingested == 1 and server.count("download") >= 1


def test_reprocessed_product_is_fetched_again_and_supersedes(lake: Lake, server: MastServer, tmp_path: Path) -> None:
    lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", sectors="1")
    newer = tmp_path / SPOC_S1.name
    with fits.open(SPOC_S1) as hdul:
        hdul[0].header["DATA_REL"] = 99
        for i in range(40):  # more header blocks: MAST lists a different size
            hdul[0].header.add_history(f"reprocessed step {i}")
        hdul.writeto(newer, checksum=True)
    uri = next(p["dataURI"] for p in server.products if p["productFilename"] == SPOC_S1.name)
    server.replace_file(uri, newer)
    report = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", sectors="1")
    assert report.ingested == 1 and report.superseded == 1
    versions = lake.sql("SELECT data_rel, is_current FROM lightcurve_versions ORDER BY data_rel").fetchall()
    assert versions == [(42, False), (99, True)]


def test_keep_fits_uses_mast_layout_that_lightkurve_reads(lake: Lake) -> None:
    import lightkurve as lk

    lake.harvest_lightcurves("KIC 10002792", mission="Kepler", keep_fits=True)
    kept = sorted((lake.path / "raw" / "mastDownload").rglob("*.fits"))
    assert len(kept) == 2 and all(p.parts[-3] == "Kepler" for p in kept)
    assert len(lk.read(str(kept[0])).flux) > 4000


def test_tic_harvest_by_ids_cone_and_criteria(lake: Lake) -> None:
    report = lake.harvest_tic(ids=[25155310, 39903405, 1_000_000_005])
    assert report.fetched == 3 and report.new == 3
    assert lake.sql("SELECT id FROM tic ORDER BY id").fetchall() == [(25155310,), (39903405,), (1_000_000_005,)]
    again = lake.harvest_tic(ids=[25155310])
    assert again.replaced == 1 and lake.sql("SELECT count(*) FROM tic").fetchall() == [(3,)]
    center = lake.sql("SELECT ra, dec FROM tic WHERE id = 25155310").fetchall()[0]
    cone = lake.harvest_tic(cone=(center[0], center[1], 0.5))
    assert cone.fetched >= 5
    near = lake.sql("SELECT count(*) FROM tic_cone(?, ?, 0.5)", list(center)).fetchall()[0][0]
    assert near == cone.fetched
    crit = lake.harvest_tic(where="Tmag < 9 AND Teff BETWEEN 7000 AND 9000",
                            cone=(center[0], center[1], 1.0))
    # Of the five stars brighter than Tmag 9 near the centre, three have Teff 7000-9000 K.
    assert crit.fetched == 3
    assert lake.sql("SELECT count(*) FROM tic_cone(?, ?, 1.0) WHERE Tmag < 9", list(center)).fetchall() == [(5,)]
    joined = lake.sql("SELECT count(*) FROM lightcurves l JOIN tic ON tic.id = l.tic_id").fetchall()
    assert joined == [(0,)]


def test_from_sql_harvests_the_selected_tic_ids(lake: Lake) -> None:
    lake.harvest_tic(ids=[39903405, 256364928])
    report = lake.harvest_lightcurves(from_sql="SELECT id FROM tic WHERE Tmag < 8", mission="TESS", author="SPOC")
    assert report.ingested == 1  # TIC 256364928 (Tmag 6.8), sector 41
    with pytest.raises(UsageError, match="must return a column named id"):
        lake.harvest_lightcurves(from_sql="SELECT ra FROM tic", mission="TESS")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"targets": "TIC 1", "mission": "Hubble"}, "unknown mission"),
    ({"targets": "TIC 1", "author": "ELEANOR"}, "unknown author"),
    ({"targets": "TIC 1", "mission": "Kepler", "author": "QLP"}, "does not make"),
    ({"targets": "TIC x1"}, "malformed TIC id"),
    ({"targets": "  , "}, "no targets"),
    ({"targets": "TIC 1", "sectors": "5-2"}, "empty sector range"),
])
def test_bad_input_is_refused_before_any_request(lake: Lake, server: MastServer, kwargs: dict, message: str) -> None:
    targets = kwargs.pop("targets")
    with pytest.raises(UsageError, match=message):
        lake.harvest_lightcurves(targets, **kwargs)
    assert len(server.requests) == 0
    assert not lake.path.exists()


def test_unreachable_server_exits_4(tmp_path: Path) -> None:
    proc = run_cli("--lake", str(tmp_path / "lake"), "harvest", "lightcurves", "--targets", "TIC 1",
                   "--mission", "TESS", "--mast-url", "http://127.0.0.1:9", env={"LARUN_LAKE_TIMEOUT": "1"})
    assert proc.returncode == 4, proc.stderr
    assert "127.0.0.1:9" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_server_raises(lake: Lake) -> None:
    with pytest.raises(MastUnavailableError):
        lake.harvest_tic(ids=[1], mast_url="http://127.0.0.1:9")


def test_product_names_cannot_escape_the_raw_area(lake: Lake, server: MastServer, tmp_path: Path) -> None:
    src = tmp_path / "evil_lc.fits"
    shutil.copy(SPOC_S1, src)
    server.add_file(src, productFilename="../../../../escape_lc.fits", tic_id=25155310, sector=77)
    report = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC")
    assert report.quarantined == 1
    assert "unsafe file name" in report.problems[0][2]
    assert not list(tmp_path.rglob("escape_lc.fits")) and not list(lake.path.parent.rglob("escape_lc.fits"))


def test_a_file_failing_its_fits_checksum_is_fetched_twice_then_quarantined(
    lake: Lake, server: MastServer, tmp_path: Path
) -> None:
    src = tmp_path / "flipped_lc.fits"
    data = bytearray(SPOC_S1.read_bytes())
    data[-20000] ^= 0x01  # one bit of the light-curve table: CHECKSUM no longer holds
    src.write_bytes(bytes(data))
    row = server.add_file(src, tic_id=25155310, sector=77)
    server.reset_counts()
    report = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC")
    assert report.quarantined == 1
    assert report.problems == [(row["dataURI"], "quarantined", "FITS checksum mismatch after a second download")]
    fetched = [r for r in server.requests if r.kind == "download" and r.uri == row["dataURI"]]
    assert len(fetched) == 2
    assert report.downloaded == report.ingested + report.unchanged + 2  # both fetches of the bad file count
    assert lake.sql("SELECT count(*) FROM lightcurves WHERE sector = 77").fetchall() == [(0,)]
    assert not list(lake.path.rglob(row["productFilename"]))  # the bad bytes are not kept


@pytest.mark.slow
def test_harvest_killed_mid_download_resumes_with_each_light_curve_once(tmp_path: Path, server: MastServer) -> None:
    tics = list(range(300_000_001, 300_000_021))
    for tic in tics:
        for sector in (1, 2):
            server.add_file(write_spoc_lightcurve(tmp_path / "gen", tic_id=tic, sector=sector, n_cadences=2000))
    server.latency = 0.05
    lake = tmp_path / "lake"
    cmd = [sys.executable, "-m", "larun_lake", "--lake", str(lake), "--quiet", "harvest", "lightcurves",
           "--targets", ",".join(f"TIC {t}" for t in tics), "--mission", "TESS", "--author", "SPOC",
           "--workers", "2", "--mast-url", server.url]
    env = {**os.environ, "no_proxy": "127.0.0.1,localhost"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while server.count("download") < 12 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lk = Lake(lake)
    assert lk.sql("SELECT count(*), count(DISTINCT lc_id) FROM lightcurves").fetchall() == [(40, 40)]
    assert lk.sql("SELECT count(*) FROM lightcurve_versions").fetchall() == [(40,)]
    assert lk.sql("SELECT count(*) FROM cadences").fetchall() == [(40 * 2000,)]
    assert lk.sql("SELECT count(*) FROM products WHERE state = 'ingested'").fetchall() == [(40,)]
    assert lk.verify().consistent


def test_harvest_by_name_resolves_then_searches_by_position(lake: Lake, server: MastServer) -> None:
    report = lake.harvest_lightcurves("HAT-P-2", mission="TESS", author="SPOC")
    assert report.ok and report.ingested == 2
    assert lake.sql("SELECT DISTINCT target_id FROM lightcurves").fetchall() == [(39903405,)]
    assert server.count("resolve") == 1
    with pytest.raises(UsageError, match="resolve"):
        lake.harvest_lightcurves("No Such Star 12345", mission="TESS")


def test_materialize_fetch_missing_harvests_then_materializes(lake: Lake, server: MastServer, tmp_path: Path) -> None:
    import pandas as pd

    lake.harvest_tic(ids=[413248763, 358108509, 25155310])
    out = tmp_path / "mdwarfs.parquet"
    proc = run_cli("--lake", str(lake.path), "materialize",
                   "SELECT id AS tic_id FROM tic WHERE teff < 3900 AND tmag < 11",
                   "--fetch-missing", "--mission", "TESS", "--author", "SPOC", "--normalize", "--out", str(out),
                   env={"LARUN_LAKE_MAST_URL": server.url, "no_proxy": "127.0.0.1,localhost"})
    assert proc.returncode == 0, proc.stderr
    assert "fetch-missing" in proc.stderr
    df = pd.read_parquet(out)
    # TIC 413248763 (Teff 3505, Tmag 8.7) qualifies; TIC 358108509 is cooler but Tmag 14.3.
    assert set(df["target_id"]) == {413248763}
    assert abs(df.groupby("lc_id")["flux"].median() - 1).max() < 1e-6
    assert lake.sql("SELECT target_id FROM lightcurves").fetchall() == [(413248763,)]
