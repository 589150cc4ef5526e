"""TESScut cutouts of TESS full-frame images (astrocut's files)."""

from __future__ import annotations

import re

from . import missions, pixel
from .base import Kind

KIND = Kind(
    **missions.TESS,
    name="tesscut",
    author="TESScut",
    product_type="ffi_cutout",
    obs_collection="TESScut",
    exptimes=(200, 600, 1800),
    columns=pixel.COLUMNS,
    flux_column="FLUX",  # summed over the aperture
    flux_err_column="FLUX_ERR",
    file_patterns=(),  # named by position, not by a target id: ordered by their headers
    matches=pixel.matcher("TESScut"),
    reader=pixel.read_pixel_lightcurve,
    product_file=re.compile(r"_astrocut\.fits$"),
    provenance=None,  # not listed through MAST's observation search: TESScut cuts them on request
)
