"""JWST (cal, i2d) and HST (flt, drz, ...) images: header facts and footprint, for the `images` table.

Images are not converted; the lake records what a search by position, filter or date needs:
the instrument set-up, the exposure, and where the science array (SCI) lies on the sky, from
its celestial WCS: the centre pixel, the four outer corners as an ICRS polygon, and the
largest centre-to-corner distance.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .observatory import ImageData
from .obsfile import checksum_verdict, collection_of, header_facts, open_hdus, read_product_bytes, text


def read_image(path: Path) -> ImageData:
    product = read_product_bytes(path)
    with open_hdus(product) as hdul:
        collection = collection_of(hdul, product)
        if "SCI" not in hdul or hdul["SCI"].data is None or getattr(hdul["SCI"], "columns", None) is not None:
            raise product.fail("no SCI image: not a calibrated or resampled image")
        sci = hdul["SCI"]
        if sci.data.ndim != 2:
            raise product.fail(f"SCI is {sci.data.ndim}-D, not an image")
        facts = header_facts(hdul, collection, product)
        n_y, n_x = sci.data.shape
        meta: dict[str, Any] = {
            "image_id": f"{collection}:{product.stem}:{product.suffix}",
            "suffix": product.suffix,
            "mission": collection,
            "proposal_id": facts.get("proposal_id"),
            "obs_id": product.stem,
            "target_name": facts.get("target_name"),
            "instrument": facts.get("instrument"),
            "detector": facts.get("detector"),
            "filters": _filters(facts, collection),
            "exptime_s": facts.get("exptime_s"),
            "date_obs": facts.get("date_obs"),
            "t_mid": facts.get("t_mid"),
            "n_x": n_x,
            "n_y": n_y,
            **footprint(sci.header, n_x, n_y),
            "bunit": text(sci.header.get("BUNIT")),
            "cal_ver": facts.get("cal_ver"),
            "checksum_ok": checksum_verdict(hdul),
            **product.identity(),
        }
    return ImageData(meta)


def _filters(facts: dict, collection: str) -> str | None:
    """The optical elements, ';'-joined: FILTER;PUPIL (JWST), FILTER or FILTER1;FILTER2 (HST)."""
    keys = ("filter", "pupil") if collection == "JWST" else ("filter", "filter1", "filter2")
    parts = [facts[k] for k in keys if facts.get(k)]
    return ";".join(parts) or None


def footprint(header, n_x: int, n_y: int) -> dict[str, Any]:
    """WCS centre, corner polygon and radius of an n_x by n_y array; all None without a celestial WCS."""
    from astropy.wcs import WCS

    empty = {"ra": None, "dec": None, "s_region": None, "radius_deg": None}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SIP and distortion remarks
            wcs = WCS(header).celestial
    except Exception:  # a damaged WCS does not make the image unusable
        return empty
    if not wcs.has_celestial or wcs.naxis != 2:
        return empty
    # pixel centres are integers (0-based): the array's outer edges are at -0.5 and n - 0.5
    xs = np.array([(n_x - 1) / 2, -0.5, n_x - 0.5, n_x - 0.5, -0.5])
    ys = np.array([(n_y - 1) / 2, -0.5, -0.5, n_y - 0.5, n_y - 0.5])
    ra, dec = wcs.all_pix2world(xs, ys, 0)
    if not (np.isfinite(ra).all() and np.isfinite(dec).all()):
        return empty
    ra = np.mod(ra, 360.0)
    radius = max(_separation(ra[0], dec[0], r, d) for r, d in zip(ra[1:], dec[1:], strict=True))
    polygon = " ".join(f"{r:.8f} {d:.8f}" for r, d in zip(ra[1:], dec[1:], strict=True))
    return {"ra": float(ra[0]), "dec": float(dec[0]), "s_region": f"POLYGON ICRS {polygon}", "radius_deg": radius}


def _separation(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Angular distance in degrees (haversine: exact for the small angles of a footprint)."""
    r1, d1, r2, d2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return float(np.degrees(2 * np.arcsin(np.sqrt(h))))
