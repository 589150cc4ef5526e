"""`larun-lake verify`: check the catalog against the files, and repair what is safe to repair.

Safe repairs: delete unregistered (orphan) data files and staging left by dead runs,
mark runs whose process died as interrupted. Missing or altered data files are
reported, and so are kept pixel files (raw area) that are gone or differ from the catalog; with `forget_missing` their light curves are dropped from the catalog and
their products marked failed, so that the next import or harvest fetches them again.

An unregistered data file is an orphan only when a run this catalog recorded wrote it
(a killed run's leftover). A file of a run the catalog never saw, a catalog whose rows do
not account for its registered files, or a catalog of another lake means the catalog is
damaged, not the data: nothing is deleted, and the lake is reported NOT consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow.parquet as pq

from ..catalog import Catalog, snapshot
from ..catalog.db import now
from ..layout import CADENCES, HISTORY, RAW, SPECTRUM_AREAS, STAGING, TIC
from ..sqlfiles import load_sql
from . import processes


@dataclass
class VerifyReport:
    checked_files: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)  # checksum or row-count mismatch
    orphans_removed: list[str] = field(default_factory=list)
    staging_removed: list[str] = field(default_factory=list)
    runs_marked_interrupted: list[str] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # data files of runs the catalog never recorded
    incomplete: list[str] = field(default_factory=list)  # registered files whose rows the catalog lacks
    foreign: str | None = None  # the catalog belongs to another lake
    kept_checked: int = 0  # target pixel files and cutouts kept in the raw area
    kept_missing: list[str] = field(default_factory=list)
    kept_corrupt: list[str] = field(default_factory=list)  # size or SHA-256 differs from the catalog's

    @property
    def consistent(self) -> bool:
        damaged = self.unknown or self.incomplete or self.foreign or self.kept_missing or self.kept_corrupt
        return not (damaged or self.corrupt or (self.missing and not self.forgotten))

    @property
    def repairs(self) -> list[str]:
        return (
            [f"removed orphan {p}" for p in self.orphans_removed]
            + [f"removed staging {p}" for p in self.staging_removed]
            + [f"marked run {r} interrupted" for r in self.runs_marked_interrupted]
            + [f"forgot missing {p}" for p in self.forgotten]
        )


def verify_lake(catalog: Catalog, *, check_checksums: bool = True, forget_missing: bool = False) -> VerifyReport:
    catalog.require()
    layout = catalog.layout
    store = layout.store
    report = VerifyReport()
    # One recursive listing per area (a few requests on an object store), not a request per file.
    areas = (CADENCES, HISTORY, TIC, *SPECTRUM_AREAS)
    present = {rel: size for area in areas for rel, size in store.list_files(area, ".parquet")}
    with catalog.write("verify") as con:
        registered = {
            path: (sha, n_rows, size)
            for path, sha, n_rows, size in con.execute(
                "SELECT path, sha256, n_rows, size_bytes FROM lake.data_files").fetchall()
        }
        for rel, (sha, n_rows, size) in registered.items():
            report.checked_files += 1
            if rel not in present:
                report.missing.append(rel)
                continue
            if present[rel] != size or (check_checksums and store.sha256(rel) != sha) or _rows_in(store, rel) != n_rows:
                report.corrupt.append(rel)
        _check_kept_files(con, store, report, check_checksums)
        known_runs = {r for (r,) in con.execute("SELECT run_id FROM lake.runs").fetchall()}
        report.incomplete = [p for p, *_ in con.execute(load_sql("verify/incomplete_files.sql")).fetchall()]
        meta = dict(con.execute("SELECT key, value FROM lake.lake_meta").fetchall())
        lake_id = snapshot.lake_id_of(layout)
        if lake_id and meta.get("lake_id") and lake_id != meta["lake_id"]:
            report.foreign = f"catalog lake id {meta['lake_id']}, lake snapshots {lake_id}"
        damaged = bool(report.incomplete or report.foreign)
        for rel in sorted(present):
            if rel in registered:
                continue
            if damaged or snapshot.run_of_data_file(rel) not in known_runs:
                report.unknown.append(rel)
                continue
            store.delete(rel)
            report.orphans_removed.append(rel)
        live_runs = {
            r
            for (r, pid) in con.execute("SELECT run_id, pid FROM lake.runs WHERE status = 'running'").fetchall()
            if processes.alive(pid)
        }
        for (run_id,) in con.execute("SELECT run_id FROM lake.runs WHERE status = 'running'").fetchall():
            if run_id not in live_runs:
                con.execute(
                    "UPDATE lake.runs SET status = 'interrupted', ended_at = ? WHERE run_id = ?", [now(), run_id]
                )
                report.runs_marked_interrupted.append(run_id)
        # A damaged catalog's idea of which runs are alive is not to be trusted with deletions either.
        damaged = damaged or bool(report.unknown)
        if not damaged:
            for name in _staging_entries(store):
                if name not in live_runs:
                    store.delete_tree(f"{STAGING}/{name}")
                    store.delete(f"{STAGING}/{name}")
                    report.staging_removed.append(name)
        if forget_missing and report.missing and not damaged:
            for rel in report.missing:
                con.execute(
                    "UPDATE lake.products SET state = 'failed', last_error = 'data file missing: fetch again', "
                    "updated_at = ? WHERE sha256 IN (SELECT file_sha256 FROM lake.lightcurve_versions "
                    "WHERE data_file = ?)",
                    [now(), rel],
                )
                con.execute(
                    "UPDATE lake.products SET state = 'failed', last_error = 'data file missing: fetch again', "
                    "updated_at = ? WHERE sha256 IN (SELECT file_sha256 FROM lake.spectrum_versions "
                    "WHERE data_file = ?)",
                    [now(), rel],
                )
                con.execute("DELETE FROM lake.lightcurve_versions WHERE data_file = ?", [rel])
                con.execute("DELETE FROM lake.spectrum_versions WHERE data_file = ?", [rel])
                con.execute("DELETE FROM lake.data_files WHERE path = ?", [rel])
                report.forgotten.append(rel)
    return report


def _check_kept_files(con, store, report: VerifyReport, check_checksums: bool) -> None:
    """Pixel files and images the catalog says are kept: present, with the size and hash they were ingested with."""
    kept = con.execute(
        "SELECT raw_path, file_size, file_sha256 FROM lake.pixel_file_versions UNION ALL "
        "SELECT raw_path, file_size, file_sha256 FROM lake.image_versions ORDER BY 1"
    ).fetchall()
    if not kept:
        return
    present = dict(store.list_files(RAW))
    for rel, size, sha in kept:
        report.kept_checked += 1
        if rel not in present:
            report.kept_missing.append(rel)
        elif present[rel] != size or (check_checksums and store.sha256(rel) != sha):
            report.kept_corrupt.append(rel)


def _rows_in(store, rel: str) -> int:
    """Rows a Parquet file says it holds (its footer only)."""
    with store.open_input(rel) as source:
        return pq.ParquetFile(source).metadata.num_rows


def _staging_entries(store) -> list[str]:
    """Names directly under _staging/ (a run's folder, or a file): empty folders too on a local lake."""
    if store.is_local:
        folder = store.local_path(STAGING)
        return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return sorted({rel.split("/")[1] for rel, _ in store.list_files(STAGING)})
