"""Kept pixel files as lightkurve objects: `Lake.pixels("TIC 25155310", sector=1)`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import LakeDamagedError, UsageError
from ..harvest.targets import parse_targets
from ..layout import LakeLayout, period_key
from ..sqlfiles import load_sql

if TYPE_CHECKING:
    from ..api import Lake


def open_pixels(
    lake: Lake,
    target: str | int,
    *,
    sector: int | None = None,
    quarter: int | None = None,
    campaign: int | None = None,
    author: str | None = None,
    cutout_size: int | str | None = None,
    quality_bitmask: str | int = "default",
) -> Any:
    """One `TargetPixelFile` when one file matches, else a `TargetPixelFileCollection` (oldest period first)."""
    import lightkurve as lk

    mission, target_id = _target(target, sector, quarter, campaign)
    number = next((n for n in (sector, quarter, campaign) if n is not None), None)
    params = {
        "mission": mission,
        "target_id": target_id,
        "period": period_key(mission, number) if number is not None else None,
        "author": author,
        "cutout_size": _size_text(cutout_size),
    }
    rows = lake.sql(load_sql("pixels/find.sql"), params).arrow().to_pylist()
    if not rows:
        raise UsageError(
            f"the lake keeps no pixel file of {target}{_narrowing(params)}",
            hint="harvest them with 'larun-lake harvest pixels' or 'harvest cutouts', or import the files",
        )
    files = [lk.read(str(local_copy(lake.layout, row)), quality_bitmask=quality_bitmask) for row in rows]
    return files[0] if len(files) == 1 else lk.TargetPixelFileCollection(files)


def local_copy(layout: LakeLayout, row: dict) -> Path:
    """The kept file on this machine: in the lake itself, or fetched once beside a remote lake's catalog."""
    rel = row["raw_path"]
    store = layout.store
    if not store.exists(rel):
        raise LakeDamagedError(f"the kept pixel file {rel} is missing", hint="run 'larun-lake verify'")
    if store.is_local:
        return store.local_path(rel)
    path = layout.download_root / rel
    if not (path.is_file() and path.stat().st_size == row["file_size"]):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.part-{os.getpid()}")
        tmp.write_bytes(store.read_bytes(rel))
        os.replace(tmp, path)
    return path


def _target(target: str | int, *numbers: int | None) -> tuple[str, int]:
    text = f"TIC {target}" if isinstance(target, int) else str(target)
    parsed = parse_targets([text], ["TESS", "Kepler", "K2"])
    if len(parsed) != 1 or parsed[0].target_id is None or parsed[0].mission is None:
        raise UsageError(f"{target!r} is not a target id", hint="name it as 'TIC 25155310', 'KIC ...' or 'EPIC ...'")
    return parsed[0].mission, parsed[0].target_id


def _size_text(size: int | str | None) -> str | None:
    if size is None:
        return None
    if isinstance(size, int):
        return f"{size}x{size}"
    return str(size).strip()


def _narrowing(params: dict) -> str:
    parts = [f"{k} {params[k]}" for k in ("period", "author", "cutout_size") if params[k] is not None]
    return f" ({', '.join(parts)})" if parts else ""
