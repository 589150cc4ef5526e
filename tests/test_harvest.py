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
from tests.mast_server.fixtures import bare_tic_rows, make_tic_rows

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


@pytest.mark.parametrize("damage", ["flip", "delete"])
def test_harvesting_again_repairs_a_damaged_data_file(lake: Lake, server: MastServer, damage: str) -> None:
    lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", exptime=120)
    sums = ("SELECT lc_id, count(*), sum(CASE WHEN isfinite(flux) THEN flux::DECIMAL(38, 6) END) FROM cadences "
            "GROUP BY 1 ORDER BY 1")
    expected = lake.sql(sums).fetchall()
    rel = lake.sql("SELECT data_file FROM lightcurves ORDER BY lc_id LIMIT 1").fetchall()[0][0]
    path = lake.path / rel
    if damage == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        path.unlink()
    assert not lake.verify().consistent
    server.reset_counts()
    again = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", exptime=120)
    assert server.count("download") == 1  # only the light curve whose data file was damaged
    assert again.ingested == 1 and again.ok, again.problems
    assert lake.sql(sums).fetchall() == expected
    report = lake.verify()
    assert report.consistent and not report.repairs
    assert not any((lake.path / "raw").rglob("*.fits"))


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


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="download", status=503, retry_after=0.2, times=3),
        Fault(kind="download", status=429, retry_after=0.1, times=2),
        Fault(kind="download", drop=True, times=2),
        Fault(kind="download", truncate=0.5, times=2),
        Fault(kind="download", stall=5.0, times=1),
        Fault(kind="invoke", status=503, times=2),
        Fault(kind="invoke", executing=True, times=1),
        Fault(kind="columnsconfig", drop=True, times=1),
    ],
    ids=["503", "429", "drop", "truncate", "stall", "invoke-503", "executing", "config-drop"],
)
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
    crit = lake.harvest_tic(where="Tmag < 9 AND Teff BETWEEN 7000 AND 9000", cone=(center[0], center[1], 1.0))
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
    with pytest.raises(UsageError, match=r"--from-sql returned no ID values \(0 rows\)"):
        lake.harvest_lightcurves(from_sql="SELECT id FROM tic WHERE Tmag > 99", mission="TESS")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"targets": "TIC 1", "mission": "Hubble"}, "unknown mission"),
        ({"targets": "TIC 1", "author": "ELEANOR"}, "unknown author"),
        ({"targets": "TIC 1", "mission": "Kepler", "author": "QLP"}, "does not make"),
        ({"targets": "TIC x1"}, "malformed TIC id"),
        ({"targets": "  , "}, "no targets"),
        ({"targets": "TIC 1", "sectors": "5-2"}, "empty sector range"),
    ],
)
def test_bad_input_is_refused_before_any_request(lake: Lake, server: MastServer, kwargs: dict, message: str) -> None:
    targets = kwargs.pop("targets")
    with pytest.raises(UsageError, match=message):
        lake.harvest_lightcurves(targets, **kwargs)
    assert len(server.requests) == 0
    assert not lake.path.exists()


def test_unreachable_server_exits_4(tmp_path: Path) -> None:
    proc = run_cli(
        "--lake",
        str(tmp_path / "lake"),
        "harvest",
        "lightcurves",
        "--targets",
        "TIC 1",
        "--mission",
        "TESS",
        "--mast-url",
        "http://127.0.0.1:9",
        env={"LARUN_LAKE_TIMEOUT": "1"},
    )
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
    cmd = [
        sys.executable,
        "-m",
        "larun_lake",
        "--lake",
        str(lake),
        "--quiet",
        "harvest",
        "lightcurves",
        "--targets",
        ",".join(f"TIC {t}" for t in tics),
        "--mission",
        "TESS",
        "--author",
        "SPOC",
        "--workers",
        "2",
        "--mast-url",
        server.url,
    ]
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
    proc = run_cli(
        "--lake",
        str(lake.path),
        "materialize",
        "SELECT id AS tic_id FROM tic WHERE teff < 3900 AND tmag < 11",
        "--fetch-missing",
        "--mission",
        "TESS",
        "--author",
        "SPOC",
        "--normalize",
        "--out",
        str(out),
        env={"LARUN_LAKE_MAST_URL": server.url, "no_proxy": "127.0.0.1,localhost"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "fetch-missing" in proc.stderr
    df = pd.read_parquet(out)
    # TIC 413248763 (Teff 3505, Tmag 8.7) qualifies; TIC 358108509 is cooler but Tmag 14.3.
    assert set(df["target_id"]) == {413248763}
    assert abs(df.groupby("lc_id")["flux"].median() - 1).max() < 1e-6
    assert lake.sql("SELECT target_id FROM lightcurves").fetchall() == [(413248763,)]


# -- TIC column types come from MAST's declaration, not from the values of one batch ----------------
BARE = [1_100_000_001, 1_100_000_002]  # no Teff, logg, rad, mass or d at all
NEIGHBOUR = 1_100_000_003  # same HEALPix pixel as BARE, with values


def test_an_all_null_tic_batch_keeps_numeric_columns_numeric(lake: Lake, server: MastServer) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    server.set_tic_rows(pd.concat([make_tic_rows(), bare_tic_rows()], ignore_index=True))
    assert lake.harvest_tic(ids=BARE).fetched == 2
    # The README's example query works on a lake whose only TIC rows have no Teff.
    assert lake.sql("SELECT id FROM tic WHERE teff < 3900").fetchall() == []
    types = dict(lake.sql("SELECT column_name, column_type FROM (DESCRIBE tic)").fetchall())
    assert {c: types[c] for c in ("Teff", "logg", "rad", "mass", "d")} == dict.fromkeys(
        ("Teff", "logg", "rad", "mass", "d"), "DOUBLE"
    )
    assert types["ID"] == "BIGINT" and types["KIC"] == "BIGINT" and types["TYC"] == "VARCHAR"

    # Later batches with values: one rewrites the all-null pixel, the other lands in new pixels.
    lake.harvest_tic(ids=[NEIGHBOUR])
    lake.harvest_tic(ids=[25155310, 358108509, 413248763])
    cool = lake.sql("SELECT id, teff FROM tic WHERE teff < 3900 ORDER BY teff").fetchall()
    assert cool == [(358108509, 2824.0), (NEIGHBOUR, 3312.0), (413248763, 3505.0)]
    # A text comparison would put 5675 K above '10000'; numbers do not.
    assert lake.sql("SELECT id FROM tic WHERE teff > '10000'").fetchall() == []
    assert lake.sql("SELECT count(*) FROM tic WHERE id IN (SELECT unnest(?)) AND teff IS NULL", [BARE]).fetchall() == [
        (2,)
    ]
    tic_files = sorted((lake.path / "tic").rglob("*.parquet"))
    assert len(tic_files) >= 2
    for path in tic_files:
        schema = pq.read_schema(path)
        assert {str(schema.field(c).type) for c in ("Teff", "logg", "rad", "mass", "d")} == {"double"}, path


def test_tic_files_of_an_older_harvest_with_text_columns_are_cast_when_merged() -> None:
    import pyarrow as pa

    from larun_lake.harvest.tic_store import _unify, rows_to_table

    old = pa.table({"ID": pa.array([1], pa.int64()), "ra": [10.0], "dec": [5.0], "Teff": pa.array(["5675.5"])})
    new = rows_to_table([{"ID": 2, "ra": 10.1, "dec": 5.0, "Teff": None, "extra": None}], {"Teff": "DOUBLE"})
    merged = _unify([old, new], new)
    assert merged.schema.field("Teff").type == pa.float64()
    assert merged.column("Teff").to_pylist() == [5675.5, None]
    assert merged.schema.field("extra").type == pa.null()  # undeclared and never seen: no guess


# -- period, exposure and id options ----------------------------------------------------------------
def test_each_period_option_filters_its_own_mission_only(lake: Lake, server: MastServer) -> None:
    targets = ["KIC 10002792", "TIC 39903405", "EPIC 211117077"]
    everything = lake.harvest_lightcurves(targets, dry_run=True)
    assert everything.n_products == 2 + 6 + 1
    sectors = lake.harvest_lightcurves(targets, sectors="24", dry_run=True)
    assert sectors.n_products == 2 + 3 + 1  # Kepler quarters and the K2 campaign are untouched
    quarters = lake.harvest_lightcurves(targets, quarters="2", dry_run=True)
    assert quarters.n_products == 1 + 6 + 1
    campaigns = lake.harvest_lightcurves(targets, campaigns="5", dry_run=True)
    assert campaigns.n_products == 2 + 6 + 0
    with pytest.raises(UsageError, match="selects Kepler quarters"):
        lake.harvest_lightcurves(targets, author="SPOC", quarters="2", dry_run=True)


def test_exptime_matches_exactly(lake: Lake, server: MastServer) -> None:
    assert lake.harvest_lightcurves("TIC 25155310", mission="TESS", exptime=120, dry_run=True).n_products == 2
    assert lake.harvest_lightcurves("TIC 25155310", mission="TESS", exptime=121, dry_run=True).n_products == 0
    assert lake.harvest_lightcurves("TIC 25155310", mission="TESS", exptime=108, dry_run=True).n_products == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exptime": 0}, "exposure time is a positive number"),
        ({"exptime": -120}, "exposure time is a positive number"),
        ({"exptime": float("nan")}, "exposure time is a positive number"),
        ({"sectors": "0-3"}, "sectors start at 1"),
        ({"targets": "TIC -5"}, "malformed TIC id"),
        ({"targets": "KIC -10002792"}, "malformed KIC id"),
    ],
    ids=["exptime-0", "exptime-negative", "exptime-nan", "sector-0", "negative-tic", "negative-kic"],
)
def test_impossible_values_are_refused_before_any_request(
    lake: Lake, server: MastServer, kwargs: dict, message: str
) -> None:
    targets = kwargs.pop("targets", "TIC 25155310")
    with pytest.raises(UsageError, match=message):
        lake.harvest_lightcurves(targets, **kwargs)
    assert len(server.requests) == 0 and not lake.path.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["lightcurves", "--targets", "TIC 25155310", "--exptime", "0"],
        ["lightcurves", "--targets", "TIC 25155310", "--sectors", "0"],
        ["lightcurves", "--targets", "TIC -5"],
        ["tic", "--ids", "-5"],
    ],
    ids=["exptime-0", "sector-0", "negative-target", "negative-tic-id"],
)
def test_cli_refuses_impossible_values_with_exit_2_and_one_line(
    tmp_path: Path, server: MastServer, args: list[str]
) -> None:
    proc = run_cli(
        "--lake",
        str(tmp_path / "lake"),
        "harvest",
        *args,
        "--mast-url",
        server.url,
        env={"no_proxy": "127.0.0.1,localhost"},
    )
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert len(server.requests) == 0


def test_tic_ids_mast_does_not_know_are_reported(lake: Lake, server: MastServer, tmp_path: Path) -> None:
    report = lake.harvest_tic(ids=[25155310, 999_999_999, 999_999_998])
    assert report.fetched == 1 and report.not_found == [999_999_998, 999_999_999] and not report.ok
    assert lake.sql("SELECT status, n_failed FROM runs").fetchall() == [("partial", 2)]
    proc = run_cli(
        "--lake",
        str(tmp_path / "cli-lake"),
        "harvest",
        "tic",
        "--ids",
        "25155310,999999999",
        "--mast-url",
        server.url,
        env={"no_proxy": "127.0.0.1,localhost"},
    )
    assert proc.returncode == 1, proc.stderr
    assert "not found at MAST: 1 TIC id(s): 999999999" in proc.stderr
    assert "1 rows (1 new, 0 replaced, 1 not found)" in proc.stderr
    assert Lake(tmp_path / "cli-lake").sql("SELECT id FROM tic").fetchall() == [(25155310,)]


# -- progress, files already in the lake, tidy staging, honest summaries ----------------------------
def test_progress_names_each_phase_and_moves_while_downloading(lake: Lake, server: MastServer) -> None:
    from larun_lake.harvest.progress import HarvestProgress

    events: list[HarvestProgress] = []
    report = lake.harvest_lightcurves("TIC 39903405", mission="TESS", workers=1, progress=events.append)
    assert report.ok and report.ingested == 6
    phases = list(dict.fromkeys(e.phase for e in events))
    assert phases == ["searching", "listing", "downloading", "ingesting", "done"]
    downloading = [e for e in events if e.phase == "downloading"]
    assert all(e.files_total == 6 and e.bytes_total == report.bytes_to_fetch for e in downloading)
    # Bytes and files move during the downloads, not only when a group is ingested.
    partial = [e for e in downloading if 0 < e.bytes_done < e.bytes_total and e.files_done < 6]
    assert len({e.bytes_done for e in partial}) >= 3
    assert [e.bytes_done for e in events] == sorted(e.bytes_done for e in events)
    assert events[-1].bytes_done == report.bytes_downloaded and events[-1].ingested == 6
    assert any(e.describe() == "downloading 3 of 6 files" for e in events)
    assert events[0].describe().startswith("searching TESS observations")


def test_progress_display_shows_the_phase_and_counts() -> None:
    import io

    from rich.console import Console

    from larun_lake import cli_output as ui
    from larun_lake.harvest.progress import HarvestProgress

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=140, color_system=None)
    with ui.harvest_progress(enabled=True, console=console) as show:
        show(
            HarvestProgress(
                "downloading", files_done=2, files_total=6, bytes_done=1_500_000, bytes_total=4_300_000, ingested=1
            )
        )
    text = buffer.getvalue()
    assert "harvest downloading 2 of 6 files, 1 ingested" in text and "1.5/4.3 MB" in text


def test_a_file_already_in_the_lake_is_not_downloaded_again(lake: Lake, server: MastServer, tmp_path: Path) -> None:
    lake.import_files([SPOC_S1])
    server.reset_counts()
    dry = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", dry_run=True)
    assert (dry.n_products, dry.in_lake, dry.n_to_fetch) == (2, 1, 1)
    assert dry.bytes_to_fetch == next(p["size"] for p in server.products if "s0006" in p["productFilename"])
    real = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC")
    assert (real.in_lake, real.downloaded, real.ingested, real.unchanged) == (1, dry.n_to_fetch, 1, 0)
    assert real.bytes_downloaded == dry.bytes_to_fetch
    assert server.count("download") == 1
    uri = server.uri_for(SPOC_S1.name)
    row = lake.sql("SELECT state, lc_id FROM products WHERE product_uri = ?", [uri]).fetchall()
    assert row == [("ingested", "TESS:SPOC:25155310:s0001:120")]
    again = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", dry_run=True)
    assert (again.in_lake, again.n_to_fetch) == (0, 0)  # known by its MAST address now


def test_dry_run_and_real_run_agree_when_a_complete_download_is_on_disk(lake: Lake, server: MastServer) -> None:
    product = next(p for p in server.products if p["productFilename"] == SPOC_S1.name)
    raw = lake.path / "raw" / "mastDownload" / product["obs_collection"] / product["obs_id"] / SPOC_S1.name
    raw.parent.mkdir(parents=True)
    shutil.copy(SPOC_S1, raw)  # left by a run killed after this download completed
    dry = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC", dry_run=True)
    assert (dry.n_to_fetch, dry.reused) == (1, 1)
    real = lake.harvest_lightcurves("TIC 25155310", mission="TESS", author="SPOC")
    assert (real.downloaded, real.reused, real.ingested) == (dry.n_to_fetch, 1, 2)
    assert server.count("download") == 1 and not raw.exists()


def test_a_successful_harvest_leaves_no_empty_folders_for_verify_to_repair(lake: Lake, server: MastServer) -> None:
    report = lake.harvest_lightcurves("TIC 39903405", mission="TESS")
    assert report.ok and report.ingested == 6
    assert [p for p in lake.path.rglob("*") if p.is_dir() and not any(p.iterdir())] == []
    checked = lake.verify()
    assert checked.consistent and checked.repairs == []


def _summary_timing(*args: str, env: dict) -> tuple[str, float, float]:
    """Run the CLI; (stderr, seconds its summary states, seconds from the start until that line arrived)."""
    import re

    began = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "larun_lake", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines, arrived = [], None
    for line in proc.stderr:
        lines.append(line)
        if re.search(r"in \d+\.\d s", line):
            arrived = time.monotonic() - began
    assert proc.wait(timeout=120) == 0, "".join(lines)
    stated = float(re.search(r"in (\d+\.\d) s", "".join(lines)).group(1))
    return "".join(lines), stated, arrived


def test_cli_summaries_count_what_was_fetched_and_time_the_whole_command(tmp_path: Path, server: MastServer) -> None:
    lake_dir = tmp_path / "lake"
    env = {"no_proxy": "127.0.0.1,localhost", "LARUN_LAKE_MAST_URL": server.url}
    base = ["harvest", "lightcurves", "--targets", "TIC 25155310", "--author", "SPOC"]
    Lake(lake_dir).import_files([SPOC_S1])
    dry = run_cli("--lake", str(lake_dir), *base, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "2 light-curve products listed, 1 already in the lake, 1 to fetch" in dry.stdout
    real = run_cli("--lake", str(lake_dir), *base, env=env)
    assert real.returncode == 0, real.stderr
    assert "2 products listed, 1 already in the lake, 1 fetched" in real.stderr
    # Fresh lakes: start-up, imports and the lake's creation are part of what the user waits for.
    # (Start-up and imports alone take well over a second, so a timer started later falls short.)
    stderr, stated, arrived = _summary_timing("--lake", str(tmp_path / "new-lake"), *base, env=env)
    assert "2 products listed, 2 fetched" in stderr
    assert arrived - 0.5 <= stated <= arrived + 0.1
    stderr, stated, arrived = _summary_timing(
        "--lake", str(tmp_path / "tic-lake"), "harvest", "tic", "--ids", "25155310", env=env
    )
    assert "1 rows (1 new, 0 replaced)" in stderr
    assert arrived - 0.5 <= stated <= arrived + 0.1


def test_a_lake_that_cannot_be_written_stops_the_harvest_with_one_line(lake: Lake, server: MastServer) -> None:
    lake.harvest_lightcurves("TIC 39903405", mission="TESS", author="QLP")
    # Tests run as root, which chmod does not stop: a file where the lake needs a folder fails for anyone.
    (lake.path / "cadences" / "mission=Kepler").write_text("not a folder")
    env = {"LARUN_LAKE_MAST_URL": server.url, "LARUN_LAKE_TIMEOUT": "2", "no_proxy": "127.0.0.1,localhost"}
    proc = run_cli("--lake", str(lake.path), "--quiet", "harvest", "lightcurves", "--targets", "KIC 10002792",
                   "--mission", "Kepler", env=env)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith(f"error: cannot write to the lake at {lake.path}: ")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    statuses = lake.sql("SELECT command, status FROM runs ORDER BY started_at").fetchall()
    assert statuses == [("harvest lightcurves", "ok"), ("harvest lightcurves", "error")]
    assert lake.sql("SELECT author FROM lightcurves").fetchall() == [("QLP",), ("QLP",)]
