"""Which product a FITS file is, decided from its headers (file names can lie)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProductError
from .fitsfile import FitsFile

# Nominal MAST exposure times (t_exptime) by mission; the measured spacing is rounded to one of these.
NOMINAL_EXPTIMES = {"TESS": (20, 120, 200, 600, 1800), "Kepler": (60, 1800), "K2": (60, 1800)}


@dataclass(frozen=True)
class ProductKind:
    mission: str  # 'TESS' | 'Kepler' | 'K2'
    author: str  # 'SPOC' | 'TESS-SPOC' | 'QLP' | 'Kepler' | 'K2'
    table_hdu: int
    exptime_s: int
    cadence_s: float


def nominal_exptime(mission: str, cadence_s: float) -> int:
    return min(NOMINAL_EXPTIMES[mission], key=lambda nominal: abs(nominal - cadence_s))


def _text(value: object) -> str:
    return str(value or "").strip()


def detect(ff: FitsFile) -> ProductKind:
    """Classify a file, or raise ProductError with state 'skipped' (not a light curve) or 'quarantined'."""
    name = str(ff.path)
    primary = ff.hdus[0].header
    telescope = _text(primary.get("TELESCOP"))
    mission_kw = _text(primary.get("MISSION"))
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

    author, mission = None, None
    if telescope == "TESS":
        mission = "TESS"
        if "MIT/QLP" in origin.upper():
            author = "QLP"
        elif origin == "NASA/Ames" and "LightCurveExporter" in creator:
            author = "SPOC"  # refined to TESS-SPOC below from the cadence
        elif origin:
            raise ProductError(name, f"community TESS light curve (ORIGIN={origin!r}) has no reader", state="skipped")
    elif telescope == "Kepler":
        mission = "K2" if mission_kw == "K2" else "Kepler"
        if origin == "NASA/Ames":
            author = mission
        else:
            raise ProductError(
                name, f"community {mission} light curve (ORIGIN={origin!r}) has no reader", state="skipped"
            )
    elif mission_kw in ("K2", "Kepler", "TESS"):
        raise ProductError(
            name, f"derived {mission_kw} light curve without mission headers (ORIGIN={origin!r})", state="skipped"
        )
    if author is None or mission is None:
        raise ProductError(name, f"unknown product kind (TELESCOP={telescope!r}, ORIGIN={origin!r})")

    table = next((h for h in tables if h.header.get("EXTNAME") == "LIGHTCURVE"), tables[0])
    timedel = table.header.get("TIMEDEL")
    if not isinstance(timedel, float | int) or timedel <= 0:
        raise ProductError(name, "light-curve table has no TIMEDEL: cannot tell the cadence")
    cadence_s = float(timedel) * 86400.0
    exptime = nominal_exptime(mission, cadence_s)
    if author == "SPOC" and exptime > 120:
        author = "TESS-SPOC"  # SPOC's own target light curves are 20 s or 120 s; FFI ones are TESS-SPOC
    return ProductKind(mission, author, table.index, exptime, cadence_s)
