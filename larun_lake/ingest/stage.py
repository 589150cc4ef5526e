"""Convert a chunk of files and stream their cadences into staged Parquet, by partition.

This is the heavy part of ingest (FITS decoding and Parquet encoding). It is a pure
function of its inputs, runs in worker processes, and never touches the catalog:
only metadata travels back to the process that commits.

Light curves are written as they are converted, so a worker holds one row group, not
a chunk, in memory (fresh memory is slow to fault in on these machines). Callers pass
files in `conversion_order`, which brings each partition's light curves by target; one
whose target comes before the last one's starts another staged file, so every staged
file stays sorted by target whatever the order.
"""

from __future__ import annotations

import itertools
import os
import posixpath
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from ..errors import ProductError
from ..lake.writer import FILE_MAX_ROWS, LightCurveWriter, lightcurve_table, write_spectrum
from ..layout import LakeLayout, Partition
from .convert import Converted, InputFile, convert_all


@dataclass
class StagedFile:
    """A Parquet file a worker wrote, holding some versions of one partition (see LakeLayout.chunk_file)."""

    partition: Partition
    path: str  # relative path in the lake's storage
    n_rows: int
    placements: dict[str, tuple[int, int]]  # file_sha256 -> (row offset, row count)
    size_bytes: int = 0
    sha256: str = ""  # of the Parquet file, computed here rather than in the committing process

    def is_final(self) -> bool:
        """Written under its final name (object stores), rather than in staging to be moved in."""
        return self.path.startswith(self.partition.area_prefix())


@dataclass
class StagedChunk:
    results: list[Converted]  # lightcurve results carry metadata only (columns dropped)
    staged: list[StagedFile] = field(default_factory=list)

    @property
    def size_bytes(self) -> int:
        return sum(r.size_bytes for r in self.results)


class _PartitionOutput:
    """The staged files of one partition in one chunk."""

    def __init__(self, partition: Partition, layout: LakeLayout, new_path: Callable[[], str]) -> None:
        self.partition = partition
        self.layout = layout
        self.new_path = new_path
        self.staged: list[StagedFile] = []
        self._writer: LightCurveWriter | None = None
        self._last_target = 0

    def append(self, target_id: int, sha: str, lc_rows: pa.Table) -> None:
        # Sorted by target is what lets readers skip files and row groups; light curves of one
        # target (a 20-s and a 120-s file of a sector, say) may come in any order.
        writer = self._writer
        if writer is None or target_id < self._last_target or writer.n_rows + lc_rows.num_rows > FILE_MAX_ROWS:
            self._finish()
            writer = self._writer = LightCurveWriter(self.layout.store, self.new_path(self.partition))
        writer.append(sha, lc_rows)
        self._last_target = target_id

    def close(self) -> list[StagedFile]:
        self._finish()
        return self.staged

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None

    def _finish(self) -> None:
        if self._writer is None:
            return
        written, self._writer = self._writer.close(), None
        placements = {p.key: (p.row_offset, p.row_count) for p in written.placements}
        self.staged.append(
            StagedFile(self.partition, written.staged, written.n_rows, placements, written.size_bytes, written.sha256)
        )


def stage_chunk(
    items: list[InputFile], known_shas: frozenset[str], layout: LakeLayout, run_id: str, chunk_id: int
) -> StagedChunk:
    """Convert a chunk and write its rows; the same chunk staged again writes the same file names."""
    results: list[Converted] = []
    outputs: dict[Partition, _PartitionOutput] = {}
    names = itertools.count()

    def new_path(partition: Partition, area: str = "cadences") -> str:
        return layout.chunk_file(partition, run_id, chunk_id, next(names), area=area)

    seen: set[str] = set()
    try:
        for result in (r for item in items for r in convert_all(item, known_shas)):
            results.append(result)
            if result.outcome == "spectrum":
                if result.sha256 not in seen:
                    seen.add(result.sha256)
                    _stage_spectrum(result, layout, new_path)
                result.spectrum.table = None
                continue
            if result.outcome == "image":
                if result.sha256 not in seen:
                    seen.add(result.sha256)
                    _keep_image_file(result, layout)
                continue
            if result.outcome == "unchanged" and result.pixel is not None:
                _restore_kept_file(result, layout)
            if result.outcome != "lightcurve":
                continue
            if result.sha256 in seen:  # a byte-identical copy: its rows are staged already
                result.lc.columns = {}
                continue
            seen.add(result.sha256)
            if result.pixel is not None and not _keep_pixel_file(result, layout):
                continue
            meta = result.lc.meta
            try:
                rows = lightcurve_table(result.lc)
            except Exception as exc:  # a value the lake's schema cannot hold: this file's problem only
                _fail(result, f"cannot store its cadences ({type(exc).__name__}: {exc})")
                continue
            part = Partition(meta["mission"], meta["author"], meta["period"])
            out = outputs.get(part) or outputs.setdefault(part, _PartitionOutput(part, layout, new_path))
            out.append(meta["target_id"] or 0, result.sha256, rows)
            result.lc.columns = {}  # the rows are in the staged file now
        staged = [f for out in outputs.values() for f in out.close()]
    except BaseException:
        for out in outputs.values():
            out.abort()
        raise
    staged.sort(key=lambda f: (f.partition.relpath.as_posix(), f.path))
    return StagedChunk(results, staged)


def _stage_spectrum(result: Converted, layout: LakeLayout, new_path: Callable[..., str]) -> None:
    """A spectrum's rows go to one staged Parquet file of its own (moved into its area by the commit)."""
    data = result.spectrum
    meta = data.meta
    part = Partition(meta["mission"], meta["author"], meta["period"])
    try:
        written = write_spectrum(layout.store, new_path(part, data.area), data.table)
    except Exception as exc:  # a value the area's schema cannot hold: this file's problem only
        _fail(result, f"cannot store its spectra ({type(exc).__name__}: {exc})")
        return
    result.staged = StagedFile(part, written.staged, written.n_rows, {result.sha256: (0, written.n_rows)},
                               written.size_bytes, written.sha256)


def _keep_image_file(result: Converted, layout: LakeLayout) -> None:
    """Images stay FITS: the file goes into the raw area byte for byte, as pixel files do."""
    meta = result.image.meta
    row = {"file_name": result.item.path.name, "product_type": "image", "mission": meta["mission"],
           "period": meta.get("proposal_id") or ""}
    result.pixel = row  # where _keep_pixel_file records the raw path
    obs_id = result.item.extra.get("obs_id") or meta.get("obs_id")
    if not result.item.extra.get("obs_id") and obs_id:
        result.item.extra.setdefault("obs_collection", meta["mission"])
        result.item.extra.setdefault("obs_id", obs_id)
    kept = _keep_pixel_file(result, layout, what="image")
    result.pixel = None
    if kept:
        meta["raw_path"] = row["raw_path"]


def _keep_pixel_file(result: Converted, layout: LakeLayout, *, what: str = "pixel file") -> bool:
    """Pixel data stay FITS: the file goes into the raw area, byte for byte, before its rows count.

    A kept file is never replaced by other bytes: another version under the same name (MAST reprocessed
    it, or two sources share a name) is kept beside it, in a folder named by its hash.
    """
    item = result.item
    store = layout.store
    try:
        for rel in _kept_places(layout, result):
            if not store.exists(rel):
                _copy_into(layout, rel, item.path)
                break
            if store.size(rel) == result.size_bytes and store.sha256(rel) == result.file_hash:
                break  # this very file is kept already
        else:
            _fail(result, f"cannot keep the {what}: other files are kept at {' and '.join(_kept_places(layout, result))}")
            return False
    except (OSError, ValueError) as exc:
        _fail(result, f"cannot keep the {what} in the lake ({type(exc).__name__}: {exc})")
        return False
    result.pixel["raw_path"] = rel
    return True


def _restore_kept_file(result: Converted, layout: LakeLayout) -> None:
    """A pixel file the lake holds already: its kept copy is written back where it has gone (never over other bytes)."""
    store = layout.store
    try:
        places = _kept_places(layout, result)
        if not any(store.exists(rel) and store.size(rel) == result.size_bytes for rel in places):
            free = next((rel for rel in places if not store.exists(rel)), None)
            if free is not None:
                _copy_into(layout, free, result.item.path)
    except (OSError, ValueError):
        pass  # the kept copy stays as it is; `verify` reports it


def _kept_places(layout: LakeLayout, result: Converted) -> tuple[str, str]:
    """Where a pixel file is kept: MAST's place for its name, else beside it in a folder named by its hash."""
    rel = raw_pixel_relpath(layout, result.item, result.pixel)
    folder, name = rel.rsplit("/", 1)
    return rel, f"{folder}/{result.file_hash[:16]}/{name}"


def _copy_into(layout: LakeLayout, rel: str, source: Path) -> None:
    """Put a file at `rel` whole, as Storage.write_bytes does; into a local lake the kernel copies the
    bytes (a target pixel file is tens of MB: read into Python and written out, it costs three times as much)."""
    store = layout.store
    if not store.is_local:
        store.write_bytes(rel, source.read_bytes())
        return
    tmp = f"{rel}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    store.make_dirs(posixpath.dirname(rel))
    try:
        shutil.copyfile(source, store.local_path(tmp))
        store.move(tmp, rel)
    finally:
        store.delete(tmp)


def raw_pixel_relpath(layout: LakeLayout, item: InputFile, row: dict) -> str:
    """MAST's layout: raw/mastDownload/<collection>/<obs_id>/<file>; cutouts raw/tesscut/<sector>/<file>."""
    name = row["file_name"]
    if row["product_type"] == "ffi_cutout":
        return layout.cutout_relpath(row["period"], name)
    collection, obs_id = item.extra.get("obs_collection"), item.extra.get("obs_id")
    parts = item.path.parts
    if not (collection and obs_id) and len(parts) >= 4 and parts[-4] == "mastDownload":
        collection, obs_id = parts[-3], parts[-2]  # a lightkurve or astroquery download folder
    if not (collection and obs_id):
        collection, obs_id = row["mission"], pixel_obs_id(name)
    return layout.raw_relpath(collection, obs_id, name)


def pixel_obs_id(file_name: str) -> str:
    """MAST's observation id of a pipeline pixel file, from its name (tess..._tp.fits, kplr..._lpd-targ.fits.gz)."""
    stem = file_name.split(".fits")[0]
    for suffix in ("_tp", "_lpd-targ", "_spd-targ"):
        if stem.endswith(suffix):
            return stem[: -len(suffix)]
    return stem


def _fail(result: Converted, reason: str) -> None:
    result.outcome, result.lc, result.spectrum, result.image = "error", None, None, None
    result.error = ProductError(str(result.item.path), reason)
