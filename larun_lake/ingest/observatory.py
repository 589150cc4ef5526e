"""Per-file work for products known by their suffix (HST, JWST): light curves, spectra, images.

Like the rest of ingest this is a pure function of the file. A JWST white-light curve file may hold
one light curve per spectral order: each is a version of its own, keyed by the hash of the file's
hash and the order, so that the file's hash alone still finds every light curve it gave.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import ProductError
from ..kinds.suffixes import OBSERVATORIES, OTHER, product_type_of_suffix, suffix_of
from ..readers.fitsfile import read_primary_header
from .convert import Converted, InputFile

_TEXT_TABLES = (".ecsv",)


def is_observatory_file(path: Path) -> bool:
    """A product of an observatory whose products are known by suffix (TELESCOP, or an ECSV table)."""
    name = path.name.lower()
    if name.endswith(_TEXT_TABLES):
        return True
    if suffix_of(name) is None:
        return False
    try:
        header = read_primary_header(path)
    except Exception:  # unreadable: the FITS path reports what is wrong with it
        return False
    return bool(header) and str(header.get("TELESCOP") or "").strip().upper() in OBSERVATORIES


def convert_observatory(item: InputFile, known_shas: frozenset[str] | set[str]) -> list[Converted]:
    from ..readers.observatory import ImageData, SpectrumData, read_observatory_product

    suffix = suffix_of(item.path.name)
    kind = product_type_of_suffix(suffix)
    size = _size(item.path)
    try:
        sha = _sha256(item.path)
    except OSError as exc:
        return [Converted(item, "error", error=ProductError(str(item.path), f"cannot read it ({exc})", state="failed"),
                          product_type=kind)]
    if kind == OTHER:
        reason = f"a {suffix or 'unnamed'} product: the lake tracks it but does not convert it"
        return [Converted(item, "error", sha, size, error=ProductError(str(item.path), reason, state="skipped"),
                          product_type=kind)]
    if kind != "lightcurve" and sha in known_shas:
        return [Converted(item, "unchanged", sha, size, product_type=kind)]
    try:
        read = read_observatory_product(item.path)
    except ProductError as exc:
        return [Converted(item, "error", sha, size, error=exc, product_type=kind)]
    except Exception as exc:  # a reader bug or an unforeseen layout must not stop the run
        err = ProductError(str(item.path), f"unreadable {suffix} product ({type(exc).__name__}: {exc})")
        return [Converted(item, "error", sha, size, error=err, product_type=kind)]
    if isinstance(read, SpectrumData):
        read.meta.update(file_sha256=sha, source_path=str(item.path), data_uri=item.data_uri)
        return [Converted(item, "spectrum", sha, size, spectrum=read, product_type=kind)]
    if isinstance(read, ImageData):
        read.meta.update(file_sha256=sha, source_path=str(item.path), data_uri=item.data_uri)
        return [Converted(item, "image", sha, size, image=read, product_type=kind)]
    results = []
    several = len(read) > 1
    for lc in read:
        key = hashlib.sha256(f"{sha}:{lc.meta.get('spectral_order')}".encode()).hexdigest() if several else sha
        lc.meta.update(file_sha256=key, source_sha256=sha if several else None, source_path=str(item.path),
                       data_uri=item.data_uri)
        if key in known_shas:
            results.append(Converted(item, "unchanged", key, size, file_sha256=sha, product_type=kind))
        else:
            results.append(Converted(item, "lightcurve", key, size, lc=lc, file_sha256=sha, product_type=kind))
    return results


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
