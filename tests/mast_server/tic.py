"""TIC rows served by the catalog services, typed the way MAST types them."""

from __future__ import annotations

import math
from typing import Any

from .schema import TIC_FIELDS, infer_type


def _plain(value: Any) -> Any:
    """JSON-safe scalar: numpy scalars unwrapped, NaN/NA to None."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        if value != value:  # pandas.NA and friends
            return None
    except TypeError:
        return None
    return value


class TicTable:
    """TIC rows with MAST's field typing (``ID`` as a string)."""

    def __init__(self, rows: Any = None) -> None:
        if rows is None:
            records: list[dict[str, Any]] = []
        elif hasattr(rows, "to_dict"):
            records = rows.to_dict(orient="records")
        else:
            records = [dict(r) for r in rows]
        known = dict(TIC_FIELDS)
        extras: dict[str, str] = {}
        self.rows: list[dict[str, Any]] = []
        for record in records:
            row = {str(k): _plain(v) for k, v in record.items()}
            if row.get("ID") is None:
                raise ValueError("every TIC row needs an ID")
            row["ID"] = str(int(row["ID"]))
            for key, value in row.items():
                if known.get(key) == "int" and isinstance(value, float):
                    row[key] = int(value)  # pandas turns int columns with gaps into floats
                elif key not in known and key not in extras and value is not None:
                    extras[key] = infer_type(value)
            self.rows.append(row)
        self.fields: list[tuple[str, str]] = [*TIC_FIELDS, *extras.items()]
        self._by_id = {row["ID"]: row for row in self.rows}

    def by_id(self, tic_id: int | str) -> dict[str, Any] | None:
        return self._by_id.get(str(tic_id))

    def by_kic(self, kic_id: int) -> dict[str, Any] | None:
        return next((r for r in self.rows if r.get("KIC") is not None and int(r["KIC"]) == kic_id), None)
