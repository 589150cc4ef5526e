"""The order in which files are converted: each partition's light curves together, by target.

Chunks of files go to workers in this order, so that a chunk fills few partitions with
many light curves each (few, large staged files, and no merging of small ones), and
inside a partition the light curves arrive sorted by target (staged files stream out
sorted). MAST's file names say the product, period and target, so those files are not
opened; for any other name the primary header is read (a few kB) to say the same.

Chunks are cut by size as well as by count: a chunk is one commit, whose catalog work
costs about the same for 48 files as for 500, so small files (full-frame-image light
curves, a hundred kB or less) go in chunks of many, which also keeps their staged files
large enough not to need merging.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..kinds import MAST_FILE_NAMES as _MAST_NAMES  # (pattern, 'mission:author'), groups `period`, `target`
from ..readers.fitsfile import read_primary_header
from .convert import InputFile


def conversion_order(path: Path) -> tuple[str, int, int, str]:
    """Sort key: (mission and author, period, target) as the name or primary header tells, then the name."""
    name = path.name.lower()
    for pattern, group in _MAST_NAMES:
        match = pattern.match(name)
        if match:
            return group, int(match["period"]), int(match["target"]), name
    return _order_from_header(path) or ("~", 0, 0, "")  # unreadable: last, in the order given (stable sort)


def is_product_name(name: str, mission: str, target_id: int | None) -> bool:
    """Whether a file name is MAST's product name for this mission and target (not a user's renamed copy)."""
    lower = name.lower()
    for pattern, group in _MAST_NAMES:
        match = pattern.match(lower)
        if match and group.split(":")[0] == mission:
            return int(match["target"]) == target_id
    return False


def in_conversion_order(items: list[InputFile]) -> list[InputFile]:
    return sorted(items, key=lambda item: conversion_order(item.path))


CHUNK_BYTES = 24 << 20  # a chunk of small files grows past its file count up to this many bytes of input
CHUNK_MAX_FILES = 500
# A chunk of big files (target pixel files: 44 MB for an 11x11 stamp of a sector) ends before its file
# count at this many bytes, so that a few dozen of them still spread over every worker.
CHUNK_MAX_BYTES = 256 << 20


def in_chunks(
    items: list[InputFile], files_per_chunk: int, *, size_of: Callable[[Path], int] | None = None
) -> list[list[InputFile]]:
    """Consecutive chunks of `files_per_chunk` files, or of more small files up to CHUNK_BYTES,
    or of fewer big files up to CHUNK_MAX_BYTES."""
    size_of = size_of or _size
    chunks: list[list[InputFile]] = []
    chunk: list[InputFile] = []
    total = 0
    for item in items:
        size = size_of(item.path)
        full = len(chunk) >= files_per_chunk and total + size > CHUNK_BYTES
        full = full or total + size > CHUNK_MAX_BYTES
        if chunk and (full or len(chunk) >= max(files_per_chunk, CHUNK_MAX_FILES)):
            chunks.append(chunk)
            chunk, total = [], 0
        chunk.append(item)
        total += size
    return [*chunks, chunk] if chunk else chunks


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _order_from_header(path: Path) -> tuple[str, int, int, str] | None:
    header = _primary_header(path)
    if header is None:
        return None
    target = header.get("TICID") or header.get("KEPLERID")
    period = header.get("SECTOR") or header.get("QUARTER") or header.get("CAMPAIGN")
    if not isinstance(target, int) or not isinstance(period, int):
        return None
    origin = str(header.get("ORIGIN") or "")
    # Sorting only: a pipeline's pixel files go with its light curves (the primary header cannot tell them apart).
    if header.get("TELESCOP") == "TESS":
        group = "TESS:TESScut" if "stsci" in origin.lower() else "TESS:QLP" if "QLP" in origin.upper() else "TESS:SPOC"
    else:
        group = "K2:K2" if "CAMPAIGN" in header else "Kepler:Kepler"
    return group, period, target, path.name.lower()


def _primary_header(path: Path) -> dict | None:
    try:
        return read_primary_header(path)
    except Exception:  # an unreadable file is ordered last; ingest says what is wrong with it
        return None
