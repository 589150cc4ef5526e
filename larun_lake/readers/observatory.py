"""What the readers of HST/JWST products return to ingest.

Light curves (JWST white-light curves, TSO photometry) are ordinary `LightCurveData`.
Spectra and spectral time series are a catalog row plus an Arrow table in the area's schema;
images are a catalog row only, since their files stay in the raw area.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa


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
