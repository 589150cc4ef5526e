"""SPOC target pixel files of TESS's 2-minute and 20-second targets."""

from __future__ import annotations

import re

from . import missions, pixel
from .base import Kind

KIND = Kind(
    **missions.TESS,
    name="spoc-tpf",
    author="SPOC-TPF",
    product_type="target_pixel",
    obs_collection="TESS",
    exptimes=(20, 120),
    columns=pixel.COLUMNS,
    flux_column="FLUX",  # summed over the aperture
    flux_err_column="FLUX_ERR",
    file_patterns=(re.compile(r"^tess\d{13}-s(?P<period>\d{4})-(?P<target>\d{16})-\d{4}-[a-z]_(?:fast-)?tp\.fits"),),
    matches=pixel.matcher("SPOC-TPF"),
    reader=pixel.read_pixel_lightcurve,
    product_file=pixel.PIXEL_PRODUCT,
    provenance="SPOC",
)
