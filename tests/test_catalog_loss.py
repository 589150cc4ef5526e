"""A lost, truncated or foreign catalog is damage to report and repair, never a reason to delete data."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from larun_lake import Lake

from .conftest import K2_C4, KEPLER_Q2, run_cli


def _data(lake: Path) -> dict[str, str]:
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for area in ("cadences", "_history", "tic")
        for p in sorted((lake / area).rglob("*.parquet"))
    }


def _counts(lake: Path) -> tuple:
    """Light curves, cadences, and the flux sum (as DECIMAL: a parallel float sum's last digits vary)."""
    lk = Lake(lake)
    n_cadences, flux = lk.sql(
        "SELECT count(*), sum(CASE WHEN isfinite(flux) THEN flux::DECIMAL(38, 6) END) FROM cadences").fetchall()[0]
    return lk.sql("SELECT count(*) FROM lightcurves").fetchall()[0][0], n_cadences, flux


def test_a_lost_catalog_is_refused_then_rebuilt(lake_copy: Path) -> None:
    before, counts = _data(lake_copy), _counts(lake_copy)
    (lake_copy / "catalog.duckdb").unlink()
    for args in (["import", str(K2_C4)], ["verify"], ["sql", "SELECT 1"]):
        proc = run_cli("--lake", str(lake_copy), *args)
        assert proc.returncode == 3, (args, proc.stderr)
        assert "catalog.duckdb is missing" in proc.stderr and "rebuild-catalog" in proc.stderr
        assert not (lake_copy / "catalog.duckdb").exists()
    assert _data(lake_copy) == before
    proc = run_cli("--lake", str(lake_copy), "rebuild-catalog")
    assert proc.returncode == 0, proc.stderr
    assert "lightcurve_versions 24" in proc.stdout and "lake consistent" in proc.stdout
    assert _counts(lake_copy) == counts and _data(lake_copy) == before
    proc = run_cli("--lake", str(lake_copy), "verify")
    assert proc.returncode == 0 and "0 repairs, lake consistent" in proc.stdout, proc.stdout + proc.stderr


def test_an_unreadable_catalog_is_kept_aside_and_rebuilt(lake_copy: Path) -> None:
    before, counts = _data(lake_copy), _counts(lake_copy)
    catalog = lake_copy / "catalog.duckdb"
    catalog.write_bytes(catalog.read_bytes()[: catalog.stat().st_size // 2])
    proc = run_cli("--lake", str(lake_copy), "verify")
    assert proc.returncode == 3 and "consistent" not in proc.stdout
    proc = run_cli("--lake", str(lake_copy), "rebuild-catalog")
    assert proc.returncode == 0, proc.stderr
    assert len(list(lake_copy.glob("catalog.duckdb.damaged-*"))) == 1
    assert _counts(lake_copy) == counts and _data(lake_copy) == before


def test_rebuild_refuses_a_catalog_that_opens(lake_copy: Path) -> None:
    proc = run_cli("--lake", str(lake_copy), "rebuild-catalog")
    assert proc.returncode == 2 and "exists and opens" in proc.stderr


def test_verify_keeps_data_under_an_empty_catalog(lake_copy: Path, tmp_path: Path) -> None:
    """An empty catalog beside old data (as an older version created): every file is kept."""
    before = _data(lake_copy)
    (lake_copy / "catalog.duckdb").unlink()
    shutil.rmtree(lake_copy / "_catalog")
    with Lake(lake_copy).catalog.write("an older version"):  # it created catalogs beside any data
        pass
    report = Lake(lake_copy).verify()
    assert not report.consistent and not report.orphans_removed
    assert sorted(report.unknown) == sorted(before)
    assert _data(lake_copy) == before
    proc = run_cli("--lake", str(lake_copy), "verify")
    assert proc.returncode == 1 and "NOT consistent" in proc.stdout and "unknown:" in proc.stderr


def test_verify_keeps_data_under_a_catalog_of_another_lake(lake_copy: Path, tmp_path: Path) -> None:
    other = Lake(tmp_path / "other")
    other.import_files([KEPLER_Q2])
    before = _data(lake_copy)
    shutil.copy(other.path / "catalog.duckdb", lake_copy / "catalog.duckdb")
    report = Lake(lake_copy).verify()
    assert report.foreign and not report.consistent
    assert not report.orphans_removed and _data(lake_copy) == before
    # The damaged catalog did not replace the snapshot it can be rebuilt from.
    assert json.loads((lake_copy / "_catalog" / "LATEST").read_text())["rows"]["lightcurve_versions"] == 24


def test_verify_reports_a_truncated_catalog_and_deletes_nothing(lake_copy: Path) -> None:
    before = _data(lake_copy)
    con = duckdb.connect(str(lake_copy / "catalog.duckdb"))
    con.execute("DELETE FROM lightcurve_versions WHERE mission = 'TESS'")
    con.execute("DELETE FROM data_files WHERE mission = 'Kepler'")
    con.close()
    report = Lake(lake_copy).verify()
    assert not report.consistent and report.incomplete and not report.orphans_removed
    assert all(p.startswith("cadences/mission=Kepler") for p in report.unknown) and report.unknown
    assert _data(lake_copy) == before


def test_orphans_of_a_recorded_run_are_still_removed(lake_copy: Path) -> None:
    registered = sorted((lake_copy / "cadences").rglob("*.parquet"))[0]
    orphan = registered.with_name(registered.name.replace("-0001.parquet", "-0999.parquet"))
    shutil.copy(registered, orphan)
    report = Lake(lake_copy).verify()
    assert report.consistent and report.orphans_removed == [str(orphan.relative_to(lake_copy))]
    assert not orphan.exists()


@pytest.mark.parametrize("n_commands", [4])
def test_snapshots_are_pruned_but_never_to_a_poorer_one(lake_copy: Path, n_commands: int) -> None:
    lake = Lake(lake_copy)
    for _ in range(n_commands):
        lake.verify()
    snapshots = sorted(p.name for p in (lake_copy / "_catalog").iterdir() if p.name.startswith("v"))
    assert len(snapshots) == 2
    con = duckdb.connect(str(lake_copy / "catalog.duckdb"))
    con.execute("DELETE FROM lightcurve_versions WHERE mission = 'K2'")
    con.execute("DELETE FROM data_files WHERE mission = 'K2'")
    con.close()
    lake.import_files([KEPLER_Q2])  # a command on the damaged catalog publishes a poorer snapshot
    lake.import_files([KEPLER_Q2])
    kept = sorted(p for p in (lake_copy / "_catalog").iterdir() if p.name.startswith("v"))
    rows = [duckdb.sql(f"SELECT count(*) FROM '{p}/lightcurve_versions.parquet'").fetchall()[0][0] for p in kept]
    assert max(rows) == 24 and len(kept) == 3


def test_materialize_refuses_a_data_file_changed_behind_the_lakes_back(lake_copy: Path, tmp_path: Path) -> None:
    from larun_lake import LarunLakeError

    lake = Lake(lake_copy)
    rel = lake.sql("SELECT data_file FROM lightcurves WHERE target_id = 25155310 LIMIT 1").fetchall()[0][0]
    with open(lake_copy / rel, "ab") as f:
        f.write(b"\0" * 100)
    with pytest.raises(LarunLakeError, match="changed outside the lake"):
        lake.materialize("SELECT lc_id FROM lightcurves WHERE target_id = 25155310").to_pandas()
    proc = run_cli("--lake", str(lake_copy), "materialize", "SELECT lc_id FROM lightcurves WHERE target_id = 25155310",
                   "--out", str(tmp_path / "x.parquet"))
    assert proc.returncode == 3 and "changed outside the lake" in proc.stderr
    assert not (tmp_path / "x.parquet").exists()
    proc = run_cli("--lake", str(lake_copy), "verify")
    assert proc.returncode == 1 and f"corrupt: {rel}" in proc.stderr


def test_forget_missing_and_staging_cleanup_wait_while_unknown_files_exist(lake_copy: Path) -> None:
    """With files of runs the catalog never saw, verify forgets nothing and removes no staging."""
    files = sorted((lake_copy / "cadences").rglob("*.parquet"))
    stranger = files[0].with_name("part-20300101T000000-abcdef-0001.parquet")
    shutil.copy(files[0], stranger)
    files[1].unlink()
    staging = lake_copy / "_staging" / "20200101T000000-dead00"
    staging.mkdir(parents=True)
    report = Lake(lake_copy).verify(forget_missing=True)
    assert not report.consistent and report.unknown and report.missing
    assert not report.forgotten and not report.staging_removed and staging.is_dir() and stranger.is_file()
    assert Lake(lake_copy).sql("SELECT count(*) FROM lightcurves").fetchall() == [(24,)]


def test_no_snapshot_while_another_process_runs_an_import(lake_copy: Path) -> None:
    """A snapshot of a catalog mid-run would later make that run's committed files look like leftovers."""
    import os

    lake = Lake(lake_copy)
    before = sorted(p.name for p in (lake_copy / "_catalog").iterdir())
    with lake.catalog.write("test") as con:  # a live process (our parent) is running an import
        con.execute("INSERT INTO lake.runs (run_id, command, started_at, status, pid) "
                    "VALUES ('20990101T000000-aaaaaa', 'import', now(), 'running', ?)", [os.getppid()])
    assert lake.catalog.publish_snapshot() is False
    assert sorted(p.name for p in (lake_copy / "_catalog").iterdir()) == before
    with lake.catalog.write("test") as con:  # the run ended
        con.execute("UPDATE lake.runs SET status = 'ok' WHERE run_id = '20990101T000000-aaaaaa'")
    assert lake.catalog.publish_snapshot() is True
