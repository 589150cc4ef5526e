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
Everything is vectorised over cadences (no Python loop).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..schema import CADENCE_TYPES
from .read import PixelData


def aperture_photometry(pixels: PixelData, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Lake cadence columns (names and dtypes of schema.CADENCE_COLUMNS) for every cadence of the file."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != pixels.shape:
        raise ValueError(f"mask shape {mask.shape} does not match the stamp {pixels.shape}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 centroids, all-NaN rows
        flux, flux_err = _sum(pixels.flux, pixels.flux_err, mask)
        flux[np.all(pixels.flux == 0, axis=(1, 2))] = np.nan
        col, row = _centroids(pixels, mask)
        bkg, bkg_err = _background(pixels, mask)
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


def _sum(values: np.ndarray, errors: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inside = values[:, mask]
    total = np.nansum(inside, axis=1)
    total[~np.any(np.isfinite(inside), axis=1)] = np.nan
    err_inside = errors[:, mask]
    total_err = np.nansum(err_inside**2, axis=1) ** 0.5
    total_err[~np.any(np.isfinite(err_inside), axis=1)] = np.nan
    return total, total_err


def _centroids(pixels: PixelData, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """lightkurve's _estimate_centroids_via_moments, term for term (same dtypes, same reductions).

    np.nansum(x) is np.sum of x with NaN replaced by 0; zeroing the NaN pixels once gives the same
    products (position * 0) and so the same sums, without copying two float64 cubes again.
    """
    yy, xx = np.indices(pixels.shape)
    yy = pixels.ref_row + yy
    xx = pixels.ref_col + xx
    flux = np.where(np.isnan(pixels.flux), np.float32(0), pixels.flux)
    total = np.nansum(pixels.flux[:, mask], axis=1)
    col = np.sum(xx * mask * flux, axis=(1, 2)) / total
    row = np.sum(yy * mask * flux, axis=(1, 2)) / total
    return col, row


def _background(pixels: PixelData, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = pixels.n_cadences
    if pixels.flux_bkg is None:
        return np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32)
    bkg = np.nansum(pixels.flux_bkg[:, mask], axis=1)
    if pixels.flux_bkg_err is None:
        return bkg, np.full(n, np.nan, np.float32)
    return bkg, np.nansum(pixels.flux_bkg_err[:, mask] ** 2, axis=1) ** 0.5
