"""Kepler light curves (long and short cadence) from the Ames pipeline."""

from __future__ import annotations

import re

from ..readers.fitsfile import FitsFile
from . import ames
from .base import Kind
from .lcfile import read_lightcurve_file


def _matches(ff: FitsFile) -> bool:
    return ames.is_kepler_lightcurve(ff, "Kepler")


KIND = Kind(
    name="kepler",
    mission="Kepler",
    author="Kepler",
    product_type="lightcurve",
    telescope="Kepler",
    obs_collection="Kepler",
    target_prefix="KIC",
    target_keyword="KEPLERID",
    mast_target_prefix="kplr",
    period_keyword="QUARTER",
    period_prefix="q",
    period_digits=2,
    period_range=(0, 99),
    exptimes=(60, 1800),
    quality_flags="KeplerQualityFlags",
    time_format="bkjd",
    lightkurve_class="KeplerLightCurve",
    columns=ames.COLUMNS,
    flux_column=ames.FLUX[0],
    flux_err_column=ames.FLUX[1],
    # A Kepler name gives the end of its quarter (or month) as a time stamp: the same for every target.
    file_patterns=(re.compile(r"^kplr(?P<target>\d{9})-(?P<period>\d{13})_[ls]lc\.fits"),),
    matches=_matches,
    reader=read_lightcurve_file,
    segment_exptimes=(60,),  # three short-cadence files per quarter
    # MAST files all of a target's quarters under one observation; the product says its quarter.
    mast_sequence_is_period=False,
    mast_period_pattern=("description", re.compile(r"\bQ(\d+)\b")),
)
