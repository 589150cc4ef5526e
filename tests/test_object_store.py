"""A lake on object storage, and per-file work on Dask: real parts on loopback.

moto's S3 server on 127.0.0.1 stands in for the store and a `distributed.LocalCluster` with
worker processes for the cluster (fixtures in conftest.py); the CLI runs as a real process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from larun_lake import Lake
from larun_lake.errors import LakeWriteError
from tests.conftest import K2_C4, KEPLER_Q2, QLP_S24, SPOC_S1, run_cli
from tests.fitsgen import make_spoc_set

REAL = [SPOC_S1, KEPLER_Q2, K2_C4, QLP_S24]
# A hash of the sorted cadence rows (NaN flux compares equal to NaN here, as it must).
ROWS = ("SELECT count(*), md5(string_agg(concat_ws('|', lc_id, cadenceno, time, flux, flux_err, quality, sap_flux), "
        "',' ORDER BY lc_id, cadenceno)) FROM cadences")
CATALOG = ("SELECT lc_id, file_sha256, n_cadences, n_good FROM lightcurve_versions "
           "WHERE is_current ORDER BY lc_id")


def _inputs(tmp_path: Path, n_generated: int = 40) -> Path:
    folder = tmp_path / "in"
    make_spoc_set(folder / "gen", n_generated, n_cadences=600, sectors=(1, 2))
    for path in REAL:
        shutil.copy(path, folder / path.name)
    return folder


def _objects(s3_env, bucket: str) -> list[str]:
    return s3_env.filesystem().find(bucket)


def test_s3_lake_import_query_and_a_reader_on_another_machine(s3_env, s3_bucket: str, tmp_path: Path) -> None:
    url = f"s3://{s3_bucket}/lake"
    folder = _inputs(tmp_path, n_generated=6)
    proc = run_cli("--lake", url, "import", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert "10 ingested" in proc.stderr
    # Everything lives in the bucket; the writer's catalog is in its cache folder, not in the lake.
    keys = _objects(s3_env, s3_bucket)
    assert any(k.endswith("_catalog/LATEST") for k in keys)
    assert not any(k.endswith("catalog.duckdb") for k in keys)
    assert not any(k.endswith("/") for k in keys)  # no empty "folder" objects, which break plain readers
    assert not any(k.endswith("_catalog/LEASE") for k in keys)  # released at the end of the command

    query = "SELECT count(*) AS n, count(DISTINCT lc_id) AS lcs, sum(quality) AS q FROM cadences"
    writer = run_cli("--lake", url, "sql", query, "--format", "json")
    assert writer.returncode == 0, writer.stderr
    # Another machine: nothing but the URL and the store's credentials, an empty cache.
    other = tmp_path / "other-machine"
    reader = run_cli("--lake", url, "sql", query, "--format", "json", env={"XDG_CACHE_HOME": str(other)})
    assert reader.returncode == 0, reader.stderr
    assert json.loads(reader.stdout) == json.loads(writer.stdout)
    assert json.loads(reader.stdout)[0]["lcs"] == 10
    assert list(other.rglob("*.duckdb"))  # the snapshot, restored once into the cache

    # Plain readers need no LARUN Lake code at all.
    frame = pd.read_parquet(f"{url}/cadences", columns=["lc_id", "flux"])
    assert len(frame) == json.loads(writer.stdout)[0]["n"]


def test_same_results_local_and_dask_on_s3(s3_lake_url: str, dask_client, tmp_path: Path) -> None:
    folder = _inputs(tmp_path)
    local = Lake(tmp_path / "local")
    local_report = local.import_files([folder])
    remote = Lake(s3_lake_url, executor=dask_client)
    remote_report = remote.import_files([folder])
    assert local_report.ingested == remote_report.ingested == 44
    assert local.sql(CATALOG).arrow().equals(remote.sql(CATALOG).arrow())
    assert local.sql(ROWS).fetchall() == remote.sql(ROWS).fetchall()
    # The same files again: nothing new, nothing doubled.
    again = remote.import_files([folder])
    assert again.unchanged == 44 and again.ingested == 0
    assert remote.sql("SELECT count(*) FROM lightcurves").fetchall() == [(44,)]
    report = remote.verify()
    assert report.consistent and not report.repairs


def test_worker_killed_mid_import(s3_lake_url: str, dask_client, tmp_path: Path, monkeypatch) -> None:
    from larun_lake.ingest import importer, order

    folder = tmp_path / "in"
    make_spoc_set(folder, 60, n_cadences=400, sectors=(1, 2))
    monkeypatch.setattr(importer, "CHUNK_FILES", 4)  # 15 tasks, so that some are lost with the worker
    monkeypatch.setattr(order, "CHUNK_BYTES", 0)
    workers = dask_client.run(os.getpid)
    killed = []

    def kill_a_worker(files_done: int, bytes_done: int) -> None:
        if not killed:
            pid = sorted(workers.values())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    lake = Lake(s3_lake_url, executor=dask_client)
    report = lake.import_files([folder], progress=kill_a_worker)
    assert killed
    assert report.ingested == 60 and report.ok
    assert lake.sql("SELECT count(*), count(DISTINCT lc_id), sum(n_cadences) FROM lightcurves").fetchall() == [
        (60, 60, 60 * 400)
    ]
    assert lake.sql("SELECT count(*) FROM cadences").fetchall() == [(60 * 400,)]
    verify = lake.verify()
    assert verify.consistent and not verify.unknown


def test_a_second_writer_is_told_who_holds_the_lease(s3_env, s3_lake_url: str, tmp_path: Path) -> None:
    folder = _inputs(tmp_path, n_generated=2)
    lake = Lake(s3_lake_url)
    lake.import_files([folder])
    since = datetime.now(UTC).isoformat(timespec="seconds")
    held = {"host": "node-7", "pid": 4242, "command": "import", "since": since,
            "expires": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(timespec="seconds")}
    lake.layout.store.write_bytes("_catalog/LEASE", json.dumps(held).encode())
    proc = run_cli("--lake", s3_lake_url, "--wait", "0", "import", str(folder))
    assert proc.returncode == 3
    assert f"lake busy: writer on node-7 since {since}" in proc.stderr
    # Reading needs no lease.
    assert run_cli("--lake", s3_lake_url, "sql", "SELECT count(*) FROM lightcurves").returncode == 0
    # A lease its writer stopped renewing expires, and the next writer takes it over.
    held["expires"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    lake.layout.store.write_bytes("_catalog/LEASE", json.dumps(held).encode())
    proc = run_cli("--lake", s3_lake_url, "--wait", "0", "import", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert not lake.layout.store.exists("_catalog/LEASE")


def test_a_writer_without_its_catalog_starts_from_the_latest_snapshot(s3_lake_url: str, tmp_path: Path) -> None:
    first = _inputs(tmp_path, n_generated=4)
    Lake(s3_lake_url, catalog=tmp_path / "machine-a" / "catalog.duckdb").import_files([first])
    second = tmp_path / "more"
    make_spoc_set(second, 4, n_cadences=600, first_tic=200000000)
    machine_b = Lake(s3_lake_url, catalog=tmp_path / "machine-b" / "catalog.duckdb")
    report = machine_b.import_files([second, first])
    assert report.ingested == 4 and report.unchanged == 8
    # Machine A's catalog is now behind the lake: its next write starts from B's snapshot.
    machine_a = Lake(s3_lake_url, catalog=tmp_path / "machine-a" / "catalog.duckdb")
    assert machine_a.sql("SELECT count(*) FROM lightcurves").fetchall() == [(12,)]
    assert machine_a.verify().consistent
    assert machine_a.sql("SELECT count(*) FROM lightcurves").fetchall() == [(12,)]


def test_store_unreachable_mid_import(s3_server_private, monkeypatch, tmp_path: Path) -> None:
    from larun_lake.ingest import importer, order
    from tests.s3server import use_s3_server

    use_s3_server(monkeypatch, s3_server_private)
    bucket = s3_server_private.create_bucket()
    url = f"s3://{bucket}/lake"
    folder = tmp_path / "in"
    make_spoc_set(folder, 24, n_cadences=400, sectors=(1, 2))
    monkeypatch.setattr(importer, "CHUNK_FILES", 4)
    monkeypatch.setattr(order, "CHUNK_BYTES", 0)
    lake = Lake(url, wait=0)

    def stop_the_store(files_done: int, bytes_done: int) -> None:
        s3_server_private.stop()

    with pytest.raises(LakeWriteError) as failure:
        lake.import_files([folder], workers=1, progress=stop_the_store)
    assert failure.value.exit_code == 3
    assert url in str(failure.value)
    s3_server_private.restart()
    # What the catalog registered is whole; a re-run brings the rest, nothing doubled.
    with lake.catalog.read(sandbox=False, surface=False, local=True) as con:
        registered = con.execute("SELECT count(*) FROM lake.lightcurve_versions").fetchall()[0][0]
    assert 0 < registered < 24
    report = lake.import_files([folder], workers=1)
    assert report.ingested + report.unchanged == 24
    assert lake.sql("SELECT count(*), count(DISTINCT lc_id) FROM lightcurves").fetchall() == [(24, 24)]
    verify = lake.verify()
    assert verify.consistent and not verify.missing and not verify.corrupt


def test_verify_on_s3_removes_orphans_of_a_killed_run(s3_env, s3_lake_url: str, tmp_path: Path) -> None:
    folder = _inputs(tmp_path, n_generated=2)
    lake = Lake(s3_lake_url)
    lake.import_files([folder])
    run_id = lake.sql("SELECT run_id FROM runs").fetchall()[0][0]
    store = lake.layout.store
    kept = store.list_files("cadences")
    orphan = "cadences/mission=TESS/author=SPOC/period=s0001/" + f"part-{run_id}-c00099-000.parquet"
    store.write_bytes(orphan, store.read_bytes(kept[0][0]))
    report = lake.verify()
    assert report.orphans_removed == [orphan] and report.consistent
    assert store.list_files("cadences") == kept


def test_a_url_that_is_not_a_lake(s3_env, s3_bucket: str) -> None:
    proc = run_cli("--lake", f"s3://{s3_bucket}/nothing", "sql", "SELECT 1")
    assert proc.returncode == 3
    assert f"s3://{s3_bucket}/nothing is not a lake" in proc.stderr


@pytest.mark.slow
def test_client_killed_mid_import_then_run_again(s3_env, s3_lake_url: str, dask_cluster, tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    folder = tmp_path / "in"
    make_spoc_set(folder, 80, n_cadences=3000, sectors=(1, 2))
    args = ["--lake", s3_lake_url, "--executor", "dask", "--scheduler", dask_cluster.scheduler_address,
            "import", str(folder)]
    proc = subprocess.Popen([sys.executable, "-m", "larun_lake", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    store = Lake(s3_lake_url).layout.store
    deadline = time.monotonic() + 120
    while not store.list_files("cadences") and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.kill()  # the client, mid-run: some chunks written, some registered
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # The killed writer's lease and its unfinished run do not stop the next run on this machine.
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    lake = Lake(s3_lake_url)
    assert lake.sql("SELECT count(*), count(DISTINCT lc_id) FROM lightcurves").fetchall() == [(80, 80)]
    assert lake.sql("SELECT count(*) FROM cadences").fetchall() == [(80 * 3000,)]
    verify = lake.verify()
    assert verify.consistent and not verify.unknown
    assert lake.sql("SELECT count(*) FROM cadences").fetchall() == [(80 * 3000,)]


def test_dask_executor_without_the_extra_says_which_to_install(tmp_path: Path) -> None:
    # An importable stand-in that fails as a missing package does: what a user without larun-lake[dask] sees.
    blocked = tmp_path / "site"
    blocked.mkdir()
    (blocked / "distributed.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'distributed'\", name='distributed')\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(blocked), os.environ.get("PYTHONPATH", "")])}
    proc = run_cli("--lake", str(tmp_path / "lake"), "--executor", "dask", "import", str(SPOC_S1), env=env)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "the dask executor needs the 'dask' extra" in lines[0] and "pip install 'larun-lake[dask]'" in lines[0]
    assert not (tmp_path / "lake").exists()  # refused before anything was created


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_exit_3(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = run_cli("--lake", str(tmp_path / "lake"), "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{port}",
                   "import", str(SPOC_S1))
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--scheduler tcp://127.0.0.1:{port}: cannot reach the Dask scheduler" in lines[0]
    assert not (tmp_path / "lake").exists()


def test_a_reader_caches_snapshots_without_touching_files_beside_its_catalog(s3_lake_url: str, tmp_path: Path) -> None:
    folder = _inputs(tmp_path, n_generated=2)
    writer = Lake(s3_lake_url, catalog=tmp_path / "writer" / "catalog.duckdb")
    writer.import_files([folder])
    # A reader whose catalog path is in a folder of the user's own files, some named like cached snapshots.
    work = tmp_path / "work"
    (work / "snapshots").mkdir(parents=True)
    mine = [work / "notes.duckdb", work / "snapshots" / "old.duckdb", work / "other-v000001.duckdb"]
    for path in mine:
        path.write_bytes(b"the user's own")
    reader = Lake(s3_lake_url, catalog=work / "catalog.duckdb")
    assert reader.sql("SELECT count(*) FROM lightcurves").fetchall() == [(6,)]
    writer.import_files([folder])  # a new snapshot: the reader's cached one is replaced
    assert reader.sql("SELECT count(*) FROM lightcurves").fetchall() == [(6,)]
    assert all(path.read_bytes() == b"the user's own" for path in mine)
    cached = sorted(p.name for p in (work / "catalog.duckdb.snapshots").iterdir())
    assert len(cached) == 1 and cached[0].endswith("-v000002.duckdb")
    # A snapshot pointer naming a lake id that would lead out of the cache folder is not followed out of it.
    store = writer.layout.store
    info = json.loads(store.read_bytes("_catalog/LATEST"))
    store.write_bytes("_catalog/LATEST", json.dumps({**info, "lake_id": "../../escape"}).encode())
    assert reader.sql("SELECT count(*) FROM lightcurves").fetchall() == [(6,)]
    assert not list(tmp_path.rglob("escape*"))
    assert "lake-v000002.duckdb" in {p.name for p in (work / "catalog.duckdb.snapshots").iterdir()}


def test_pixel_files_on_s3_with_dask(s3_lake_url: str, dask_client, tmp_path: Path, monkeypatch) -> None:
    """Target pixel files imported by Dask workers into a lake on S3: kept in the bucket's raw area, the same
    light curves as a local import, and `Lake.pixels` on another machine opens the kept file."""
    import lightkurve as lk

    from tests.pixelgen import make_kepler_tpf, make_spoc_tpf

    folder = tmp_path / "pixels"
    files = [make_spoc_tpf(folder, 100000000 + i, 5, n_cadences=400, seed=i) for i in range(3)]
    gzipped = make_kepler_tpf(folder, 10002792, 2, n_cadences=300, seed=7)  # MAST's *_lpd-targ.fits.gz
    assert gzipped.name.endswith(".fits.gz")
    local = Lake(tmp_path / "local")
    remote = Lake(s3_lake_url, executor=dask_client)
    assert local.import_files([folder]).ingested == remote.import_files([folder]).ingested == 4
    query = "SELECT lc_id, file_sha256, pixel_sha256, n_cadences, n_good, median_flux_default FROM lightcurves ORDER BY 1"
    assert local.sql(query).fetchall() == remote.sql(query).fetchall()
    kept = [r[0] for r in remote.sql("SELECT raw_path FROM pixel_files WHERE mission = 'TESS' ORDER BY 1").fetchall()]
    assert all(rel.startswith("raw/mastDownload/TESS/") for rel in kept)
    assert remote.layout.store.read_bytes(kept[0]) == sorted(files)[0].read_bytes()
    # Compressed files are kept as they are (a store must not gzip or gunzip them by their name).
    (kepler,) = remote.sql("SELECT raw_path FROM pixel_files WHERE mission = 'Kepler'").fetchall()[0]
    assert remote.layout.store.read_bytes(kepler) == gzipped.read_bytes()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-machine"))
    tpf = Lake(s3_lake_url).pixels("TIC 100000001", sector=5)
    assert isinstance(tpf, lk.TessTargetPixelFile)
    assert np.array_equal(tpf.flux.value, lk.read(str(files[1])).flux.value, equal_nan=True)
    assert remote.verify().consistent
