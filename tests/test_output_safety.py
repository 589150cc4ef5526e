"""Output options attacked: nothing a user writes with --out/--output may land in the lake, replace the
catalog, or delete a file or folder the command did not write itself."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from larun_lake import Lake, UsageError

from .conftest import run_cli

ONE = "SELECT lc_id FROM lightcurves WHERE target_id = 25155310 ORDER BY lc_id LIMIT 1"


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def lake(lake_copy: Path) -> Lake:
    return Lake(lake_copy)


def _write(lake: Lake, out: Path, **kwargs):
    return lake.materialize(ONE).write(out, **kwargs)


@pytest.mark.parametrize("where", ["lake", "catalog", "data_file", "inside_new", "parent"])
def test_materialize_never_writes_into_or_over_the_lake(lake: Lake, where: str) -> None:
    data_file = sorted((lake.path / "cadences").rglob("*.parquet"))[0]
    out = {"lake": lake.path, "catalog": lake.path / "catalog.duckdb", "data_file": data_file,
           "inside_new": lake.path / "sets" / "x.parquet", "parent": lake.path.parent}[where]
    before = _snapshot(lake.path)
    with pytest.raises(UsageError, match="lake"):
        _write(lake, out, overwrite=True)
    assert _snapshot(lake.path) == before
    assert lake.sql("SELECT count(*) FROM cadences").fetchall() == [(270995,)]


def test_a_link_into_the_lake_is_refused(lake: Lake, tmp_path: Path) -> None:
    link = tmp_path / "innocent.parquet"
    link.symlink_to(lake.path / "catalog.duckdb")
    before = _snapshot(lake.path)
    with pytest.raises(UsageError, match="inside the lake"):
        _write(lake, link, overwrite=True)
    assert _snapshot(lake.path) == before


def test_overwrite_never_replaces_a_folder_of_earlier_sets(lake: Lake, tmp_path: Path) -> None:
    msets = tmp_path / "msets"
    for i in range(8):
        _write(lake, msets / f"set{i}.parquet", name=f"set{i}")
    before = _snapshot(msets)
    for fmt in ("parquet", "csv", "parquet-nested", "lightkurve-fits"):
        with pytest.raises(UsageError, match="folder"):
            _write(lake, msets, format=fmt, overwrite=True, name="clobber")
    assert _snapshot(msets) == before and len(before) == 16


def test_overwrite_of_a_folder_with_unrelated_files_is_refused(lake: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("years of work")
    (folder / "notes.fits").write_bytes(b"not a set")
    before = _snapshot(folder)
    with pytest.raises(UsageError, match="not an earlier output"):
        _write(lake, Path(str(folder) + "/"), format="lightkurve-fits", overwrite=True, name="mine")
    with pytest.raises(UsageError, match="folder"):
        _write(lake, folder, format="csv", overwrite=True, name="mine")
    assert _snapshot(folder) == before


def test_overwrite_replaces_an_earlier_fits_set_and_a_file(lake: Lake, tmp_path: Path) -> None:
    folder = tmp_path / "fitsset"
    _write(lake, folder, format="lightkurve-fits", name="fitsset")
    first = sorted(p.name for p in folder.iterdir())
    _write(lake, folder, format="lightkurve-fits", name="fitsset", overwrite=True)
    assert sorted(p.name for p in folder.iterdir()) == first and len(first) == 1
    out = tmp_path / "a.parquet"
    _write(lake, out, name="a")
    with pytest.raises(UsageError, match="exists"):
        _write(lake, out, name="a")
    _write(lake, out, name="a", overwrite=True)
    assert json.loads((tmp_path / "a.parquet.manifest.json").read_text())["name"] == "a"


def test_a_killed_runs_temporaries_are_removed_by_the_next_run(lake: Lake, tmp_path: Path) -> None:
    dead = tmp_path / f".x.parquet.tmp-{2**22 + 12345}-deadbeef"
    dead.write_bytes(b"half a set")
    dead_manifest = tmp_path / f".x.parquet.manifest.json.tmp-{2**22 + 12345}-0badf00d"
    dead_manifest.write_text("{")
    alive = tmp_path / f".x.parquet.tmp-{os.getppid()}-cafecafe"  # a live process's: not ours to remove
    alive.write_bytes(b"still writing")
    _write(lake, tmp_path / "x.parquet", name="x")
    assert not dead.exists() and not dead_manifest.exists() and alive.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"x.parquet", "x.parquet.manifest.json", alive.name, "lake"}


def test_sets_list_and_show_notice_a_missing_output(lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "gone.parquet"
    _write(lake, out, name="gone")
    out.unlink()
    rows = {r["name"]: r for r in lake.sets().arrow().to_pylist()}
    assert rows["gone"]["output_present"] is False
    status = lake.set_status("gone")
    assert status.changed and "is gone" in status.summary()


def test_sql_output_refuses_the_catalog_and_existing_files(lake: Lake, tmp_path: Path) -> None:
    before = _snapshot(lake.path)
    for extra in ([], ["--overwrite"]):
        proc = run_cli("--lake", str(lake.path), "sql", "SELECT 1 AS x", "--format", "csv",
                       "--output", str(lake.path / "catalog.duckdb"), *extra)
        assert proc.returncode == 2 and "inside the lake" in proc.stderr, proc.stderr
    assert _snapshot(lake.path) == before
    target = tmp_path / "keep.csv"
    target.write_text("precious\n")
    proc = run_cli("--lake", str(lake.path), "sql", "SELECT 1 AS x", "--format", "csv", "--output", str(target))
    assert proc.returncode == 2 and "exists" in proc.stderr and target.read_text() == "precious\n"
    proc = run_cli("--lake", str(lake.path), "sql", "SELECT 1 AS x", "--format", "csv", "--output", str(target),
                   "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert target.read_text() == "x\n1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "lake"]


def test_materialize_cli_refuses_before_any_work(lake: Lake) -> None:
    proc = run_cli("--lake", str(lake.path), "materialize", ONE, "--out", str(lake.path), "--overwrite")
    assert proc.returncode == 2 and "inside the lake" in proc.stderr and "Traceback" not in proc.stderr
    assert (lake.path / "catalog.duckdb").is_file()
