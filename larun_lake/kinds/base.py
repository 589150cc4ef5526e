"""What a product kind is: everything the lake knows about one kind of MAST product, declared once.

A kind says how to recognise its files (from headers: names can lie), how to read them, how MAST
lists and names them, how its targets and periods are named, and which lightkurve conventions
(quality flags, flux columns, time format) it follows. The registry (registry.py) lists the kinds;
the rest of the code asks it instead of keeping its own tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..readers.fitsfile import FitsFile

# How the names of light-curve products MAST lists end (the _tp, _dvt, ... files beside them do not).
LIGHTCURVE_PRODUCT = re.compile(r"[_-](fast-)?(lc|llc|slc)\.fits(\.gz)?$", re.IGNORECASE)


@dataclass
class LightCurveData:
    """What ingest needs from one light-curve file: catalog metadata and the cadence columns."""

    meta: dict[str, Any]
    columns: dict[str, np.ndarray] = field(repr=False)

    @property
    def lc_id(self) -> str:
        return self.meta["lc_id"]

    @property
    def n_rows(self) -> int:
        return len(self.columns["time"])


@dataclass(frozen=True, eq=False)  # one instance per kind: compared and hashed by identity
class Kind:
    """One kind of product: its identity at MAST and in the lake, how to recognise and read its files."""

    name: str  # 'spoc', 'tess-spoc', 'qlp', 'kepler', 'k2', 'spoc-tpf', ..., 'tesscut'
    mission: str  # 'TESS' | 'Kepler' | 'K2'
    author: str  # the lake's author: MAST's provenance_name for light curves; 'SPOC-TPF', 'TESScut', ...
    product_type: str  # 'lightcurve' | 'target_pixel' | 'ffi_cutout'
    telescope: str  # TELESCOP of the primary header ('TESS', 'Kepler')
    obs_collection: str  # the MAST collection that lists the products ('TESS', 'HLSP', ...)
    # Targets: 'TIC 25155310' in text, TICID in headers, '25155310' or 'kplr%09d' as MAST's target_name.
    target_prefix: str
    target_keyword: str
    mast_target_prefix: str  # '' (bare id) or the prefix of a zero-padded 9-digit id
    # Periods: SECTOR in headers, 's0001' as the partition key, 'sector' as the catalog column.
    period_keyword: str
    period_prefix: str
    period_digits: int
    period_range: tuple[int, int]  # values a header may hold; the first is the first period
    exptimes: tuple[int, ...]  # nominal exposures (MAST's t_exptime); a file's spacing rounds to one
    quality_flags: str  # lightkurve's flag class for the QUALITY bits
    time_format: str  # astropy time format lightkurve uses ('btjd', 'bkjd')
    lightkurve_class: str  # 'TessLightCurve' | 'KeplerLightCurve'
    columns: Mapping[str, str]  # FITS column -> lake column
    # lightkurve's default flux pair for the kind, as FITS column names.
    flux_column: str
    flux_err_column: str
    file_patterns: tuple[re.Pattern, ...]  # MAST's file names, with groups `target` and `period`
    matches: Callable[[FitsFile], bool]  # asked only after the registry's refusal rules passed the file
    reader: Callable[..., LightCurveData]  # reader(kind, ff, **options)
    # Which of the products MAST lists for the kind's observations are its files (a search keeps any
    # such name, even one it would not place by file_patterns: the download checks names for safety).
    product_file: re.Pattern = LIGHTCURVE_PRODUCT
    flux_err_changes: tuple[tuple[int, str], ...] = ()  # (first period, FITS column) where the error column moved
    flux_unit: str | None = None  # a fixed unit; None: the TUNIT of the flux column
    segment_exptimes: tuple[int, ...] = ()  # exposures with several files per period (segment tag in lc_id)
    low_precision_bits: tuple[tuple[int, int | None, int], ...] = ()  # (first, last period, bit) hard presets add
    # Where MAST's rows say the period: the observation's sequence_number, else a pattern on a product field.
    mast_sequence_is_period: bool = True
    mast_period_pattern: tuple[str, re.Pattern] | None = None
    # MAST's provenance_name for the kind's files where it differs from the lake's author: a pipeline's
    # target pixel files are listed under the pipeline ('SPOC'); their light curves are the lake's 'SPOC-TPF'.
    provenance: str | None = ""

    @property
    def mast_author(self) -> str | None:
        """The provenance_name MAST lists this kind's files under (None: not listed in observation searches)."""
        return self.author if self.provenance == "" else self.provenance

    def __repr__(self) -> str:
        return f"Kind({self.name!r})"

    def __reduce__(self) -> tuple:  # a kind crosses process boundaries as its registry entry
        from .registry import by_name

        return by_name, (self.name,)

    def read(self, ff: FitsFile, **options: Any) -> LightCurveData:
        return self.reader(self, ff, **options)

    @property
    def period_column(self) -> str:
        """The catalog column and harvest option stem of the period: 'sector', 'quarter', 'campaign'."""
        return self.period_keyword.lower()

    def flux_sources(self, period: int) -> tuple[str, str]:
        """(flux, flux_err) FITS columns lightkurve reads by default for a file of this period."""
        err = self.flux_err_column
        for first, column in self.flux_err_changes:
            if period >= first:
                err = column
        return self.flux_column, err

    def lake_columns(self) -> set[str]:
        """Lake columns this kind fills (the rest are all-null in its rows)."""
        return {*self.columns.values(), "flux", "flux_err"}

    def nominal_exptime(self, cadence_s: float) -> int:
        return min(self.exptimes, key=lambda nominal: abs(nominal - cadence_s))

    def mast_target_name(self, target_id: int) -> str:
        return f"{self.mast_target_prefix}{target_id:09d}" if self.mast_target_prefix else str(target_id)

    def target_id_of(self, mast_name: str) -> int | None:
        """Inverse of mast_target_name; None for a name that is not an id."""
        digits = mast_name
        if self.mast_target_prefix and mast_name[: len(self.mast_target_prefix)].lower() == self.mast_target_prefix:
            digits = mast_name[len(self.mast_target_prefix) :]
        return int(digits) if digits.isdigit() else None

    def name_match(self, file_name: str) -> re.Match | None:
        """MAST's name of one of this kind's files, matched (with `target` and `period` groups), or None."""
        lower = file_name.lower()
        return next((m for pattern in self.file_patterns if (m := pattern.match(lower))), None)

    def mast_period(self, observation: dict[str, Any], product: dict[str, Any]) -> int | None:
        """The period number of a product MAST lists, from its observation and product rows."""
        seq = observation.get("sequence_number")
        if seq is not None and self.mast_sequence_is_period:
            return int(seq)
        if self.mast_period_pattern is None:
            return None
        key, pattern = self.mast_period_pattern
        m = pattern.search(product.get(key) or "")
        return int(m.group(1)) if m else None
