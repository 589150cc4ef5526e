"""Products of any MAST collection, known by the suffix of their file name (HST, JWST, ...).

MAST names these products `<root>_<suffix>.<ext>` and lists the suffix, upper case, as
productSubGroupDescription. The suffix says what the product is: this table is the one place
that maps it to the lake's product type, and the product type to the reader that turns the
file into lake rows. A suffix not listed is 'other': tracked and downloadable, never converted.
"""

from __future__ import annotations

import re

SPECTRUM = "spectrum"
SPECTRAL_TIMESERIES = "spectral_timeseries"
LIGHTCURVE = "lightcurve"
IMAGE = "image"
OTHER = "other"

PRODUCT_TYPES: dict[str, str] = {
    # extracted 1-D spectra: JWST and HST x1d, HST COS sums, STIS sx1, JWST combined c1d
    "x1d": SPECTRUM,
    "x1dsum": SPECTRUM,
    "x1dsum1": SPECTRUM,
    "x1dsum2": SPECTRUM,
    "x1dsum3": SPECTRUM,
    "x1dsum4": SPECTRUM,
    "sx1": SPECTRUM,
    "c1d": SPECTRUM,
    # JWST time series: spectra per integration, white-light curves, TSO imaging photometry
    "x1dints": SPECTRAL_TIMESERIES,
    "whtlt": LIGHTCURVE,
    "phot": LIGHTCURVE,
    # calibrated and resampled images
    "cal": IMAGE,
    "i2d": IMAGE,
    "flt": IMAGE,
    "flc": IMAGE,
    "drz": IMAGE,
    "drc": IMAGE,
    "crf": IMAGE,
}

# The data areas the converted types are written to (light curves go to cadences as always).
AREAS: dict[str, str] = {SPECTRUM: "spectra", SPECTRAL_TIMESERIES: "spectral_timeseries"}

# Observatories whose products are known by suffix (TESS, Kepler and K2 products are known by their kinds).
OBSERVATORIES = ("JWST", "HST")

# Data files only: a preview picture is named after the product it shows (..._x1dints.jpg).
_NAME = re.compile(r"_(?P<suffix>[A-Za-z0-9]+)\.(?:fits|fits\.gz|fit|ecsv|asdf|json|txt)$", re.IGNORECASE)


def suffix_of(file_name: str) -> str | None:
    """The product suffix of a MAST file name, lower case ('x1dints'), or None."""
    m = _NAME.search(file_name)
    return m.group("suffix").lower() if m else None


def product_type_of_suffix(suffix: str | None) -> str:
    return PRODUCT_TYPES.get((suffix or "").lower(), OTHER)


def is_converted(suffix: str | None) -> bool:
    """Whether a product of this suffix becomes lake rows (spectra, light curves) or an images row."""
    return product_type_of_suffix(suffix) != OTHER

# MAST's collections (obs_collection), spelled as MAST spells them.
COLLECTIONS = (
    "BEFS", "EUVE", "FUSE", "GALEX", "HLA", "HLSP", "HST", "HUT", "IUE", "JWST", "K2", "K2FFI", "Kepler",
    "KeplerFFI", "PS1", "SPITZER_SHA", "SWIFT", "TESS", "TUES", "WUPPE",
)  # fmt: skip

# Suffixes of products MAST lists for HST and JWST beyond the converted ones: tracked, downloadable when asked.
OTHER_SUFFIXES = (
    # JWST stages 0-3 and auxiliary files
    "uncal", "rate", "rateints", "calints", "crfints", "s2d", "s3d", "psfstack", "psfalign", "psfsub",
    "segm", "cat", "asn", "pool", "median", "outlier_i2d", "o001", "trapsfilled", "ramp", "bsub", "bsubints",
    "spec3", "image3", "tso3", "coron3", "ami3", "wfs", "wfscmb", "tsoimage", "ifu", "guider", "gs-fg", "gs-id",
    "gs-track", "gs-acq1", "gs-acq2", "thumb", "preview", "jpg", "png",
    # HST
    "raw", "spt", "trl", "jif", "jit", "asn", "flt_hlet", "corrtag", "corrtag_a", "corrtag_b", "rawtag",
    "rawtag_a", "rawtag_b", "rawacq", "lampflash", "counts", "sx2", "x2d", "crj", "sfl", "epc", "d0f", "c0f",
    "q0f", "x0f", "c1f", "shf", "pdq", "cmh", "cmi", "cmj", "lrc", "ima", "sci", "fltsum",
)  # fmt: skip
KNOWN_SUFFIXES = frozenset(PRODUCT_TYPES) | frozenset(OTHER_SUFFIXES)


def collection_named(text: str) -> str:
    """MAST's spelling of a collection name given in any case; ValueError for names MAST does not have."""
    for name in COLLECTIONS:
        if name.lower() == text.strip().lower():
            return name
    raise ValueError(text)


# The reader of each converted product type: 'module:function' under larun_lake.readers, imported when used.
READERS: dict[str, str] = {
    SPECTRUM: "spectrum:read_spectrum",
    SPECTRAL_TIMESERIES: "spectral_timeseries:read_spectral_timeseries",
    LIGHTCURVE: "whitelight:read_whitelight",
    IMAGE: "image:read_image",
}


def reader_of_suffix(suffix: str | None) -> str | None:
    """'module:function' of the reader for a suffix, or None when its products are not converted."""
    return READERS.get(product_type_of_suffix(suffix))
