"""What every kind of one mission shares: how its targets and periods are named, its telescope, and the
lightkurve conventions (quality flags, time format, light-curve class). A kind module spreads its
mission's facts into its Kind (`Kind(..., **missions.TESS)`), so they are written once."""

from __future__ import annotations

from typing import Any

TESS: dict[str, Any] = dict(
    mission="TESS",
    telescope="TESS",
    target_prefix="TIC",
    target_keyword="TICID",
    mast_target_prefix="",
    period_keyword="SECTOR",
    period_prefix="s",
    period_digits=4,
    period_range=(1, 9999),
    quality_flags="TessQualityFlags",
    time_format="btjd",
    lightkurve_class="TessLightCurve",
)
KEPLER: dict[str, Any] = dict(
    mission="Kepler",
    telescope="Kepler",
    target_prefix="KIC",
    target_keyword="KEPLERID",
    mast_target_prefix="kplr",
    period_keyword="QUARTER",
    period_prefix="q",
    period_digits=2,
    period_range=(0, 99),
    quality_flags="KeplerQualityFlags",
    time_format="bkjd",
    lightkurve_class="KeplerLightCurve",
)
K2: dict[str, Any] = {
    **KEPLER,
    "mission": "K2",
    "target_prefix": "EPIC",
    "mast_target_prefix": "ktwo",
    "period_keyword": "CAMPAIGN",
    "period_prefix": "c",
    "period_range": (0, 999),
}
