"""Rewrite data files that were damaged or deleted behind the lake's back, from the FITS files.

A re-import finds the files it brings already in the lake ("unchanged"). Before trusting
that, it checks the data files holding those versions against the catalog (present, size,
SHA-256). A damaged data file is rewritten from the FITS files of every version it holds
(the copies in this import, else the paths the catalog recorded), and the new file replaces
it in one transaction. A file that cannot be made whole is left as it is for `verify`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import duckdb

from ..catalog import pixels, products, versions
from ..lake import files
from ..lake.writer import lightcurve_table, split_for_files, write_file
from ..layout import LakeLayout, Partition
from ..pixels.aperture import NAMES
from .convert import InputFile, convert


@dataclass
class DamagedFile:
    """A registered data file that is missing or differs from the catalog, and what it holds."""

    path: str
    area: str
    partition: Partition
    problem: str
    held: list[tuple[str, str, int, str | None]] = field(default_factory=list)  # (lc_id, sha, target, source)


@dataclass
class RepairOutcome:
    repaired_shas: set[str] = field(default_factory=set)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (data file, state, what happened)


def find_damaged(con: duckdb.DuckDBPyConnection, layout: LakeLayout, shas: list[str]) -> list[DamagedFile]:
    """The data files holding these versions whose bytes no longer match the catalog."""
    damaged = []
    for path, area, mission, author, period, size, sha in versions.data_files_of(con, shas):
        problem = _mismatch(layout.store, path, size, sha)
        if problem:
            held = versions.versions_in_file(con, path)
            damaged.append(DamagedFile(path, area, Partition(mission, author, period), problem, held))
    return damaged


def _mismatch(store, path: str, size: int, sha: str | None) -> str | None:
    if not store.exists(path):
        return "missing"
    if store.size(path) != size:
        return f"{store.size(path)} bytes where the catalog has {size}"
    if sha and store.sha256(path) != sha:
        return "SHA-256 differs from the catalog's"
    return None


def repair_files(
    damaged: list[DamagedFile],
    given: dict[str, list[InputFile]],
    *,
    transaction: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
    layout: LakeLayout,
    run_id: str,
    sequence: Iterator[int],
    stage_dir: str,
) -> RepairOutcome:
    """Rewrite each damaged file whose versions can all be read again; one transaction per file."""
    out = RepairOutcome()
    shas = [sha for d in damaged for _, sha, _, _ in d.held]
    with transaction() as con:
        known_paths = products.paths_of_shas(con, shas)
        kept = pixels.kept_files_of_versions(con, shas) if layout.is_local else {}
    for bad in damaged:
        tables, missing = [], []
        for lc_id, sha, target_id, source in bad.held:
            # A pixel light curve is made again from its pixel file (the lake's kept copy among them) with
            # the aperture that made it, whichever aperture the files brought now were imported with.
            aperture = _named_aperture(lc_id)
            paths = (source, *known_paths.get(sha, ()), *((str(layout.root / kept[sha]),) if sha in kept else ()))
            candidates = [
                *given.get(sha, []),
                *(InputFile(Path(p), "", aperture=aperture) for p in paths if p),
            ]
            result = next((r for r in map(_read, candidates) if r is not None and r.sha256 == sha), None)
            if result is None:
                missing.append(lc_id)
                continue
            tables.append(((target_id, lc_id, sha), sha, lightcurve_table(result.lc)))
        if missing:
            out.problems.append(
                (
                    bad.path,
                    "failed",
                    f"damaged data file ({bad.problem}); {len(missing)} of its {len(bad.held)} light "
                    f"curves were not found, e.g. {missing[0]}: import their FITS files too, or run verify",
                )
            )
            continue
        _replace(bad, tables, transaction, layout, run_id, sequence, stage_dir)
        out.repaired_shas.update(sha for _, sha, _, _ in bad.held)
        out.problems.append((bad.path, "repaired", f"damaged data file ({bad.problem}) rewritten from the FITS files"))
    return out


def _named_aperture(lc_id: str) -> str:
    """'all' for TESS:SPOC-TPF:...:120:ap-all; 'default' for a light-curve file or a user's mask (ap-<hash>)."""
    tag = lc_id.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    name = tag.removeprefix("ap-")
    return name if tag.startswith("ap-") and name in NAMES else "default"


def _read(item: InputFile):
    if not files.exists(item.path):
        return None
    result = convert(item, frozenset())
    return result if result.outcome == "lightcurve" else None


def _replace(bad: DamagedFile, tables, transaction, layout: LakeLayout, run_id: str, sequence, stage_dir: str) -> None:
    store = layout.store
    written = []
    published: list[str] = []
    try:
        for chunk in split_for_files(tables):
            relpath = layout.data_file(bad.partition, run_id, next(sequence), history=bad.area == "history")
            scratch = layout.scratch_file(run_id, f"repair-{PurePosixPath(relpath).name}", relpath)
            written.append((relpath, write_file(store, scratch, chunk)))
        try:
            with transaction() as con:
                versions.unregister_file(con, bad.path)
                for relpath, staged in written:
                    if staged.staged != relpath:
                        store.move(staged.staged, relpath)
                    published.append(relpath)
                    versions.register_file(
                        con,
                        relpath,
                        area=bad.area,
                        mission=bad.partition.mission,
                        author=bad.partition.author,
                        period=bad.partition.period,
                        n_rows=staged.n_rows,
                        n_lightcurves=len(staged.placements),
                        size_bytes=staged.size_bytes,
                        sha256=staged.sha256,
                        run_id=run_id,
                    )
                    lc_of = {sha: lc_id for lc_id, sha, _, _ in bad.held}
                    versions.move_many(
                        con, [(lc_of[p.key], p.key, relpath, p.row_offset, p.row_count) for p in staged.placements]
                    )
        except BaseException:
            for rel in published:  # never registered
                store.delete(rel)
            published = []
            raise
    finally:
        for _, staged in written:
            if staged.staged not in published:
                store.delete(staged.staged)
    store.delete(bad.path)
