"""What every reader of HST and JWST products shares: the file's bytes and identity, header facts, names.

A product is read once from its bytes (hashed for identity) and opened with astropy from those
bytes, so the values the lake stores are the ones astropy reads from the same file. A file that
is not what its name says raises ProductError in state 'quarantined' with one reason.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProductError
from ..kinds.suffixes import suffix_of

# Times of JWST products are BJD_TDB in MJD form (BJD_TDB - 2400000.5): the reference the lake records.
MJD_BJDREFI = 2400000
MJD_BJDREFF = 0.5
TIME_SCALE = "BJD_TDB"
_EMPTY = {"", "N/A", "NONE", "ANY", "NULL"}


@dataclass
class ProductBytes:
    """One product file: its path, bytes, SHA-256 and the suffix its name declares."""

    path: Path
    data: bytes
    sha256: str
    suffix: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        """The file name without `_<suffix>.<ext>`: MAST's obs_id for these products."""
        return re.sub(rf"_{re.escape(self.suffix)}\.[^_]+$", "", self.path.name, flags=re.IGNORECASE)

    def fail(self, reason: str) -> ProductError:
        return ProductError(str(self.path), reason)

    def identity(self) -> dict[str, Any]:
        """The meta keys every version row carries about the file itself."""
        return {
            "file_name": self.name,
            "file_size": len(self.data),
            "file_sha256": self.sha256,
            "sha256": self.sha256,
            "source_path": str(self.path),
            "data_uri": None,
        }


def read_product_bytes(path: Path) -> ProductBytes:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProductError(str(path), f"cannot read file: {exc.strerror or exc}", state="failed") from exc
    suffix = suffix_of(path.name)
    if suffix is None:
        raise ProductError(str(path), "no product suffix in the file name (<root>_<suffix>.fits)")
    if not data:
        raise ProductError(str(path), "empty file")
    return ProductBytes(path, data, hashlib.sha256(data).hexdigest(), suffix)


def open_hdus(product: ProductBytes):
    """The file as an astropy HDUList read from its bytes; ProductError when it is no complete FITS file."""
    from astropy.io import fits

    if not product.data.startswith(b"SIMPLE  ="):
        raise product.fail("not a FITS file (no SIMPLE card at the start)")
    if len(product.data) % 2880:
        raise product.fail(f"truncated FITS file ({len(product.data)} bytes is not a multiple of 2880)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unit spellings and checksum remarks; verdicts are ours
            hdul = fits.open(io.BytesIO(product.data), lazy_load_hdus=False, checksum=True)
            for hdu in hdul:
                _ = hdu.data  # force every HDU to load now: a short data unit is a truncated file
    except Exception as exc:  # astropy raises many kinds of errors on damaged files
        raise product.fail(f"unreadable FITS file ({_first_line(exc)})") from exc
    return hdul


def checksum_verdict(hdul) -> bool | None:
    """Whether every HDU carrying CHECKSUM/DATASUM verifies; None when none carries them."""
    verdicts = []
    for hdu in hdul:
        if "CHECKSUM" in hdu.header or "DATASUM" in hdu.header:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ok = True
                if "DATASUM" in hdu.header:
                    ok = ok and hdu.verify_datasum() == 1
                if "CHECKSUM" in hdu.header:
                    ok = ok and hdu.verify_checksum() == 1
            verdicts.append(ok)
    return None if not verdicts else all(verdicts)


def header_facts(hdul, collection: str, product: ProductBytes) -> dict[str, Any]:
    """Observation facts from the primary (and, for HST, the first extension) header."""
    primary = hdul[0].header
    ext = hdul[1].header if len(hdul) > 1 else {}
    if collection == "JWST":
        date = text(primary.get("DATE-OBS"))
        clock = text(primary.get("TIME-OBS"))
        return {
            "proposal_id": text(primary.get("PROGRAM")),
            "target_name": text(primary.get("TARGNAME")) or text(primary.get("TARGPROP")),
            "instrument": text(primary.get("INSTRUME")),
            "detector": text(primary.get("DETECTOR")),
            "filter": text(primary.get("FILTER")),
            "pupil": text(primary.get("PUPIL")),
            "grating": text(primary.get("GRATING")),
            "exp_type": text(primary.get("EXP_TYPE")),
            "ra": number(primary.get("TARG_RA")),
            "dec": number(primary.get("TARG_DEC")),
            "date_obs": f"{date}T{clock}" if date and clock else date,
            "exptime_s": number(primary.get("EFFEXPTM")),
            "expstart": number(primary.get("EXPSTART")),
            "expend": number(primary.get("EXPEND")),
            "t_mid": number(primary.get("EXPMID")),
            "cal_ver": text(primary.get("CAL_VER")),
            "file_date": text(primary.get("DATE")),
        }

    # HST: exposure keywords live in the science extension; fall back to the primary header.
    def either(key: str) -> Any:
        return ext.get(key, primary.get(key))

    date, clock = text(either("DATE-OBS")), text(either("TIME-OBS"))
    start, end = number(either("EXPSTART")), number(either("EXPEND"))
    return {
        "proposal_id": text(primary.get("PROPOSID")),
        "target_name": text(primary.get("TARGNAME")),
        "instrument": text(primary.get("INSTRUME")),
        "detector": text(primary.get("DETECTOR")),
        "filter": text(primary.get("FILTER")),
        "filter1": text(primary.get("FILTER1")),
        "filter2": text(primary.get("FILTER2")),
        "grating": text(primary.get("OPT_ELEM")),
        "exp_type": text(primary.get("OBSTYPE")),
        "ra": number(primary.get("RA_TARG")),
        "dec": number(primary.get("DEC_TARG")),
        "date_obs": f"{date}T{clock}" if date and clock else date,
        "exptime_s": number(either("EXPTIME")),
        "expstart": start,
        "expend": end,
        "t_mid": (start + end) / 2 if start is not None and end is not None else start,
        "cal_ver": text(primary.get("CAL_VER")),
        "file_date": text(primary.get("DATE")),
    }


def collection_of(hdul, product: ProductBytes) -> str:
    """'JWST' or 'HST' from TELESCOP; ProductError for anything else."""
    telescope = (text(hdul[0].header.get("TELESCOP")) or "").upper()
    if telescope not in ("JWST", "HST"):
        raise product.fail(f"TELESCOP is {telescope or 'missing'}, not JWST or HST")
    return telescope


def period_of(proposal: str | int | None, product: ProductBytes) -> str:
    """The lake's period of a JWST/HST product: 'p' and the 5-digit proposal id ('p02734')."""
    try:
        return f"p{int(str(proposal).strip()):05d}"
    except (TypeError, ValueError):
        raise product.fail(f"no proposal id (PROGRAM/PROPOSID) to place the product: {proposal!r}") from None


def text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    s = str(value).strip()
    return None if s.upper() in _EMPTY else s


def number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def column_unit(hdu, name: str) -> str | None:
    """The TUNIT a table declares for a column, as written (not astropy's respelling)."""
    for i, col in enumerate(hdu.columns.names, start=1):
        if col.upper() == name.upper():
            return text(hdu.header.get(f"TUNIT{i}"))
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
