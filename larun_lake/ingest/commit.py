"""Commit a staged chunk: move Parquet in and record it in the catalog, in one transaction.

A light curve is visible (registered Parquet rows and catalog rows) or not at all:
staged files are moved into place and registered inside one catalog transaction;
files they replace are deleted only after the commit. A crash in between leaves
unregistered files, which the views never read and `verify` removes.

Fast path (the usual case): every version in a staged file is new and current, so
the file is moved in as it is. General path: a version supersedes one already in
the lake or is older than the current one; then the affected files are rewritten and
superseded rows go to _history. Catalog rows are written with one statement per kind
per batch, whatever the number of light curves.

Small files are merged in the same transaction, size-tiered (lake.writer.merge_groups):
each row is rewritten a bounded number of times, not once per later batch, so the cost
of a file stays flat however large its partition grows. The last batch of an import run
merges the small files the run left, with older small files up to a bounded multiple of
their size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..catalog import pixels, products, versions
from ..catalog.db import now
from ..errors import ApertureError, LakeDamagedError
from ..lake.writer import SMALL_FILE_ROWS, merge_groups, split_for_files, write_file
from ..layout import LakeLayout, Partition
from ..readers.lightcurve import version_key
from ..schema import CADENCE_SCHEMA
from .commit_observatory import ObservatoryCommitter, is_observatory_result
from .convert import Converted
from .order import is_product_name
from .stage import StagedChunk, StagedFile


@dataclass(kw_only=True)
class Counts:
    """What happened to the files of a batch, an import or a harvest."""

    ingested: int = 0
    unchanged: int = 0
    superseded: int = 0
    skipped: int = 0
    failed: int = 0
    quarantined: int = 0
    cadences: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (path or URI, state, reason)

    def run_counts(self, *, n_files: int, bytes_read: int) -> dict[str, int]:
        """The counters as `runs` columns."""
        return {"n_files": n_files, "n_ingested": self.ingested, "n_unchanged": self.unchanged,
                "n_superseded": self.superseded, "n_skipped": self.skipped, "n_failed": self.failed,
                "n_quarantined": self.quarantined, "n_cadences": self.cadences, "bytes_read": bytes_read}

    def add(self, other: Counts) -> None:
        for name in ("ingested", "unchanged", "superseded", "skipped", "failed", "quarantined", "cadences"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)


@dataclass
class _Version:
    """A new version from this chunk and what the commit decided for it."""

    result: Converted
    staged: StagedFile
    current: bool = True
    replaces: str | None = None  # sha of the version in the lake it retires
    superseded_by: str | None = None

    @property
    def meta(self) -> dict[str, Any]:
        return self.result.lc.meta

    @property
    def sha(self) -> str:
        return self.result.sha256


class BatchCommitter:
    """Applies one staged chunk inside an open write transaction."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, layout: LakeLayout, run_id: str, sequence: Iterator[int]
    ) -> None:
        self.con = con
        self.layout = layout
        self.run_id = run_id
        # File numbers are unique across the run's batches: a rewrite must never reuse the name it replaces.
        self.sequence = sequence
        self.store = layout.store
        self.published: list[str] = []  # relative paths registered by this commit
        self.obsolete: list[str] = []  # relative paths the commit retires (deleted after it)
        # Catalog rows, written in one statement each by _flush().
        self._file_rows: list[dict[str, Any]] = []
        self._version_rows: list[dict[str, Any]] = []
        self._product_rows: list[dict[str, Any]] = []
        self._pixel_rows: list[dict[str, Any]] = []
        self._moves: list[tuple[str, str, str, int, int]] = []  # (lc_id, sha, data_file, offset, count)
        self._retired: list[tuple[str, str, str]] = []  # (lc_id, old sha, new sha)

    def commit(self, chunk: StagedChunk, *, last_of_run: bool = False) -> Counts:
        out = Counts()
        others = [r for r in chunk.results if is_observatory_result(r)]  # spectra and images
        results = [r for r in chunk.results if not is_observatory_result(r)]
        known = versions.known_shas(self.con, [r.sha256 for r in results if r.sha256])
        by_sha = {sha: staged for staged in chunk.staged for sha in staged.placements}
        fresh: list[_Version] = []
        fresh_by_sha: dict[str, _Version] = {}
        twins: list[Converted] = []  # byte-identical copies of a file new in this chunk
        unchanged: list[Converted] = []
        for result in results:
            if result.outcome == "error":
                self._record_error(result, out)
            elif result.sha256 in fresh_by_sha:
                twins.append(result)
            elif result.outcome == "unchanged" or result.sha256 in known:
                unchanged.append(result)
                out.unchanged += 1
            else:
                fresh.append(v := _Version(result, by_sha[result.sha256]))
                fresh_by_sha[v.sha] = v
        self._unchanged_products(unchanged)
        out.superseded += self._decide(fresh)
        for staged in chunk.staged:
            batch = [v for v in fresh if v.staged is staged]
            whole = len(batch) == len(staged.placements)  # no row in the file is already in the lake
            if whole and all(v.current and v.replaces is None for v in batch):
                self._move_in(staged, batch)
            else:
                self._rewrite(staged, batch)
        for v in fresh:
            if v.result.pixel is not None:
                self._pixel_rows.append(v.result.pixel)
            self._product(v.result, v.meta["lc_id"], current=v.current)
            out.ingested += 1
            out.cadences += v.meta["n_cadences"]
            if v.meta.get("checksum_ok") is False:
                out.problems.append((str(v.result.item.path), "warning", _checksum_warning(v)))
        for twin in twins:
            v = fresh_by_sha[twin.sha256]
            self._product(twin, v.meta["lc_id"], current=v.current)
            out.unchanged += 1
        self._flush()
        if others:
            more = ObservatoryCommitter(self.con, self.layout, self.run_id, self.sequence, self.published, self.obsolete)
            more.commit(others)
            self._product_rows.extend(more.product_rows)
            out.ingested += more.ingested
            out.unchanged += more.unchanged
            out.superseded += more.superseded
            out.problems.extend(more.problems)
        products.upsert_many(self.con, self._product_rows)
        self._prefer_product_names(results)
        self._merge_small_files({s.partition for s in chunk.staged}, last_of_run=last_of_run)
        return out

    # -- decisions ---------------------------------------------------------------------------
    def _decide(self, fresh: list[_Version]) -> int:
        """Pick the current version of each lc_id: the best rank wins; ties keep what the lake has.

        Copies of one version that differ in bytes are told apart by content, never by file
        name: one whose CHECKSUM fails loses to one that passes, then the hash decides.
        """
        current = versions.current_versions(self.con, sorted({v.meta["lc_id"] for v in fresh}))
        superseding = 0
        by_lc: dict[str, list[_Version]] = {}
        for v in fresh:
            by_lc.setdefault(v.meta["lc_id"], []).append(v)
        for lc_id, group in by_lc.items():
            group.sort(key=lambda v: (_rank(v.meta), v.sha))
            cur = current.get(lc_id)
            best = group[-1]
            if cur is not None and not _rank(best.meta) > _rank(cur):
                for v in group:
                    v.current, v.superseded_by = False, cur["file_sha256"]
                continue
            if cur is not None:
                best.replaces = cur["file_sha256"]
                superseding += 1
            for v in group[:-1]:
                v.current, v.superseded_by = False, best.sha
        return superseding

    # -- fast path ---------------------------------------------------------------------------
    def _move_in(self, staged: StagedFile, batch: list[_Version]) -> None:
        if staged.is_final():
            relpath = staged.path
        else:
            relpath = self.layout.data_file(staged.partition, self.run_id, next(self.sequence))
        self._publish(
            staged.path,
            relpath,
            staged.partition,
            staged.n_rows,
            len(staged.placements),
            area="cadences",
            digest=(staged.size_bytes, staged.sha256),
        )
        for v in batch:
            offset, count = staged.placements[v.sha]
            self._version_row(v, relpath, offset, count)

    # -- general path ------------------------------------------------------------------------
    def _rewrite(self, staged: StagedFile, batch: list[_Version]) -> None:
        part = staged.partition
        tables = _split_staged(staged, self.store)
        keep: list[tuple[tuple, str, pa.Table]] = []  # (sort key, sha, rows) for the cadences area
        history: list[tuple[tuple, str, pa.Table]] = []
        retired = {v.replaces: v.sha for v in batch if v.replaces}  # old sha -> new sha
        for v in batch:
            key = (v.meta["target_id"] or 0, v.meta["lc_id"], v.sha)
            (keep if v.current else history).append((key, v.sha, tables[v.sha]))
        old: dict[str, str] = {}  # sha -> lc_id of versions whose rows move
        if retired:
            # Where the retired versions live now (an earlier staged file of this batch may have moved them).
            self._flush()
            where = versions.versions_of(self.con, sorted(retired))
            for row, rows in self._take(*self._read_files(sorted({w[2] for w in where.values()}), strict=True)):
                old[row.file_sha256] = row.lc_id
                if row.file_sha256 in retired:
                    self._retired.append((row.lc_id, row.file_sha256, retired[row.file_sha256]))
                    history.append(((row.target_id or 0, row.lc_id, row.file_sha256), row.file_sha256, rows))
                else:
                    keep.append(((row.target_id or 0, row.lc_id, row.file_sha256), row.file_sha256, rows))
        new = {v.sha: v for v in batch}
        for area, items in (("cadences", keep), ("history", history)):
            for relpath, placements in self._write(part, items, history=area == "history"):
                for key, offset, count in placements:
                    if key in new:
                        self._version_row(new[key], relpath, offset, count)
                    else:
                        self._moves.append((old[key], key, relpath, offset, count))
        self.store.delete(staged.path)

    def _read_files(self, relpaths: list[str], *, strict: bool) -> tuple[list[versions.StoredRows], dict]:
        """The versions stored in data files, and the files' rows by path.

        A file holding rows the catalog does not account for is never rewritten (rows would be
        lost): strict raises, otherwise the file is left out.
        """
        stored = versions.rows_in_files(self.con, relpaths)
        tables: dict[str, pa.Table] = {}
        for rel in relpaths:
            table = pq.read_table(self.store.path(rel), schema=CADENCE_SCHEMA, filesystem=self.store.fs)
            held = sum(r.row_count for r in stored if r.data_file == rel)
            if held == table.num_rows:
                tables[rel] = table
            elif strict:
                raise LakeDamagedError(
                    f"data file {rel} holds {table.num_rows} rows, the catalog accounts for {held}",
                    hint="run 'larun-lake verify' to check the lake",
                )
        return [r for r in stored if r.data_file in tables], tables

    def _take(
        self, stored: list[versions.StoredRows], tables: dict[str, pa.Table]
    ) -> list[tuple[versions.StoredRows, pa.Table]]:
        """Each version's rows; their files leave the catalog now and the disk after the commit."""
        versions.unregister_files(self.con, list(tables))
        self.obsolete.extend(tables)
        return [(r, tables[r.data_file].slice(r.row_offset, r.row_count)) for r in stored]

    def _write(
        self, part: Partition, items: list[tuple[tuple, str, pa.Table]], *, history: bool = False
    ) -> Iterator[tuple[str, list[tuple[str, int, int]]]]:
        """Write rows sorted by key into new data files of a partition: (relpath, [(key, offset, count)])."""
        area = "history" if history else "cadences"
        for chunk in split_for_files(items):
            relpath = self.layout.data_file(part, self.run_id, next(self.sequence), history=history)
            scratch = self.layout.scratch_file(self.run_id, f"{area}-{next(self.sequence):06d}.parquet", relpath)
            written = write_file(self.store, scratch, chunk)
            self._publish(scratch, relpath, part, written.n_rows, len(written.placements), area=area,
                          digest=(written.size_bytes, written.sha256))
            yield relpath, [(p.key, p.row_offset, p.row_count) for p in written.placements]

    # -- merging small files -----------------------------------------------------------------
    def _merge_small_files(self, partitions: set[Partition], *, last_of_run: bool) -> None:
        """Merge small files of these partitions (size-tiered); the last batch of a run merges the run's files."""
        if last_of_run:
            partitions = partitions | {Partition(*p) for p in versions.run_partitions(self.con, self.run_id)}
        for part in sorted(partitions, key=lambda p: p.relpath.as_posix()):
            while True:
                small = versions.small_files(self.con, part.mission, part.author, part.period, below=SMALL_FILE_ROWS)
                run_files = {path for path, _, run in small if run == self.run_id} if last_of_run else None
                groups = merge_groups([(path, n) for path, n, _ in small], run_files=run_files)
                merged = sum(self._merge(part, group) for group in groups)
                self._flush()
                if not merged or last_of_run:  # a merged file may complete a group of the next size class
                    break

    def _merge(self, part: Partition, relpaths: list[str]) -> int:
        """Rewrite these files as one (or more, past FILE_MAX_ROWS); returns how many were merged."""
        stored, tables = self._read_files(relpaths, strict=False)
        if len(tables) < 2:
            return 0
        items = []
        lc_of: dict[str, str] = {}
        for row, rows in self._take(stored, tables):
            lc_of[row.file_sha256] = row.lc_id
            items.append(((row.target_id or 0, row.lc_id, row.file_sha256), row.file_sha256, rows))
        for relpath, placements in self._write(part, items):
            self._moves.extend((lc_of[sha], sha, relpath, offset, count) for sha, offset, count in placements)
        return len(tables)

    def _flush(self) -> None:
        """Write the catalog rows gathered so far, one statement each."""
        versions.register_files(self.con, self._file_rows)
        versions.insert_many(self.con, self._version_rows)
        pixels.insert_many(self.con, self._pixel_rows, self.run_id)
        versions.supersede_many(self.con, self._retired)
        products.mark_superseded(self.con, [old for _, old, _ in self._retired], self.run_id)
        versions.move_many(self.con, self._moves)
        self._file_rows, self._version_rows, self._retired, self._moves = [], [], [], []
        self._pixel_rows = []

    # -- catalog rows ------------------------------------------------------------------------
    def _publish(
        self,
        staged: str,
        relpath: str,
        part: Partition,
        n_rows: int,
        n_lcs: int,
        *,
        area: str,
        digest: tuple[int, str] | None = None,
    ) -> None:
        size, sha = digest or (self.store.size(staged), self.store.sha256(staged))
        if staged != relpath:
            self.store.move(staged, relpath)
        self.published.append(relpath)
        self._file_rows.append(
            {"path": relpath, "area": area, "mission": part.mission, "author": part.author, "period": part.period,
             "n_rows": n_rows, "n_lightcurves": n_lcs, "size_bytes": size, "sha256": sha, "created_at": now(),
             "run_id": self.run_id}
        )

    def _version_row(self, v: _Version, relpath: str, offset: int, count: int) -> None:
        stamp = now()
        row = {k: v.meta.get(k) for k in versions.META_COLUMNS}
        row.update(
            is_current=v.current,
            data_file=relpath,
            row_offset=offset,
            row_count=count,
            ingested_at=stamp,
            run_id=self.run_id,
            source_path=v.meta.get("source_path"),
            data_uri=v.meta.get("data_uri"),
            superseded_by=v.superseded_by,
            superseded_at=None if v.current else stamp,
        )
        self._version_rows.append(row)

    def _unchanged_products(self, results: list[Converted]) -> None:
        """Files the lake already holds: their products report the state of the version the lake has."""
        held = versions.versions_of(self.con, sorted({r.sha256 for r in results}))
        for result in results:
            lc_id, current, _ = held.get(result.sha256, (None, False, None))
            self._product(result, lc_id, current=current)

    def _product(self, result: Converted, lc_id: str | None, *, current: bool) -> None:
        meta = result.lc.meta if result.lc else {}
        item = result.item
        self._product_rows.append(
            {
                "product_uri": item.product_uri,
                "product_type": result.product_type,
                "state": "ingested" if current else "superseded",
                "mission": meta.get("mission"),
                "author": meta.get("author"),
                "target_id": meta.get("target_id"),
                "file_name": item.path.name,
                "local_path": str(item.path),
                "size_bytes": result.size_bytes,
                "sha256": result.file_hash,
                "lc_id": lc_id,
                "run_id": self.run_id,
                **item.extra,
            }
        )

    def _prefer_product_names(self, results: list[Converted]) -> None:
        """A version's file_name is MAST's product name when any copy carries it, not a renamed copy's."""
        copies: dict[str, list[Path]] = {}
        for r in results:
            if r.outcome != "error" and r.sha256 and r.product_type == "lightcurve":
                copies.setdefault(r.sha256, []).append(r.item.path)
        for sha, mission, target_id, file_name in versions.file_names(self.con, list(copies)):
            if is_product_name(file_name, mission, target_id):
                continue
            named = next((p for p in copies[sha] if is_product_name(p.name, mission, target_id)), None)
            if named is not None:
                versions.set_file_name(self.con, sha, named.name, str(named))

    def _record_error(self, result: Converted, out: Counts) -> None:
        err = result.error
        state = err.state
        if isinstance(err, ApertureError):  # the file is fine, the aperture asked for does not fit it
            out.failed += 1
            out.problems.append((str(result.item.path), "failed", err.reason))
            return
        if result.product_type != "lightcurve":
            product_type = result.product_type
        else:
            product_type = "lightcurve" if state != "skipped" else _skipped_type(err.reason)
        products.upsert(
            self.con,
            result.item.product_uri,
            state,
            run_id=self.run_id,
            error=err.reason,
            count_attempt=state in ("failed", "quarantined"),
            product_type=product_type,
            file_name=result.item.path.name,
            local_path=str(result.item.path),
            size_bytes=result.size_bytes or None,
            sha256=result.file_hash,
            **result.item.extra,
        )
        setattr(out, state, getattr(out, state) + 1)
        out.problems.append((str(result.item.path), state, err.reason))


def _rank(meta: dict[str, Any]) -> tuple:
    """Order of candidates for current: an intact file (CHECKSUM passes or absent) first, then the release."""
    return (meta.get("checksum_ok") is not False, version_key(meta))


def _checksum_warning(v: _Version) -> str:
    text = "FITS CHECKSUM fails: the file was damaged or edited after the archive wrote it"
    return text if v.current else f"{text}; an intact copy stays current"


def _split_staged(staged: StagedFile, store) -> dict[str, pa.Table]:
    table = pq.read_table(store.path(staged.path), schema=CADENCE_SCHEMA, filesystem=store.fs)
    return {sha: table.slice(offset, count) for sha, (offset, count) in staged.placements.items()}


def _skipped_type(reason: str) -> str:
    if "pixel" in reason:
        return "target_pixel"
    return "derived" if "derived" in reason or "community" in reason else "unknown"
