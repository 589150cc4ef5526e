"""The read-only SQL surface, attacked: no statement may create, change or delete a file anywhere.

Every statement runs against a copy of a real lake with a decoy folder beside it; afterwards every
file under both is byte-identical and no file has appeared (in the lake, the decoy or the working
folder). Statements are refused or, where harmless, answered; neither may write.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from larun_lake import Lake, LarunLakeError

from .conftest import run_cli

DATA_FILE = "{datafile}"
ATTACKS = [
    # COPY and EXPORT, bare and in every wrapper
    "COPY (SELECT 1 AS x) TO '{decoy}/x.csv'",
    f"COPY (SELECT * FROM cadences LIMIT 1) TO '{DATA_FILE}' (FORMAT parquet)",
    "COPY (SELECT * FROM cadences) TO '{lake}/cadences' (FORMAT parquet, PARTITION_BY (mission), OVERWRITE true)",
    "COPY (SELECT 1 AS x) TO '{lake}/cadences/evil.parquet' (FORMAT parquet)",
    "COPY lightcurve_versions TO '{decoy}/lc.csv'",
    "COPY products FROM '{decoy}/keep.csv'",
    "EXPORT DATABASE '{decoy}/dump'",
    "EXPORT DATABASE lake TO '{decoy}/dump' (FORMAT parquet)",
    "EXPLAIN COPY (SELECT 1) TO '{decoy}/x.csv'",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '{decoy}/x.csv'",
    f"EXPLAIN ANALYZE COPY (SELECT * FROM cadences) TO '{DATA_FILE}' (FORMAT parquet)",
    "EXPLAIN ANALYZE COPY (SELECT * FROM cadences) TO '{lake}/cadences' (FORMAT parquet, PARTITION_BY (mission), "
    "OVERWRITE true)",
    "explain analyze copy (select 1) to '{decoy}/x.csv'",
    "ExPlAiN AnAlYzE CoPy (SELECT 1) To '{decoy}/x.csv'",
    "EXPLAIN (FORMAT json) COPY (SELECT 1) TO '{decoy}/x.csv'",
    "EXPLAIN ANALYSE COPY (SELECT 1) TO '{decoy}/x.csv'",
    "EXPLAIN /* hidden */ ANALYZE COPY (SELECT 1) TO '{decoy}/x.csv'",
    "/* comment */ EXPLAIN ANALYZE COPY (SELECT 1) TO '{decoy}/x.csv'",
    "-- comment\nEXPLAIN ANALYZE COPY (SELECT 1) TO '{decoy}/x.csv'",
    "EXPLAIN ANALYZE EXPORT DATABASE '{decoy}/dump'",
    "EXPLAIN EXPLAIN ANALYZE COPY (SELECT 1) TO '{decoy}/x.csv'",
    "EXPLAIN ANALYZE DELETE FROM products",
    "EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1",
    "EXPLAIN ANALYZE ATTACH '{decoy}/new.duckdb' AS n",
    "SELECT 1; COPY (SELECT 1) TO '{decoy}/x.csv'",
    "SELECT 1; EXPLAIN ANALYZE COPY (SELECT 1) TO '{decoy}/x.csv'",
    "COPY (SELECT 1) TO '{decoy}/x.csv'; SELECT 1",
    "SELECT 1;\n/* two */ copy (select 1) to '{decoy}/x.csv';",
    "WITH a AS (SELECT 1) COPY (SELECT * FROM a) TO '{decoy}/x.csv'",
    # databases and catalogs
    "ATTACH '{decoy}/new.duckdb' AS n",
    "ATTACH '{lake}/catalog.duckdb' AS again",
    "DETACH lake",
    "USE memory",
    "CHECKPOINT",
    "FORCE CHECKPOINT",
    "VACUUM",
    "CREATE TABLE t AS SELECT 1",
    "CREATE TEMP TABLE t AS SELECT 1",
    "CREATE VIEW v AS SELECT 1",
    "CREATE MACRO m(x) AS x",
    "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "DROP TABLE lightcurve_versions",
    "DELETE FROM products",
    "UPDATE products SET state = 'known'",
    "INSERT INTO runs (run_id, command, started_at) VALUES ('x', 'y', now())",
    "TRUNCATE products",
    "ALTER TABLE products ADD COLUMN x INT",
    # settings and extensions
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET allowed_directories = ['/']",
    "SET temp_directory = '{lake}'",
    "SET profile_output = '{decoy}/profile.json'",
    "PRAGMA enable_profiling",
    "PRAGMA enable_profiling = 'json'; PRAGMA profile_output = '{decoy}/p.json'",
    "PRAGMA profiling_output = '{decoy}/p.json'",
    "SELECT current_setting('enable_external_access')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL enable_logging()",
    # reading outside the lake, and table functions that reach files
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('{decoy}/keep.csv')",
    "SELECT * FROM read_blob('{lake}/catalog.duckdb')",
    "SELECT * FROM read_parquet('{lake}/cadences/**/*.parquet')",
    "SELECT * FROM '{decoy}/keep.csv'",
    "SELECT * FROM glob('{decoy}/*')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_json('{decoy}/keep.json')",
    "SELECT * FROM sniff_csv('{decoy}/keep.csv')",
    "SELECT * FROM parquet_metadata('" + DATA_FILE + "')",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM query_table('products')",
    "SELECT * FROM query('COPY (SELECT 1) TO ''{decoy}/x.csv''')",
    # harmless reads: answered, and still nothing written
    "SELECT count(*) FROM cadences",
    "EXPLAIN ANALYZE SELECT count(*) FROM cadences",
    "SUMMARIZE SELECT flux FROM cadences",
    "select * from tic_cone(10, 10, 1)",
]


def _snapshot(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                out[str(path)] = "dir"
    return out


@pytest.fixture
def arena(lake_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "keep.csv").write_text("a,b\n1,2\n")
    (decoy / "keep.json").write_text('{"a": 1}\n')
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    datafile = sorted((lake_copy / "cadences").rglob("*.parquet"))[0]
    return lake_copy, decoy, workdir, datafile


def test_there_are_enough_attacks() -> None:
    assert len(ATTACKS) >= 60


@pytest.mark.parametrize("template", ATTACKS)
def test_no_statement_writes_a_file(arena, template: str) -> None:
    lake, decoy, workdir, datafile = arena
    statement = template.format(lake=lake, decoy=decoy, datafile=datafile)
    before = _snapshot(lake, decoy, workdir)
    with contextlib.suppress(LarunLakeError):  # refused or failed, as a domain error, never a crash
        Lake(lake).sql(statement)
    assert _snapshot(lake, decoy, workdir) == before
    # The lake still answers, with the same data.
    assert Lake(lake).sql("SELECT count(*) FROM lightcurves").fetchall() == [(24,)]


# query('...') is refused by DuckDB itself (it runs a single SELECT only); the rest by the statement check.
@pytest.mark.parametrize("template", [a for a in ATTACKS if ("COPY" in a.upper() or "EXPORT" in a.upper())
                                      and "query(" not in a])
def test_writes_are_refused_by_the_statement_check(arena, template: str) -> None:
    lake, decoy, _, datafile = arena
    statement = template.format(lake=lake, decoy=decoy, datafile=datafile)
    with pytest.raises(LarunLakeError, match=r"^(refused|malformed SQL)"):
        Lake(lake).sql(statement)


@pytest.mark.parametrize("statement", [
    "COPY (SELECT 1 AS x) TO '{decoy}/x.csv'",
    "COPY (SELECT * FROM cadences LIMIT 5) TO '{datafile}' (FORMAT parquet)",
    "EXPORT DATABASE '{decoy}/dump'",
    "SELECT * FROM read_csv('{decoy}/keep.csv')",
    "SELECT * FROM read_parquet('{datafile}')",
])
def test_the_sandboxed_connection_has_no_file_access(arena, statement: str) -> None:
    """Even a statement that got past the statement check could not touch a file."""
    lake, decoy, workdir, datafile = arena
    before = _snapshot(lake, decoy, workdir)
    with Lake(lake).catalog.read() as con, pytest.raises(duckdb.Error, match=r"disabled|Permission|not allowed"):
        con.execute(statement.format(decoy=decoy, datafile=datafile))
    assert _snapshot(lake, decoy, workdir) == before


def test_the_sandboxed_connection_reads_the_data_through_datasets(arena) -> None:
    lake, *_ = arena
    with Lake(lake).catalog.read() as con:
        n = con.execute("SELECT count(*) FROM cadences WHERE mission = 'K2'").fetchall()[0][0]
        assert n == 4757
        with pytest.raises(duckdb.Error):
            con.execute("SET enable_external_access = true")


def test_the_cli_refuses_explain_analyze_copy_and_writes_nothing(arena) -> None:
    lake, decoy, workdir, datafile = arena
    before = _snapshot(lake, decoy, workdir)
    proc = run_cli("--lake", str(lake), "sql",
                   f"EXPLAIN ANALYZE COPY (SELECT * FROM cadences) TO '{datafile}' (FORMAT parquet)")
    assert proc.returncode == 2, proc.stderr
    assert "refused" in proc.stderr and "Traceback" not in proc.stderr
    assert _snapshot(lake, decoy, workdir) == before
    import pandas as pd

    assert len(pd.read_parquet(lake / "cadences")) == 270995


def test_a_missing_data_file_fails_only_queries_that_read_it(arena) -> None:
    lake, *_ = arena
    k2 = sorted((lake / "cadences" / "mission=K2").rglob("*.parquet"))
    for path in k2:
        os.remove(path)
    assert Lake(lake).sql("SELECT count(*) FROM lightcurves").fetchall() == [(24,)]
    assert Lake(lake).sql("SELECT count(*) FROM cadences WHERE mission = 'TESS'").fetchall() == [(252880,)]
    with pytest.raises(LarunLakeError, match=r"missing.*verify"):
        Lake(lake).sql("SELECT count(*) FROM cadences")
    proc = run_cli("--lake", str(lake), "sql", "SELECT count(*) FROM cadences")
    assert proc.returncode == 3 and "missing" in proc.stderr, proc.stderr


def test_no_spill_folder_in_the_lake(arena) -> None:
    lake, *_ = arena
    Lake(lake).sql("SELECT * FROM cadences ORDER BY flux")
    assert not any(p.name.startswith(".tmp") for p in lake.rglob("*"))
    shutil.rmtree(lake / "_staging", ignore_errors=True)
