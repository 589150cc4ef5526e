"""Which pixels make a pixel file's light curve: a named aperture or a user's mask.

The names are lightkurve's (`to_lightcurve(aperture_mask=...)`): 'default' (the pipeline aperture where
the file has one, else the threshold mask, as lightkurve chooses), 'pipeline', 'threshold', 'all'. A mask
is a boolean array, or a file: `.npy`, or a text grid of 0/1 (`.txt`, `.csv`). Each resolved aperture has
a tag that goes into the light curve's id: ap-pipeline, ap-threshold, ap-all, or ap-<8 hex of the mask's
SHA-256> (over the packed bits of the C-order mask and its shape), so one mask always gets one id.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProductError, UsageError

NAMES = ("default", "pipeline", "threshold", "all")
PIPELINE_BIT = 2  # APERTURE bit of the pixels in the pipeline's optimal aperture


@dataclass(frozen=True)
class ApertureSpec:
    name: str  # one of NAMES, or 'mask'
    mask: np.ndarray | None = field(default=None, compare=False)
    source: str | None = None  # the mask file, for the run's parameters

    def describe(self) -> str:
        if self.name != "mask":
            return self.name
        return f"{self.source or 'mask'} ({self.mask_tag()})"

    def mask_tag(self) -> str:
        assert self.mask is not None
        digest = hashlib.sha256(f"{self.mask.shape}".encode() + np.packbits(self.mask, axis=None).tobytes())
        return f"ap-{digest.hexdigest()[:8]}"

    def tag_for(self, aperture_image: np.ndarray, *, default: bool = False) -> str:
        """The tag of this aperture for a file whose APERTURE image is given (no pixels read)."""
        name = "default" if default else self.name
        if name == "default":
            return "ap-pipeline" if has_pipeline_aperture(aperture_image) else "ap-threshold"
        return self.mask_tag() if name == "mask" else f"ap-{name}"

    def resolve(self, pixels: Any) -> np.ndarray:
        """The boolean (rows, columns) mask for one file's pixels."""
        from .aperture import threshold_mask

        image = pixels.aperture
        name = self.name
        if name == "default":
            name = "pipeline" if has_pipeline_aperture(image) else "threshold"
        if name == "pipeline":
            if not has_pipeline_aperture(image):
                raise ProductError(pixels.path, "has no pipeline aperture (a TESScut cutout has none)",
                                   state="quarantined")
            return (image & PIPELINE_BIT) > 0
        if name == "threshold":
            return threshold_mask(pixels)
        if name == "all":
            return np.ones(image.shape, dtype=bool)
        if self.mask.shape != image.shape:
            raise ProductError(
                pixels.path,
                f"aperture mask {self.source or ''} is {_shape(self.mask.shape)} pixels, the file's stamp "
                f"{_shape(image.shape)}",
            )
        return self.mask


def has_pipeline_aperture(image: np.ndarray) -> bool:
    return bool(np.any((image & PIPELINE_BIT) > 0))


def aperture_spec(value: Any) -> ApertureSpec:
    """'default', 'pipeline', 'threshold', 'all', a boolean array or a mask file -> ApertureSpec (UsageError if bad)."""
    if isinstance(value, ApertureSpec):
        return value
    if value is None:
        return ApertureSpec("default")
    if isinstance(value, np.ndarray):
        return ApertureSpec("mask", _checked(value, "the aperture mask"))
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if text.strip().lower() in NAMES and not isinstance(value, os.PathLike):
        return ApertureSpec(text.strip().lower())
    path = Path(text).expanduser()
    if not path.is_file():
        raise UsageError(
            f"--aperture {text}: not a named aperture nor a mask file",
            hint="use default, pipeline, threshold, all, or a .npy / text file of 0 and 1 (rows x columns)",
        )
    return ApertureSpec("mask", _checked(_load(path), str(path)), source=str(path.absolute()))


def _load(path: Path) -> np.ndarray:
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)
        text = path.read_text()
        delimiter = "," if "," in text else None
        return np.loadtxt(path, delimiter=delimiter, ndmin=2)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"aperture mask {path}: unreadable ({type(exc).__name__}: {exc})",
                         hint="give a .npy file or a text grid of 0 and 1") from exc


def _checked(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or 0 in array.shape:
        raise UsageError(f"{name}: a mask must be a 2-D grid (rows x columns), this one is {array.shape}")
    if array.dtype != bool:
        if not np.isin(array, (0, 1)).all():
            raise UsageError(f"{name}: a mask holds only 0 and 1 (or True/False)")
        array = array.astype(bool)
    if not array.any():
        raise UsageError(f"{name}: the mask selects no pixel")
    return np.ascontiguousarray(array)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)
