"""verify: the catalog against the files, safe repairs, and consistency after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from larun_lake import Lake
from larun_lake.errors import LakeBusyError

from .conftest import run_cli
from .fitsgen import make_spoc_set


def test_clean_lake_verifies(lake_copy: Path) -> None:
    report = Lake(lake_copy).verify()
    assert report.consistent and not report.repairs and report.checked_files >= 10


def test_orphans_and_stale_staging_are_removed(lake_copy: Path) -> None:
    part = next((lake_copy / "cadences").rglob("*.parquet"))
    # A killed run's leftover: named by a run the catalog recorded (files of unknown runs are kept).
    orphan = part.parent / (part.name[: -len("0001.parquet")] + "0999.parquet")
    orphan.write_bytes(part.read_bytes())
    staging = lake_copy / "_staging" / "20200101T000000-dead00"
    staging.mkdir(parents=True)
    (staging / "half.parquet").write_bytes(b"PAR1")
    proc = run_cli("--lake", str(lake_copy), "verify")
    assert proc.returncode == 0, proc.stderr
    assert "removed orphan cadences/" in proc.stdout and "lake consistent" in proc.stdout
    assert not orphan.exists() and not staging.exists()
    assert part.exists()


def test_missing_and_corrupt_files_are_reported(lake_copy: Path) -> None:
    files = sorted((lake_copy / "cadences").rglob("*.parquet"))
    files[0].unlink()
    data = bytearray(files[1].read_bytes())
    data[len(data) // 2] ^= 0xFF
    files[1].write_bytes(bytes(data))
    proc = run_cli("--lake", str(lake_copy), "verify")
    assert proc.returncode == 1
    assert "missing: cadences/" in proc.stderr and "corrupt: cadences/" in proc.stderr
    report = Lake(lake_copy).verify(forget_missing=True)
    assert len(report.forgotten) == 1
    states = Lake(lake_copy).sql("SELECT count(*) FROM products WHERE state = 'failed'").fetchall()[0][0]
    assert states >= 1


def _data_files(lake: Path) -> list[Path]:
    return [p for p in lake.rglob("*.parquet") if "_catalog" not in p.parts]


@pytest.mark.slow
def test_import_killed_mid_run_leaves_a_consistent_lake_and_resumes(tmp_path: Path) -> None:
    files = make_spoc_set(tmp_path / "fits", 200, n_cadences=4000, seed=7)
    lake = tmp_path / "lake"
    cmd = [sys.executable, "-m", "larun_lake", "--lake", str(lake), "--quiet", "import", str(tmp_path / "fits")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # Kill it once some light curves are committed but not all (the next batch is then in flight). The first
    # commit moves its files into cadences/: watched on disk, since a reader waiting for the catalog on a busy
    # machine may get in only after the last batch.
    while time.monotonic() < deadline:
        if (lake / "cadences").is_dir() and any((lake / "cadences").rglob("*.parquet")):
            try:
                if Lake(lake, wait=0.5).sql("SELECT count(*) FROM lightcurves").fetchall()[0][0] > 0:
                    break
            except LakeBusyError:
                pass  # the writer holds it: try again at its next gap
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Its worker processes die with it rather than idling on as orphans.
    deadline = time.monotonic() + 10
    while _orphans(lake) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _orphans(lake)
    lk = Lake(lake)
    seen = lk.sql("SELECT count(*) FROM lightcurves").fetchall()[0][0]
    assert 0 < seen < len(files), "kill came too late or too early to test a partial run"
    # Every light curve the catalog shows is complete in the Parquet files.
    rows = lk.sql("SELECT l.lc_id, any_value(l.n_cadences), count(c.time) FROM lightcurves l "
                  "JOIN cadences c USING (lc_id) GROUP BY l.lc_id").fetchall()
    assert len(rows) == seen and all(n == m for _, n, m in rows)
    registered = {r[0] for r in lk.sql("SELECT path FROM data_files").fetchall()}
    published = {p.relative_to(lake).as_posix() for p in _data_files(lake) if "_staging" not in p.parts}
    report = lk.verify()
    assert report.consistent and not report.missing and not report.corrupt
    # Only files the killed batch moved in without registering are removed; nothing registered is touched.
    assert set(report.orphans_removed) == published - registered
    assert {p.relative_to(lake).as_posix() for p in _data_files(lake)} == registered
    assert lk.verify().repairs == []
    # Re-running finishes the job with nothing duplicated.
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert lk.sql("SELECT count(*), count(DISTINCT lc_id) FROM lightcurves").fetchall() == [(200, 200)]
    now_registered = [r[0] for r in lk.sql("SELECT path FROM data_files WHERE area = 'cadences'").fetchall()]
    assert sum(pq.ParquetFile(lake / p).metadata.num_rows for p in now_registered) == 200 * 4000
    assert lk.sql("SELECT count(*) FROM cadences").fetchall() == [(200 * 4000,)]
    assert lk.sql("SELECT status FROM runs ORDER BY started_at").fetchall()[0] == ("interrupted",)


def _orphans(lake: Path) -> list[int]:
    """Processes still running an import into this lake."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(lake) in cmdline and " import " in cmdline:
                out.append(int(entry.name))
    return out
