"""Resolve a selecting statement into light curves and the places their rows sit.

The statement runs once, on one short read-only catalog connection, and its keys (lc_id, tic_id,
or mission + target_id) become the set's members: the current version of each light curve, in a
canonical order, with data_file/row_offset/row_count, medians and the quality bitmask. Nothing
here reads cadences, so the catalog is free again before the first Parquet byte is read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from ..catalog import Catalog
from ..errors import UsageError
from ..query import check_read_only, user_sql_errors
from ..sqlfiles import load_sql
from .options import MaterializeOptions, kind_rank

Fetcher = Callable[[list[tuple[str, int]]], None]


@dataclass(frozen=True)
class Selection:
    """A resolved selection: the statement, how it named light curves, and the members."""

    sql: str
    key: str  # lc_id | tic_id | mission_target_id
    members: pa.Table  # one row per light curve, canonical order (see sql/materialize/resolve.sql)
    n_selected: int  # distinct keys the statement returned
    n_unmatched: int  # lc_ids that are not current light curves of the lake
    missing: list[tuple[str, int]]  # targets named that have no light curve in the lake
    n_not_preferred: int = 0  # light curves left out because their target has a preferred kind, or none

    @property
    def lc_ids(self) -> list[str]:
        return self.members.column("lc_id").to_pylist()


def selection_text(sql: str) -> str:
    """Check that `sql` is one read-only SELECT and return it as the set records it."""
    statements = check_read_only(sql)
    if len(statements) != 1:
        raise UsageError(f"the selection has {len(statements)} statements", hint="give one SELECT that returns lc_id")
    text = statements[0]
    kinds = [st.type for st in duckdb.extract_statements(text)]
    if kinds != [duckdb.StatementType.SELECT]:
        raise UsageError(
            f"the selection must be a SELECT statement, not {kinds[0].name}",
            hint="e.g. SELECT lc_id FROM lightcurves WHERE ...",
        )
    return text.strip()


def key_of(columns: list[str]) -> str:
    """Which key the selection returns: lc_id, else tic_id, else mission + target_id."""
    names = {c.lower() for c in columns}
    if "lc_id" in names:
        return "lc_id"
    if "tic_id" in names:
        return "tic_id"
    if {"mission", "target_id"} <= names:
        return "mission_target_id"
    raise UsageError(
        f"the selection returns columns {', '.join(columns) or '(none)'}, none of which names light curves",
        hint="return a column lc_id, or tic_id, or the pair mission, target_id",
    )


def resolve(catalog: Catalog, sql: str, options: MaterializeOptions, *, fetcher: Fetcher | None = None) -> Selection:
    """Run the selection; with a fetcher, fetch targets the lake lacks and run it once more."""
    text = selection_text(sql)
    selection = _resolve_once(catalog, text, options)
    if fetcher is not None and selection.missing:
        fetcher(list(selection.missing))
        selection = _resolve_once(catalog, text, options)
    return selection


def require_members(selection: Selection) -> None:
    """An empty set is a usage error: say whether the statement or the lake came up empty."""
    if selection.members.num_rows:
        return
    if selection.n_selected == 0:
        raise UsageError("the selection returned no rows", hint="check the WHERE clause with 'larun-lake sql'")
    if selection.n_not_preferred:
        raise UsageError(
            f"none of the preferred kinds is among the {selection.n_not_preferred} selected light curves",
            hint="name other pipelines in the stitch preference, or stitch without one to get every pipeline",
        )
    detail = f"{selection.n_selected} {selection.key.replace('mission_target_id', 'target')} value(s)"
    hint = "import or harvest them first, or use --fetch-missing" if selection.missing else "check the ids"
    raise UsageError(f"the selection returned {detail}, none of which has a light curve in the lake", hint=hint)


def _resolve_once(catalog: Catalog, text: str, options: MaterializeOptions) -> Selection:
    errors = user_sql_errors(
        "selection",
        refused_hint="selections may read only the lake's tables and views",
        failed_hint="try the statement with 'larun-lake sql'",
    )
    with catalog.read() as con, errors:
        con.execute("CREATE TEMP VIEW materialize_selection AS " + text)
        columns = [d[0] for d in con.execute("SELECT * FROM materialize_selection LIMIT 0").description]
        key = key_of(columns)
        con.execute("CREATE TEMP TABLE materialize_keys AS " + load_sql(f"materialize/keys_{key}.sql"))
        params = {"preset": options.preset, "bitmask": options.bitmask, "stitch": options.stitch}
        members = con.sql(load_sql("materialize/resolve.sql"), params=params).to_arrow_table()
        missing = [(m, int(t)) for m, t in con.execute(load_sql("materialize/missing.sql")).fetchall()]
        n_selected, n_unmatched = con.execute(load_sql("materialize/key_counts.sql")).fetchall()[0]
    n_all = members.num_rows
    if options.stitch_prefer:
        members = preferred_kinds(members, options.stitch_prefer)
    kinds = Counter(zip(members.column("mission").to_pylist(), members.column("author").to_pylist(), strict=True))
    options.check_available(dict(kinds))
    return Selection(text, key, members, int(n_selected), int(n_unmatched), missing, n_all - members.num_rows)


def preferred_kinds(members: pa.Table, prefer: tuple[str, ...]) -> pa.Table:
    """Per target, only the light curves of the first preferred kind (author[:exptime]) it has;
    targets with none of them are left out. Member order is kept."""
    targets = list(zip(members.column("mission").to_pylist(), members.column("target_id").to_pylist(), strict=True))
    ranks = [
        kind_rank(prefer, author, exptime)
        for author, exptime in zip(
            members.column("author").to_pylist(), members.column("exptime_s").to_pylist(), strict=True
        )
    ]
    best: dict[tuple[str, int], int] = {}
    for target, rank in zip(targets, ranks, strict=True):
        if rank is not None:
            best[target] = min(rank, best.get(target, rank))
    keep = [rank is not None and rank == best[t] for t, rank in zip(targets, ranks, strict=True)]
    return members.filter(pa.array(keep, type=pa.bool_()))
