"""TESScut cutouts of TESS full-frame images (astrocut's files)."""

from __future__ import annotations

import re

from . import pixel
from .base import Kind

KIND = Kind(
    name="tesscut",
    mission="TESS",
    author="TESScut",
    product_type="ffi_cutout",
    telescope="TESS",
    obs_collection="TESScut",
    target_prefix="TIC",
    target_keyword="TICID",
    mast_target_prefix="",
    period_keyword="SECTOR",
    period_prefix="s",
    period_digits=4,
    period_range=(1, 9999),
    exptimes=(200, 600, 1800),
    quality_flags="TessQualityFlags",
    time_format="btjd",
    lightkurve_class="TessLightCurve",
    columns=pixel.COLUMNS,
    flux_column="FLUX",  # summed over the aperture
    flux_err_column="FLUX_ERR",
    file_patterns=(),  # named by position, not by a target id: ordered by their headers
    matches=pixel.matcher("TESScut"),
    reader=pixel.read_pixel_lightcurve,
    product_file=re.compile(r"_astrocut\.fits$"),
    provenance=None,  # not listed through MAST's observation search: TESScut cuts them on request
)
