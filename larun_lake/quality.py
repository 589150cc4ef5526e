"""QUALITY bits and the named presets, generated from lightkurve's own flag classes.

Generating (not typing) the masks keeps "quality='default'" here identical to
`lightkurve.read(..., quality_bitmask='default')` for every product kind.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache

from .errors import UsageError

PRESETS = ("none", "default", "hard", "hardest")

# QLP marks "low precision" cadences with its own bit, which lightkurve adds to
# the hard and hardest presets; the bit moved in sector 56 (QLP data release notes).
QLP_LOW_PRECISION = ((1, 55, 2**12), (56, None, 2**30))


@cache
def flag_classes() -> dict[tuple[str, str], type]:
    """(mission, author) -> lightkurve flag class. Imported lazily: lightkurve is slow to import."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lightkurve warns about optional extras at import
        from lightkurve.utils import KeplerQualityFlags, TessQualityFlags

    return {
        ("TESS", "SPOC"): TessQualityFlags,
        ("TESS", "TESS-SPOC"): TessQualityFlags,
        ("TESS", "QLP"): TessQualityFlags,
        ("Kepler", "Kepler"): KeplerQualityFlags,
        ("K2", "K2"): KeplerQualityFlags,
    }


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


def _flag_names(cls: type) -> dict[int, str]:
    return {
        v: k for k, v in vars(cls).items() if isinstance(v, int) and not k.isupper() and v > 0 and (v & (v - 1)) == 0
    }


_PRELOADED: tuple[MaskRow, ...] | None = None


def preload_mask_rows(rows: tuple[MaskRow, ...]) -> None:
    """Give a worker process the masks computed by its parent, so it never imports lightkurve."""
    global _PRELOADED
    _PRELOADED = rows


def mask_rows() -> tuple[MaskRow, ...]:
    """Every (mission, author, preset[, sector range]) bitmask, as lightkurve applies them."""
    return _PRELOADED if _PRELOADED is not None else _mask_rows_from_lightkurve()


@cache
def _mask_rows_from_lightkurve() -> tuple[MaskRow, ...]:
    rows: list[MaskRow] = []
    for (mission, author), cls in flag_classes().items():
        for preset in PRESETS:
            base = cls.OPTIONS[preset]
            if author == "QLP" and preset in ("hard", "hardest"):
                for lo, hi, extra in QLP_LOW_PRECISION:
                    rows.append(MaskRow(mission, author, preset, lo, hi, base | extra))
            else:
                rows.append(MaskRow(mission, author, preset, None, None, base))
    return tuple(rows)


def bit_rows() -> list[BitRow]:
    """One row per QUALITY bit per product kind, with its preset membership."""
    rows: list[BitRow] = []
    for (mission, author), cls in flag_classes().items():
        names = _flag_names(cls)
        for value, description in sorted(cls.STRINGS.items()):
            rows.append(
                BitRow(
                    mission,
                    author,
                    value.bit_length() - 1,
                    value,
                    names.get(value, f"bit{value}"),
                    description,
                    bool(value & cls.DEFAULT_BITMASK),
                    bool(value & cls.HARD_BITMASK),
                    bool(value & cls.HARDEST_BITMASK),
                    None,
                    None,
                )
            )
        if author == "QLP":
            for lo, hi, extra in QLP_LOW_PRECISION:
                rows.append(
                    BitRow(
                        mission,
                        author,
                        extra.bit_length() - 1,
                        extra,
                        "LowPrecision",
                        "QLP low-precision point",
                        False,
                        True,
                        True,
                        lo,
                        hi,
                    )
                )
    return rows


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
