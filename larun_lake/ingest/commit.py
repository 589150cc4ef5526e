"""Commit a staged chunk: move Parquet in and record it in the catalog, in one transaction.

A light curve is visible (registered Parquet rows and catalog rows) or not at all:
staged files are moved into place and registered inside one catalog transaction;
files they replace are deleted only after the commit. A crash in between leaves
unregistered files, which the views never read and `verify` removes.

Fast path (the usual case): every version in a staged file is new and current, so
the file is moved in as it is. General path: a version supersedes one already in
the lake, is older than the current one, or the partition has a small file to merge
into; then the affected files are rewritten and superseded rows go to _history.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..catalog import products, versions
from ..catalog.db import now
from ..lake import files
from ..lake.writer import read_lightcurves, split_for_files, write_file
from ..layout import LakeLayout, Partition
from ..readers.lightcurve import version_key
from ..schema import CADENCE_SCHEMA
from .convert import Converted
from .order import is_product_name
from .stage import StagedChunk, StagedFile

SMALL_FILE_ROWS = 200_000  # files below this (about ten 2-min sectors) absorb later commits


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
        self.published: list[Path] = []
        self.obsolete: list[Path] = []
        self._version_rows: list[dict[str, Any]] = []
        self._product_rows: list[dict[str, Any]] = []

    def commit(self, chunk: StagedChunk) -> Counts:
        out = Counts()
        known = versions.known_shas(self.con, [r.sha256 for r in chunk.results if r.sha256])
        by_sha = {sha: staged for staged in chunk.staged for sha in staged.placements}
        fresh: list[_Version] = []
        fresh_by_sha: dict[str, _Version] = {}
        twins: list[Converted] = []  # byte-identical copies of a file new in this chunk
        for result in chunk.results:
            if result.outcome == "error":
                self._record_error(result, out)
            elif result.sha256 in fresh_by_sha:
                twins.append(result)
            elif result.outcome == "unchanged" or result.sha256 in known:
                self._product(result, None)
                out.unchanged += 1
            else:
                fresh.append(v := _Version(result, by_sha[result.sha256]))
                fresh_by_sha[v.sha] = v
        out.superseded += self._decide(fresh)
        for staged in chunk.staged:
            batch = [v for v in fresh if v.staged is staged]
            whole = len(batch) == len(staged.placements)  # no row in the file is already in the lake
            if whole and all(v.current and v.replaces is None for v in batch) and not self._merge_target(staged):
                self._move_in(staged, batch)
            else:
                self._rewrite(staged, batch)
        for v in fresh:
            self._product(v.result, v.meta["lc_id"], current=v.current)
            out.ingested += 1
            out.cadences += v.meta["n_cadences"]
            if v.meta.get("checksum_ok") is False:
                out.problems.append((str(v.result.item.path), "warning", _checksum_warning(v)))
        for twin in twins:
            v = fresh_by_sha[twin.sha256]
            self._product(twin, v.meta["lc_id"], current=v.current)
            out.unchanged += 1
        versions.insert_many(self.con, self._version_rows)
        products.upsert_many(self.con, self._product_rows)
        self._prefer_product_names(chunk.results)
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
                best.old_data_file = cur["data_file"]  # type: ignore[attr-defined]
                superseding += 1
            for v in group[:-1]:
                v.current, v.superseded_by = False, best.sha
        return superseding

    def _merge_target(self, staged: StagedFile) -> str | None:
        part = staged.partition
        existing = versions.partition_files(self.con, part.mission, part.author, part.period)
        if existing and existing[0][1] < SMALL_FILE_ROWS:
            return existing[0][0]
        return None

    # -- fast path ---------------------------------------------------------------------------
    def _move_in(self, staged: StagedFile, batch: list[_Version]) -> None:
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
        tables = _split_staged(staged)
        keep: list[tuple[tuple, str, pa.Table]] = []  # (sort key, sha, rows) for the cadences area
        history: list[tuple[tuple, str, pa.Table]] = []
        retired: dict[str, str] = {}  # old sha -> new sha
        rewrite: set[str] = set()
        for v in batch:
            key = (v.meta["target_id"], v.meta["lc_id"], v.sha)
            (keep if v.current else history).append((key, v.sha, tables[v.sha]))
            if v.replaces:
                retired[v.replaces] = v.sha
                rewrite.add(v.old_data_file)  # type: ignore[attr-defined]
        if any(v.current for v in batch) and (target := self._merge_target(staged)):
            rewrite.add(target)
        old_rows: dict[str, str] = {}  # sha -> lc_id of versions that move or stay
        if rewrite and self._version_rows:  # the file may have been moved in by this batch
            versions.insert_many(self.con, self._version_rows)
            self._version_rows = []
        for relpath in sorted(rewrite):
            shas = versions.sha_in_file(self.con, relpath)
            for lc_id, table in read_lightcurves(self.layout.abspath(relpath)).items():
                sha = shas[lc_id]
                old_rows[sha] = lc_id
                key = (int(table.column("target_id")[0].as_py()), lc_id, sha)
                (history if sha in retired else keep).append((key, sha, table))
            self.obsolete.append(self.layout.abspath(relpath))
            versions.unregister_file(self.con, relpath)
        new = {v.sha: v for v in batch}
        for area, items in (("cadences", keep), ("history", history)):
            for chunk in split_for_files(items):
                relpath = self.layout.data_file(part, self.run_id, next(self.sequence), history=area == "history")
                staged_path = staged.path.with_name(f"{staged.path.stem}-{area}-{next(self.sequence)}.parquet")
                written = write_file(staged_path, chunk)
                self._publish(staged_path, relpath, part, written.n_rows, len(written.placements), area=area)
                for p in written.placements:
                    if p.key in new:
                        self._version_row(new[p.key], relpath, p.row_offset, p.row_count)
                    else:
                        lc_id = old_rows[p.key]
                        if p.key in retired:
                            versions.supersede(self.con, lc_id, p.key, retired[p.key])
                            products.set_state_by_sha(self.con, p.key, "superseded", self.run_id)
                        versions.move_rows(self.con, lc_id, p.key, relpath, p.row_offset, p.row_count)
        files.remove(staged.path)

    # -- catalog rows ------------------------------------------------------------------------
    def _publish(
        self,
        staged: Path,
        relpath: str,
        part: Partition,
        n_rows: int,
        n_lcs: int,
        *,
        area: str,
        digest: tuple[int, str] | None = None,
    ) -> None:
        size, sha = digest or (files.size(staged), files.sha256_of(staged))
        final = self.layout.abspath(relpath)
        files.publish(staged, final)
        self.published.append(final)
        versions.register_file(
            self.con,
            relpath,
            area=area,
            mission=part.mission,
            author=part.author,
            period=part.period,
            n_rows=n_rows,
            n_lightcurves=n_lcs,
            size_bytes=size,
            sha256=sha,
            run_id=self.run_id,
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
        if v.replaces:
            versions.supersede(self.con, v.meta["lc_id"], v.replaces, v.sha)

    def _product(self, result: Converted, lc_id: str | None, *, current: bool | None = None) -> None:
        if current is None:  # an unchanged file: report the state of the version the lake has
            lc_id, current = versions.lc_of_sha(self.con, result.sha256)
        meta = result.lc.meta if result.lc else {}
        item = result.item
        self._product_rows.append(
            {
                "product_uri": item.product_uri,
                "product_type": "lightcurve",
                "state": "ingested" if current else "superseded",
                "mission": meta.get("mission"),
                "author": meta.get("author"),
                "target_id": meta.get("target_id"),
                "file_name": item.path.name,
                "local_path": str(item.path),
                "size_bytes": result.size_bytes,
                "sha256": result.sha256,
                "lc_id": lc_id,
                "run_id": self.run_id,
                **item.extra,
            }
        )

    def _prefer_product_names(self, results: list[Converted]) -> None:
        """A version's file_name is MAST's product name when any copy carries it, not a renamed copy's."""
        copies: dict[str, list[Path]] = {}
        for r in results:
            if r.outcome != "error" and r.sha256:
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
            sha256=result.sha256,
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


def _split_staged(staged: StagedFile) -> dict[str, pa.Table]:
    table = pq.read_table(str(staged.path), schema=CADENCE_SCHEMA)
    return {sha: table.slice(offset, count) for sha, (offset, count) in staged.placements.items()}


def _skipped_type(reason: str) -> str:
    if "pixel" in reason:
        return "target_pixel"
    return "derived" if "derived" in reason or "community" in reason else "unknown"
