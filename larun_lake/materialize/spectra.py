"""Spectra and spectral time series as pandas or Arrow frames (Lake.spectra, Lake.spectral_timeseries)."""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from ..sqlfiles import load_sql


def spectrum_frame(lake: Any, area: str, *, obs_id: str | None, spec_id: str | None, target_name: str | None,
                   mission: str | None, instrument: str | None, spectral_order: int | None,
                   format: str) -> Any:  # fmt: skip
    """Rows of one area, joined to their file's facts; `format` is 'pandas' or 'arrow'."""
    if format not in ("pandas", "arrow"):
        raise UsageError(f"unknown format {format!r}", hint="use 'pandas' or 'arrow'")
    text = load_sql(f"spectra/{area}.sql")
    params = {"obs_id": obs_id, "spec_id": spec_id, "target_name": target_name, "mission": mission,
              "instrument": instrument, "spectral_order": spectral_order}  # fmt: skip
    result = lake.sql(text, params)
    return result.arrow() if format == "arrow" else result.df()
