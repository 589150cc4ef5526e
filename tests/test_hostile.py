"""Attacks on the paths that write or delete, each a defect once seen: a busy or newer catalog taken
for a damaged one, a sandbox with a writable folder, --overwrite replacing what materialize never wrote."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from larun_lake import Lake, UsageError
from larun_lake.catalog import Catalog
from larun_lake.catalog.db import resolve_lake
from larun_lake.errors import LakeBusyError, SchemaVersionError
from larun_lake.lake.rebuild import rebuild_catalog

from .conftest import KEPLER_Q2, run_cli

ONE = "SELECT lc_id FROM lightcurves ORDER BY lc_id LIMIT 1"


@pytest.fixture
def small_lake(tmp_path: Path) -> Path:
    path = tmp_path / "lake"
    Lake(path).import_files([KEPLER_Q2])
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rebuild_catalog_never_sets_aside_a_catalog_another_process_holds(small_lake: Path) -> None:
    catalog = small_lake / "catalog.duckdb"
    holder = duckdb.connect(str(catalog))  # a running import, say
    try:
        with pytest.raises(LakeBusyError):
            rebuild_catalog(Catalog(resolve_lake(small_lake), wait_s=0.2))
    finally:
        holder.close()
    assert catalog.is_file() and not list(small_lake.glob("catalog.duckdb.damaged-*"))
    assert Lake(small_lake).sql("SELECT count(*) FROM lightcurves").fetchall() == [(1,)]


def test_rebuild_catalog_never_sets_aside_a_catalog_of_a_newer_larun_lake(small_lake: Path) -> None:
    catalog = small_lake / "catalog.duckdb"
    with duckdb.connect(str(catalog)) as con:
        con.execute("UPDATE lake_meta SET value = '999' WHERE key = 'schema_version'")
        con.execute(
            "UPDATE schema_migrations SET version = 999 WHERE version = (SELECT max(version) FROM schema_migrations)"
        )
    before = _sha(catalog)
    with pytest.raises(SchemaVersionError):
        rebuild_catalog(Catalog(resolve_lake(small_lake)))
    assert _sha(catalog) == before and not list(small_lake.glob("catalog.duckdb.damaged-*"))
    proc = run_cli("--lake", str(small_lake), "rebuild-catalog")
    assert proc.returncode == 3 and "999" in proc.stderr, proc.stderr
    assert _sha(catalog) == before


def test_user_sql_has_no_folder_to_write_to(small_lake: Path, tmp_path: Path) -> None:
    """The spill folder is the one path DuckDB still writes with external access off: it must be private
    to the connection and gone afterwards, so that nothing written there (or planted there) survives."""
    cat = Catalog(resolve_lake(small_lake))
    with cat.read() as con:
        spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
        assert oct(spill.stat().st_mode & 0o777) == oct(0o700)
        con.execute(f"COPY (SELECT 42 AS x) TO '{spill}/planted.csv'")  # the statement check would refuse this
    assert not spill.exists()
    with cat.read() as con:
        again = Path(con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0])
        assert again != spill and not list(again.iterdir())


def test_overwrite_never_replaces_a_file_that_is_not_an_earlier_set(small_lake: Path, tmp_path: Path) -> None:
    lake = Lake(small_lake)
    notes = tmp_path / "notes.txt"
    notes.write_text("a week of notes\n")
    first = lake.materialize(ONE).write(tmp_path / "a.parquet", name="a")
    manifest = first.manifest_path.read_bytes()
    for target in (notes, first.manifest_path):
        with pytest.raises(UsageError, match="not an earlier output"):
            lake.materialize(ONE).write(target, overwrite=True, name="clobber")
    assert notes.read_text() == "a week of notes\n" and first.manifest_path.read_bytes() == manifest
    again = lake.materialize(ONE).write(tmp_path / "a.parquet", overwrite=True, name="a")  # an earlier set: replaced
    assert again.path.is_file() and again.manifest_path.is_file()
    proc = run_cli("--lake", str(small_lake), "materialize", ONE, "--out", str(notes), "--overwrite")
    assert proc.returncode == 2 and notes.read_text() == "a week of notes\n", proc.stderr


def test_no_temporaries_left_after_a_refused_overwrite(small_lake: Path, tmp_path: Path) -> None:
    lake = Lake(small_lake)
    (tmp_path / "keep.csv").write_text("x\n1\n")
    with pytest.raises(UsageError):
        lake.materialize(ONE).write(tmp_path / "keep.csv", format="csv", overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["keep.csv", "lake"]


def test_an_output_that_is_a_device_or_pipe_is_never_renamed_over(small_lake: Path, tmp_path: Path) -> None:
    """`--output /dev/stdout --overwrite` would replace the link in /dev with a file (as root): a pipe stands in."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "stdout"
    link.symlink_to(pipe)
    for target in (pipe, link):
        proc = run_cli(
            "--lake", str(small_lake), "sql", "SELECT 1 AS x", "--format", "csv", "--output", str(target), "--overwrite"
        )
        assert proc.returncode == 2 and "not a regular file" in proc.stderr, proc.stderr
    assert link.is_symlink() and pipe.is_fifo()
    proc = run_cli("--lake", str(small_lake), "materialize", ONE, "--out", str(link), "--overwrite")
    assert proc.returncode == 2 and link.is_symlink(), proc.stderr


def test_a_catalog_that_is_not_a_database_points_at_rebuild_catalog(small_lake: Path) -> None:
    (small_lake / "catalog.duckdb").write_bytes(b"")  # an interrupted copy, say
    for args in (["verify"], ["sql", "SELECT 1"], ["import", str(KEPLER_Q2)]):
        proc = run_cli("--lake", str(small_lake), *args)
        assert proc.returncode == 3 and "rebuild-catalog" in proc.stderr, (args, proc.stderr)
    proc = run_cli("--lake", str(small_lake), "rebuild-catalog")
    assert proc.returncode == 0 and "lake consistent" in proc.stdout, proc.stderr
    assert Lake(small_lake).sql("SELECT count(*) FROM lightcurves").fetchall() == [(1,)]
