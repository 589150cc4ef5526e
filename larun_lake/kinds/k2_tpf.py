"""K2 target pixel files (long and short cadence)."""

from __future__ import annotations

import re

from . import pixel
from .base import Kind

KIND = Kind(
    name="k2-tpf",
    mission="K2",
    author="K2-TPF",
    product_type="target_pixel",
    telescope="Kepler",
    obs_collection="K2",
    target_prefix="EPIC",
    target_keyword="KEPLERID",
    mast_target_prefix="ktwo",
    period_keyword="CAMPAIGN",
    period_prefix="c",
    period_digits=2,
    period_range=(0, 999),
    exptimes=(60, 1800),
    quality_flags="KeplerQualityFlags",
    time_format="bkjd",
    lightkurve_class="KeplerLightCurve",
    columns=pixel.COLUMNS,
    flux_column="FLUX",  # summed over the aperture
    flux_err_column="FLUX_ERR",
    file_patterns=(re.compile(r"^ktwo(?P<target>\d{9})-c(?P<period>\d+)_[ls]pd-targ\.fits"),),
    matches=pixel.matcher("K2-TPF"),
    reader=pixel.read_pixel_lightcurve,
    product_file=pixel.PIXEL_PRODUCT,
    provenance="K2",
)
