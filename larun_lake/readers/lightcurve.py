"""Read one light-curve file into lake rows: the registry tells its kind, the kind reads it.

What each kind is and how it is read lives in larun_lake/kinds; this is the entry point
ingest uses, and the order of versions of one light curve.
"""

from __future__ import annotations

import re
from typing import Any

from ..kinds import LightCurveData, detect
from ..kinds.lcfile import _float, _median, _str  # noqa: F401  header helpers other readers import from here
from .fitsfile import FitsFile, open_fits

__all__ = ["LightCurveData", "read_lightcurve", "version_key"]


def read_lightcurve(path: str, *, ff: FitsFile | None = None) -> LightCurveData:
    """Read one light-curve file; raise ProductError (skipped/quarantined) when it is not ingestible."""
    ff = ff or open_fits(path)
    return detect(ff).read(ff)


_VERSION_NUM = re.compile(r"\d+")


def version_key(meta: dict[str, Any]) -> tuple:
    """Order of versions of one lc_id: data release, then processing version, file version, file date."""
    procver = tuple(int(x) for x in _VERSION_NUM.findall(meta.get("procver") or ""))
    filever = tuple(int(x) for x in _VERSION_NUM.findall(meta.get("filever") or ""))
    return (meta.get("data_rel") or -1, procver, filever, meta.get("file_date") or "")
