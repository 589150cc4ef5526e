"""QLP: MIT's Quick-Look Pipeline light curves of full-frame-image targets (an HLSP at MAST)."""

from __future__ import annotations

import re

from ..readers.fitsfile import FitsFile
from . import missions
from .base import Kind
from .lcfile import read_lightcurve_file

COLUMNS = {
    "TIME": "time",
    "CADENCENO": "cadenceno",
    "SAP_FLUX": "sap_flux",
    "QUALITY": "quality",
    "KSPSAP_FLUX": "kspsap_flux",
    "KSPSAP_FLUX_ERR": "kspsap_flux_err",
    "KSPSAP_FLUX_SML": "kspsap_flux_sml",
    "KSPSAP_FLUX_LAG": "kspsap_flux_lag",
    "DET_FLUX": "det_flux",
    "DET_FLUX_ERR": "det_flux_err",
    "DET_FLUX_SML": "det_flux_sml",
    "DET_FLUX_LAG": "det_flux_lag",
    "SYS_RM_FLUX": "sys_rm_flux",
    "ORBITID": "orbitid",
    "SAP_X": "sap_x",
    "SAP_Y": "sap_y",
    "SAP_BKG": "sap_bkg",
    "SAP_BKG_ERR": "sap_bkg_err",
}


def _matches(ff: FitsFile) -> bool:
    header = ff.hdus[0].header
    return str(header.get("TELESCOP") or "").strip() == "TESS" and "MIT/QLP" in str(header.get("ORIGIN") or "").upper()


KIND = Kind(
    **missions.TESS,
    name="qlp",
    author="QLP",
    product_type="lightcurve",
    obs_collection="HLSP",
    exptimes=(200, 600, 1800),  # full-frame images: 1800 s in sectors 1-26, 600 s to 55, 200 s from 56
    columns=COLUMNS,
    # lightkurve's QLP reader: flux = SAP_FLUX, flux_err = KSPSAP_FLUX_ERR (DET_FLUX_ERR from sector 56).
    flux_column="SAP_FLUX",
    flux_err_column="KSPSAP_FLUX_ERR",
    flux_err_changes=((56, "DET_FLUX_ERR"),),
    flux_unit="e-/s",
    file_patterns=(re.compile(r"^hlsp_qlp_tess_ffi_s(?P<period>\d+)-(?P<target>\d+)_tess_v\d+_llc\.fits"),),
    matches=_matches,
    reader=read_lightcurve_file,
    # QLP marks low-precision cadences with a bit of its own, which lightkurve adds to the hard and
    # hardest presets; the bit moved in sector 56 (QLP data release notes).
    low_precision_bits=((1, 55, 2**12), (56, None, 2**30)),
)
