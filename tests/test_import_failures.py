"""Import failures: a bad file is that file's problem; a failing lake stops the run cleanly."""

from __future__ import annotations

import gzip
import json
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from astropy.io import fits

from larun_lake import Lake

from .conftest import KEPLER_Q2, QLP_S24, REPO, SPOC_S1, run_cli
from .fitsgen import write_spoc_lightcurve


def _with_header(src: Path, dest: Path, **cards) -> Path:
    with fits.open(src) as hdul:
        for key, value in cards.items():
            hdul[0].header[key] = value
        hdul.writeto(dest, checksum=True)
    return dest


def _runs(lake: Path) -> list[tuple[str, int, int]]:
    return Lake(lake).sql("SELECT status, n_ingested, n_quarantined FROM runs ORDER BY started_at").fetchall()


def _lake_is_whole(lake: Path) -> None:
    """Every registered data file is there, nothing unregistered lies in the data folders, no staging."""
    registered = {r[0] for r in Lake(lake).sql("SELECT path FROM data_files").fetchall()}
    on_disk = {p.relative_to(lake).as_posix() for p in lake.rglob("*.parquet") if not {"_staging", "_catalog"} & set(p.parts)}
    assert on_disk == registered
    assert not [p for p in (lake / "_staging").rglob("*") if p.is_file()]


@pytest.mark.slow
def test_out_of_range_header_numbers_are_that_files_problem(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(KEPLER_Q2, src)
    shutil.copy(QLP_S24, src)
    _with_header(SPOC_S1, src / "huge_tic_lc.fits", TICID=2**70)
    _with_header(SPOC_S1, src / "negative_tic_lc.fits", TICID=-5)
    _with_header(SPOC_S1, src / SPOC_S1.name, SECTOR=10**12)
    lake = tmp_path / "lake"

    result = run_cli("--lake", str(lake), "import", str(src))

    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr
    reasons = dict(Lake(lake).sql("SELECT file_name, state || ': ' || last_error FROM products").fetchall())
    assert reasons["huge_tic_lc.fits"] == f"quarantined: TICID = {2**70} is out of range (1 to {2**63 - 1})"
    assert reasons["negative_tic_lc.fits"].startswith("quarantined: TICID = -5 is out of range")
    assert reasons[SPOC_S1.name].startswith(f"quarantined: SECTOR = {10**12} is out of range")
    good = Lake(lake).sql("SELECT author, n_cadences FROM lightcurves ORDER BY author").fetchall()
    assert good == [("Kepler", 4354), ("QLP", 1226)]
    assert Lake(lake).sql("SELECT count(*) FROM cadences").fetchall() == [(4354 + 1226,)]
    assert _runs(lake) == [("partial", 2, 3)]


@pytest.mark.slow
def test_a_full_disk_stops_the_run_with_one_line_and_exit_3(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    Lake(lake).import_files([QLP_S24])
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(KEPLER_Q2, src)
    write_spoc_lightcurve(src, tic_id=1234567, sector=5, n_cadences=400_000)  # about 11 MB of Parquet
    limit = 8 << 20  # larger than the catalog, smaller than that light curve's data file

    def small_files() -> None:  # writing past the limit fails with EFBIG, as a full disk fails with ENOSPC
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = subprocess.run(
        [sys.executable, "-m", "larun_lake", "--lake", str(lake), "import", str(src)],
        capture_output=True,
        text=True,
        preexec_fn=small_files,
        timeout=300,
    )

    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write to the lake at {lake}: ")
    assert "File too large" in lines[0] and "Traceback" not in result.stderr
    assert [r[0] for r in _runs(lake)] == ["ok", "error"]
    assert Lake(lake).sql("SELECT author FROM lightcurves").fetchall() == [("QLP",)]
    _lake_is_whole(lake)
    verify = run_cli("--lake", str(lake), "verify")
    assert verify.returncode == 0 and "removed" not in verify.stdout + verify.stderr


@pytest.mark.slow
def test_an_unwritable_partition_folder_stops_the_run_and_rolls_back(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    Lake(lake).import_files([QLP_S24])
    # Tests run as root, which chmod does not stop: a file where the lake needs a folder fails for anyone.
    (lake / "cadences" / "mission=Kepler").write_text("not a folder")
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(KEPLER_Q2, src)
    shutil.copy(SPOC_S1, src)

    result = run_cli("--lake", str(lake), "import", str(src))

    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(f"error: cannot write to the lake at {lake}: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert [r[0] for r in _runs(lake)] == ["ok", "error"]
    assert Lake(lake).sql("SELECT author FROM lightcurves").fetchall() == [("QLP",)]  # the batch rolled back
    assert Lake(lake).sql("SELECT count(*) FROM products WHERE state = 'ingested'").fetchall() == [(1,)]
    (lake / "cadences" / "mission=Kepler").unlink()
    _lake_is_whole(lake)


# VmHWM is this process's own peak (ru_maxrss would carry the forking pytest process's peak over exec).
_PEAK_RSS = textwrap.dedent("""
    import json, re, sys
    from pathlib import Path
    from larun_lake import Lake
    report = Lake(sys.argv[1]).import_files([sys.argv[2]], workers=1)
    peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1])
    print(json.dumps({"peak_mb": peak_kb / 1024, "ingested": report.ingested, "problems": report.problems}))
""")


@pytest.mark.slow
def test_a_gzip_bomb_is_quarantined_without_inflating_it(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    Lake(lake).import_files([QLP_S24])  # the lake exists: the child's memory is the import's alone
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(KEPLER_Q2, src)
    bomb = src / (SPOC_S1.name + ".gz")
    zeros = gzip.compress(bytes(16 << 20), 9)  # 16 MB of zeros in 16 kB; members repeat cheaply
    with bomb.open("wb") as out:
        out.write(gzip.compress(SPOC_S1.read_bytes(), 1))  # a real light curve, then 1 GB its headers never declare
        for _ in range(64):
            out.write(zeros)
    assert bomb.stat().st_size < 4 << 20

    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(lake), str(src)], capture_output=True, text=True, cwd=REPO, timeout=300
    )

    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["peak_mb"] < 600  # inflating it whole took more than 1 GB
    assert out["problems"] == [[str(bomb), "quarantined", "gzip inflates past the size its headers declare"]]
    assert out["ingested"] == 1
    assert Lake(lake).sql("SELECT count(*) FROM lightcurves WHERE author = 'Kepler'").fetchall() == [(1,)]
