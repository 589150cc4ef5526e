"""The time system of a set's `time` column, said once per mission and author.

`time` is the file's TIME as the lake keeps it: BTJD (BJD_TDB - 2457000) for TESS, BKJD
(BJD_TDB - 2454833) for Kepler and K2, and for JWST/HST light curves what their time_scale
says (BJD_TDB counted from bjdrefi + bjdreff). A reader of the output needs this to turn
`time` back into BJD, so it goes into the Parquet key-value metadata and the manifest.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from ..kinds import missions, of_mission

# Key of the Parquet key-value metadata entry (a JSON list, one item per mission and author).
METADATA_KEY = b"larun_lake.time_systems"


def time_system(mission: str, time_scale: str | None) -> str:
    """'BTJD', 'BKJD', or the light curve's own scale (e.g. 'BJD_TDB') for observatories without a kind."""
    if mission in missions():
        return of_mission(mission).time_format.upper()
    return time_scale or "BJD_TDB"


def time_systems(members: pa.Table) -> list[dict[str, Any]]:
    """One entry per (mission, author) of the set's light curves, sorted: system and BJD reference.

    `time + bjdrefi + bjdreff` is BJD_TDB in days for every light curve of an entry."""
    names = set(members.column_names)
    scales = members.column("time_scale").to_pylist() if "time_scale" in names else [None] * members.num_rows
    seen: dict[tuple, dict[str, Any]] = {}
    for mission, author, bjdrefi, bjdreff, scale in zip(
        members.column("mission").to_pylist(),
        members.column("author").to_pylist(),
        members.column("bjdrefi").to_pylist(),
        members.column("bjdreff").to_pylist(),
        scales,
        strict=True,
    ):
        entry = {
            "mission": mission,
            "author": author,
            "time_system": time_system(mission, scale),
            "time_unit": "d",
            "bjdrefi": bjdrefi,
            "bjdreff": bjdreff,
        }
        seen.setdefault(tuple(entry.values()), entry)
    return [seen[key] for key in sorted(seen, key=lambda k: tuple("" if v is None else str(v) for v in k))]


def with_time_systems(schema: pa.Schema, systems: list[dict[str, Any]]) -> pa.Schema:
    """The schema with the time systems in its key-value metadata (deterministic: same set, same bytes)."""
    metadata = dict(schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(systems, sort_keys=True, separators=(",", ":")).encode()
    return schema.with_metadata(metadata)
