"""The one table of product kinds, and the lookups the rest of the code makes in it.

Adding a kind is a module declaring its Kind, one line in KINDS and a real file of the kind in
tests/test_kinds.py. The order matters twice: detection asks the kinds in this order, and the
quality tables list them in it. Pixel files (a PIXELS table) are
told apart first and only pixel kinds are asked about them.
"""

from __future__ import annotations

import re

from ..errors import ProductError
from ..readers.fitsfile import FitsFile
from . import k2, k2_tpf, kepler, kepler_tpf, qlp, spoc, spoc_tpf, tess_spoc, tesscut
from .base import Kind
from .pixel import is_pixel_file
from .refusals import refuse_before_matching, refuse_unmatched

KINDS: tuple[Kind, ...] = (
    spoc.KIND,
    tess_spoc.KIND,
    qlp.KIND,
    kepler.KIND,
    k2.KIND,
    # Pixel products: the FITS file is kept; its light curve is made from the pixels.
    spoc_tpf.KIND,
    kepler_tpf.KIND,
    k2_tpf.KIND,
    tesscut.KIND,
)

# (pattern, 'mission:author') for every MAST file name a kind declares; the patterns have the
# groups `target` and `period`, so a file named by MAST is placed without opening it.
MAST_FILE_NAMES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (p, f"{k.mission}:{k.author}") for k in KINDS for p in k.file_patterns
)

LIGHTCURVE = "lightcurve"


def detect(ff: FitsFile) -> Kind:
    """The kind of a file, from its headers; ProductError with state 'skipped' (a file the lake does
    not read: pixels, derived or community products) or 'quarantined' (damaged, unknown)."""
    if is_pixel_file(ff):
        if ff.problem:
            raise ProductError(str(ff.path), ff.problem)
        for kind in KINDS:
            if kind.product_type != LIGHTCURVE and kind.matches(ff):
                return kind
        raise ProductError(str(ff.path), "pixel file of no known pipeline (neither SPOC, Kepler, K2 nor TESScut)")
    refuse_before_matching(ff)
    for kind in KINDS:
        if kind.product_type == LIGHTCURVE and kind.matches(ff):
            return kind
    refuse_unmatched(ff, [k for k in KINDS if k.product_type == LIGHTCURVE])


def by_name(name: str) -> Kind:
    for kind in KINDS:
        if kind.name == name:
            return kind
    raise KeyError(f"no product kind named {name!r}")


def kind_of(mission: str, author: str, product_type: str = LIGHTCURVE) -> Kind | None:
    """The kind a (mission, author) pair of the catalog names, or None."""
    return next((k for k in KINDS if (k.mission, k.author, k.product_type) == (mission, author, product_type)), None)


def listed_kind(mission: str, provenance: str | None, file_name: str) -> Kind | None:
    """The kind of a file MAST lists under an observation of this provenance (light curves first), or None."""
    return next(
        (k for k in KINDS if k.mission == mission and k.mast_author == provenance and k.product_file.search(file_name)),
        None,
    )


def product_type_of_name(file_name: str) -> str:
    """What a file's name says it is, for a file too damaged to open: 'target_pixel', 'ffi_cutout' or a light curve."""
    for kind in KINDS:
        if kind.product_type != LIGHTCURVE and kind.product_file.search(file_name):
            return kind.product_type
    return LIGHTCURVE


def missions() -> tuple[str, ...]:
    """Every mission, in registry order: ('TESS', 'Kepler', 'K2')."""
    return tuple(dict.fromkeys(k.mission for k in KINDS))


def of_mission(mission: str) -> Kind:
    """A kind of the mission, for the facts all its kinds share (target and period naming).
    KeyError for a mission no kind has."""
    for kind in KINDS:
        if kind.mission == mission:
            return kind
    raise KeyError(f"no product kind of mission {mission!r}")


def authors(product_type: str = LIGHTCURVE) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k.author for k in KINDS if k.product_type == product_type))


def authors_of(mission: str, product_type: str = LIGHTCURVE) -> tuple[str, ...]:
    """The pipelines making a mission's products: authors_of('TESS') == ('SPOC', 'TESS-SPOC', 'QLP')."""
    return tuple(k.author for k in KINDS if k.mission == mission and k.product_type == product_type)


def collection_of(author: str, product_type: str = LIGHTCURVE) -> str:
    """The MAST collection listing an author's products ('HLSP' for TESS-SPOC and QLP)."""
    return next(k.obs_collection for k in KINDS if k.author == author and k.product_type == product_type)


def id_prefix(mission: str, default: str | None = None) -> str:
    """How a mission names its targets in text: 'TIC', 'KIC', 'EPIC' (`default` for other missions)."""
    if default is not None and mission not in missions():
        return default
    return of_mission(mission).target_prefix


def mission_of_prefix(prefix: str) -> str | None:
    """Inverse of id_prefix (any case), or None."""
    return next((k.mission for k in KINDS if k.target_prefix == prefix.upper()), None)


def period_kinds() -> tuple[Kind, ...]:
    """One kind per mission: its period keyword, column, prefix and range."""
    return tuple(of_mission(m) for m in missions())


def exptimes() -> tuple[int, ...]:
    """Every nominal exposure of every kind, ascending."""
    return tuple(sorted({e for k in KINDS for e in k.exptimes}))


def pdcsap_authors() -> tuple[str, ...]:
    """Light-curve authors whose default flux is PDCSAP (stored as flux, re-exposed as pdcsap_flux)."""
    return tuple(k.author for k in KINDS if k.product_type == LIGHTCURVE and k.flux_column == "PDCSAP_FLUX")


def sql_values() -> dict[str, str]:
    """What the {{placeholders}} of the shipped SQL files stand for, as SQL text."""
    return {"pdcsap_authors": ", ".join(f"'{a}'" for a in pdcsap_authors())}
