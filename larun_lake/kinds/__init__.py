"""Product kinds: one module per kind declares everything about it; registry.py lists them."""

from .base import Kind, LightCurveData
from .registry import (
    KINDS,
    MAST_FILE_NAMES,
    authors,
    authors_of,
    by_name,
    collection_of,
    detect,
    exptimes,
    id_prefix,
    kind_of,
    listed_kind,
    mission_of_prefix,
    missions,
    of_mission,
    pdcsap_authors,
    period_kinds,
    sql_values,
)

__all__ = [
    "KINDS",
    "MAST_FILE_NAMES",
    "Kind",
    "LightCurveData",
    "authors",
    "authors_of",
    "by_name",
    "collection_of",
    "detect",
    "exptimes",
    "id_prefix",
    "kind_of",
    "listed_kind",
    "mission_of_prefix",
    "missions",
    "of_mission",
    "pdcsap_authors",
    "period_kinds",
    "sql_values",
]
