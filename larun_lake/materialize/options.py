"""What a materialization does to the cadences: flux column, quality mask, NaNs, normalisation,
binning, stitching. Options are validated and normalised here, once, so that the set's content
hash and its manifest see one spelling of each choice."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..config import duration_seconds
from ..errors import UsageError
from ..quality import PRESETS
from ..readers.lightcurve import AMES_COLUMNS, PDCSAP_AUTHORS, QLP_COLUMNS
from ..schema import CADENCE_TYPES, FLUX_CHOICES

# Short names users type; everything else must be a flux column of the cadence schema.
FLUX_ALIASES = {"auto": "auto", "flux": "auto", "pdcsap": "pdcsap_flux", "sap": "sap_flux"}


def _columns_of(author: str) -> set[str]:
    """Lake columns a product kind fills (the rest are all-null in its rows)."""
    mapping = QLP_COLUMNS if author == "QLP" else AMES_COLUMNS
    return {*mapping.values(), "flux", "flux_err"}


@dataclass(frozen=True)
class MaterializeOptions:
    """Normalised options; `as_dict()` is what the manifest and the content hash record."""

    flux: str = "auto"
    quality: str | int = "default"
    remove_nans: bool = True
    normalize: bool = False
    bin_s: float | None = None
    stitch: bool = False

    @classmethod
    def create(
        cls,
        *,
        flux: str = "auto",
        quality: str | int = "default",
        remove_nans: bool = True,
        normalize: bool = False,
        bin: str | float | None = None,
        stitch: bool = False,
    ) -> MaterializeOptions:
        return cls(
            flux=normalise_flux(flux),
            quality=normalise_quality(quality),
            remove_nans=bool(remove_nans),
            normalize=bool(normalize),
            bin_s=parse_bin(bin),
            stitch=bool(stitch),
        )

    def as_dict(self) -> dict:
        return asdict(self)

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

    def check_available(self, kinds: dict[tuple[str, str], int]) -> None:
        """Refuse a flux column that some selected product kinds ((mission, author) -> count) lack."""
        if self.flux == "auto":
            return
        lacking = []
        for (mission, author), count in sorted(kinds.items()):
            pdcsap = self.flux == "pdcsap_flux"
            if not (author in PDCSAP_AUTHORS if pdcsap else self.value_column in _columns_of(author)):
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
    else:
        try:
            seconds = duration_seconds(str(value))
        except ValueError:
            raise UsageError(f"cannot read bin width {value!r}", hint="give seconds or e.g. 10min, 30s, 2h, 1d") from None
    if not seconds > 0:
        raise UsageError(f"bin width {value!r} is not positive")
    return int(seconds) if seconds.is_integer() else seconds
