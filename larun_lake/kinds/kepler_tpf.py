"""Kepler target pixel files (long and short cadence)."""

from __future__ import annotations

import re

from . import pixel
from .base import Kind

KIND = Kind(
    name="kepler-tpf",
    mission="Kepler",
    author="Kepler-TPF",
    product_type="target_pixel",
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
    columns=pixel.COLUMNS,
    flux_column="FLUX",  # summed over the aperture
    flux_err_column="FLUX_ERR",
    file_patterns=(re.compile(r"^kplr(?P<target>\d{9})-(?P<period>\d{13})_[ls]pd-targ\.fits"),),
    matches=pixel.matcher("Kepler-TPF"),
    reader=pixel.read_pixel_lightcurve,
    product_file=pixel.PIXEL_PRODUCT,
    provenance="Kepler",
)
