"""Kepler target pixel files (long and short cadence)."""

from __future__ import annotations

import re

from . import missions, pixel
from .base import Kind

KIND = Kind(
    **missions.KEPLER,
    name="kepler-tpf",
    author="Kepler-TPF",
    product_type="target_pixel",
    obs_collection="Kepler",
    exptimes=(60, 1800),
    columns=pixel.COLUMNS,
    flux_column="FLUX",  # summed over the aperture
    flux_err_column="FLUX_ERR",
    file_patterns=(re.compile(r"^kplr(?P<target>\d{9})-(?P<period>\d{13})_[ls]pd-targ\.fits"),),
    matches=pixel.matcher("Kepler-TPF"),
    reader=pixel.read_pixel_lightcurve,
    product_file=pixel.PIXEL_PRODUCT,
    provenance="Kepler",
)
