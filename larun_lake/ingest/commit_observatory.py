"""Commit the spectra and images of a staged chunk, inside the batch's catalog transaction.

A spectrum file's rows were staged as one Parquet file: it moves into its area (spectra/ or
spectral_timeseries/) and is registered with its version in one transaction. A newer version of the
same spectrum (a later calibration) retires the one the lake has: its rows are copied to
_history/<area>/ and the old file goes after the commit, as for light curves. Images keep their
FITS file in the raw area; only their header facts are recorded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import duckdb

from ..catalog import observatory
from ..catalog.db import now
from ..layout import LakeLayout, Partition
from .convert import Converted

OBSERVATORY_OUTCOMES = ("spectrum", "image")
OBSERVATORY_TYPES = ("spectrum", "spectral_timeseries", "image")
_NUM = re.compile(r"\d+")


def is_observatory_result(result: Converted) -> bool:
    return result.outcome in OBSERVATORY_OUTCOMES or (
        result.outcome == "unchanged" and result.product_type in OBSERVATORY_TYPES
    )


class ObservatoryCommitter:
    """Spectra and images of one chunk; shares the light-curve committer's run, sequence and file lists."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        layout: LakeLayout,
        run_id: str,
        sequence: Iterator[int],
        published: list[str],
        obsolete: list[str],
    ) -> None:
        self.con, self.layout, self.run_id, self.sequence = con, layout, run_id, sequence
        self.store = layout.store
        self.published, self.obsolete = published, obsolete
        self.product_rows: list[dict[str, Any]] = []
        self.ingested = self.unchanged = self.superseded = 0
        self.problems: list[tuple[str, str, str]] = []

    def commit(self, results: list[Converted]) -> None:
        fresh = [r for r in results if r.outcome in OBSERVATORY_OUTCOMES]
        held = observatory.held_files(self.con, sorted({r.sha256 for r in fresh}))
        seen: dict[str, tuple[str, bool]] = {}  # sha -> (id, current) of versions committed here
        unchanged = [r for r in results if r.outcome == "unchanged"]
        for r in fresh:
            if r.sha256 in held or r.sha256 in seen:
                self._drop_staged(r)
                unchanged.append(r)
            elif r.outcome == "spectrum":
                seen[r.sha256] = self._spectrum(r)
            else:
                seen[r.sha256] = self._image(r)
        held.update(observatory.held_files(self.con, sorted({r.sha256 for r in unchanged} - set(held))))
        for r in unchanged:
            _, current = held[r.sha256][:2] if r.sha256 in held else seen.get(r.sha256, (None, True))
            self._product(r, {}, current=current)
            self.unchanged += 1

    # -- spectra ---------------------------------------------------------------------------
    def _spectrum(self, r: Converted) -> tuple[str, bool]:
        data, staged = r.spectrum, r.staged
        meta = data.meta
        spec_id, area = meta["spec_id"], data.area
        cur = observatory.current_spectra(self.con, [spec_id]).get(spec_id)
        current = cur is None or _rank(meta) > _rank(cur)
        part = Partition(meta["mission"], meta["author"], meta["period"])
        if current and staged.path.startswith(part.area_prefix(area)):
            rel = staged.path  # written under its final name (object stores have no rename)
        else:
            rel = self.layout.spectrum_file(area, part, self.run_id, next(self.sequence), history=not current)
        if staged.path != rel:
            self.store.move(staged.path, rel)
        self._register(rel, area if current else f"{area}_history", part, staged.n_rows, staged.size_bytes,
                       staged.sha256)
        stamp = now()
        row = dict(meta, is_current=current, data_file=rel, row_offset=0, row_count=staged.n_rows, ingested_at=stamp,
                   run_id=self.run_id, superseded_at=None if current else stamp,
                   superseded_by=None if current else cur["file_sha256"])  # fmt: skip
        if current and cur is not None:
            self._retire_spectrum(cur, r.sha256)
            self.superseded += 1
        observatory.insert_rows(self.con, "spectrum_versions", [row])
        self._product(r, meta, current=current)
        self.ingested += 1
        self._warn_checksum(r, meta)
        return spec_id, current

    def _retire_spectrum(self, cur: dict[str, Any], newer: str) -> None:
        """The version the lake had: its rows are copied to the history area, its file goes after the commit."""
        old = cur["data_file"]
        part = Partition(cur["mission"], cur["author"], cur["period"])
        hist = self.layout.spectrum_file(cur["area"], part, self.run_id, next(self.sequence), history=True)
        self.store.write_bytes(hist, self.store.read_bytes(old))
        n_rows, size, sha = self.con.execute(
            "SELECT n_rows, size_bytes, sha256 FROM lake.data_files WHERE path = ?", [old]
        ).fetchone()
        self.con.execute("DELETE FROM lake.data_files WHERE path = ?", [old])
        self._register(hist, f"{cur['area']}_history", part, n_rows, size, sha)
        self.obsolete.append(old)
        observatory.retire_spectrum(self.con, cur["spec_id"], cur["file_sha256"], newer, hist)

    def _register(self, rel: str, area: str, part: Partition, n_rows: int, size: int, sha: str) -> None:
        self.published.append(rel)
        self.con.execute(
            "INSERT INTO lake.data_files (path, area, mission, author, period, n_rows, n_lightcurves, size_bytes, "
            "sha256, created_at, run_id) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
            [rel, area, part.mission, part.author, part.period, n_rows, size, sha, now(), self.run_id],
        )

    def _drop_staged(self, r: Converted) -> None:
        if r.staged is not None and r.staged.path not in self.published:
            self.store.delete(r.staged.path)

    # -- images ----------------------------------------------------------------------------
    def _image(self, r: Converted) -> tuple[str, bool]:
        meta = r.image.meta
        image_id = meta["image_id"]
        cur = observatory.current_images(self.con, [image_id]).get(image_id)
        current = cur is None or _rank(meta) > _rank(cur)
        if current and cur is not None:
            observatory.retire_image(self.con, image_id, cur["file_sha256"])
            self.superseded += 1
        stamp = now()
        observatory.insert_rows(self.con, "image_versions", [
            dict(meta, is_current=current, ingested_at=stamp, run_id=self.run_id,
                 superseded_at=None if current else stamp)
        ])  # fmt: skip
        self._product(r, meta, current=current)
        self.ingested += 1
        self._warn_checksum(r, meta)
        return image_id, current

    # -- products --------------------------------------------------------------------------
    def _product(self, r: Converted, meta: dict[str, Any], *, current: bool) -> None:
        item = r.item
        self.product_rows.append({
            "product_uri": item.product_uri, "product_type": r.product_type,
            "state": "ingested" if current else "superseded", "mission": meta.get("mission"),
            "author": meta.get("author"), "file_name": item.path.name, "local_path": str(item.path),
            "size_bytes": r.size_bytes, "sha256": r.sha256, "run_id": self.run_id, "suffix": meta.get("suffix"),
            "proposal_id": meta.get("proposal_id"), "obs_id": meta.get("obs_id"), "obs_collection": meta.get("mission"),
            **item.extra,
        })  # fmt: skip

    def _warn_checksum(self, r: Converted, meta: dict[str, Any]) -> None:
        if meta.get("checksum_ok") is False:
            self.problems.append((str(r.item.path), "warning", "FITS CHECKSUM fails: the file was damaged or edited "
                                  "after the archive wrote it"))  # fmt: skip


def _rank(meta: dict[str, Any]) -> tuple:
    """An intact file first, then the later calibration (CAL_VER), then the later file date."""
    version = tuple(int(x) for x in _NUM.findall(str(meta.get("cal_ver") or "")))
    return (meta.get("checksum_ok") is not False, version, str(meta.get("file_date") or ""))
