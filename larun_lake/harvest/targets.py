"""What a harvest asks for: missions, pipelines, targets and periods, validated before any request."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .. import kinds
from ..errors import UsageError

# 'TIC 5', 'TIC5', 'TIC-5', 'TIC:5'; in 'TIC -5' the minus is a sign, and the id is refused.
_ID = re.compile(
    rf"^\s*({'|'.join(kinds.id_prefix(m) for m in kinds.missions())})(?![A-Za-z])(?:[-:]\s*|\s*)(\S.*?)\s*$",
    re.IGNORECASE,
)


def _listed(names: tuple[str, ...], last: str = "or") -> str:
    """'TESS, Kepler or K2'."""
    return f"{', '.join(names[:-1])} {last} {names[-1]}" if len(names) > 1 else names[0]


@dataclass(frozen=True)
class Target:
    """One thing to search for: a mission's own id, or a name MAST resolves."""

    mission: str | None  # None for names: searched in every requested mission
    target_id: int | None
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"{kinds.id_prefix(self.mission)} {self.target_id}"


def parse_mission(value: str) -> str:
    by_name = {m.lower(): m for m in kinds.missions()}
    try:
        return by_name[value.strip().lower()]
    except KeyError:
        raise UsageError(f"unknown mission {value!r}", hint=f"use {_listed(kinds.missions())}") from None


def parse_author(value: str, missions: list[str]) -> str:
    by_name = {a.lower(): a for a in kinds.authors()}
    try:
        author = by_name[value.strip().lower()]
    except KeyError:
        raise UsageError(f"unknown author {value!r}", hint=f"use {_listed(kinds.authors())}") from None
    if missions and not any(author in kinds.authors_of(m) for m in missions):
        raise UsageError(
            f"author {author} does not make {'/'.join(missions)} light curves",
            hint=f"authors of {missions[0]}: {', '.join(kinds.authors_of(missions[0]))}",
        )
    return author


def target_name(mission: str, target_id: int) -> str:
    """MAST's target_name for a mission id (TIC digits, kplr%09d, ktwo%09d)."""
    return kinds.of_mission(mission).mast_target_name(target_id)


def parse_target(text: str, default_mission: str | None) -> Target:
    """'TIC 307210830', 'KIC 11904151', 'EPIC 211117077', a bare id (needs one mission), or a name."""
    text = text.strip()
    if not text:
        raise UsageError("empty target", hint="give ids like 'TIC 307210830' or names MAST resolves")
    m = _ID.match(text)
    if m:
        prefix, number = m.group(1).upper(), m.group(2)
        if not number.isdigit() or int(number) <= 0:
            raise UsageError(f"malformed {prefix} id {text!r}", hint=f"use '{prefix} <positive integer>'")
        return Target(kinds.mission_of_prefix(prefix), int(number))
    if text.isdigit():
        if default_mission is None:
            raise UsageError(f"bare id {text!r} is ambiguous", hint="prefix it (TIC/KIC/EPIC) or give one --mission")
        return Target(default_mission, int(text))
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
        raise UsageError(f"malformed target id {text!r}", hint="ids are positive integers")
    return Target(None, None, text)


def parse_targets(texts: list[str], missions: list[str]) -> list[Target]:
    default = missions[0] if len(missions) == 1 else None
    parts = [p for text in texts for p in re.split(r"[,\n]", text) if p.strip()]
    if not parts:
        raise UsageError("no targets given", hint="use --targets 'TIC 1, TIC 2', --targets-file or --from-sql")
    out: list[Target] = []
    for part in parts:
        target = parse_target(part, default)
        if target not in out:
            out.append(target)
    return out


# Which mission each period option filters, and its first period (TESS sectors start at 1).
PERIOD_OPTIONS = {f"{k.period_column}s": (k.mission, k.period_column, k.period_range[0]) for k in kinds.period_kinds()}


def parse_periods(missions: list[str], **texts: str | None) -> dict[str, set[int]]:
    """--sectors/--quarters/--campaigns -> {mission: periods}; each option filters its own mission only."""
    out: dict[str, set[int]] = {}
    for option, text in texts.items():
        mission, what, first = PERIOD_OPTIONS[option]
        numbers = parse_ranges(text, what)
        if numbers is None:
            continue
        if mission not in missions:
            raise UsageError(
                f"--{option} selects {mission} {what}s, but the harvest covers {'/'.join(missions)} only",
                hint=f"add --mission {mission}, or drop --{option}",
            )
        if min(numbers) < first:
            raise UsageError(f"--{option} {text}: {mission} {what}s start at {first}")
        out[mission] = numbers
    return out


def parse_exptime(value: float | None) -> float | None:
    """A nominal exposure in seconds, matched exactly against MAST's t_exptime."""
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(
            f"--exptime {value:g}: an exposure time is a positive number of seconds",
            hint=f"MAST's exposures are {_listed(tuple(map(str, kinds.exptimes())), 'and')} s",
        )
    return float(value)


def parse_ranges(text: str | None, what: str) -> set[int] | None:
    """'1-13', '1,2,5', '1-3,7' -> a set of numbers."""
    if not text:
        return None
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise UsageError(f"malformed {what} range {part!r}", hint="use forms like 1-13 or 1,2,5")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise UsageError(f"empty {what} range {part!r}")
        out.update(range(lo, hi + 1))
    return out
