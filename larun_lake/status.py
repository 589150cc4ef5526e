"""What a lake holds: light curves by mission/author/period, product states, bytes on disk."""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import Catalog
from .catalog.snapshot import SNAPSHOT
from .layout import CADENCES, HISTORY, RAW, SPECTRUM_AREAS, TIC
from .sqlfiles import load_sql


@dataclass
class StatusReport:
    lake: str
    by_kind: list[dict]
    by_period: list[dict]
    products: dict[str, int]
    disk_bytes: dict[str, int]
    last_run: dict | None
    others: dict[str, int] | None = None  # observations, spectra, spectral time series, images

    @property
    def n_lightcurves(self) -> int:
        return sum(r["n_lightcurves"] for r in self.by_kind)

    def to_dict(self) -> dict:
        return {
            "lake": str(self.lake),
            "by_kind": self.by_kind,
            "by_period": self.by_period,
            "products": self.products,
            "disk_bytes": self.disk_bytes,
            "last_run": self.last_run,
            "others": self.others,
        }


def _rows(con, sql: str) -> list[dict]:
    rel = con.sql(sql)
    names = rel.columns
    return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


def lake_status(catalog: Catalog) -> StatusReport:
    with catalog.read(sandbox=False) as con:
        by_kind = _rows(con, load_sql("status/by_kind.sql"))
        by_period = _rows(con, load_sql("status/by_period.sql"))
        others = _rows(con, load_sql("status/observatory.sql"))[0]
        products = dict(con.sql("SELECT state, count(*) FROM lake.products GROUP BY state ORDER BY state").fetchall())
        runs = _rows(
            con,
            "SELECT run_id, command, status, started_at, ended_at, n_files, n_ingested "
            "FROM lake.runs ORDER BY started_at DESC LIMIT 1",
        )
    store = catalog.layout.store
    disk = {
        name: store.total_size(name, suffix=suffix)
        for name, suffix in ((CADENCES, ".parquet"), (HISTORY, ".parquet"), (TIC, ".parquet"), (RAW, ""), (SNAPSHOT, ""))
    }
    for name in SPECTRUM_AREAS:
        if others.get(name):
            disk[name] = store.total_size(name, suffix=".parquet")
    disk["catalog"] = catalog.layout.catalog.stat().st_size if catalog.layout.catalog.is_file() else 0
    return StatusReport(store.url, by_kind, by_period, products, disk, runs[0] if runs else None, others)
