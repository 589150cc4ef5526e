"""The order in which files are converted: each partition's light curves together, by target.

Chunks of files go to workers in this order, so that a chunk fills few partitions with
many light curves each (few, large staged files, and no merging of small ones), and
inside a partition the light curves arrive sorted by target (staged files stream out
sorted). MAST's file names say the product, period and target, so no file is opened;
names that match no MAST pattern keep their place after the ones that do.
"""

from __future__ import annotations

import re
from pathlib import Path

# (pattern, group) with named groups `period` and `target`; the group stands for mission and author.
_MAST_NAMES = [
    (re.compile(r"^tess\d{13}-s(?P<period>\d{4})-(?P<target>\d{16})-\d{4}-[a-z]_(?:fast-)?lc\.fits"), "TESS:SPOC"),
    (re.compile(r"^hlsp_tess-data-alerts_tess_phot_(?P<target>\d+)-s(?P<period>\d+)_tess_v\d+_lc\.fits"), "TESS:SPOC"),
    (re.compile(r"^hlsp_tess-spoc_tess_phot_(?P<target>\d+)-s(?P<period>\d+)_tess_v\d+_lc\.fits"), "TESS:TESS-SPOC"),
    (re.compile(r"^hlsp_qlp_tess_ffi_s(?P<period>\d+)-(?P<target>\d+)_tess_v\d+_llc\.fits"), "TESS:QLP"),
    # A Kepler name gives the end of its quarter (or month) as a time stamp: the same for every target.
    (re.compile(r"^kplr(?P<target>\d{9})-(?P<period>\d{13})_[ls]lc\.fits"), "Kepler:Kepler"),
    (re.compile(r"^ktwo(?P<target>\d{9})-c(?P<period>\d+)_[ls]lc\.fits"), "K2:K2"),
]


def conversion_order(path: Path) -> tuple[str, int, int, str]:
    """Sort key: (mission and author, period, target) as the name tells, then the name."""
    name = path.name.lower()
    for pattern, group in _MAST_NAMES:
        match = pattern.match(name)
        if match:
            return group, int(match["period"]), int(match["target"]), name
    return "~", 0, 0, ""  # unknown names: after the MAST ones, in the order given (the sort is stable)
