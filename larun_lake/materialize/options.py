"""What a materialization does to the cadences: flux column, quality mask, NaNs, normalisation,
binning, stitching. Options are validated and normalised here, once, so that the set's content
hash and its manifest see one spelling of each choice."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import pyarrow as pa

from ..config import duration_seconds
from ..errors import UsageError
from ..kinds import kind_of, pdcsap_authors
from ..quality import PRESETS
from ..schema import CADENCE_TYPES, FLUX_CHOICES

# Short names users type; everything else must be a flux column of the cadence schema.
FLUX_ALIASES = {"auto": "auto", "flux": "auto", "pdcsap": "pdcsap_flux", "sap": "sap_flux"}
_KIND_RE = re.compile(r"^([A-Z0-9][A-Z0-9_-]*)(?::(\d+))?$")  # AUTHOR or AUTHOR:EXPTIME_S


class BinWidthWarning(UserWarning):
    """The bin width is shorter than the cadence of some selected light curves."""


@dataclass(frozen=True)
class MaterializeOptions:
    """Normalised options; `as_dict()` is what the manifest and the content hash record."""

    flux: str = "auto"
    quality: str | int = "default"
    remove_nans: bool = True
    normalize: bool = False
    bin_s: float | None = None
    stitch: bool = False
    stitch_prefer: tuple[str, ...] = ()  # per target, the first of these kinds it has (AUTHOR[:EXPTIME_S])

    def __post_init__(self) -> None:  # a record read back from JSON holds a list
        object.__setattr__(self, "stitch_prefer", tuple(self.stitch_prefer or ()))

    @classmethod
    def create(
        cls,
        *,
        flux: str = "auto",
        quality: str | int = "default",
        remove_nans: bool = True,
        normalize: bool | None = None,
        bin: str | float | None = None,
        stitch: bool = False,
        stitch_prefer: str | Sequence[str] | None = None,
    ) -> MaterializeOptions:
        prefer = parse_stitch_prefer(stitch_prefer)
        stitch = bool(stitch) or bool(prefer)
        return cls(
            flux=normalise_flux(flux),
            quality=normalise_quality(quality),
            remove_nans=bool(remove_nans),
            normalize=stitch_normalize(stitch, normalize),
            bin_s=parse_bin(bin),
            stitch=stitch,
            stitch_prefer=prefer,
        )

    def as_dict(self) -> dict:
        out = asdict(self)
        if not self.stitch_prefer:  # absent unless used, so earlier sets keep their content hash
            del out["stitch_prefer"]
        return out

    @property
    def preset(self) -> str | None:
        """The named preset, or None for an integer bitmask."""
        return self.quality if isinstance(self.quality, str) else None

    @property
    def bitmask(self) -> int | None:
        return self.quality if isinstance(self.quality, int) else None

    @property
    def value_column(self) -> str:
        """The lake column read as flux (PDCSAP is stored as `flux` for the kinds that have it)."""
        return "flux" if self.flux in ("auto", "pdcsap_flux") else self.flux

    @property
    def error_column(self) -> str | None:
        """The lake column read as flux_err, or None when the flux column has no error column."""
        if self.flux in ("auto", "pdcsap_flux"):
            return "flux_err"
        name = f"{self.flux}_err"
        return name if name in CADENCE_TYPES else None

    @property
    def flux_origin(self) -> str | None:
        """lightkurve's FLUX_ORIGIN; None for `auto` (then it is each light curve's own column)."""
        return None if self.flux == "auto" else self.flux

    def uses_stored_median(self, flux_column: str) -> bool:
        """True when the median computed at ingest is exactly the one this materialization needs."""
        if self.preset is None:
            return False
        return self.value_column == "flux" or self.flux == flux_column

    def check_bin_width(self, members: pa.Table) -> str | None:
        """A warning when the bin width is shorter than the measured cadence of some light curves:
        their bins hold one cadence each, so binning only moves their times to the bin centres."""
        if not self.bin_s or members.num_rows == 0:
            return None
        kinds: Counter = Counter()
        cadence = members.column("cadence_s").to_pylist()
        exptime = members.column("exptime_s").to_pylist()
        rows = zip(
            members.column("mission").to_pylist(), members.column("author").to_pylist(), cadence, exptime, strict=True
        )
        for mission, author, spacing, nominal in rows:
            seconds = spacing or nominal
            if seconds and self.bin_s < seconds * 0.999:  # a float spacing of 1800.0000001 s is 1800 s
                kinds[(mission, author, round(seconds))] += 1
        if not kinds:
            return None
        n = sum(kinds.values())
        which = f"all {n} light curves" if n == members.num_rows else f"{n} of {members.num_rows} light curves"
        detail = ", ".join(f"{m}/{a} {s} s: {c}" for (m, a, s), c in sorted(kinds.items()))
        return (
            f"--bin {self.bin_s:g} s is shorter than the cadence of {which} ({detail}); "
            "their bins hold one cadence each, so binning only moves their times to the bin centres"
        )

    def check_available(self, kinds: dict[tuple[str, str], int]) -> None:
        """Refuse a flux column that some selected product kinds ((mission, author) -> count) lack."""
        if self.flux == "auto":
            return
        lacking = []
        for (mission, author), count in sorted(kinds.items()):
            if self.flux == "pdcsap_flux":
                has = author in pdcsap_authors()
            else:
                kind = kind_of(mission, author)
                has = kind is not None and self.value_column in kind.lake_columns()
            if not has:
                lacking.append(f"{mission}/{author} ({count})")
        if lacking:
            raise UsageError(
                f"flux column {self.flux!r} is not in {', '.join(lacking)} light curves of the selection",
                hint="narrow the selection (e.g. by author) or use --flux auto",
            )


def normalise_flux(flux: str) -> str:
    name = str(flux).strip().lower()
    name = FLUX_ALIASES.get(name, name)
    if name != "auto" and name not in FLUX_CHOICES:
        choices = ", ".join(["auto", "pdcsap", "sap", *(c for c in FLUX_CHOICES if c not in ("flux",))])
        raise UsageError(f"unknown flux column {flux!r}", hint=f"use one of {choices}")
    return name


def normalise_quality(quality: str | int) -> str | int:
    if isinstance(quality, bool):
        raise UsageError(f"quality must be a preset or an integer bitmask, not {quality!r}")
    if isinstance(quality, int) or (isinstance(quality, str) and quality.strip().isdigit()):
        value = int(quality)
        if value < 0 or value >= 2**31:
            raise UsageError(f"quality bitmask {value} is out of range", hint="give a 32-bit non-negative integer")
        return value
    name = str(quality).strip().lower()
    if name not in PRESETS:
        raise UsageError(f"unknown quality preset {quality!r}", hint=f"use one of {', '.join(PRESETS)} or an integer")
    return name


def parse_bin(value: str | float | None) -> float | None:
    """'10min', '30s', '2h', '1d' or a number of seconds -> seconds (None: no binning)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif str(value).strip().startswith("-"):
        seconds = -1.0  # '-10min': a negative width, refused below with the same words as -600
    else:
        try:
            seconds = duration_seconds(str(value))
        except ValueError:
            raise UsageError(
                f"cannot read bin width {value!r}", hint="give seconds or e.g. 10min, 30s, 2h, 1d"
            ) from None
    if not (seconds > 0 and math.isfinite(seconds)):
        raise UsageError(f"bin width {value!r} is not a positive number of seconds", hint="e.g. --bin 10min")
    return int(seconds) if seconds.is_integer() else seconds


def stitch_normalize(stitch: bool, normalize: bool | None) -> bool:
    """Stitching divides each light curve by its own median first, as lightkurve's
    LightCurveCollection.stitch() does by default: parts with different flux levels joined raw
    would show jumps at every gap. Without stitching, normalising is off unless asked for."""
    if not stitch:
        return bool(normalize)
    if normalize is False:
        raise UsageError(
            "stitching joins light curves each normalized by its own median, so it cannot keep raw flux",
            hint="leave out --no-normalize (normalize=False), or materialize without --stitch",
        )
    return True


def parse_stitch_prefer(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """'TESS-SPOC, SPOC:120' or a list of such items -> ('TESS-SPOC', 'SPOC:120'), upper case."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    kinds = [str(item).strip().upper() for item in items]
    bad = [k for k in kinds if not (m := _KIND_RE.match(k)) or (m.group(2) is not None and int(m.group(2)) == 0)]
    if bad or not kinds:
        raise UsageError(
            f"cannot read stitch preference {value!r}",
            hint="list pipelines, each optionally with its exposure time in seconds: e.g. SPOC:120,TESS-SPOC,QLP",
        )
    return tuple(dict.fromkeys(kinds))


def kind_rank(prefer: tuple[str, ...], author: str, exptime_s: int) -> int | None:
    """Position of the first preference naming this (author, exptime), or None."""
    for i, kind in enumerate(prefer):
        name, _, seconds = kind.partition(":")
        if name == author.upper() and (not seconds or int(seconds) == exptime_s):
            return i
    return None
