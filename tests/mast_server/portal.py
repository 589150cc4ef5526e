"""Portal service semantics: filters, positions, paging, TIC queries and name resolution.

Everything here works on parsed requests and returns JSON-ready dicts; the
HTTP layer lives in ``server.py``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog
from .observatory import ObservatoryCatalog
from .schema import (
    DISTANCE_FIELD,
    NUMERIC_TYPES,
    OBS_FIELDS,
    PRODUCT_FIELDS,
    SELECTED_FIELD,
    TIC_DISTANCE_FIELD,
    caom_column_config,
    products_column_config,
    tic_column_config,
)
from .tesscut import TesscutService
from .tic import TicTable

Row = dict[str, Any]
Fields = list[tuple[str, str]]


class PortalError(Exception):
    """Answered as ``status: ERROR`` with this message."""


@dataclass
class Context:
    catalog: Catalog
    tic: TicTable
    names: dict[str, tuple[float, float]] = field(default_factory=dict)
    tesscut: TesscutService | None = None
    stars: dict[int, tuple[float, float]] = field(default_factory=dict)  # TIC id -> (ra, dec)
    observatory: ObservatoryCatalog | None = None  # HST/JWST rows, when served


def error(msg: str) -> dict[str, Any]:
    return {"status": "ERROR", "msg": msg, "data": [], "fields": []}


def column_config(config_id: str, ctx: Context) -> dict[str, Any]:
    key = config_id.strip().lower()
    if key == "mast.caom.cone":
        return caom_column_config()
    if key == "mast.caom.products":
        return products_column_config()
    if re.fullmatch(r"mast\.catalogs\.[\w.]+\.cone", key):  # TIC-shaped for every catalog cone
        return tic_column_config(ctx.tic.fields)
    return {}  # what MAST gives for configs it does not know


def invoke(request: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Answer one ``/api/v0/invoke`` request object."""
    service = str(request.get("service", ""))
    params = request.get("params") or {}
    key = service.lower()
    try:
        if key in {"mast.caom.filtered", "mast.caom.filtered.position", "mast.caom.cone"}:
            return _caom(key, params, request, ctx)
        if key == "mast.caom.products":
            wanted = {s.strip() for s in str(params.get("obsid", "")).split(",") if s.strip()}
            if not wanted:
                raise PortalError("obsid is required")
            rows = [p for p in ctx.catalog.products() if p["obsID"] in wanted]
            if ctx.observatory is not None:
                rows += ctx.observatory.products(wanted)
            return table_response([*PRODUCT_FIELDS, SELECTED_FIELD], rows, request)
        if re.fullmatch(r"mast\.catalogs\.all\.(tic|ctl)", key):
            return tic_histograms(ctx.tic)
        match = re.fullmatch(r"mast\.catalogs\.filtered\.(tic|ctl)(\.position)?(\.rows)?", key)
        if match:
            return _tic_query(params, request, ctx, positional=bool(match.group(2)))
        if re.fullmatch(r"mast\.catalogs\.(tic|ctl)\.cone", key):
            return _tic_query({**params, "filters": []}, request, ctx, positional=True)
        if key == "mast.name.lookup":
            found = resolve_names([str(params.get("input", ""))], ctx, resolve_all=False)
            return {"status": "COMPLETE", "msg": "", "resolvedCoordinate": found}
    except PortalError as exc:
        return error(str(exc))
    except (TypeError, ValueError, KeyError) as exc:
        return error(f"Bad parameters for {service}: {exc}")
    return error(f"Unknown service: {service}")


def table_response(fields: Fields, rows: list[Row], request: dict[str, Any]) -> dict[str, Any]:
    """Standard JSON table reply with MAST paging (1-based ``page`` echoed)."""
    total = len(rows)
    page = int(request.get("page") or 1)
    size = int(request.get("pagesize") or 0) or max(total, 1)
    pages = max(1, math.ceil(total / size))
    chunk = rows[(page - 1) * size : page * size]
    return {
        "status": "COMPLETE",
        "msg": "",
        "fields": [{"name": name, "type": ftype} for name, ftype in fields],
        "data": [{name: row.get(name) for name, _ in fields} for row in chunk],
        "paging": {
            "page": page,
            "pageSize": size,
            "pagesFiltered": pages,
            "rows": len(chunk),
            "rowsFiltered": total,
            "rowsTotal": total,
        },
    }


def _caom(key: str, params: dict[str, Any], request: dict[str, Any], ctx: Context) -> dict[str, Any]:
    filters = params.get("filters") or []
    types = dict(OBS_FIELDS)
    served = ctx.catalog.observations()
    if ctx.observatory is not None:
        served = served + ctx.observatory.observations()
    rows = apply_filters(served, filters, types)
    fields: Fields = list(OBS_FIELDS)
    if key == "mast.caom.filtered":
        if ctx.tesscut is not None:
            rows += apply_filters(ctx.tesscut.observations(), filters, types)
    else:
        if key == "mast.caom.cone":
            ra, dec, radius = float(params["ra"]), float(params["dec"]), float(params["radius"])
        else:
            ra, dec, radius = _parse_position(params.get("position"))
        rows = within(rows, ra, dec, radius, "s_ra", "s_dec", "distance")
        if ctx.tesscut is not None:  # FFI images match by footprint: a target anywhere on the CCD
            rows += apply_filters(ctx.tesscut.observations_at(ra, dec, radius), filters, types)
            rows.sort(key=lambda r: r["distance"])
        fields.append(DISTANCE_FIELD)
    if str(params.get("columns", "*")).strip().upper() == "COUNT_BIG(*)":
        return table_response([("Column1", "string")], [{"Column1": len(rows)}], request)
    return table_response([*fields, SELECTED_FIELD], rows, request)


def _tic_query(params: dict[str, Any], request: dict[str, Any], ctx: Context, positional: bool) -> dict[str, Any]:
    rows = apply_filters(ctx.tic.rows, params.get("filters") or [], dict(ctx.tic.fields))
    fields = list(ctx.tic.fields)
    if positional:
        ra, dec, radius = float(params["ra"]), float(params["dec"]), float(params.get("radius", 0.2))
        rows = within(rows, ra, dec, radius, "ra", "dec", TIC_DISTANCE_FIELD[0])
        fields.append(TIC_DISTANCE_FIELD)
    return table_response(fields, rows, request)


def _parse_position(text: Any) -> tuple[float, float, float]:
    try:
        ra, dec, radius = (float(x) for x in str(text).split(","))
    except ValueError as exc:
        raise PortalError(f"position must be 'ra, dec, radius', got {text!r}") from exc
    return ra, dec, radius


def separation_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance (haversine; exact enough at sub-milliarcsecond scales)."""
    p1, p2 = math.radians(dec1), math.radians(dec2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(ra2 - ra1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(a))))


def within(
    rows: list[Row], ra: float, dec: float, radius: float, ra_col: str, dec_col: str, dist_col: str
) -> list[Row]:
    """Rows inside the cone, nearest first, with the distance in arcsec added."""
    found = []
    for row in rows:
        if row.get(ra_col) is None or row.get(dec_col) is None:
            continue
        sep = separation_deg(ra, dec, float(row[ra_col]), float(row[dec_col]))
        if sep <= radius + 1e-9:  # the tolerance absorbs float noise of exact-position searches
            found.append({**row, dist_col: sep * 3600.0})
    return sorted(found, key=lambda r: r[dist_col])


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().casefold()


def _like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (``%`` or ``*`` any run, ``_`` one character) as a case-insensitive regex."""
    parts = ("." if ch == "_" else ".*" if ch in "%*" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def apply_filters(rows: list[Row], filters: list[dict[str, Any]], types: dict[str, str]) -> list[Row]:
    """Mashup filters: every filter must hold (AND); values within one filter are OR-ed."""
    lookup = {name.lower(): name for name in types}
    checks = []
    for flt in filters:
        name = str(flt.get("paramName", ""))
        column = lookup.get(name.lower())
        if column is None:
            raise PortalError(f"Unknown filter column: {name}")
        checks.append((column, flt))
    return [row for row in rows if all(_matches(row.get(col), flt) for col, flt in checks)]


def _matches(value: Any, flt: dict[str, Any]) -> bool:
    values = flt.get("values") or []
    if values and isinstance(values[0], dict):  # continuous: [{"min": a, "max": b}]
        if value is None:
            return False
        number = float(value)
        return any(
            (rng.get("min") is None or number >= float(rng["min"]))
            and (rng.get("max") is None or number <= float(rng["max"]))
            for rng in values
        )
    if value is None:
        return False
    separator = flt.get("separator")
    parts = str(value).split(separator) if separator and isinstance(value, str) else [value]
    texts = {_text(p) for p in parts}
    if texts & {_text(v) for v in values}:
        return True
    free = flt.get("freeText")
    return bool(free) and any(_like(str(free)).fullmatch(str(p).strip()) for p in parts)


def tic_histograms(tic: TicTable) -> dict[str, Any]:
    """``Mast.Catalogs.All.Tic`` (format extjs).

    The client overwrites each column's config with these entries, so numeric
    columns become continuous (min/max filters).  ``ID`` is left out so that ID
    filters stay discrete lists, and discrete entries are only sent for columns
    with values: an entry that is empty once ``hist`` is dropped would make
    that column "not exist" on the client.
    """
    discrete: dict[str, Any] = {}
    continuous: dict[str, Any] = {}
    for name, ftype in tic.fields:
        if name == "ID":
            continue
        values = [r[name] for r in tic.rows if r.get(name) is not None]
        if ftype in NUMERIC_TYPES:
            numbers = [float(v) for v in values]
            lo, hi = (min(numbers), max(numbers)) if numbers else (None, None)
            bins = []
            if numbers:
                width = ((hi - lo) / 10) or 1.0
                counts = [0] * 10
                for v in numbers:
                    counts[min(9, int((v - lo) / width))] += 1
                bins = [{"key": lo + i * width, "count": c} for i, c in enumerate(counts)]
            continuous[name] = {"hist": {"hist": bins}, "min": lo, "max": hi, "type": "numeric"}
        else:
            counts_by_key: dict[str, int] = {}
            for v in values:
                counts_by_key[str(v)] = counts_by_key.get(str(v), 0) + 1
            if 0 < len(counts_by_key) <= 20:
                items = [{"count": c, "key": k} for k, c in counts_by_key.items()]
                discrete[name] = {"hist": items, **{item["key"]: item for item in items}}
    zero_paging = dict.fromkeys(("page", "pageSize", "pagesFiltered", "rows", "rowsFiltered", "rowsTotal"), 0)
    table = {
        "name": "Table",
        "ExtendedProperties": {"discreteHistogram": discrete, "continuousHistogram": continuous, "Paging": zero_paging},
        "Columns": [{"text": n, "dataIndex": n, "ignoreValue": "" if t == "string" else None} for n, t in tic.fields],
        "Fields": [{"name": n, "type": t} for n, t in tic.fields],
        "Rows": [],
    }
    return {"status": "COMPLETE", "msg": "", "data": {"name": "NewDataSet", "Tables": [table]}}


_CATALOG_NAME = re.compile(r"\s*(tic|kic|epic)\s*(\d+)\s*", re.IGNORECASE)
_COORDS = re.compile(r"\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*[,\s]\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*")


def _locate(name: str, ctx: Context) -> tuple[list[str], str, tuple[float, float]] | None:
    """(resolvers, canonical name, (ra, dec)) for a name, or None."""
    match = _CATALOG_NAME.fullmatch(name)
    if match:
        prefix, number = match.group(1).upper(), int(match.group(2))
        position: tuple[float, float] | None = None
        if prefix == "TIC":
            position = ctx.stars.get(number)
            row = ctx.tic.by_id(number) if position is None else None
            if row and row.get("ra") is not None:
                position = (float(row["ra"]), float(row["dec"]))
            position = position or ctx.catalog.position("TESS", number)
        elif prefix == "KIC":
            position = ctx.catalog.position("Kepler", number)
            row = ctx.tic.by_kic(number) if position is None else None
            if row and row.get("ra") is not None:
                position = (float(row["ra"]), float(row["dec"]))
        else:
            position = ctx.catalog.position("K2", number)
        resolver = {"TIC": "TIC", "KIC": "KEPLER", "EPIC": "K2"}[prefix]
        return ([resolver, "SIMBAD"], f"{prefix} {number}", position) if position else None
    known = {key.casefold(): (key, pos) for key, pos in ctx.names.items()}
    if name.strip().casefold() in known:
        key, pos = known[name.strip().casefold()]
        return ["SIMBAD", "NED"], key, (float(pos[0]), float(pos[1]))
    match = _COORDS.fullmatch(name)
    if match:
        return ["SIMBAD", "NED"], name.strip(), (float(match.group(1)), float(match.group(2)))
    return None


def resolve_names(
    names: list[str], ctx: Context, resolver: str | None = None, resolve_all: bool = False
) -> list[dict[str, Any]]:
    """SANTA ``resolvedCoordinate`` entries; ``searchString`` is the lower-cased
    name because astroquery matches results to inputs on exactly that."""
    out = []
    for name in names:
        located = _locate(name, ctx)
        if located is None:
            continue
        resolvers, canonical, (ra, dec) = located
        if resolver and not resolve_all:
            resolvers = [r for r in resolvers if r == resolver.upper()]
        elif not resolve_all:
            resolvers = resolvers[:1]
        out.extend(
            {
                "searchString": name.lower(),
                "resolver": r,
                "cached": False,
                "resolverTime": 1,
                "searchRadius": -1.0,
                "canonicalName": canonical,
                "ra": ra,
                "decl": dec,
                "objectType": "*",
            }
            for r in resolvers
        )
    return out
