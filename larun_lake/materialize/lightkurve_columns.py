"""Every cadence column the lake keeps for a light curve, under the names and units `lightkurve.read` gives.

The lake stores the default flux pair once, as `flux`/`flux_err`, and each other column of the file
under its own lower-case name; a kind's columns that its files lack are all-null. lightkurve adds two
copies of its own: `centroid_col`/`centroid_row` (the moment centroids), `pdcsap_flux`/`pdcsap_flux_err`
for the kinds whose default flux is PDCSAP, and `sap_quality` for Kepler's and K2's files, which name their
flags so. Units are not stored per column: every file of a kind
declares the same ones, so they are listed here. As astropy reads FITS tables for lightkurve, a float column
with NaNs is masked there, so that lightkurve's methods take the same (masked) path as on the file.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from ..kinds import kind_of, pdcsap_authors
from ..schema import CADENCE_COLUMNS

# Read from the data files for a full light curve (lc_id and target_id are the catalog's).
STORED_COLUMNS = [name for name, _ in CADENCE_COLUMNS if name not in ("lc_id", "target_id")]
# The columns a LightCurve is built from; everything else goes into its table as it is.
_CORE = ("time", "flux", "flux_err")

_ELECTRONS = "electron / s"
# The units the SPOC/Kepler/K2 files (and the light curves the lake makes from pixels) declare.
_AMES_UNITS = {
    **dict.fromkeys(
        ("flux", "flux_err", "sap_flux", "sap_flux_err", "sap_bkg", "sap_bkg_err", "pdcsap_flux", "pdcsap_flux_err"),
        _ELECTRONS,
    ),
    "timecorr": "d",
    **dict.fromkeys(
        (
            "centroid_col",
            "centroid_row",
            "psf_centr1",
            "psf_centr1_err",
            "psf_centr2",
            "psf_centr2_err",
            "mom_centr1",
            "mom_centr1_err",
            "mom_centr2",
            "mom_centr2_err",
            "pos_corr1",
            "pos_corr2",
        ),
        "pix",
    ),
}
# QLP's fluxes are divided by their median by the pipeline and carry no unit; only its positions do.
_QLP_UNITS = {"sap_x": "pix", "sap_y": "pix", "flux": "", "flux_err": ""}
NORMALIZED_AUTHORS = frozenset({"QLP"})


def column_units(author: str) -> dict[str, str]:
    return _QLP_UNITS if author in NORMALIZED_AUTHORS else _AMES_UNITS


def lightkurve_columns(rows: pa.Table, keep: np.ndarray, mission: str, author: str, *, flux: str,
                       flux_err: str | None) -> dict[str, Any]:  # fmt: skip
    """One light curve's kept cadences (`keep`), every non-empty stored column, as lightkurve names them.

    `flux`/`flux_err` name the stored columns that become lightkurve's flux pair (None: no error column)."""
    import astropy.units as u
    from astropy.utils.masked import Masked

    present = {n: rows.column(n) for n in rows.column_names if rows.column(n).null_count < rows.num_rows}
    values: dict[str, Any] = {}
    for name, column in present.items():
        array = column.to_numpy(zero_copy_only=False)
        nans = np.isnan(array) if array.dtype.kind == "f" else None
        # Masked when the file's column has a NaN anywhere, whether or not a kept cadence has one.
        values[name] = Masked(array[keep], mask=nans[keep]) if nans is not None and nans.any() else array[keep]
    if author in pdcsap_authors() and "flux" in values:
        values["pdcsap_flux"] = values["flux"]
        values["pdcsap_flux_err"] = values.get("flux_err")
    kind = kind_of(mission, author)
    if kind is not None and kind.telescope == "Kepler" and "quality" in values:
        values["sap_quality"] = values["quality"]
    if "mom_centr1" in values and "mom_centr2" in values:
        values["centroid_col"] = values["mom_centr1"]
        values["centroid_row"] = values["mom_centr2"]
    missing = np.full(int(np.count_nonzero(keep)), np.nan, np.float32)  # a flux column without errors
    out: dict[str, Any] = {
        "time": values["time"],
        "flux": values.get(flux, missing),
        "flux_err": values.get(flux_err, missing) if flux_err else missing,
    }
    units = column_units(author)
    for name in _ordered(values):
        if name in _CORE or values[name] is None:
            continue
        unit = units.get(name)
        out[name] = values[name] * u.Unit(unit) if unit is not None else values[name]
    return out


def _ordered(values: dict[str, Any]) -> list[str]:
    """The order `lightkurve.read` gives a SPOC file's columns; columns of other kinds follow."""
    first = ["timecorr", "cadenceno", "centroid_col", "centroid_row"]
    middle = ["pdcsap_flux", "pdcsap_flux_err", "quality", "sap_quality"]
    rest = [n for n in values if n not in first and n not in middle]
    at = rest.index("sap_bkg_err") + 1 if "sap_bkg_err" in rest else 0
    return [n for n in [*first, *rest[:at], *middle, *rest[at:]] if n in values]
