"""The sample light curves shipped in data/samples/ and README's first command, which imports them."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from larun_lake import Lake

from .conftest import REPO, run_cli

SAMPLES = REPO / "data" / "samples"
# | `file` | product | bytes | sha256 | copied from |
_ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| (?P<product>[^|]+) \| (?P<bytes>\d+) \| (?P<sha256>[0-9a-f]{64}) \| .+\|$")


def listed() -> dict[str, tuple[int, str]]:
    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    return {m["name"]: (int(m["bytes"]), m["sha256"]) for m in map(_ROW.match, text.splitlines()) if m}


def readme_command_1() -> list[list[str]]:
    """The larun-lake commands of README's command 1 (after the install), as argument lists."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    line = next(s for s in section.splitlines() if s.startswith("python -m pip install"))
    commands = [shlex.split(part) for part in line.split(" && ")]
    assert commands[0][:3] == ["python", "-m", "pip"]
    assert all(c[0] == "larun-lake" for c in commands[1:]), commands
    return [c[1:] for c in commands[1:]]


def test_readme_lists_every_sample_with_its_size_and_sha256() -> None:
    files = {p.name: p for p in SAMPLES.iterdir() if p.name not in ("README.md", ".gitattributes", "plots")}
    entries = listed()
    assert sorted(entries) == sorted(files)
    for name, (size, sha256) in entries.items():
        data = files[name].read_bytes()
        assert len(data) == size, name
        assert hashlib.sha256(data).hexdigest() == sha256, name
    # plots/: the README's quick-look images, made from these samples (kept small)
    plots = list((SAMPLES / "plots").iterdir())
    assert all(p.suffix == ".png" and p.stat().st_size < 110_000 for p in plots), plots
    assert sum(size for size, _ in entries.values()) + sum(p.stat().st_size for p in plots) <= 5_000_000


def test_samples_are_one_light_curve_of_each_kind(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    report = lake.import_files([SAMPLES])
    assert (report.n_files, report.ingested, report.skipped, report.failed, report.quarantined) == (5, 5, 0, 0, 0)
    rows = lake.sql("SELECT mission, author, exptime_s, n_cadences FROM lightcurves ORDER BY mission, author")
    assert rows.fetchall() == [
        ("K2", "K2", 1800, 3470),
        ("Kepler", "Kepler", 1800, 4354),
        ("TESS", "QLP", 1800, 1226),
        ("TESS", "SPOC", 120, 19074),
        ("TESS", "TESS-SPOC", 1800, 1271),
    ]
    checksums = lake.sql("SELECT author, checksum_ok FROM lightcurves WHERE author <> 'QLP'").fetchall()
    assert all(ok for _, ok in checksums), checksums  # QLP files carry no CHECKSUM


@pytest.mark.slow
def test_readme_command_1_imports_the_samples_and_queries_them(tmp_path: Path) -> None:
    """Run from an empty folder with only the samples beside it: no ../shared, default lake ./data/lake."""
    work = tmp_path / "fresh"
    (work / "data").mkdir(parents=True)
    (work / "data" / "samples").symlink_to(SAMPLES, target_is_directory=True)
    outputs = []
    for args in readme_command_1():
        proc = run_cli(*args, cwd=work)
        assert proc.returncode == 0, (args, proc.stderr)
        outputs.append(proc.stdout + proc.stderr)
    assert "5 ingested" in outputs[0]
    assert "lake " in outputs[1] and "5 light curves" in outputs[1]
    for author in ("K2", "Kepler", "QLP", "SPOC", "TESS-SPOC"):
        assert f" {author} " in outputs[2], outputs[2]
    assert (work / "data" / "lake" / "catalog.duckdb").is_file()


def test_fits_files_are_tracked_only_under_data_samples() -> None:
    proc = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip("not a git checkout")
    fits = [p for p in proc.stdout.splitlines() if re.search(r"\.(fits|fit|fts)(\.gz)?$", p, re.IGNORECASE)]
    assert fits and all(p.startswith("data/samples/") for p in fits), fits
