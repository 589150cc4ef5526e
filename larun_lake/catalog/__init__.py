"""The DuckDB catalog: connections, product states, runs and light-curve versions."""

from .db import SCHEMA_VERSION, Catalog

__all__ = ["SCHEMA_VERSION", "Catalog"]
