"""K2 light curves from the Ames pipeline (Kepler spacecraft, MISSION = 'K2')."""

from __future__ import annotations

import re

from ..readers.fitsfile import FitsFile
from . import ames, missions
from .base import Kind
from .lcfile import read_lightcurve_file


def _matches(ff: FitsFile) -> bool:
    return ames.is_kepler_lightcurve(ff, "K2")


KIND = Kind(
    **missions.K2,
    name="k2",
    author="K2",
    product_type="lightcurve",
    obs_collection="K2",
    exptimes=(60, 1800),
    columns=ames.COLUMNS,
    flux_column=ames.FLUX[0],
    flux_err_column=ames.FLUX[1],
    file_patterns=(re.compile(r"^ktwo(?P<target>\d{9})-c(?P<period>\d+)_[ls]lc\.fits"),),
    matches=_matches,
    reader=read_lightcurve_file,
    mast_period_pattern=("productFilename", re.compile(r"-c(\d+)_", re.IGNORECASE)),
)
