"""Files no kind reads, and why: the rules detection applies around the registered kinds.

Before any kind is asked: pixel files and files written by user tools are skipped, a damaged
file or one without a table is quarantined. After no kind matched: a file from a known telescope
is some community pipeline's product (skipped: there is no reader for it), a file that only names
a mission was derived by someone (skipped), anything else is an unknown kind (quarantined).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from ..errors import ProductError
from ..readers.fitsfile import FitsFile
from .base import Kind

# Telescopes whose files count as a community product only when they name their ORIGIN: a TESS
# file without one says nothing of where it came from. (Ames always writes ORIGIN in Kepler and
# K2 files, so a Kepler-spacecraft file without it is someone else's, like K2SFF's.)
_ORIGIN_REQUIRED = ("TESS",)


def _text(value: object) -> str:
    return str(value or "").strip()


def refuse_before_matching(ff: FitsFile) -> None:
    """Raise ProductError for files refused whatever the kinds: pixels, user tools, damage, no table."""
    name = str(ff.path)
    primary = ff.hdus[0].header
    origin = _text(primary.get("ORIGIN"))
    creator = _text(primary.get("CREATOR"))
    tables = [h for h in ff.hdus[1:] if h.kind == "table"]
    if "TargetPixelExporter" in creator and not any(h.header.get("EXTNAME") == "LIGHTCURVE" for h in tables):
        raise ProductError(name, "target pixel file, not a light curve", state="skipped")
    if any(h.header.get("EXTNAME") == "PIXELS" for h in tables):
        raise ProductError(name, "target pixel file, not a light curve", state="skipped")
    if "unofficial" in origin.lower() or "lightkurve" in creator.lower():
        raise ProductError(name, f"derived light curve written by a user tool (ORIGIN={origin!r})", state="skipped")
    if ff.problem:
        raise ProductError(name, ff.problem)
    if not tables:
        raise ProductError(name, "no binary table extension: not a light-curve file")


def refuse_unmatched(ff: FitsFile, kinds: Sequence[Kind]) -> NoReturn:
    """Raise the ProductError for a readable file that no kind matched."""
    name = str(ff.path)
    primary = ff.hdus[0].header
    telescope = _text(primary.get("TELESCOP"))
    mission_kw = _text(primary.get("MISSION"))
    origin = _text(primary.get("ORIGIN"))
    missions = list(dict.fromkeys(k.mission for k in kinds))
    of_telescope = list(dict.fromkeys(k.mission for k in kinds if k.telescope == telescope))
    if of_telescope:
        mission = (
            mission_kw if mission_kw in of_telescope else (telescope if telescope in of_telescope else of_telescope[0])
        )
        if origin or telescope not in _ORIGIN_REQUIRED:
            raise ProductError(
                name, f"community {mission} light curve (ORIGIN={origin!r}) has no reader", state="skipped"
            )
    elif mission_kw in missions:
        raise ProductError(
            name, f"derived {mission_kw} light curve without mission headers (ORIGIN={origin!r})", state="skipped"
        )
    raise ProductError(name, f"unknown product kind (TELESCOP={telescope!r}, ORIGIN={origin!r})")
