"""Attacks on the paths that write or delete, each a defect once seen: a busy or newer catalog taken
for a damaged one, a sandbox with a writable folder, --overwrite replacing what materialize never wrote."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from larun_lake import Lake
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
