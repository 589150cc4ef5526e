"""`harvest lightcurves` into a lake on object storage, with the per-file work on Dask workers.

Real parts on loopback: the MAST-compatible server (tests/mast_server), moto's S3 server and a
`distributed.LocalCluster` with worker processes (fixtures in conftest.py).
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from distributed import get_task_stream

from larun_lake import Lake
from larun_lake.errors import LakeWriteError
from larun_lake.harvest import lightcurves
from tests.fitsgen import write_spoc_lightcurve
from tests.mast_server import Fault, MastServer

from .conftest import FIXTURES, SPOC_S1

SERVED = [FIXTURES / d for d in ("tess_spoc", "tess_hlsp", "kepler", "k2")]
REAL_TARGETS = ["TIC 25155310", "TIC 39903405", "KIC 10002792", "EPIC 211117077"]
CATALOG = "SELECT lc_id, file_sha256, n_cadences, n_good, data_rel FROM lightcurve_versions ORDER BY lc_id, file_sha256"
ROWS = "SELECT lc_id, cadenceno, time, flux, flux_err, quality FROM cadences ORDER BY lc_id, cadenceno"
PRODUCTS = "SELECT product_uri, state, lc_id, sha256 FROM products ORDER BY product_uri"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    with MastServer(fits_dir=SERVED) as srv:
        monkeypatch.setenv("LARUN_LAKE_MAST_URL", srv.url)
        monkeypatch.setenv("LARUN_LAKE_TIMEOUT", "5")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        yield srv


def _generated(server: MastServer, folder: Path, tics: range, n_cadences: int = 1000) -> list[str]:
    for tic in tics:
        for sector in (1, 2):
            server.add_file(write_spoc_lightcurve(folder, tic_id=tic, sector=sector, n_cadences=n_cadences))
    return [f"TIC {t}" for t in tics]


def _kepler_lc(product: dict) -> bool:
    return product["productFilename"].startswith("kplr") and product["productFilename"].endswith("_llc.fits")


def _harvest_tasks(stream) -> int:
    """How many harvest tasks the cluster ran to completion."""
    return sum(1 for task in stream.data if str(task["key"]).startswith("harvest_chunk"))


def _same_rows(a: Lake, b: Lake, query: str) -> bool:
    """Arrow tables of sorted rows compared as data frames, where NaN equals NaN (Arrow's equals says not)."""
    left, right = a.sql(query).arrow(), b.sql(query).arrow()
    return left.schema == right.schema and left.to_pandas().equals(right.to_pandas())


def _registered_files_are_whole(lake: Lake) -> None:
    with lake.catalog.read(sandbox=False, surface=False, local=True) as con:
        files = con.execute("SELECT path, size_bytes FROM lake.data_files").fetchall()
    store = lake.layout.store
    for path, size in files:
        assert store.exists(path) and store.size(path) == size, path


def test_dask_harvest_into_s3_matches_a_local_harvest(
    server: MastServer, s3_env, s3_lake_url: str, dask_client, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(lightcurves, "TASK_FILES", 3)  # several tasks on two workers
    local = Lake(tmp_path / "local")
    expected = local.harvest_lightcurves(REAL_TARGETS)
    server.reset_counts()
    remote = Lake(s3_lake_url, executor=dask_client)
    with get_task_stream(dask_client) as stream:
        report = remote.harvest_lightcurves(REAL_TARGETS)
    assert report.ok, report.problems
    assert _harvest_tasks(stream) == 4  # 10 products, 3 a task, downloaded and converted on the workers
    assert report.ingested == expected.ingested == 10 and report.unchanged == expected.unchanged
    assert (report.downloaded, report.bytes_downloaded) == (expected.downloaded, expected.bytes_downloaded)
    assert server.count("download") == 10
    assert _same_rows(local, remote, CATALOG)
    assert _same_rows(local, remote, ROWS)
    assert _same_rows(local, remote, PRODUCTS)
    # Nothing landed on this machine: the workers wrote to the bucket, only the catalog is local.
    assert not list(remote.layout.download_root.rglob("*.fits"))
    assert not [k for k in s3_env.filesystem().find(s3_lake_url[5:]) if "/raw/" in k or "/_staging/" in k]
    # Again: nothing to fetch; a reader elsewhere sees the same lake.
    assert remote.harvest_lightcurves(REAL_TARGETS).n_to_fetch == 0
    other = Lake(s3_lake_url, catalog=tmp_path / "elsewhere" / "catalog.duckdb")
    assert _same_rows(local, other, CATALOG)
    verify = remote.verify()
    assert verify.consistent and not verify.unknown


def test_keep_fits_on_s3_keeps_the_fits_in_the_lake(
    server: MastServer, s3_env, s3_lake_url: str, dask_client, tmp_path: Path
) -> None:
    lake = Lake(s3_lake_url, executor=dask_client)
    report = lake.harvest_lightcurves("KIC 10002792", mission="Kepler", keep_fits=True)
    assert report.ok and report.ingested == 2
    kept = lake.layout.store.list_files("raw/mastDownload", ".fits")
    listed = {p["productFilename"]: p["size"] for p in server.products if _kepler_lc(p)}
    assert {Path(rel).name: size for rel, size in kept} == listed
    assert all(rel.startswith("raw/mastDownload/Kepler/") for rel, _ in kept)
    assert not list(lake.layout.download_root.rglob("*.fits"))


@pytest.mark.parametrize("runner", ["here", "tasks"])
def test_a_kept_copy_in_the_store_is_ingested_without_a_download(
    server: MastServer, s3_env, s3_lake_url: str, runner: str
) -> None:
    with ThreadPoolExecutor(2) as pool:
        lake = Lake(s3_lake_url, executor=pool if runner == "tasks" else None)
        first = lake.harvest_lightcurves("KIC 10002792", mission="Kepler", keep_fits=True, quarters="2")
        assert first.ingested == 1
        # The file of quarter 3 sits in the lake's raw area, as a run killed after keeping it leaves it.
        product = next(
            p
            for p in server.products
            if _kepler_lc(p) and not lake.layout.store.list_files("raw/mastDownload", p["productFilename"])
        )
        source = next(f for d in SERVED for f in d.rglob(product["productFilename"]))
        rel = f"raw/mastDownload/Kepler/{product['obs_id']}/{product['productFilename']}"
        lake.layout.store.write_bytes(rel, source.read_bytes())
        server.reset_counts()
        dry = lake.harvest_lightcurves("KIC 10002792", mission="Kepler", dry_run=True)
        assert (dry.n_to_fetch, dry.reused) == (0, 1)
        report = lake.harvest_lightcurves("KIC 10002792", mission="Kepler", keep_fits=True)
    assert (report.reused, report.downloaded, report.ingested) == (1, 0, 1) and report.ok, report.problems
    assert server.count("download") == 0
    assert lake.sql("SELECT count(*) FROM lightcurves").fetchall() == [(2,)]
    assert not list(lake.layout.download_root.rglob("*.fits"))


def test_failed_and_damaged_downloads_in_tasks_are_recorded_like_local_ones(
    server: MastServer, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(lightcurves, "TASK_FILES", 2)
    flipped = tmp_path / "flipped_lc.fits"
    data = bytearray(SPOC_S1.read_bytes())
    data[-20000] ^= 0x01  # one bit of the light-curve table: CHECKSUM no longer holds
    flipped.write_bytes(bytes(data))
    damaged = server.add_file(flipped, tic_id=25155310, sector=77)["dataURI"]
    refused = server.uri_for(SPOC_S1.name)
    server.add_fault(Fault(kind="download", uri=refused, status=404, times=100))  # not retried
    with ThreadPoolExecutor(2) as pool:
        lake = Lake(tmp_path / "lake", executor=pool)
        report = lake.harvest_lightcurves(["TIC 25155310", "TIC 39903405"], author="SPOC")
    assert (report.failed, report.quarantined, report.ingested) == (1, 1, 2)
    problems = {uri: (state, reason) for uri, state, reason in report.problems}
    assert problems[damaged] == ("quarantined", "FITS checksum mismatch after a second download")
    assert problems[refused] == ("failed", "HTTP 404 Not Found")
    assert len([r for r in server.requests if r.kind == "download" and r.uri == damaged]) == 2
    assert report.downloaded == report.ingested + 2
    states = dict(lake.sql("SELECT product_uri, state FROM products").fetchall())
    assert (states[damaged], states[refused]) == ("quarantined", "failed")
    assert lake.sql("SELECT count(*) FROM lightcurves").fetchall() == [(report.ingested,)]


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["here", "tasks"])
def test_store_unreachable_mid_harvest(
    server: MastServer, s3_server_private, monkeypatch, tmp_path: Path, runner: str
) -> None:
    from tests.s3server import use_s3_server

    use_s3_server(monkeypatch, s3_server_private)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # clients give up on the stopped store at once, not after retries
    url = f"s3://{s3_server_private.create_bucket()}/lake"
    targets = _generated(server, tmp_path / "gen", range(500_000_001, 500_000_013))
    monkeypatch.setattr(lightcurves, "INGEST_GROUP_FILES", 3)
    monkeypatch.setattr(lightcurves, "TASK_FILES", 3)

    def stop_the_store(progress) -> None:
        if progress.ingested and s3_server_private.running:
            s3_server_private.stop()

    with ThreadPoolExecutor(1) as pool:
        lake = Lake(url, wait=0, executor=pool if runner == "tasks" else None)
        with pytest.raises(LakeWriteError) as failure:
            lake.harvest_lightcurves(targets, workers=1, progress=stop_the_store)
        assert failure.value.exit_code == 3 and url in str(failure.value)
        s3_server_private.restart()
        with lake.catalog.read(sandbox=False, surface=False, local=True) as con:
            registered = con.execute("SELECT count(*) FROM lake.lightcurve_versions").fetchall()[0][0]
        assert 0 < registered < 24
        _registered_files_are_whole(lake)
        report = lake.harvest_lightcurves(targets, workers=1)
    assert report.ok and report.ingested == 24 - registered, report.problems
    assert lake.sql("SELECT count(*), count(DISTINCT lc_id), sum(n_cadences) FROM lightcurves").fetchall() == [
        (24, 24, 24 * 1000)
    ]
    assert lake.sql("SELECT count(*) FROM cadences").fetchall() == [(24 * 1000,)]
    verify = lake.verify()
    assert verify.consistent and not verify.missing and not verify.corrupt


@pytest.mark.slow
def test_worker_killed_mid_harvest(server: MastServer, s3_lake_url: str, dask_client, tmp_path: Path, monkeypatch):
    targets = _generated(server, tmp_path / "gen", range(600_000_001, 600_000_016), n_cadences=2000)
    monkeypatch.setattr(lightcurves, "TASK_FILES", 2)  # 15 tasks, so that some are lost with the worker
    workers = dask_client.run(os.getpid)
    killed: list[int] = []

    def kill_a_worker(progress) -> None:
        if progress.ingested and not killed:
            pid = sorted(workers.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    lake = Lake(s3_lake_url, executor=dask_client)
    with get_task_stream(dask_client) as stream:
        report = lake.harvest_lightcurves(targets, progress=kill_a_worker)
    assert killed
    assert _harvest_tasks(stream) >= 15  # each chunk once at least; results lost with the worker again
    assert report.ok and report.ingested == 30, report.problems
    assert lake.sql("SELECT count(*), count(DISTINCT lc_id), sum(n_cadences) FROM lightcurves").fetchall() == [
        (30, 30, 30 * 2000)
    ]
    assert lake.sql("SELECT count(*) FROM cadences").fetchall() == [(30 * 2000,)]
    assert lake.sql("SELECT state, count(*) FROM products GROUP BY ALL").fetchall() == [("ingested", 30)]
    verify = lake.verify()
    assert verify.consistent and not verify.unknown


def test_a_kept_copy_pulled_from_the_store_never_writes_through_a_link(tmp_path: Path) -> None:
    """A link where the copy's temporary or final name goes is replaced, never followed into the user's file."""
    from larun_lake.harvest.rawfiles import pull_from_store
    from larun_lake.lake.storage import Storage

    store = Storage.from_url(tmp_path / "lake")
    rel = f"raw/mastDownload/Kepler/obs/{SPOC_S1.name}"
    store.write_bytes(rel, SPOC_S1.read_bytes())
    user_files = {name: tmp_path / name for name in ("notes.txt", "diary.txt")}
    for path in user_files.values():
        path.write_text("the user's own words")
    dest = tmp_path / "cache" / "raw" / SPOC_S1.name
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").symlink_to(user_files["notes.txt"])
    dest.symlink_to(user_files["diary.txt"])
    pull_from_store(store, rel, dest)
    assert all(path.read_text() == "the user's own words" for path in user_files.values())
    assert not dest.is_symlink() and dest.read_bytes() == SPOC_S1.read_bytes()
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]
