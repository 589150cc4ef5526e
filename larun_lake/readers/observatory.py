"""What the readers of HST/JWST products return to ingest.

Light curves (JWST white-light curves, TSO photometry) are ordinary `LightCurveData`.
Spectra and spectral time series are a catalog row plus an Arrow table in the area's schema;
images are a catalog row only, since their files stay in the raw area.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from ..kinds.base import LightCurveData


@dataclass
class SpectrumData:
    """One spectrum file: `meta` is its spectrum_versions row, `table` its rows."""

    area: str  # 'spectra' | 'spectral_timeseries'
    meta: dict[str, Any]
    table: pa.Table = field(repr=False)

    @property
    def spec_id(self) -> str:
        return self.meta["spec_id"]


@dataclass
class ImageData:
    """One image file: `meta` is its image_versions row (header facts, WCS centre and footprint)."""

    meta: dict[str, Any]

    @property
    def image_id(self) -> str:
        return self.meta["image_id"]


def read_observatory_product(path: Path) -> list[LightCurveData] | SpectrumData | ImageData:
    """Read one HST/JWST product with the reader its suffix names (kinds/suffixes.py).

    White-light curves and photometry give light curves, x1d-like files a SpectrumData in
    'spectra', x1dints one in 'spectral_timeseries', images an ImageData. A file whose suffix is
    not converted is 'skipped'; one whose content is not what its name says is 'quarantined'.
    """
    from importlib import import_module

    from ..errors import ProductError
    from ..kinds.suffixes import reader_of_suffix, suffix_of

    path = Path(path)
    suffix = suffix_of(path.name)
    target = reader_of_suffix(suffix)
    if target is None:
        raise ProductError(
            str(path), f"products with suffix {suffix or '(none)'} are tracked, not converted", state="skipped"
        )
    module, function = target.split(":")
    return getattr(import_module(f"{__package__}.{module}"), function)(path)
