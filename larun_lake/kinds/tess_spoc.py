"""TESS-SPOC: Ames light curves of full-frame-image targets (an HLSP at MAST)."""

from __future__ import annotations

import re

from ..readers.fitsfile import FitsFile
from . import ames, missions
from .base import Kind
from .lcfile import read_lightcurve_file


def _matches(ff: FitsFile) -> bool:
    return ames.is_tess_lightcurve(ff) and ames.tess_exptime(ff) in KIND.exptimes


KIND = Kind(
    **missions.TESS,
    name="tess-spoc",
    author="TESS-SPOC",
    product_type="lightcurve",
    obs_collection="HLSP",
    exptimes=(200, 600, 1800),
    columns=ames.COLUMNS,
    flux_column=ames.FLUX[0],
    flux_err_column=ames.FLUX[1],
    file_patterns=(re.compile(r"^hlsp_tess-spoc_tess_phot_(?P<target>\d+)-s(?P<period>\d+)_tess_v\d+_lc\.fits"),),
    matches=_matches,
    reader=read_lightcurve_file,
)
