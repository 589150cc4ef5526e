"""`larun-lake forget`: take light curves, a run's products, superseded versions or a named set out of
the lake, catalog rows and data together.

Light-curve versions leave the catalog and their rows leave the data files in one catalog
transaction, as a commit does: every data file that holds a forgotten version is rewritten without
its rows (under this run's name) and registered in place of the old one, which is deleted only after
the commit. A crash before the commit leaves unregistered files of a recorded run, which `verify`
removes; after it, only the old files, likewise. Forgetting the current version of a light curve
whose older versions stay makes the newest of those current again (its rows move back from _history).
A set's catalog rows go; its output and manifest go only when the manifest beside the output still
says the set wrote them (see materialize.target.owned_outputs).
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq

from ..catalog import Catalog, versions
from ..catalog import forget as cf
from ..catalog.runs import finish_run, new_run_id, start_run
from ..errors import LakeDamagedError, UsageError
from ..layout import CADENCES, STAGING, Partition
from ..readers.lightcurve import version_key
from ..schema import CADENCE_SCHEMA
from . import files
from .writer import split_for_files, write_file


@dataclass
class ForgetReport:
    what: str  # 'TIC 25155310', 'run 2024...', 'superseded versions', 'set mdwarfs'
    dry_run: bool
    run_id: str | None = None
    versions: int = 0  # light-curve versions forgotten
    current: int = 0  # of which current
    lightcurves: list[str] = field(default_factory=list)  # lc_ids that lost a version
    restored: list[str] = field(default_factory=list)  # lc_ids whose previous version became current again
    rows: int = 0  # cadence rows taken out of the data files
    data_files: list[str] = field(default_factory=list)  # data files rewritten or removed
    products: int = 0
    pixel_files: list[str] = field(default_factory=list)  # kept pixel files removed from the raw area
    set_name: str | None = None
    outputs: list[str] = field(default_factory=list)  # a set's output and manifest, removed
    outputs_kept: str | None = None  # why a set's output stays

    def summary(self) -> str:
        verb = "would forget" if self.dry_run else "forgot"
        if self.set_name is not None:
            text = f"forget: {verb} set {self.set_name}"
            if self.outputs:
                text += f"; {'would remove' if self.dry_run else 'removed'} {', '.join(self.outputs)}"
            if self.outputs_kept:
                text += f"; its output stays: {self.outputs_kept}"
            return text
        if not self.versions:
            return f"forget: nothing to forget for {self.what}"
        text = (
            f"forget: {verb} {self.versions} light-curve version(s) of {self.what} ({self.current} current, "
            f"{len(self.lightcurves)} light curve(s)): {self.rows} cadence rows from {len(self.data_files)} data "
            f"file(s), {self.products} product(s)"
        )
        if self.pixel_files:
            text += f", {len(self.pixel_files)} kept pixel file(s)"
        if self.restored:
            text += f"; the previous version of {len(self.restored)} light curve(s) becomes current again"
        return text

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class _Plan:
    forgotten: list[cf.ForgottenVersion]
    successors: list[dict[str, Any]]
    products: list[str]
    pixel_files: list[tuple[str, str]]

    @property
    def data_files(self) -> list[str]:
        return sorted({v.data_file for v in self.forgotten} | {s["data_file"] for s in self.successors})

    def report(self, report: ForgetReport) -> ForgetReport:
        report.versions = len(self.forgotten)
        report.current = sum(v.is_current for v in self.forgotten)
        report.lightcurves = sorted({v.lc_id for v in self.forgotten})
        report.restored = sorted(s["lc_id"] for s in self.successors)
        report.rows = sum(v.row_count for v in self.forgotten)
        report.data_files = self.data_files
        report.products = len(self.products)
        report.pixel_files = [raw for _, raw in self.pixel_files]
        return report


def forget(
    catalog: Catalog,
    *,
    set_name: str | None = None,
    target: str | None = None,
    run_id: str | None = None,
    superseded: bool = False,
    older_than: str | None = None,
    dry_run: bool = False,
) -> ForgetReport:
    """Forget exactly one of: a named set, a target's light curves, a run's light curves, superseded versions."""
    chosen = [n for n, v in (("--set", set_name), ("--target", target), ("--run", run_id),
                             ("--superseded", superseded)) if v]  # fmt: skip
    if len(chosen) != 1:
        raise UsageError(
            "say what to forget" if not chosen else f"forget one thing at a time, not {' and '.join(chosen)}",
            hint="give one of --set NAME, --target 'TIC N', --run RUN_ID, --superseded",
        )
    if older_than is not None and not superseded:
        raise UsageError("--older-than goes with --superseded", hint="e.g. forget --superseded --older-than 30d")
    if set_name:
        return forget_set(catalog, set_name, dry_run=dry_run)
    if target:
        return _forget_target(catalog, target, dry_run=dry_run)
    if run_id:
        with catalog.read(sandbox=False, surface=False) as con:
            known = con.execute("SELECT count(*) FROM lake.runs WHERE run_id = ?", [run_id]).fetchall()[0][0]
        if not known:
            raise UsageError(f"no run {run_id!r} in the lake", hint="see 'larun-lake sql \"SELECT * FROM runs\"'")
        params = {"run_id": run_id}
        return forget_lightcurves(catalog, f"run {run_id}", "forget/by_run.sql", params, dry_run=dry_run)
    seconds = _duration(older_than)
    what = "superseded versions" + (f" older than {older_than}" if older_than else "")
    params = {"before": cf.before(seconds)}
    return forget_lightcurves(catalog, what, "forget/superseded.sql", params, dry_run=dry_run,
                              parameters={"superseded": True, "older_than": older_than})  # fmt: skip


def _forget_target(catalog: Catalog, text: str, *, dry_run: bool) -> ForgetReport:
    from ..harvest.targets import parse_target

    parsed = parse_target(text, None)
    params = {"mission": parsed.mission, "target_id": parsed.target_id, "name": parsed.name}
    target = (parsed.mission, parsed.target_id) if parsed.mission else None
    return forget_lightcurves(catalog, parsed.label, "forget/by_target.sql", params, target=target,
                              dry_run=dry_run, parameters={"target": text})  # fmt: skip


def _duration(text: str | None) -> float | None:
    from ..config import duration_seconds

    if text is None:
        return None
    try:
        seconds = duration_seconds(text)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise UsageError(f"malformed --older-than {text!r}", hint="use forms like 30d, 12h, 90m")
    return seconds


def forget_lightcurves(
    catalog: Catalog,
    what: str,
    selection: str,
    params: dict[str, Any],
    *,
    target: tuple[str, int] | None = None,
    dry_run: bool = False,
    parameters: dict[str, Any] | None = None,
) -> ForgetReport:
    """Forget the versions a selection file of sql/forget/ names (with every product of `target`, if given)."""
    catalog.require()
    report = ForgetReport(what, dry_run)
    if dry_run:
        with catalog.read(sandbox=False, surface=False) as con:
            keys = cf.select_keys(con, selection, params)
            with cf.forget_keys(con, keys):
                return _plan(con, target).report(report)
    with catalog.write("forget") as con:
        if not cf.select_keys(con, selection, params):
            return report
        report.run_id = new_run_id()  # recorded first: the files this run writes are then its own to clean up
        start_run(con, report.run_id, "forget", parameters or params)
    store = catalog.layout.store
    published: list[str] = []
    try:
        with catalog.write("forget") as con:
            keys = cf.select_keys(con, selection, params)
            with cf.forget_keys(con, keys):
                plan = _plan(con, target)
                _rewrite(con, catalog, plan, report.run_id, published)
                cf.delete(
                    con,
                    product_uris=plan.products,
                    pixel_shas=[sha for sha, _ in plan.pixel_files],
                    successors=[(s["lc_id"], s["file_sha256"]) for s in plan.successors],
                )
            finish_run(con, report.run_id, "ok", {})
    except BaseException as exc:
        for rel in published:  # never registered: the transaction rolled back
            store.delete(rel)
        with catalog.write("forget") as con:
            finish_run(con, report.run_id, "interrupted" if isinstance(exc, KeyboardInterrupt) else "error", {})
        raise
    finally:
        with contextlib.suppress(OSError):  # storage failing: `verify` removes staging of dead runs
            store.delete_tree(f"{STAGING}/{report.run_id}")
            if store.is_local:
                files.remove_empty_dirs(store.local_path(STAGING), stop=catalog.layout.root)
    for rel in plan.data_files:  # no longer registered: readers of the views never see them again
        store.delete(rel)
    for _, raw in plan.pixel_files:
        store.delete(raw)
    return plan.report(report)


def forget_set(catalog: Catalog, name: str, *, dry_run: bool = False) -> ForgetReport:
    """A named set's catalog rows, and its output and manifest when they are still the set's."""
    from ..materialize.target import owned_outputs, remove_outputs

    catalog.require()
    report = ForgetReport(f"set {name}", dry_run, set_name=name)
    with catalog.read(sandbox=False, surface=False) as con:
        record = cf.set_record(con, name)
    if record is None:
        raise UsageError(f"no materialized set named {name!r}", hint="see 'larun-lake sets list'")
    report.outputs, report.outputs_kept = owned_outputs(record, catalog.layout)
    if dry_run:
        return report
    with catalog.write("forget") as con:
        if cf.set_record(con, name) != record:
            raise UsageError(f"set {name!r} changed while it was being forgotten", hint="run forget again")
        cf.delete_set(con, name)
    remove_outputs(report.outputs, catalog.layout)
    return report


def _plan(con, target: tuple[str, int] | None) -> _Plan:
    forgotten = cf.versions(con)
    best: dict[str, dict[str, Any]] = {}
    for candidate in cf.successor_candidates(con):
        held = best.get(candidate["lc_id"])
        if held is None or _rank(candidate) > _rank(held):
            best[candidate["lc_id"]] = candidate
    hashes = sorted({h for v in forgotten for h in (v.file_sha256, v.pixel_sha256, v.source_sha256) if h})
    pixel_hashes = sorted({v.pixel_sha256 for v in forgotten if v.pixel_sha256})
    return _Plan(
        forgotten,
        [best[lc] for lc in sorted(best)],
        cf.products(con, hashes, target),
        cf.pixel_files(con, pixel_hashes),
    )


def _rank(version: dict[str, Any]) -> tuple:
    """As the commit ranks versions: an intact file first, then the release."""
    return (version.get("checksum_ok") is not False, version_key(version), version["file_sha256"])


def _rewrite(con, catalog: Catalog, plan: _Plan, run_id: str, published: list[str]) -> None:
    """Write the rows that stay of every affected data file into new files of this run, registered in
    place of the old ones (which the caller deletes after the commit)."""
    layout, store = catalog.layout, catalog.layout.store
    paths = plan.data_files
    gone = {(v.lc_id, v.file_sha256) for v in plan.forgotten}
    back = {(s["lc_id"], s["file_sha256"]) for s in plan.successors}
    where = {
        path: (area, Partition(mission, author, period))
        for path, area, mission, author, period in con.execute(
            "SELECT path, area, mission, author, period FROM lake.data_files WHERE path IN (SELECT unnest(?))", [paths]
        ).fetchall()
    }
    stored = versions.rows_in_files(con, paths)
    groups: dict[tuple[Partition, str], list] = {}
    lc_of: dict[str, str] = {}
    for path in paths:
        area, part = where[path]
        table = pq.read_table(store.path(path), schema=CADENCE_SCHEMA, filesystem=store.fs)
        held = [r for r in stored if r.data_file == path]
        if sum(r.row_count for r in held) != table.num_rows:
            raise LakeDamagedError(
                f"data file {path} holds {table.num_rows} rows, the catalog accounts for "
                f"{sum(r.row_count for r in held)}",
                hint="run 'larun-lake verify' to check the lake; nothing was forgotten",
            )
        for r in held:
            if (r.lc_id, r.file_sha256) in gone:
                continue
            lc_of[r.file_sha256] = r.lc_id
            to = CADENCES if (r.lc_id, r.file_sha256) in back else area
            rows = table.slice(r.row_offset, r.row_count)
            groups.setdefault((part, to), []).append(((r.target_id or 0, r.lc_id, r.file_sha256), r.file_sha256, rows))
    versions.unregister_files(con, paths)
    sequence = itertools.count(1)
    moves = []
    for (part, area), items in sorted(groups.items(), key=lambda g: (g[0][0].relpath.as_posix(), g[0][1])):
        for chunk in split_for_files(items):
            relpath = layout.data_file(part, run_id, next(sequence), history=area == "history")
            scratch = layout.scratch_file(run_id, f"forget-{next(sequence):06d}.parquet", relpath)
            written = write_file(store, scratch, chunk)
            if scratch != relpath:
                store.move(scratch, relpath)
            published.append(relpath)
            versions.register_file(
                con, relpath, area=area, mission=part.mission, author=part.author, period=part.period,
                n_rows=written.n_rows, n_lightcurves=len(written.placements), size_bytes=written.size_bytes,
                sha256=written.sha256, run_id=run_id,
            )  # fmt: skip
            moves += [(lc_of[p.key], p.key, relpath, p.row_offset, p.row_count) for p in written.placements]
    versions.move_many(con, moves)
