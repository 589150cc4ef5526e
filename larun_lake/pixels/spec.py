"""Which pixels make a pixel file's light curve: a named aperture or a user's mask.

The names are lightkurve's (`to_lightcurve(aperture_mask=...)`), see aperture.py. The spec is read once
per command (a mask file is loaded and checked before any work), travels to the workers with each
file, and says which tag a file's light curve will get from the file's headers alone, so a file
whose light curve with that aperture is in the lake already is not read again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from .aperture import NAMES, Aperture, custom_mask, mask_tag, resolve_aperture
from .read import PixelData


@dataclass(frozen=True)
class ApertureSpec:
    """An aperture as the user named it, checked before any file is read; resolved per file (aperture.py)."""

    name: str  # one of NAMES, or 'mask'
    mask: np.ndarray | None = field(default=None, compare=False)
    source: str | None = None  # the mask file, for the run's parameters

    def describe(self) -> str:
        if self.name != "mask":
            return self.name
        return f"{self.source or 'array'} ({self.tag_for(None)})"

    def tag_for(self, pipeline_pixels: bool | None, *, default: bool = False) -> str:
        """The tag this aperture gets in a file with or without a pipeline aperture (no pixels read)."""
        name = "default" if default else self.name
        if name == "default":
            return "ap-pipeline" if pipeline_pixels else "ap-threshold"
        return mask_tag(self.mask) if name == "mask" else f"ap-{name}"

    def resolve(self, pixels: PixelData) -> Aperture:
        """The boolean (rows, columns) mask lightkurve would use for one file, with its tag."""
        return resolve_aperture(pixels, self.mask if self.name == "mask" else self.name)


def aperture_spec(value: Any) -> ApertureSpec:
    """'default', 'pipeline', 'threshold', 'all', a boolean array or a mask file -> ApertureSpec (UsageError if bad)."""
    if isinstance(value, ApertureSpec):
        return value
    if value is None:
        return ApertureSpec("default")
    if isinstance(value, np.ndarray):
        return ApertureSpec("mask", custom_mask(value))
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if not isinstance(value, os.PathLike) and text.strip().lower() in NAMES:
        return ApertureSpec(text.strip().lower())
    path = Path(text).expanduser()
    if not path.is_file():
        raise UsageError(
            f"--aperture {text}: neither a named aperture nor a mask file",
            hint="use default, pipeline, threshold, all, or a .npy / text file of 0 and 1 (rows x columns)",
        )
    return ApertureSpec("mask", custom_mask(path), source=str(path.absolute()))
