"""One target's light curves as lightkurve objects with every column the lake keeps:
`Lake.lightcurve("TIC 25155310", sector=1)` and `Lake.lightcurves("TIC 25155310")`.

The target's current light curves are looked up in the catalog and narrowed by the options; the chosen
ones are resolved as a set's members are (resolve.sql) and read as a set's cadences are (only their row
groups), but with every stored column. The quality mask is lightkurve's and NaN fluxes stay, as
`lightkurve.read` keeps them, so the objects agree with a file read by lightkurve.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from .. import kinds
from ..errors import NotInLakeError, UsageError
from ..harvest.targets import parse_target
from ..sqlfiles import load_sql
from .frame import cadence_mask, read_stored_rows
from .lightkurve_columns import STORED_COLUMNS, lightkurve_columns
from .lightkurve_meta import lightkurve_meta, make_lightcurve
from .options import MaterializeOptions
from .plan import Plan

if TYPE_CHECKING:
    from ..api import Lake

MAX_LISTED = 6  # light curves named in a message before '...'
PERIODS = ("sector", "quarter", "campaign")  # the options (and catalog columns) naming a period


def _period_options() -> dict[str, str]:
    """Which option names each mission's period: {'TESS': 'sector', 'Kepler': 'quarter', 'K2': 'campaign'}."""
    return {k.mission: k.period_column for k in kinds.period_kinds()}


@dataclass(frozen=True)
class Narrowing:
    """The options that pick among a target's light curves."""

    sector: int | None = None
    quarter: int | None = None
    campaign: int | None = None
    author: str | None = None
    exptime: float | None = None

    def __post_init__(self) -> None:
        periods = [(n, getattr(self, n)) for n in PERIODS if getattr(self, n) is not None]
        if len(periods) > 1:
            raise UsageError(
                f"give one of sector, quarter and campaign, not {' and '.join(n for n, _ in periods)}",
                hint="a light curve covers one sector (TESS), quarter (Kepler) or campaign (K2)",
            )
        for name, value in [*periods, ("exptime", self.exptime)]:
            if value is not None and (isinstance(value, bool) or not isinstance(value, Real) or value <= 0):
                raise UsageError(f"{name}={value!r} is not a positive number", hint=f"e.g. {name}=1")

    def matches(self, row: dict[str, Any]) -> bool:
        for column in PERIODS:
            wanted = getattr(self, column)
            if wanted is not None and row[column] != wanted:
                return False
        if self.author is not None and row["author"].lower() != self.author.strip().lower():
            return False
        return self.exptime is None or row["exptime_s"] == self.exptime

    def describe(self) -> str:
        parts = [f"{n}={v!r}" for n, v in vars(self).items() if v is not None]
        return ", ".join(parts)


def target_params(target: str | int) -> dict[str, Any]:
    """The catalog keys a target names (see sql/materialize/target_lightcurves.sql)."""
    params: dict[str, Any] = {"text": None, "tic_id": None, "mission": None, "target_id": None}
    if isinstance(target, Integral) and not isinstance(target, bool):
        params["tic_id"] = int(target)
        return params
    text = str(target).strip()
    params["text"] = text
    if text.count(":") >= 3:  # an lc_id, <mission>:<author>:<target>:<period>...
        return params
    if text.isdigit():
        raise UsageError(
            f"bare id {text!r} is ambiguous",
            hint="name the catalog: 'TIC 25155310', 'KIC 10002792', 'EPIC 211117077' (or pass an int TIC)",
        )
    parsed = parse_target(text, None)  # refuses malformed ids such as 'TIC x'
    if parsed.target_id is not None and parsed.mission == "TESS":
        params["tic_id"] = parsed.target_id  # the star's light curves of every mission
    elif parsed.target_id is not None:
        params.update(mission=parsed.mission, target_id=parsed.target_id)
    return params


def target_lightcurves(
    lake: Lake, target: str | int, narrowing: Narrowing, options: MaterializeOptions, *, one: bool
) -> list:
    """lightkurve objects of the target's light curves that the options pick (exactly one with `one`),
    oldest period first; one short catalog connection finds and places them, then their rows are read."""
    with lake.catalog.read(data=False) as con:
        picked = find_lightcurves(con, target, narrowing)
        if one:
            picked = [only_one(target, picked)]
        members = placed_members(con, [r["lc_id"] for r in picked], options)
    return read_lightcurves(lake, members, options)


def find_lightcurves(con: duckdb.DuckDBPyConnection, target: str | int, narrowing: Narrowing) -> list[dict[str, Any]]:
    """The target's current light curves that the options pick; NotInLakeError when there are none."""
    found = con.sql(load_sql("materialize/target_lightcurves.sql"), params=target_params(target))
    rows = found.to_arrow_table().to_pylist()
    if not rows:
        raise NotInLakeError(
            f"the lake has no light curve of {target!r}",
            hint="import or harvest it first; stars are named 'TIC n', 'KIC n' or 'EPIC n', "
            "JWST and HST targets by their target_name, any light curve by its lc_id",
        )
    picked = [r for r in rows if narrowing.matches(r)]
    if not picked:
        raise NotInLakeError(
            f"none of the {len(rows)} light curves of {target!r} has {narrowing.describe()}",
            hint=f"it has {_summary(rows)}",
        )
    return picked


def only_one(target: str | int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The single light curve found, or a UsageError saying which options tell them apart."""
    if len(rows) == 1:
        return rows[0]
    ids = [r["lc_id"] for r in rows]
    listed = ", ".join(ids[:MAX_LISTED]) + (f", ... ({len(ids)} in all)" if len(ids) > MAX_LISTED else "")
    ways = [f"{name}={_alternatives(values)}" for name, values in _differences(rows).items()]
    keys = Counter((r["mission"], r["period"], r["author"], r["exptime_s"]) for r in rows)
    if not ways or max(keys.values()) > 1:  # segments, apertures, spectral orders: only the lc_id tells
        ways.append("its lc_id as the target")
    raise UsageError(
        f"{target!r} has {len(rows)} light curves in the lake: {listed}",
        hint=f"pick one with {'; '.join(ways)}; lightcurves() returns them all",
    )


def _differences(rows: list[dict[str, Any]]) -> dict[str, list]:
    """Option name -> the values that tell the rows apart (only options with more than one value)."""
    out: dict[str, list] = {}
    several_periods = len({(r["mission"], r["period"]) for r in rows}) > 1
    for mission, column in _period_options().items():
        values = sorted({r[column] for r in rows if r["mission"] == mission and r[column] is not None})
        if several_periods and values:
            out[column] = values
    for column, option in (("author", "author"), ("exptime_s", "exptime")):
        values = sorted({r[column] for r in rows})
        if len(values) > 1:
            out[option] = values
    return out


def _alternatives(values: list) -> str:
    shown = [repr(v) if isinstance(v, str) else str(v) for v in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _summary(rows: list[dict[str, Any]]) -> str:
    """'sector 1, 6; author SPOC, TESS-SPOC; exptime 120, 1800' of a target's light curves."""
    parts = []
    for mission, column in _period_options().items():
        values = sorted({r[column] for r in rows if r["mission"] == mission and r[column] is not None})
        if values:
            parts.append(f"{column} {', '.join(map(str, values))}")
    parts.append(f"author {', '.join(sorted({r['author'] for r in rows}))}")
    parts.append(f"exptime {', '.join(str(v) for v in sorted({r['exptime_s'] for r in rows}))}")
    return "; ".join(parts)


def placed_members(con: duckdb.DuckDBPyConnection, lc_ids: list[str], options: MaterializeOptions) -> pa.Table:
    """The light curves as a set's members: where their rows sit, their bitmask (see resolve.sql)."""
    con.execute("CREATE TEMP TABLE materialize_keys AS " + load_sql("materialize/keys_given.sql"), {"lc_ids": lc_ids})
    params = {"preset": options.preset, "bitmask": options.bitmask, "stitch": False}
    return con.sql(load_sql("materialize/resolve.sql"), params=params).to_arrow_table()


def read_lightcurves(lake: Lake, members: pa.Table, options: MaterializeOptions) -> list:
    """lightkurve objects of the members, in their order, every stored column kept."""
    rows = members.to_pylist()
    options.check_available(Counter((r["mission"], r["author"]) for r in rows))
    plan = Plan(lake.layout.store, members, options)
    stored = read_stored_rows(plan, STORED_COLUMNS)
    return [_lightcurve(stored[i], row, plan, i) for i, row in enumerate(rows)]


def _lightcurve(table: pa.Table, row: dict[str, Any], plan: Plan, i: int):
    options = plan.options
    keep = cadence_mask(table.column("time").to_numpy(), table.column("quality").to_numpy(), plan.bitmasks[i])
    columns = lightkurve_columns(
        table, keep, row["mission"], row["author"], flux=options.value_column, flux_err=options.error_column
    )
    meta = lightkurve_meta([row], options, plan.norms[i : i + 1])
    return make_lightcurve(meta, columns=columns)
