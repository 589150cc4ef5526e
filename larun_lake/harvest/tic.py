"""`larun-lake harvest tic`: TIC rows by ids, by cone, or by criteria, into the lake's tic table."""

from __future__ import annotations

import itertools
import operator
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..catalog import Catalog, runs
from ..errors import UsageError
from .tic_store import store_rows

_COMPARISON = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>|=)\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*$")
_BETWEEN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s+BETWEEN\s+(\S+)\s+AND\s+(\S+)\s*$", re.IGNORECASE)
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq}
_HUGE = 1e30


@dataclass(frozen=True)
class Condition:
    column: str
    low: float
    high: float
    test: Any = field(compare=False)  # exact test applied to the rows MAST returns


def parse_where(text: str) -> list[Condition]:
    """MAST criteria express ranges only: comparisons and BETWEEN joined by AND (a live server would otherwise be asked for what it cannot filter)."""
    parts = _rejoin_between(re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE)) if text.strip() else []
    if not parts:
        raise UsageError("empty --where", hint="e.g. --where 'Tmag < 9 AND Teff BETWEEN 3000 AND 4000'")
    out: list[Condition] = []
    for part in parts:
        m = _COMPARISON.match(part)
        if m:
            col, op, value = m.group(1), m.group(2), float(m.group(3))
            low = value if op in (">", ">=", "=") else -_HUGE
            high = value if op in ("<", "<=", "=") else _HUGE
            out.append(Condition(col, low, high, lambda v, o=_OPS[op], x=value: v is not None and o(v, x)))
            continue
        m = _BETWEEN.match(part)
        if m:
            try:
                low, high = float(m.group(2)), float(m.group(3))
            except ValueError:
                raise UsageError(f"--where: BETWEEN needs numbers in {part.strip()!r}") from None
            out.append(Condition(m.group(1), low, high, lambda v, a=low, b=high: v is not None and a <= v <= b))
            continue
        raise UsageError(
            f"--where: cannot send {part.strip()!r} to MAST",
            hint="use comparisons (<, <=, >, >=, =) and BETWEEN joined by AND on TIC columns",
        )
    return out


def _rejoin_between(parts: list[str]) -> list[str]:
    """'a BETWEEN 1', '2' (split at the BETWEEN's own AND) -> 'a BETWEEN 1 AND 2'."""
    out: list[str] = []
    for part in parts:
        if out and re.search(r"\bBETWEEN\s+\S+\s*$", out[-1], re.IGNORECASE):
            out[-1] = f"{out[-1]} AND {part}"
        else:
            out.append(part)
    return out


def parse_ids(texts: list[str]) -> list[int]:
    ids: list[int] = []
    for text in texts:
        for part in re.split(r"[,\s]+", text.strip()):
            if not part:
                continue
            digits = part[3:] if part.upper().startswith("TIC") else part
            if not digits.isdigit() or int(digits) <= 0:
                raise UsageError(f"malformed TIC id {part!r}", hint="TIC ids are positive integers")
            ids.append(int(digits))
    if not ids:
        raise UsageError("no TIC ids given", hint="use --ids 1,2,3 or --ids-file FILE")
    return sorted(set(ids))


@dataclass
class TicReport:
    run_id: str
    fetched: int = 0
    new: int = 0
    replaced: int = 0
    requests: int = 0
    seconds: float = 0.0
    not_found: list[int] = field(default_factory=list)  # requested ids MAST did not return

    @property
    def ok(self) -> bool:
        return not self.not_found


def harvest_tic(
    catalog: Catalog,
    client: Any,
    *,
    ids: list[int] | None = None,
    cone: tuple[float, float, float] | None = None,
    where: list[Condition] | None = None,
    mast_url: str | None = None,
    parameters: dict | None = None,
) -> TicReport:
    if ids is None and cone is None and not where:
        raise UsageError("say which TIC rows to harvest", hint="give --ids, --ids-file, --cone or --where")
    if cone is not None:
        ra, dec, radius = cone
        if not (0 <= ra < 360 and -90 <= dec <= 90 and 0 < radius <= 10):
            raise UsageError(f"--cone {ra} {dec} {radius}: need 0<=ra<360, -90<=dec<=90, 0<radius<=10 degrees")
    start = time.monotonic()
    run_id = runs.new_run_id()
    report = TicReport(run_id)
    if ids is not None:
        rows = client.tic_by_ids(ids)
    elif where:
        rows = client.tic_criteria({c.column: [c.low, c.high] for c in where}, cone=cone)
    else:
        rows = client.tic_cone(*cone)
    declared = getattr(rows, "types", None)  # the column types MAST declared
    if ids is not None:
        report.not_found = sorted(set(ids) - {r["ID"] for r in rows})
    for cond in where or []:
        rows = [r for r in rows if cond.test(_number(r[cond.column] if cond.column in r else _lookup(r, cond.column)))]
    report.fetched = len(rows)
    catalog.create_if_missing()
    obsolete: list = []
    with catalog.write("harvest tic") as con:
        runs.start_run(con, run_id, "harvest tic", parameters or {}, mast_url=mast_url)
        report.new, report.replaced, obsolete = store_rows(
            con, catalog.layout, rows, run_id=run_id, sequence=itertools.count(1), declared=declared
        )
        counts = {"n_files": report.fetched, "n_ingested": report.fetched, "n_failed": len(report.not_found)}
        runs.finish_run(con, run_id, "ok" if report.ok else "partial", counts)
    for rel in obsolete:
        catalog.layout.store.delete(rel)
    report.seconds = time.monotonic() - start
    report.requests = int(getattr(client, "requests_total", 0) or 0)
    return report


def _lookup(row: dict[str, Any], column: str) -> Any:
    for key, value in row.items():
        if key.lower() == column.lower():
            return value
    return None


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
