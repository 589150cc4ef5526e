"""LARUN Lake: a local data lake for TESS, Kepler and K2 light curves."""

from .api import Lake
from .errors import (
    LakeBusyError,
    LarunLakeError,
    MastUnavailableError,
    NotALakeError,
    ProductError,
    QueryError,
    ReadOnlyViolation,
    SchemaVersionError,
    UsageError,
)

__version__ = "0.1.0"

__all__ = [
    "Lake",
    "LakeBusyError",
    "LarunLakeError",
    "MastUnavailableError",
    "NotALakeError",
    "ProductError",
    "QueryError",
    "ReadOnlyViolation",
    "SchemaVersionError",
    "UsageError",
    "__version__",
]
