"""The read-only SQL surface: allowlist, sandbox, eager results, examples, concurrent readers and writers."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from larun_lake import Lake, LakeBusyError, NotALakeError, QueryError, ReadOnlyViolation
from larun_lake.sqlfiles import list_sql, load_sql

from .conftest import SPOC_S1, run_cli
from .fitsgen import make_spoc_set

REFUSED = [
    "DELETE FROM products",
    "INSERT INTO runs (run_id, command, started_at) VALUES ('x', 'y', now())",
    "UPDATE products SET state = 'known'",
    "DROP TABLE lightcurve_versions",
    "CREATE TABLE t AS SELECT 1",
    "ALTER TABLE products ADD COLUMN x INT",
    "ATTACH '/tmp/other.duckdb' AS other",
    "DETACH lake",
    "COPY (SELECT * FROM lightcurves) TO '/tmp/out.csv'",
    "COPY products FROM '/tmp/in.csv'",
    "EXPORT DATABASE '/tmp/dump'",
    "PRAGMA enable_profiling",
    "SET threads = 1",
    "INSTALL spatial",
    "LOAD spatial",
    "CHECKPOINT",
    "SELECT 1; DELETE FROM products",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('/tmp/*.parquet')",
    "SELECT * FROM glob('/etc/*')",
]


def catalog_hash(lake: Path) -> str:
    return hashlib.sha256((lake / "catalog.duckdb").read_bytes()).hexdigest()


@pytest.mark.parametrize("statement", REFUSED)
def test_statements_that_change_or_escape_the_lake_are_refused(fixture_lake: Path, statement: str) -> None:
    before = catalog_hash(fixture_lake)
    with pytest.raises(ReadOnlyViolation, match=r"^refused"):
        Lake(fixture_lake).sql(statement)
    assert catalog_hash(fixture_lake) == before
    assert Lake(fixture_lake).sql("SELECT count(*) FROM lightcurves").fetchall() == [(24,)]


@pytest.mark.parametrize("statement", [
    "SELECT 1", "WITH a AS (SELECT 2 AS x) SELECT x FROM a", "EXPLAIN SELECT * FROM cadences",
    "DESCRIBE lightcurves", "SHOW TABLES", "SUMMARIZE SELECT n_good FROM lightcurves", "PRAGMA table_info('products')",
    "FROM lightcurves LIMIT 1",
])
def test_read_only_statements_run(fixture_lake: Path, statement: str) -> None:
    assert len(Lake(fixture_lake).sql(statement)) >= 1


def test_result_is_eager_and_usable_after_close(fixture_lake: Path) -> None:
    import polars as pl
    import pyarrow as pa

    result = Lake(fixture_lake).sql("SELECT * FROM cadences WHERE target_id = ?", [25155310])
    # The catalog is closed now: a writer can open it immediately.
    with Lake(fixture_lake, wait=0).catalog.write("test"):
        pass
    assert isinstance(result.arrow(), pa.Table)
    assert len(result.df()) == 20076 + 15678 + 5  # SPOC sectors 1 and 6, five cadences of its pixels
    assert isinstance(result.pl(), pl.DataFrame) and result.pl().height == 35759


@pytest.mark.parametrize("name", list_sql("examples"))
def test_every_example_query_runs(fixture_lake: Path, name: str) -> None:
    result = Lake(fixture_lake).sql(load_sql(name))
    assert len(result.columns) >= 2
    if name.endswith(("quiet_stars.sql", "coverage_by_period.sql", "multi_sector_targets.sql",
                      "flagged_cadences.sql", "good_cadences_of_target.sql", "problem_files.sql",
                      "materialize_bright_spoc.sql", "materialize_targets.sql")):
        assert len(result) > 0, name


def test_quiet_stars_example_orders_by_cdpp(fixture_lake: Path) -> None:
    rows = Lake(fixture_lake).sql(load_sql("examples/quiet_stars.sql")).df()
    assert rows["cdpp_1h"].is_monotonic_increasing
    # TIC 279741379 is quieter (63.5 ppm) but only 68 % of its cadences are good, so the filter drops it.
    assert rows.iloc[0]["target_id"] == 256364928  # 67.4 ppm


def test_malformed_query_and_missing_lake(tmp_path: Path, fixture_lake: Path) -> None:
    with pytest.raises(QueryError, match="syntax"):
        Lake(fixture_lake).sql("SELEC 1")
    with pytest.raises(QueryError, match="no_such_column"):
        Lake(fixture_lake).sql("SELECT no_such_column FROM lightcurves")
    with pytest.raises(NotALakeError, match="does not exist"):
        Lake(tmp_path / "nowhere").sql("SELECT 1")
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotALakeError, match="not a lake"):
        Lake(tmp_path / "plain").sql("SELECT 1")
    assert not (tmp_path / "nowhere").exists()


def test_a_lake_without_data_files_has_typed_empty_views(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.catalog.create_if_missing()
    assert lake.sql("SELECT count(*) FROM cadences").fetchall() == [(0,)]
    types = dict(lake.sql("SELECT column_name, column_type FROM (DESCRIBE cadence_rows)").fetchall())
    assert types["flux"] == "FLOAT" and types["time"] == "DOUBLE" and types["lc_id"] == "VARCHAR"
    assert types["period"] == "VARCHAR"
    assert dict(lake.sql("SELECT column_name, column_type FROM (DESCRIBE tic_rows)").fetchall())["ID"] == "BIGINT"


def test_a_query_does_not_load_the_ingest_stack(fixture_lake: Path) -> None:
    # What `larun-lake sql` pays at start-up: pandas and astropy cost about 0.2 s each to import.
    code = (f"import sys; from larun_lake import Lake; import larun_lake.cli; "
            f"Lake({str(fixture_lake)!r}).sql('SELECT count(*) FROM lightcurves').fetchall(); "
            "print(sorted(m for m in ('pandas', 'astropy.io.fits', 'lightkurve') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_busy_lake_names_the_holder(lake_copy: Path) -> None:
    holder = Lake(lake_copy).catalog
    with holder.write("import run test-holder"):
        started = time.monotonic()
        with pytest.raises(LakeBusyError, match=r"lake busy: import run test-holder, pid \d+"):
            Lake(lake_copy, wait=0.3).sql("SELECT 1")
        assert time.monotonic() - started < 5
        proc = run_cli("--lake", str(lake_copy), "--wait", "0.3", "sql", "SELECT 1")
        assert proc.returncode == 3
        assert "lake busy: import run test-holder, pid" in proc.stderr


def test_catalog_is_free_for_others_once_a_write_ends(lake_copy: Path) -> None:
    # The process's catalog connections share one DuckDB instance; ending one must release the file.
    writer = Lake(lake_copy)
    with writer.catalog.write("import run test"):
        pass
    writer.status()
    proc = run_cli("--lake", str(lake_copy), "--wait", "0", "sql", "SELECT count(*) AS n FROM lightcurves",
                   "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.splitlines()[1]) == writer.sql("SELECT count(*) FROM lightcurves").fetchall()[0][0] > 0


def test_threads_of_one_process_share_a_catalog(lake_copy: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    lake = Lake(lake_copy)
    expected = lake.sql("SELECT count(*) FROM lightcurves").fetchall()

    def work(i: int) -> list:
        if i % 2:
            with lake.catalog.write("test"):
                pass
        return lake.sql("SELECT count(*) FROM lightcurves").fetchall()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(12))) == [expected] * 12


@pytest.mark.slow
def test_sql_works_while_another_process_imports(tmp_path: Path) -> None:
    files = make_spoc_set(tmp_path / "fits", 160, n_cadences=6000, seed=3)
    lake = tmp_path / "lake"
    importer = subprocess.Popen([sys.executable, "-m", "larun_lake", "--lake", str(lake), "--quiet", "import",
                                 str(tmp_path / "fits")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (lake / "catalog.duckdb").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        counts = []
        while importer.poll() is None and time.monotonic() < deadline:
            proc = run_cli("--lake", str(lake), "--wait", "30", "sql", "SELECT count(*) AS n FROM lightcurves",
                           "--format", "csv")
            assert proc.returncode == 0, proc.stderr
            counts.append(int(proc.stdout.splitlines()[1]))
        _, err = importer.communicate(timeout=120)
    finally:
        importer.kill()
    assert importer.returncode == 0, err
    assert len(counts) >= 2, "the import finished before a concurrent query ran"
    assert counts == sorted(counts)  # never a half-visible batch going backwards
    assert Lake(lake).sql("SELECT count(*) FROM lightcurves").fetchall() == [(len(files),)]


def test_tic_files_of_older_harvests_read_with_the_declared_types(tmp_path: Path) -> None:
    """A batch stored with an all-null (text) Teff and a later typed one read as one DOUBLE column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from larun_lake.catalog.datasets import tic_dataset
    from larun_lake.lake.storage import Storage

    old = tmp_path / "tic" / "hpx=1" / "part-a-0001.parquet"
    new = tmp_path / "tic" / "hpx=2" / "part-b-0001.parquet"
    for path in (old, new):
        path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"ID": [1, 2], "Teff": pa.array(["5675.5", None], pa.string())}), old)
    pq.write_table(pa.table({"ID": [3], "Teff": [3505.0], "logg": [4.8]}), new)
    store = Storage.from_url(tmp_path)
    table = tic_dataset(store, ["tic/hpx=1/part-a-0001.parquet", "tic/hpx=2/part-b-0001.parquet"]).to_table()
    assert table.schema.field("Teff").type == pa.float64() and table.schema.field("hpx").type == pa.int32()
    assert sorted(zip(table["ID"].to_pylist(), table["Teff"].to_pylist(), strict=True)) == [
        (1, 5675.5), (2, None), (3, 3505.0)]


def test_several_statements_are_refused_with_one_clear_line(fixture_lake: Path) -> None:
    for text in ("SELECT 1; SELECT 2", "SELECT 1;; SELECT 2", "DESCRIBE lightcurves; SELECT 1"):
        with pytest.raises(QueryError, match=r"holds 2 statements; the sql command runs one at a time"):
            Lake(fixture_lake).sql(text)
    assert Lake(fixture_lake).sql("SELECT 1 AS x;").fetchall() == [(1,)]
    proc = run_cli("--lake", str(fixture_lake), "sql", "SELECT 1; SELECT 2")
    assert proc.returncode == 2 and "Resource In Use" not in proc.stderr and "2 statements" in proc.stderr


def test_import_summary_times_the_whole_command(tmp_path: Path) -> None:
    """The stated time runs from process start, so it is close to when the summary line arrives."""
    import os

    cmd = [sys.executable, "-m", "larun_lake", "--lake", str(tmp_path / "lake"), "import", str(SPOC_S1)]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ})
    summary = next(line for line in proc.stderr if line.startswith("import "))
    arrived = time.monotonic() - start
    assert proc.wait(timeout=120) == 0
    stated = float(summary.rsplit(" in ", 1)[1].split(" s ")[0])
    assert 0.6 * arrived - 0.1 <= stated <= arrived + 0.1, (stated, arrived)
