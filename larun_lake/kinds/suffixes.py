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

_NAME = re.compile(r"_(?P<suffix>[A-Za-z0-9]+)\.(?:fits|fits\.gz|fit|ecsv|asdf|json|jpg|png|txt)$", re.IGNORECASE)


def suffix_of(file_name: str) -> str | None:
    """The product suffix of a MAST file name, lower case ('x1dints'), or None."""
    m = _NAME.search(file_name)
    return m.group("suffix").lower() if m else None


def product_type_of_suffix(suffix: str | None) -> str:
    return PRODUCT_TYPES.get((suffix or "").lower(), OTHER)


def is_converted(suffix: str | None) -> bool:
    """Whether a product of this suffix becomes lake rows (spectra, light curves) or an images row."""
    return product_type_of_suffix(suffix) != OTHER


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
