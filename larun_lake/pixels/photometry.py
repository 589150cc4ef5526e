"""Aperture photometry of every cadence at once, with lightkurve's arithmetic.

The lake keeps every cadence and applies quality masks when it reads, so nothing is dropped
here; on the cadences lightkurve keeps, the columns equal `tpf.to_lightcurve(aperture_mask=M)`:
- flux: NaN-skipping sum over the aperture; NaN when every aperture pixel is NaN, and when every
  pixel of the whole stamp is exactly zero (lightkurve's rule for empty TESScut frames);
- flux_err: square root of the NaN-skipping sum of squared pixel errors, NaN when all are NaN;
- mom_centr1/mom_centr2: flux-weighted mean CCD column/row over the aperture (lightkurve's
  moments centroids, centroid_col/centroid_row);
- sap_bkg/sap_bkg_err: the pipeline's background summed over the aperture, as lightkurve's
  get_bkg_lightcurve. lightkurve subtracts no background from any pixel product: SPOC and
  Kepler/K2 pixels are already background-subtracted, and it leaves TESScut flux as it is
  (astrocut writes FLUX_BKG as zeros), so neither does this;
- cadenceno: as in the file, except that where the first number is 0 (TESScut writes zeros)
  lightkurve numbers cadences from 0; with every cadence kept that is the row number.
Everything is vectorised over cadences: the only loop is over blocks of 512 of them.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..schema import CADENCE_TYPES
from .read import PixelData


def aperture_photometry(pixels: PixelData, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Lake cadence columns (names and dtypes of schema.CADENCE_COLUMNS) for every cadence of the file.

    The images are taken a block of cadences at a time (PixelData.blocks), the errors and background
    only inside the aperture; every value depends on its own cadence only, and the reductions run
    over the same pixels in the same order, so the blocks give the same bits as whole cubes would.
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != pixels.shape:
        raise ValueError(f"mask shape {mask.shape} does not match the stamp {pixels.shape}")
    yy, xx = np.indices(pixels.shape)
    col_weight = (pixels.ref_col + xx) * mask  # int64, as lightkurve's xx * aperture_mask
    row_weight = (pixels.ref_row + yy) * mask
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("flux", "flux_err", "col", "row", "bkg", "bkg_err")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 centroids, all-NaN rows
        for block in pixels.blocks():
            values = pixels.cube("FLUX", block)
            inside = values[:, mask]
            flux = _nan_sum(inside)
            flux[np.all(values == 0, axis=(1, 2))] = np.nan
            errors = pixels.in_mask("FLUX_ERR", block, mask)
            flux_err = np.nansum(errors**2, axis=1) ** 0.5
            flux_err[~np.any(np.isfinite(errors), axis=1)] = np.nan
            col, row = _centroids(values, inside, col_weight, row_weight)
            bkg = np.nansum(pixels.in_mask("FLUX_BKG", block, mask), axis=1)
            bkg_err = np.nansum(pixels.in_mask("FLUX_BKG_ERR", block, mask) ** 2, axis=1) ** 0.5
            for key, value in zip(parts, (flux, flux_err, col, row, bkg, bkg_err), strict=True):
                parts[key].append(value)
    flux, flux_err, col, row, bkg, bkg_err = (np.concatenate(v) for v in parts.values())
    if not pixels.has("FLUX_BKG"):  # lightkurve's background light curve is NaN then, not 0
        bkg = bkg_err = np.full(pixels.n_cadences, np.nan, np.float32)
    elif not pixels.has("FLUX_BKG_ERR"):
        bkg_err = np.full(pixels.n_cadences, np.nan, np.float32)
    cadenceno = pixels.cadenceno
    if len(cadenceno) and cadenceno[0] == 0:
        cadenceno = np.arange(len(cadenceno), dtype=np.int32)
    n = pixels.n_cadences
    nan32 = np.full(n, np.nan, dtype=np.float32)
    columns = {
        "time": pixels.time,
        "cadenceno": cadenceno,
        "flux": flux,
        "flux_err": flux_err,
        "quality": pixels.quality,
        "timecorr": pixels.timecorr if pixels.timecorr is not None else nan32,
        "sap_bkg": bkg,
        "sap_bkg_err": bkg_err,
        "mom_centr1": col,
        "mom_centr2": row,
        "pos_corr1": pixels.pos_corr1 if pixels.pos_corr1 is not None else nan32,
        "pos_corr2": pixels.pos_corr2 if pixels.pos_corr2 is not None else nan32,
    }
    return {
        name: np.asarray(values).astype(CADENCE_TYPES[name].to_pandas_dtype(), copy=False)
        for name, values in columns.items()
    }


def _nan_sum(inside: np.ndarray) -> np.ndarray:
    """NaN-skipping sum over the aperture's pixels; NaN where all of them are NaN."""
    total = np.nansum(inside, axis=1)
    total[~np.any(np.isfinite(inside), axis=1)] = np.nan
    return total


def _centroids(
    values: np.ndarray, inside: np.ndarray, col_weight: np.ndarray, row_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """lightkurve's _estimate_centroids_via_moments, term for term (same dtypes, same reductions).

    np.nansum(x) is np.sum of x with NaN replaced by 0; zeroing the NaN pixels once gives the same
    products (position * 0) and so the same sums, without copying two float64 cubes again.
    """
    flux = np.where(np.isnan(values), np.float32(0), values)
    total = np.nansum(inside, axis=1)
    col = np.sum(col_weight * flux, axis=(1, 2)) / total
    row = np.sum(row_weight * flux, axis=(1, 2)) / total
    return col, row
