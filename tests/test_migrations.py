"""Numbered catalog migrations: older lakes are upgraded, newer ones refused, each step atomic."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from larun_lake import Lake, quality
from larun_lake.catalog import SCHEMA_VERSION, migrations
from larun_lake.errors import SchemaVersionError

from .conftest import REPO, run_cli

DATA = Path(__file__).parent / "data"
SAMPLE = REPO / "data" / "samples" / "ktwo211117077-c04_llc.fits"
NAMES = ["initial", "mast_searches_and_tic", "materialized_sets", "pixel_files"]


def old_lake(tmp_path: Path, version: int) -> Path:
    """A lake whose catalog is exactly what the release with that schema version wrote."""
    root = tmp_path / f"lake_v{version}"
    root.mkdir()
    con = duckdb.connect(str(root / "catalog.duckdb"))
    con.execute((DATA / f"catalog_schema_v{version}.sql").read_text())
    con.close()
    return root


def catalog_rows(root: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(root / "catalog.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def tables(root: Path) -> set[str]:
    return {name for (name,) in catalog_rows(root, "SELECT table_name FROM duckdb_tables()")}


def meta(root: Path) -> dict[str, str]:
    return dict(catalog_rows(root, "SELECT key, value FROM lake_meta"))


def test_migrations_are_numbered_files_and_the_schema_version_is_the_last() -> None:
    assert [(m.version, m.name) for m in migrations.available()] == [
        (1, "initial"),
        (2, "mast_searches_and_tic"),
        (3, "materialized_sets"),
        (4, "pixel_files"),
        (5, "observations"),
        (6, "lightcurve_exposure"),
    ]
    assert SCHEMA_VERSION == 6


def test_new_lake_records_every_migration(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.import_files([SAMPLE])
    rows = lake.sql("SELECT version, name, applied_at IS NOT NULL FROM schema_migrations ORDER BY version").fetchall()
    assert rows == [(1, "initial", True), (2, "mast_searches_and_tic", True), (3, "materialized_sets", True),
                    (4, "pixel_files", True), (5, "observations", True), (6, "lightcurve_exposure", True)]
    assert meta(tmp_path / "lake")["schema_version"] == "6"


def test_lake_of_the_current_release_is_recorded_as_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    root = old_lake(tmp_path, 3)
    proc = run_cli("--lake", str(root), "status")  # a read-only command is enough to bring it up to date
    assert proc.returncode == 0, proc.stderr
    rows = catalog_rows(root, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    assert rows[:3] == [(1, "initial", None), (2, "mast_searches_and_tic", None), (3, "materialized_sets", None)]
    assert [r[:2] for r in rows[3:]] == [(4, "pixel_files"), (5, "observations"), (6, "lightcurve_exposure")]
    assert meta(root)["schema_version"] == "6"  # later releases' migrations, applied now
    assert meta(root)["created_at"] == "2026-11-25T00:02:42.000000+00:00"
    assert catalog_rows(root, "SELECT run_id, n_ingested FROM runs") == [("20261125T000242-165e25", 5)]
    # the stale quality row is replaced by the shipped tables
    assert catalog_rows(root, "SELECT count(*) FROM quality_masks")[0][0] == len(quality.mask_rows())
    proc = run_cli("--lake", str(root), "import", str(SAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert Lake(root).sql("SELECT mission, target_id FROM lightcurves").fetchall() == [("K2", 211117077)]


def test_lake_of_the_first_release_gets_the_later_migrations(tmp_path: Path) -> None:
    root = old_lake(tmp_path, 1)
    assert not {"mast_searches", "tic_index", "materialized_sets"} & tables(root)
    Lake(root).import_files([SAMPLE])
    assert {"mast_searches", "mast_products", "tic_index", "materialized_sets", "materialized_set_members"} <= tables(
        root
    )
    rows = catalog_rows(root, "SELECT version, name, applied_at IS NOT NULL FROM schema_migrations ORDER BY version")
    assert rows == [(1, "initial", False), (2, "mast_searches_and_tic", True), (3, "materialized_sets", True),
                    (4, "pixel_files", True), (5, "observations", True), (6, "lightcurve_exposure", True)]
    assert meta(root)["schema_version"] == "6"
    assert catalog_rows(root, "SELECT count(*) FROM runs")[0][0] == 2
    lake = Lake(root)
    assert lake.sql("SELECT count(*) FROM materialized_sets").fetchall() == [(0,)]
    assert lake.sql("SELECT count(*) FROM lightcurves").fetchall() == [(1,)]


def with_extra(monkeypatch: pytest.MonkeyPatch, *extra: migrations.Migration) -> None:
    shipped = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: (*shipped, *extra))


def test_a_later_migration_adds_a_column_to_existing_lakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = old_lake(tmp_path, 3)
    with_extra(monkeypatch, migrations.Migration(7, "runs_note", "ALTER TABLE runs ADD COLUMN note VARCHAR;"))
    lake = Lake(root)
    assert lake.sql("SELECT run_id, note FROM runs").fetchall() == [("20261125T000242-165e25", None)]
    assert meta(root)["schema_version"] == "7"
    rows = catalog_rows(root, "SELECT version, name, applied_at IS NOT NULL FROM schema_migrations ORDER BY version")
    assert rows[-1] == (7, "runs_note", True) and len(rows) == 7
    lake.import_files([SAMPLE])  # the writers work with the new column in place
    assert lake.sql("SELECT count(*) FROM runs WHERE note IS NULL").fetchall() == [(2,)]


def test_a_failing_migration_leaves_the_catalog_at_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = old_lake(tmp_path, 3)
    broken = migrations.Migration(7, "broken", "ALTER TABLE runs ADD COLUMN note VARCHAR; SELECT error('boom');")
    with_extra(monkeypatch, broken)
    with pytest.raises(SchemaVersionError, match=r"schema version 7 \(broken\).*boom"):
        Lake(root).sql("SELECT 1")
    assert meta(root)["schema_version"] == "6"
    assert "note" not in {
        c for (c,) in catalog_rows(root, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'runs'")
    }
    assert catalog_rows(root, "SELECT max(version) FROM schema_migrations") == [(6,)]


@pytest.mark.parametrize("args", [["status"], ["sql", "SELECT 1"], ["import", str(SAMPLE)], ["verify"]])
def test_lake_from_a_newer_version_is_refused_naming_both_versions(tmp_path: Path, args: list[str]) -> None:
    root = tmp_path / "lake"
    Lake(root).import_files([SAMPLE])
    con = duckdb.connect(str(root / "catalog.duckdb"))
    con.execute("INSERT INTO schema_migrations VALUES (7, 'from_the_future', now())")
    con.execute("UPDATE lake_meta SET value = '7' WHERE key = 'schema_version'")
    con.close()
    before = (root / "catalog.duckdb").read_bytes()
    proc = run_cli("--lake", str(root), *args)
    assert proc.returncode == 3, proc.stderr
    assert "schema version 7" in proc.stderr and "up to 6" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (root / "catalog.duckdb").read_bytes() == before
