"""QUALITY bits and the named presets, exactly as lightkurve applies them.

The tables are generated from lightkurve's own flag classes (larun_lake/quality_tables.py)
and ship with the package as data/quality_tables.json, so that "quality='default'" here is
`lightkurve.read(..., quality_bitmask='default')` for every product kind without importing
lightkurve (seconds) in every command.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from .errors import UsageError

PRESETS = ("none", "default", "hard", "hardest")

# Where the generator writes the tables in a source checkout; readers go through importlib.resources.
TABLES_PATH = Path(__file__).with_name("data") / "quality_tables.json"


@dataclass(frozen=True)
class MaskRow:
    mission: str
    author: str
    preset: str
    sector_min: int | None
    sector_max: int | None
    bitmask: int


@dataclass(frozen=True)
class BitRow:
    mission: str
    author: str
    bit: int
    value: int
    name: str
    description: str
    in_default: bool
    in_hard: bool
    in_hardest: bool
    sector_min: int | None
    sector_max: int | None


@cache
def tables_text() -> str:
    return resources.files(__package__).joinpath("data", "quality_tables.json").read_text(encoding="utf-8")


def tables_sha256() -> str:
    """Identifies the shipped tables, so that a catalog holding other ones is refreshed."""
    return hashlib.sha256(tables_text().encode()).hexdigest()


@cache
def _tables() -> dict:
    return json.loads(tables_text())


_PRELOADED: tuple[MaskRow, ...] | None = None


def preload_mask_rows(rows: tuple[MaskRow, ...]) -> None:
    """Give a worker process the masks its parent already holds (saves reading the tables again)."""
    global _PRELOADED
    _PRELOADED = rows


def mask_rows() -> tuple[MaskRow, ...]:
    """Every (mission, author, preset[, sector range]) bitmask, as lightkurve applies them."""
    return _PRELOADED if _PRELOADED is not None else _shipped_mask_rows()


@cache
def _shipped_mask_rows() -> tuple[MaskRow, ...]:
    return tuple(MaskRow(**row) for row in _tables()["masks"])


def bit_rows() -> list[BitRow]:
    """One row per QUALITY bit per product kind, with its preset membership."""
    return [BitRow(**row) for row in _tables()["bits"]]


def bitmask_for(mission: str, author: str, preset: str | int, sector: int | None = None) -> int:
    """The bitmask a preset name (or an explicit integer mask) means for one product kind."""
    if isinstance(preset, int) or (isinstance(preset, str) and preset.isdigit()):
        value = int(preset)
        if value < 0:
            raise UsageError(f"quality bitmask {value} is negative", hint="give a non-negative integer")
        return value
    if preset not in PRESETS:
        raise UsageError(f"unknown quality preset {preset!r}", hint=f"use one of {', '.join(PRESETS)} or an integer")
    key = (mission, author, preset, sector)
    if key not in _RESOLVED:
        _RESOLVED[key] = _lookup(mission, author, preset, sector)
    return _RESOLVED[key]


_RESOLVED: dict[tuple, int] = {}


def _lookup(mission: str, author: str, preset: str, sector: int | None) -> int:
    for row in mask_rows():
        if (row.mission, row.author, row.preset) != (mission, author, preset):
            continue
        if row.sector_min is None or (
            sector is not None and row.sector_min <= sector and (row.sector_max is None or sector <= row.sector_max)
        ):
            return row.bitmask
    raise UsageError(f"no quality presets for {mission}/{author}")
