"""`larun-lake rebuild-catalog`: a new catalog for a lake whose catalog file is lost or unreadable.

The latest snapshot under <lake>/_catalog (written at the end of every writing command) is
restored into a fresh catalog, which is then checked against the data files exactly as
`verify` checks it. A damaged catalog file is kept beside it under another name, never deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from ..catalog import Catalog, snapshot
from ..errors import LakeBusyError, LakeDamagedError, LarunLakeError, NotALakeError, SchemaVersionError, UsageError
from .verify import VerifyReport, verify_lake


@dataclass
class RebuildReport:
    snapshot: str
    restored: dict[str, int]
    kept_damaged: str | None
    verify: VerifyReport = field(default_factory=VerifyReport)


def rebuild_catalog(catalog: Catalog) -> RebuildReport:
    layout = catalog.layout
    if layout.is_local and not layout.root.is_dir():
        raise NotALakeError(f"lake {layout.url} does not exist", hint="pass the lake folder with --lake")
    found = snapshot.latest(layout)
    if found is None:
        raise LakeDamagedError(
            f"{layout.url} has no catalog snapshot in {snapshot.SNAPSHOT}/ to rebuild from",
            hint="import or harvest the light curves again into a new lake",
        )
    kept = None
    if catalog.exists():
        if _opens(catalog):
            raise UsageError(
                f"{layout.catalog} exists and opens",
                hint="run 'larun-lake verify'; rebuild-catalog is for a lost catalog",
            )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        kept_path = layout.catalog.with_name(f"{layout.catalog.name}.damaged-{stamp}")
        layout.catalog.rename(kept_path)
        kept = str(kept_path)
    path, info = found
    with catalog.write("rebuild-catalog") as con:
        restored = snapshot.restore(con, layout, path)
    report = RebuildReport(info["version"], restored, kept)
    report.verify = verify_lake(catalog)
    return report


def _opens(catalog: Catalog) -> bool:
    """Whether every table of the catalog reads in full (a file cut short may still attach).

    A catalog another process holds, or one of a newer LARUN Lake, is not damaged: that error stands.
    """
    try:
        with catalog.read(sandbox=False, surface=False) as con:
            for table in snapshot.TABLES:
                con.sql(f"SELECT * FROM lake.{table}").to_arrow_table()
        return True
    except (LakeBusyError, SchemaVersionError):
        raise
    except (LarunLakeError, duckdb.Error):
        return False
