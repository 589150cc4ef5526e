"""The Python API: `Lake` is what the CLI calls, one method per command."""

from __future__ import annotations

import os
from pathlib import Path

from .catalog import Catalog
from .config import Settings
from .ingest.importer import IngestReport, ProgressFn, import_paths
from .lake.verify import VerifyReport, verify_lake
from .layout import LakeLayout
from .query import QueryResult, run_sql
from .status import StatusReport, lake_status


class Lake:
    """One lake folder: its Parquet data and its DuckDB catalog.

    >>> lake = Lake("data/lake")
    >>> lake.sql("SELECT count(*) FROM lightcurves").df()
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, wait: float | None = None, settings: Settings | None = None
    ) -> None:
        self.settings = settings or Settings.resolve(path, wait_s=wait)
        if settings is not None and path is not None:
            self.settings = Settings.resolve(path, **{**settings.__dict__, "lake": None, "wait_s": wait})
        self.layout = LakeLayout(Path(self.settings.lake).expanduser().resolve())
        self.catalog = Catalog(self.layout, wait_s=self.settings.wait_s)

    @property
    def path(self) -> Path:
        return self.layout.root

    def __repr__(self) -> str:
        return f"Lake({str(self.path)!r})"

    def import_files(
        self,
        paths: list[str | os.PathLike[str]] | str | os.PathLike[str],
        *,
        workers: int = 0,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Ingest FITS light curves already on disk (files and folders, any mix); creates the lake if needed."""
        if isinstance(paths, str | os.PathLike):
            paths = [paths]
        factory = (lambda total: progress) if progress else None
        return import_paths(self.catalog, [str(p) for p in paths], workers=workers, progress_factory=factory)

    def sql(self, query: str, params: list | dict | None = None) -> QueryResult:
        """Run read-only SQL; the result has .df(), .arrow(), .pl() and works after the catalog is closed."""
        return run_sql(self.catalog, query, params)

    def status(self) -> StatusReport:
        return lake_status(self.catalog)

    def verify(self, *, checksums: bool = True, forget_missing: bool = False) -> VerifyReport:
        return verify_lake(self.catalog, check_checksums=checksums, forget_missing=forget_missing)
