"""Kepler light curves (long and short cadence) from the Ames pipeline."""

from __future__ import annotations

import re

from ..readers.fitsfile import FitsFile
from . import ames, missions
from .base import Kind
from .lcfile import read_lightcurve_file


def _matches(ff: FitsFile) -> bool:
    return ames.is_kepler_lightcurve(ff, "Kepler")


KIND = Kind(
    **missions.KEPLER,
    name="kepler",
    author="Kepler",
    product_type="lightcurve",
    obs_collection="Kepler",
    exptimes=(60, 1800),
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
