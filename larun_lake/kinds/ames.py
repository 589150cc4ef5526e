"""The NASA Ames layout shared by SPOC, TESS-SPOC, Kepler and K2 light curves.

Ames writes the same LIGHTCURVE table for all four, with PDCSAP as lightkurve's default flux.
"""

from __future__ import annotations

from ..readers.fitsfile import FitsFile
from .lcfile import cadence_seconds

ORIGIN = "NASA/Ames"

# FITS column -> lake column. PDCSAP becomes flux (the view re-exposes it as pdcsap_flux).
COLUMNS = {
    "TIME": "time",
    "TIMECORR": "timecorr",
    "CADENCENO": "cadenceno",
    "SAP_FLUX": "sap_flux",
    "SAP_FLUX_ERR": "sap_flux_err",
    "SAP_BKG": "sap_bkg",
    "SAP_BKG_ERR": "sap_bkg_err",
    "PDCSAP_FLUX": "flux",
    "PDCSAP_FLUX_ERR": "flux_err",
    "QUALITY": "quality",
    "SAP_QUALITY": "quality",
    "PSF_CENTR1": "psf_centr1",
    "PSF_CENTR1_ERR": "psf_centr1_err",
    "PSF_CENTR2": "psf_centr2",
    "PSF_CENTR2_ERR": "psf_centr2_err",
    "MOM_CENTR1": "mom_centr1",
    "MOM_CENTR1_ERR": "mom_centr1_err",
    "MOM_CENTR2": "mom_centr2",
    "MOM_CENTR2_ERR": "mom_centr2_err",
    "POS_CORR1": "pos_corr1",
    "POS_CORR2": "pos_corr2",
}
FLUX = ("PDCSAP_FLUX", "PDCSAP_FLUX_ERR")

# Every TESS exposure Ames makes light curves at: SPOC's targets at 20 s and 120 s, TESS-SPOC's
# full-frame images at 200, 600 and 1800 s. A file's spacing is rounded to the nearest.
TESS_EXPTIMES = (20, 120, 200, 600, 1800)


def _primary(ff: FitsFile, keyword: str) -> str:
    return str(ff.hdus[0].header.get(keyword) or "").strip()


def is_tess_lightcurve(ff: FitsFile) -> bool:
    """A TESS light curve written by the Ames LightCurveExporter (SPOC or TESS-SPOC)."""
    return (
        _primary(ff, "TELESCOP") == "TESS"
        and _primary(ff, "ORIGIN") == ORIGIN
        and "LightCurveExporter" in _primary(ff, "CREATOR")
    )


def tess_exptime(ff: FitsFile) -> int:
    """The nominal exposure of an Ames TESS light curve (raises ProductError without TIMEDEL)."""
    seconds = cadence_seconds(ff)
    return min(TESS_EXPTIMES, key=lambda nominal: abs(nominal - seconds))


def is_kepler_lightcurve(ff: FitsFile, mission: str) -> bool:
    """A Kepler-spacecraft file written by Ames for `mission` ('Kepler' or 'K2', from the MISSION keyword)."""
    if _primary(ff, "TELESCOP") != "Kepler" or _primary(ff, "ORIGIN") != ORIGIN:
        return False
    return ("K2" if _primary(ff, "MISSION") == "K2" else "Kepler") == mission
