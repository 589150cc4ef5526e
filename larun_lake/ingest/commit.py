"""Commit a batch of converted files: Parquet staged and moved in, catalog rows in one transaction.

A light curve is visible (registered Parquet rows and catalog rows) or not at all:
new files are written under _staging, moved into place, then registered in one
catalog transaction; files they replace are deleted only after the commit. A crash
in between leaves unregistered files, which the views never read and `verify` removes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from ..catalog import products, versions
from ..lake import files
from ..lake.writer import (
    FILE_MAX_ROWS,
    WrittenFile,
    lightcurve_table,
    read_lightcurves,
    split_for_files,
    write_file,
)
from ..layout import LakeLayout, Partition
from ..readers.lightcurve import LightCurveData, version_key
from .convert import Converted


@dataclass
class BatchOutcome:
    ingested: int = 0
    unchanged: int = 0
    superseded: int = 0
    skipped: int = 0
    failed: int = 0
    quarantined: int = 0
    cadences: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (path, state, reason)


@dataclass
class _Plan:
    """What one partition needs: light curves to add, to retire, and files to rewrite."""

    partition: Partition
    add_current: list[LightCurveData] = field(default_factory=list)
    add_history: list[tuple[LightCurveData, str]] = field(default_factory=list)  # (lc, superseded_by)
    retire: dict[str, tuple[str, str]] = field(default_factory=dict)  # lc_id -> (old sha, new sha)
    rewrite: set[str] = field(default_factory=set)


class BatchCommitter:
    """Applies one batch inside an open write transaction."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, layout: LakeLayout, run_id: str, stage_dir: Path, sequence: Iterator[int]
    ) -> None:
        self.con = con
        self.layout = layout
        self.run_id = run_id
        self.stage_dir = stage_dir
        # File numbers are unique across the run's batches: a merge must never reuse the name it replaces.
        self.sequence = sequence
        self.published: list[Path] = []
        self.obsolete: list[Path] = []

    def commit(self, batch: list[Converted]) -> BatchOutcome:
        out = BatchOutcome()
        known = versions.known_shas(self.con)
        fresh: list[Converted] = []
        for item in batch:
            if item.outcome == "error":
                self._record_error(item, out)
            elif item.outcome == "unchanged" or item.sha256 in known:
                self._record_product(item, "ingested" if self._is_current(item.sha256) else "superseded")
                out.unchanged += 1
            else:
                known.add(item.sha256)
                fresh.append(item)
        plans = self._plan(fresh, out)
        for plan in plans.values():
            self._apply(plan)
        for item in fresh:
            current = self._is_current(item.sha256)
            self._record_product(item, "ingested" if current else "superseded")
            out.ingested += 1
            out.cadences += item.lc.n_rows
        return out

    # -- planning ----------------------------------------------------------------------------
    def _plan(self, fresh: list[Converted], out: BatchOutcome) -> dict[Partition, _Plan]:
        plans: dict[Partition, _Plan] = {}
        # Oldest first, so that within a batch the newest version ends up current.
        fresh.sort(key=lambda c: (c.lc.lc_id, version_key(c.lc.meta)))
        current = versions.current_versions(self.con, sorted({c.lc.lc_id for c in fresh}))
        for item in fresh:
            lc = item.lc
            meta = lc.meta
            part = Partition(meta["mission"], meta["author"], meta["period"])
            plan = plans.setdefault(part, _Plan(part))
            cur = current.get(lc.lc_id)
            if cur is None:
                plan.add_current.append(lc)
            elif version_key(meta) > version_key(cur):
                if cur.get("data_file") is None:  # the current one was added earlier in this batch
                    prev = next(x for x in plan.add_current if x.lc_id == lc.lc_id)
                    plan.add_current.remove(prev)
                    plan.add_history.append((prev, meta["file_sha256"]))
                else:
                    plan.retire[lc.lc_id] = (cur["file_sha256"], meta["file_sha256"])
                    plan.rewrite.add(cur["data_file"])
                plan.add_current.append(lc)
                out.superseded += 1
            else:
                plan.add_history.append((lc, cur["file_sha256"]))
                continue
            current[lc.lc_id] = {**{k: meta.get(k) for k in versions.VERSION_FIELDS}, "data_file": None}
        return plans

    # -- applying ----------------------------------------------------------------------------
    def _apply(self, plan: _Plan) -> None:
        part = plan.partition
        added_rows = sum(lc.n_rows for lc in plan.add_current)
        if plan.add_current and not plan.rewrite:
            # Merge into the partition's smallest file while it stays under the size cap,
            # so that many small imports do not leave one tiny file per light curve.
            for path, n_rows in versions.partition_files(self.con, part.mission, part.author, part.period):
                if n_rows + added_rows <= FILE_MAX_ROWS:
                    plan.rewrite.add(path)
                break
        keep: list[tuple[tuple, str, pa.Table]] = []
        history: list[tuple[str, pa.Table, str | None]] = []  # (lc_id, table, sha) for retired rows
        kept_shas: dict[str, str] = {}
        for path in sorted(plan.rewrite):
            shas = versions.sha_in_file(self.con, path)
            for lc_id, table in read_lightcurves(self.layout.abspath(path)).items():
                if lc_id in plan.retire:
                    history.append((lc_id, table, plan.retire[lc_id][0]))
                else:
                    keep.append(((int(table.column("target_id")[0].as_py()), lc_id), lc_id, table))
                    kept_shas[lc_id] = shas[lc_id]
            self.obsolete.append(self.layout.abspath(path))
            versions.unregister_file(self.con, path)
        new_tables = {lc.lc_id: lc for lc in plan.add_current}
        for lc in plan.add_current:
            keep.append(((lc.meta["target_id"], lc.lc_id), lc.lc_id, lightcurve_table(lc)))
        for chunk in split_for_files(keep):
            relpath, written = self._write(part, chunk, history=False)
            for p in written.placements:
                if p.key in new_tables:
                    lc = new_tables[p.key]
                    versions.insert_version(
                        self.con,
                        lc.meta,
                        is_current=True,
                        data_file=relpath,
                        row_offset=p.row_offset,
                        row_count=p.row_count,
                        run_id=self.run_id,
                        source_path=lc.meta.get("source_path"),
                        data_uri=lc.meta.get("data_uri"),
                    )
                else:
                    versions.move_rows(self.con, p.key, kept_shas[p.key], relpath, p.row_offset, p.row_count)
        # History files are keyed by version (sha): one lc_id can have several old versions.
        hist_new = {lc.meta["file_sha256"]: (lc, by) for lc, by in plan.add_history}
        retired = {old: (lc_id, new) for lc_id, (old, new) in plan.retire.items()}
        hist_items = [((lc_id, sha), sha, table) for lc_id, table, sha in history]
        hist_items += [((lc.lc_id, sha), sha, lightcurve_table(lc)) for sha, (lc, _) in hist_new.items()]
        for chunk in split_for_files(hist_items):
            relpath, written = self._write(part, chunk, history=True)
            for p in written.placements:
                if p.key in hist_new:
                    lc, by = hist_new[p.key]
                    versions.insert_version(
                        self.con,
                        lc.meta,
                        is_current=False,
                        data_file=relpath,
                        row_offset=p.row_offset,
                        row_count=p.row_count,
                        run_id=self.run_id,
                        source_path=lc.meta.get("source_path"),
                        data_uri=lc.meta.get("data_uri"),
                        superseded_by=by,
                    )
                else:
                    lc_id, new_sha = retired[p.key]
                    versions.supersede(self.con, lc_id, p.key, new_sha)
                    versions.move_rows(self.con, lc_id, p.key, relpath, p.row_offset, p.row_count)
                    products.set_state_by_sha(self.con, p.key, "superseded", self.run_id)

    def _write(self, part: Partition, chunk: list[tuple[str, pa.Table]], *, history: bool) -> tuple[str, WrittenFile]:
        relpath = self.layout.data_file(part, self.run_id, next(self.sequence), history=history)
        staged = self.stage_dir / relpath.replace("/", "__")
        written = write_file(staged, chunk)
        final = self.layout.abspath(relpath)
        files.publish(staged, final)
        self.published.append(final)
        versions.register_file(
            self.con,
            relpath,
            area="history" if history else "cadences",
            mission=part.mission,
            author=part.author,
            period=part.period,
            n_rows=written.n_rows,
            n_lightcurves=len(written.placements),
            size_bytes=files.size(final),
            sha256=files.sha256_of(final),
            run_id=self.run_id,
        )
        return relpath, written

    # -- products ----------------------------------------------------------------------------
    def _is_current(self, sha: str | None) -> bool:
        row = self.con.execute(
            "SELECT bool_or(is_current) FROM lake.lightcurve_versions WHERE file_sha256 = ?", [sha]
        ).fetchall()
        return bool(row and row[0][0])

    def _record_product(self, item: Converted, state: str) -> None:
        meta = item.lc.meta if item.lc else {}
        lc_id = (
            meta.get("lc_id")
            or self.con.execute(
                "SELECT any_value(lc_id) FROM lake.lightcurve_versions WHERE file_sha256 = ?", [item.sha256]
            ).fetchall()[0][0]
        )
        products.upsert(
            self.con,
            item.item.product_uri,
            state,
            run_id=self.run_id,
            product_type="lightcurve",
            mission=meta.get("mission"),
            author=meta.get("author"),
            target_id=meta.get("target_id"),
            file_name=item.item.path.name,
            local_path=str(item.item.path),
            size_bytes=item.size_bytes,
            sha256=item.sha256,
            lc_id=lc_id,
            **item.item.extra,
        )

    def _record_error(self, item: Converted, out: BatchOutcome) -> None:
        err = item.error
        state = err.state
        product_type = "lightcurve" if state != "skipped" else _skipped_type(err.reason)
        products.upsert(
            self.con,
            item.item.product_uri,
            state,
            run_id=self.run_id,
            error=err.reason,
            count_attempt=state in ("failed", "quarantined"),
            product_type=product_type,
            file_name=item.item.path.name,
            local_path=str(item.item.path),
            size_bytes=item.size_bytes or None,
            sha256=item.sha256,
            **item.item.extra,
        )
        setattr(out, state, getattr(out, state) + 1)
        out.problems.append((str(item.item.path), state, err.reason))


def _skipped_type(reason: str) -> str:
    if "pixel" in reason:
        return "target_pixel"
    return "derived" if "derived" in reason or "community" in reason else "unknown"
