"""JWST spectral time series (x1dints) into rows of the `spectral_timeseries` area.

Two layouts exist. Files of recent pipeline builds hold one EXTRACT1D table per spectral order,
one row per integration, with 2-D spectral columns (N_ALONGDISP valid bins in each row, NaN
after) and the integration's INT_NUM and TDB-MID in columns ('per_order'). Early files hold one
EXTRACT1D table per integration (and order), with INT_NUM and TDB-MID in its header
('per_integration'). The layout is told from the shape of the tables, not the pipeline version.
Both carry INT_TIMES, whose int_mid_BJD_TDB gives an integration's time when the table lacks it.
Times are BJD_TDB - 2400000.5, as the file writes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..schema import SPECTRAL_TIMESERIES_SCHEMA
from .observatory import SpectrumData
from .obsfile import (
    MJD_BJDREFF,
    MJD_BJDREFI,
    ProductBytes,
    checksum_verdict,
    collection_of,
    column_unit,
    header_facts,
    number,
    open_hdus,
    read_product_bytes,
)
from .spectrum import columns_table, concat_column, spectrum_meta, wavelength_range, with_ids

# lake column -> file column(s), in order of preference
SERIES_SOURCES: dict[str, tuple[str, ...]] = {
    "wavelength": ("WAVELENGTH",),
    "flux": ("FLUX",),
    "flux_error": ("FLUX_ERROR", "ERROR"),
    "dq": ("DQ",),
    "surf_bright": ("SURF_BRIGHT",),
    "background": ("BACKGROUND",),
}


def read_spectral_timeseries(path: Path) -> SpectrumData:
    product = read_product_bytes(path)
    with open_hdus(product) as hdul:
        collection = collection_of(hdul, product)
        tables = [h for h in hdul if h.name == "EXTRACT1D" and hasattr(h, "columns")]
        if not tables:
            raise product.fail("no EXTRACT1D table: not a spectral time series")
        for hdu in tables:
            if "WAVELENGTH" not in hdu.columns.names or "FLUX" not in hdu.columns.names:
                raise product.fail(f"EXTRACT1D table {hdu.ver} has no WAVELENGTH/FLUX columns")
        int_mid = _int_times(hdul)
        two_d = [h.data["WAVELENGTH"].ndim == 2 for h in tables]
        if all(two_d):
            layout, chunks = "per_order", _per_order(tables, int_mid, product)
        elif not any(two_d):
            layout, chunks = "per_integration", _per_integration(tables, int_mid, product)
        else:
            raise product.fail("EXTRACT1D tables mix 1-D and 2-D spectral columns")
        chunks.sort(key=lambda c: (c["spectral_order"], c["integration"]))
        facts = header_facts(hdul, collection, product)
        meta = spectrum_meta(product, collection, facts, "spectral_timeseries", layout, checksum_verdict(hdul))
        times = np.array([c["time"] for c in chunks])
        meta.update(
            n_orders=len({c["spectral_order"] for c in chunks}),
            n_integrations=len({c["integration"] for c in chunks}),
            n_wavelengths=max(c["n"] for c in chunks),
            wavelength_unit=column_unit(tables[0], "WAVELENGTH"),
            flux_unit=column_unit(tables[0], "FLUX"),
            time_start=float(times.min()),
            time_stop=float(times.max()),
            bjdrefi=MJD_BJDREFI,
            bjdreff=MJD_BJDREFF,
            **wavelength_range(chunks),
        )
        table = with_ids(_arrow(chunks), meta["spec_id"], meta["obs_id"])
    return SpectrumData("spectral_timeseries", meta, table)


def _int_times(hdul) -> dict[int, float]:
    """integration number -> mid-time BJD_TDB (MJD form) from INT_TIMES, when the file has one."""
    if "INT_TIMES" not in hdul:
        return {}
    data = hdul["INT_TIMES"].data
    if data is None or "integration_number" not in data.columns.names or "int_mid_BJD_TDB" not in data.columns.names:
        return {}
    return {int(n): float(t) for n, t in zip(data["integration_number"], data["int_mid_BJD_TDB"], strict=True)}


def _time(value: Any, integration: int, int_mid: dict[int, float], product: ProductBytes) -> float:
    t = number(value)
    if t is None:
        t = int_mid.get(integration)
    if t is None:
        raise product.fail(f"integration {integration} has no BJD_TDB time (no TDB-MID, no INT_TIMES row)")
    return t


def _per_order(tables, int_mid: dict[int, float], product: ProductBytes) -> list[dict]:
    chunks = []
    for position, hdu in enumerate(tables, start=1):
        data = hdu.data
        names = set(data.columns.names)
        order = int(hdu.header.get("SPORDER", position))
        width = data["WAVELENGTH"].shape[1]
        for row in range(len(data)):
            integration = int(data["INT_NUM"][row]) if "INT_NUM" in names else row + 1
            n = int(data["N_ALONGDISP"][row]) if "N_ALONGDISP" in names else width
            n = min(n, width) if n > 0 else width
            time = _time(data["TDB-MID"][row] if "TDB-MID" in names else None, integration, int_mid, product)
            chunk = {"spectral_order": order, "integration": integration, "time": time, "n": n}
            for lake, sources in SERIES_SOURCES.items():
                source = next((s for s in sources if s in names), None)
                chunk[lake] = None if source is None else np.asarray(data[source][row])[:n]
            chunks.append(chunk)
    return chunks


def _per_integration(tables, int_mid: dict[int, float], product: ProductBytes) -> list[dict]:
    chunks = []
    seen: dict[int, int] = {}  # order -> integrations met so far (for files without INT_NUM)
    for hdu in tables:
        data = hdu.data
        names = set(data.columns.names)
        order = int(hdu.header.get("SPORDER", 1))
        seen[order] = seen.get(order, 0) + 1
        integration = int(hdu.header.get("INT_NUM", seen[order]))
        time = _time(hdu.header.get("TDB-MID"), integration, int_mid, product)
        chunk = {"spectral_order": order, "integration": integration, "time": time, "n": len(data)}
        for lake, sources in SERIES_SOURCES.items():
            source = next((s for s in sources if s in names), None)
            chunk[lake] = None if source is None else np.asarray(data[source])
        chunks.append(chunk)
    return chunks


def _arrow(chunks: list[dict]) -> pa.Table:
    sizes = [c["n"] for c in chunks]
    columns: dict[str, pa.Array] = {
        "integration": pa.array(np.repeat([c["integration"] for c in chunks], sizes), type=pa.int32()),
        "time": pa.array(np.repeat([c["time"] for c in chunks], sizes), type=pa.float64()),
        "spectral_order": pa.array(np.repeat([c["spectral_order"] for c in chunks], sizes), type=pa.int32()),
    }
    for name in SERIES_SOURCES:
        columns[name] = concat_column([c[name] for c in chunks], sizes, SPECTRAL_TIMESERIES_SCHEMA.field(name).type)
    return columns_table(columns, SPECTRAL_TIMESERIES_SCHEMA, sum(sizes))
