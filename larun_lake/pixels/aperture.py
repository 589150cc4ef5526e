"""The aperture mask of a pixel light curve, chosen exactly as lightkurve's TargetPixelFile chooses it.

Names:
- 'default': 'pipeline' when the pipeline aperture has any pixel, else 'threshold' (so pipeline
  target pixel files get their optimal aperture and TESScut cutouts, whose APERTURE has no
  optimal-aperture bit, get the threshold mask);
- 'pipeline': APERTURE pixels with bit 2 (value 2) set, the pipeline's optimal aperture. An
  APERTURE stored as floats (TESScut files of 2018-2019) counts as all pixels, as in lightkurve;
- 'threshold': pixels whose median flux is 3 robust sigma above the median of the median image,
  keeping only the 4-connected region nearest the stamp's centre; medians are over the cadences
  lightkurve keeps with its default quality bitmask;
- 'all': every pixel.
A custom mask is a boolean (ny, nx) array (row, column, as numpy and lightkurve index a stamp), or a
file holding one: `.npy`, or a text/CSV grid of 0 and 1, one stamp row per line, first line = row 0.
Integer arrays follow lightkurve: int32 ones are pipeline APERTURE images (bit 2 selects), other
integers select bit 2 if any pixel has it, else every non-zero pixel.

Each resolved mask has a tag that names it in the light curve's identity: 'ap-pipeline',
'ap-threshold', 'ap-all', or for a custom mask 'ap-' + the first 8 hex digits of the SHA-256 of
np.packbits of the C-order boolean mask.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ApertureError, UsageError
from ..quality import bitmask_for
from .read import PixelData

NAMES = ("default", "pipeline", "threshold", "all")
THRESHOLD_SIGMA = 3
MAD_TO_SIGMA = 1.4826
# lightkurve reads every TESS pixel product (SPOC TPF or cutout) with its TESS flags, Kepler/K2 with Kepler's.
_QUALITY_KIND = {"TESS": ("TESS", "SPOC"), "Kepler": ("Kepler", "Kepler"), "K2": ("K2", "K2")}


@dataclass(frozen=True)
class Aperture:
    mask: np.ndarray  # bool (ny, nx)
    tag: str  # 'ap-pipeline' | 'ap-threshold' | 'ap-all' | 'ap-<8 hex>'

    @property
    def n_pixels(self) -> int:
        return int(self.mask.sum())


MaskSpec = str | os.PathLike | np.ndarray


def resolve_aperture(pixels: PixelData, spec: MaskSpec = "default") -> Aperture:
    """The mask lightkurve's `to_lightcurve(aperture_mask=spec)` would use, with its tag."""
    if isinstance(spec, str) and spec.lower() in NAMES:
        name = spec.lower()
        if name == "default":
            name = "pipeline" if pipeline_mask(pixels).any() else "threshold"
        if name == "pipeline":
            mask = pipeline_mask(pixels)
            if not mask.any():
                raise ApertureError(
                    str(pixels.path),
                    "no pipeline aperture (no APERTURE pixel has bit 2): use the 'threshold' or 'all' mask",
                )
        elif name == "threshold":
            mask = threshold_mask(pixels)
        else:
            mask = np.ones(pixels.shape, dtype=bool)
        return Aperture(mask, f"ap-{name}")
    mask = custom_mask(spec)
    if mask.shape != pixels.shape:
        raise ApertureError(
            str(pixels.path),
            f"aperture mask is {mask.shape[0]}x{mask.shape[1]} but the pixel stamps are "
            f"{pixels.shape[0]}x{pixels.shape[1]} (rows x columns)",
        )
    return Aperture(mask, mask_tag(mask))


def mask_tag(mask: np.ndarray) -> str:
    packed = np.packbits(np.ascontiguousarray(mask, dtype=bool), axis=None)
    return "ap-" + hashlib.sha256(packed.tobytes()).hexdigest()[:8]


def default_keep(pixels: PixelData) -> np.ndarray:
    """Cadences lightkurve keeps when it reads the file with quality_bitmask='default'.

    TESS pixel files also drop cadences with no time; lightkurve's Kepler reader does not.
    """
    mission, author = _QUALITY_KIND[pixels.mission]
    keep = (pixels.quality & bitmask_for(mission, author, "default")) == 0
    if pixels.mission == "TESS":
        keep &= np.isfinite(pixels.time)
    return keep


def pipeline_mask(pixels: PixelData) -> np.ndarray:
    if not pixels.aperture_is_integer:
        return np.ones(pixels.shape, dtype=bool)
    return (pixels.aperture & 2) > 0


def threshold_mask(pixels: PixelData, threshold: float = THRESHOLD_SIGMA) -> np.ndarray:
    """lightkurve's create_threshold_mask(threshold, reference_pixel='center'), same numpy arithmetic."""
    flux = pixels.flux[default_keep(pixels)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median_image = nanmedian_image(flux) if len(flux) else np.full(pixels.shape, np.nan, np.float32)
        vals = median_image[np.isfinite(median_image)].flatten()
        center = np.median(vals)
        mad = np.median(np.abs(vals - center))  # astropy's median_absolute_deviation
        cut = (MAD_TO_SIGMA * mad * threshold) + np.nanmedian(median_image)
    above = np.nan_to_num(median_image) >= cut
    if not above.any():
        return above
    ny, nx = pixels.shape
    rows, cols = np.nonzero(above)  # row-major order, as np.argwhere
    distance = np.hypot(rows - ny / 2, cols - nx / 2)
    nearest = int(np.argmin(distance))
    return _region(above, rows[nearest], cols[nearest])


def nanmedian_image(flux: np.ndarray) -> np.ndarray:
    """np.nanmedian(flux, axis=0) of an (n, ny, nx) cube, without a Python call per pixel.

    From 600 cadences on, numpy takes each pixel's median on its own (np.median of its non-NaN
    values, through apply_along_axis). np.median along axis 0 does the same arithmetic for every
    pixel at once (partition, then the mean of the one or two middle values), so pixels without NaN
    are done together; the rest, one by one as numpy does them. Cadences with no number in any pixel
    change no pixel's median and are dropped first. The medians are numpy's to the bit (NaN stays
    NaN). Below 600 cadences numpy's own (masked-array) path is used as it is.
    """
    n = len(flux)
    if n < 600:
        return np.nanmedian(flux, axis=0)
    flat = flux.reshape(n, -1)
    nan = np.isnan(flat)
    empty = nan.all(axis=1)
    if empty.any():
        flat, nan = flat[~empty], nan[~empty]
    partial = nan.any(axis=0)
    out = np.empty(flat.shape[1], dtype=flat.dtype)
    if not partial.all():
        out[~partial] = np.median(flat[:, ~partial], axis=0)
    for j in np.flatnonzero(partial):
        out[j] = np.nanmedian(flat[:, j])
    return out.reshape(flux.shape[1:])


def _region(above: np.ndarray, row: int, col: int) -> np.ndarray:
    """The 4-connected region of `above` holding (row, col) (scipy.ndimage.label's default structure)."""
    region = np.zeros_like(above)
    region[row, col] = True
    todo = [(row, col)]
    ny, nx = above.shape
    while todo:
        r, c = todo.pop()
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < ny and 0 <= cc < nx and above[rr, cc] and not region[rr, cc]:
                region[rr, cc] = True
                todo.append((rr, cc))
    return region


def custom_mask(spec: MaskSpec) -> np.ndarray:
    """A user's mask (array or file) as a 2-D boolean array; UsageError with one line if unusable."""
    mask = _from_array(spec, "aperture mask") if isinstance(spec, np.ndarray) else _from_file(Path(spec))
    if not mask.any():
        raise UsageError(f"aperture mask {_label(spec)} selects no pixel", hint="mark the aperture pixels with 1")
    return mask


def _label(spec: MaskSpec) -> str:
    return "array" if isinstance(spec, np.ndarray) else str(spec)


def _from_array(arr: np.ndarray, label: str) -> np.ndarray:
    if arr.ndim != 2:
        raise UsageError(f"{label} has {arr.ndim} dimensions", hint="give one row of 0/1 per stamp row (2-D)")
    if arr.dtype == bool:
        return arr.copy()
    if np.issubdtype(arr.dtype, np.int32):  # pipeline APERTURE image: bit 2 is the optimal aperture
        return (arr & 2) == 2
    if np.issubdtype(arr.dtype, np.integer):
        return (arr & 2) == 2 if ((arr & 2) == 2).any() else arr.astype(bool)
    if np.issubdtype(arr.dtype, np.floating):
        return arr.astype(bool)
    raise UsageError(f"{label} has type {arr.dtype}", hint="use booleans or 0/1")


def _from_file(path: Path) -> np.ndarray:
    label = f"aperture mask file {path}"
    try:
        if path.suffix.lower() == ".npy":
            return _from_array(np.load(path, allow_pickle=False), label)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{label} does not exist", hint="check the path") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{label} cannot be read ({exc})", hint="give a .npy file or a text grid of 0/1") from None
    rows = [line.replace(",", " ").split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise UsageError(f"{label} is not a rectangular grid", hint="write one line of 0/1 per stamp row")
    if any(v not in ("0", "1") for r in rows for v in r):
        raise UsageError(f"{label} holds values other than 0 and 1", hint="mark aperture pixels 1, others 0")
    return np.array([[v == "1" for v in r] for r in rows], dtype=bool)
