"""K2 target pixel files (long and short cadence)."""

from __future__ import annotations

import re

from . import missions, pixel
from .base import Kind

KIND = Kind(
    **missions.K2,
    name="k2-tpf",
    author="K2-TPF",
    product_type="target_pixel",
    obs_collection="K2",
    exptimes=(60, 1800),
    columns=pixel.COLUMNS,
    flux_column="FLUX",  # summed over the aperture
    flux_err_column="FLUX_ERR",
    file_patterns=(re.compile(r"^ktwo(?P<target>\d{9})-c(?P<period>\d+)_[ls]pd-targ\.fits"),),
    matches=pixel.matcher("K2-TPF"),
    reader=pixel.read_pixel_lightcurve,
    product_file=pixel.PIXEL_PRODUCT,
    provenance="K2",
)
