"""SPOC light curves of TESS's 2-minute and 20-second targets (also the 2018 'tess-data-alerts' HLSP)."""

from __future__ import annotations

import re

from ..readers.fitsfile import FitsFile
from . import ames, missions
from .base import Kind
from .lcfile import read_lightcurve_file


def _matches(ff: FitsFile) -> bool:
    # SPOC's own target light curves are 20 s or 120 s; Ames's full-frame-image ones are TESS-SPOC.
    return ames.is_tess_lightcurve(ff) and ames.tess_exptime(ff) in KIND.exptimes


KIND = Kind(
    **missions.TESS,
    name="spoc",
    author="SPOC",
    product_type="lightcurve",
    obs_collection="TESS",
    exptimes=(20, 120),
    columns=ames.COLUMNS,
    flux_column=ames.FLUX[0],
    flux_err_column=ames.FLUX[1],
    file_patterns=(
        re.compile(r"^tess\d{13}-s(?P<period>\d{4})-(?P<target>\d{16})-\d{4}-[a-z]_(?:fast-)?lc\.fits"),
        re.compile(r"^hlsp_tess-data-alerts_tess_phot_(?P<target>\d+)-s(?P<period>\d+)_tess_v\d+_lc\.fits"),
    ),
    matches=_matches,
    reader=read_lightcurve_file,
)
