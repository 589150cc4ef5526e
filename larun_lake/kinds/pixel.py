"""What the pixel kinds share: detection from headers and the light curve made from the pixels.

A pixel kind's file is kept as FITS; its light curve is the sum of its pixels over an aperture, as
lightkurve's `to_lightcurve()` makes it (larun_lake/pixels/). Its author is the pipeline's with
'-TPF' (or 'TESScut' for cutouts), so that the lake never mixes it with the pipeline's own light
curves; `provenance` is the author MAST lists the files under.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import ProductError
from ..readers.fitsfile import FitsFile
from .base import Kind, LightCurveData

# How the names of pipeline target pixel files end: SPOC *_tp.fits (20-s *fast-tp.fits), Kepler/K2
# *_lpd-targ.fits.gz (long cadence) and *_spd-targ.fits.gz (short).
PIXEL_PRODUCT = re.compile(r"([_-](fast-)?tp|_[ls]pd-targ)\.fits(\.gz)?$", re.IGNORECASE)
# Lake columns a pixel light curve fills (pixels/photometry.py).
COLUMNS = {
    "TIME": "time",
    "TIMECORR": "timecorr",
    "CADENCENO": "cadenceno",
    "QUALITY": "quality",
    "FLUX_BKG": "sap_bkg",
    "FLUX_BKG_ERR": "sap_bkg_err",
    "POS_CORR1": "pos_corr1",
    "POS_CORR2": "pos_corr2",
}


def _text(value: object) -> str:
    return str(value or "").strip()


def is_pixel_file(ff: FitsFile) -> bool:
    """A PIXELS table (pipeline TPFs and cutouts), or the pipeline's pixel exporter without a light-curve table."""
    tables = [h for h in ff.hdus[1:] if h.kind == "table"]
    if any(_text(h.header.get("EXTNAME")) == "PIXELS" for h in tables):
        return True
    creator = _text(ff.hdus[0].header.get("CREATOR")) if ff.hdus else ""
    return "TargetPixelExporter" in creator and not any(_text(h.header.get("EXTNAME")) == "LIGHTCURVE" for h in tables)


def author_of(ff: FitsFile) -> str | None:
    """The lake author of a pixel file from its headers (as lightkurve tells them apart), or None."""
    from ..pixels.read import _kind

    try:
        return _kind(ff.hdus[0].header, str(ff.path))[2]
    except ProductError:
        return None


def matcher(author: str):
    return lambda ff: is_pixel_file(ff) and author_of(ff) == author


def read_pixel_lightcurve(kind: Kind, ff: FitsFile, **options: Any) -> LightCurveData:
    """The light curve of a pixel file over `aperture` (ingest uses PixelProduct for the catalog rows too)."""
    from ..readers.pixelfile import PixelProduct

    return PixelProduct(ff, options.get("aperture", "default"), target_id=options.get("target_id")).lightcurve()[0]
