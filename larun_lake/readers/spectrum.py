"""Extracted 1-D spectra of JWST and HST (x1d and its kin) into rows of the `spectra` area.

JWST writes one EXTRACT1D table per spectral order (SPORDER in its header), one row per
wavelength bin. HST writes one SCI table with one row per COS segment or STIS order whose
array columns hold NELEM valid bins. Either way the lake stores one row per bin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..schema import SPECTRUM_SCHEMA
from .observatory import SpectrumData
from .obsfile import (
    ProductBytes,
    checksum_verdict,
    collection_of,
    column_unit,
    header_facts,
    open_hdus,
    period_of,
    read_product_bytes,
    text,
)

# lake column -> the file columns that may hold it, in order of preference
SPECTRUM_SOURCES: dict[str, tuple[str, ...]] = {
    "wavelength": ("WAVELENGTH",),
    "flux": ("FLUX",),
    "flux_error": ("FLUX_ERROR", "ERROR"),  # early JWST files and HST name it ERROR
    "dq": ("DQ",),
    "surf_bright": ("SURF_BRIGHT",),
    "sb_error": ("SB_ERROR",),
    "background": ("BACKGROUND",),
    "net": ("NET",),
    "gross": ("GROSS",),
    "npixels": ("NPIXELS",),
}


def read_spectrum(path: Path) -> SpectrumData:
    product = read_product_bytes(path)
    with open_hdus(product) as hdul:
        collection = collection_of(hdul, product)
        if collection == "JWST":
            chunks, layout, table_hdu = _jwst_chunks(hdul, product)
        else:
            chunks, layout, table_hdu = _hst_chunks(hdul, product)
        facts = header_facts(hdul, collection, product)
        checksum_ok = checksum_verdict(hdul)
        meta = spectrum_meta(product, collection, facts, "spectra", layout, checksum_ok)
        table = with_ids(_arrow(chunks), meta["spec_id"], meta["obs_id"])
        meta.update(
            n_orders=len(chunks),
            n_integrations=None,
            n_wavelengths=max(len(c["wavelength"]) for c in chunks),
            wavelength_unit=column_unit(table_hdu, "WAVELENGTH"),
            flux_unit=column_unit(table_hdu, "FLUX"),
            **wavelength_range(chunks),
        )
    return SpectrumData("spectra", meta, table)


def _jwst_chunks(hdul, product: ProductBytes) -> tuple[list[dict], str, Any]:
    tables = [h for h in hdul if h.name == "EXTRACT1D"]
    if not tables:
        raise product.fail("no EXTRACT1D table: not a JWST extracted spectrum")
    chunks = []
    for position, hdu in enumerate(tables, start=1):
        data = _require_table(hdu, product)
        if data["WAVELENGTH"].ndim != 1:
            raise product.fail("EXTRACT1D has 2-D spectral columns: a time series (x1dints), not a spectrum")
        order = hdu.header.get("SPORDER", position)
        chunks.append(_chunk(data, product, order=int(order), segment=None))
    return chunks, "per_order", tables[0]


def _hst_chunks(hdul, product: ProductBytes) -> tuple[list[dict], str, Any]:
    if "SCI" not in hdul or not hasattr(hdul["SCI"], "columns"):
        raise product.fail("no SCI table: not an HST extracted spectrum")
    hdu = hdul["SCI"]
    data = _require_table(hdu, product)
    names = set(data.columns.names)
    chunks = []
    for row in range(len(data)):
        n = int(data["NELEM"][row]) if "NELEM" in names else None
        rec = {col: np.atleast_1d(data[col][row])[:n] for col in data.columns.names if data[col].ndim == 2}
        segment = text(data["SEGMENT"][row]) if "SEGMENT" in names else None
        order = int(data["SPORDER"][row]) if "SPORDER" in names else row + 1
        chunks.append(_chunk(rec, product, order=order, segment=segment))
    if not chunks:
        raise product.fail("SCI table has no rows")
    return chunks, "per_segment" if "SEGMENT" in names else "per_order", hdu


def _require_table(hdu, product: ProductBytes):
    if not hasattr(hdu, "columns") or hdu.data is None:
        raise product.fail(f"{hdu.name} is not a table")
    names = {c.upper() for c in hdu.columns.names}
    for column in ("WAVELENGTH", "FLUX"):
        if column not in names:
            raise product.fail(f"{hdu.name} table has no {column} column")
    return hdu.data


def _chunk(data, product: ProductBytes, *, order: int, segment: str | None) -> dict[str, Any]:
    names = set(data.columns.names) if hasattr(data, "columns") else set(data)
    n = len(np.atleast_1d(data["WAVELENGTH"]))
    out: dict[str, Any] = {"spectral_order": order, "segment": segment}
    for lake, sources in SPECTRUM_SOURCES.items():
        source = next((s for s in sources if s in names), None)
        out[lake] = None if source is None else np.asarray(data[source]).reshape(-1)[:n]
    out["n"] = n
    return out


def _arrow(chunks: list[dict]) -> pa.Table:
    """Concatenate the chunks into the spectra schema; a column no chunk has is all-null."""
    sizes = [c["n"] for c in chunks]
    columns: dict[str, pa.Array] = {
        "spectral_order": pa.array(np.repeat([c["spectral_order"] for c in chunks], sizes), type=pa.int32()),
        "segment": pa.array(np.repeat([c["segment"] for c in chunks], sizes).tolist(), type=pa.string()),
    }
    for name in SPECTRUM_SOURCES:
        columns[name] = concat_column([c[name] for c in chunks], sizes, SPECTRUM_SCHEMA.field(name).type)
    return columns_table(columns, SPECTRUM_SCHEMA, sum(sizes))


def concat_column(parts: list[np.ndarray | None], sizes: list[int], type_: pa.DataType) -> pa.Array:
    """One lake column from per-chunk arrays (None: the chunk lacks it, its rows are null)."""
    if all(p is None for p in parts):
        return pa.nulls(sum(sizes), type=type_)
    dtype = type_.to_pandas_dtype()
    arrays = [
        pa.array(p.astype(dtype)) if p is not None else pa.nulls(n, type=type_)
        for p, n in zip(parts, sizes, strict=True)
    ]
    return pa.concat_arrays([a.cast(type_) for a in arrays])


def columns_table(columns: dict[str, pa.Array], schema: pa.Schema, n: int) -> pa.Table:
    """An Arrow table in `schema` from the columns given; the id columns are set by `with_ids`."""
    arrays = []
    for field in schema:
        if field.name in columns:
            arr = columns[field.name]
            arrays.append(arr.dictionary_encode() if pa.types.is_dictionary(field.type) else arr)
        else:
            arrays.append(pa.nulls(n, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def with_ids(table: pa.Table, spec_id: str, obs_id: str) -> pa.Table:
    n = table.num_rows
    for name, value in (("spec_id", spec_id), ("obs_id", obs_id)):
        i = table.schema.get_field_index(name)
        arr = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([value]))
        table = table.set_column(i, table.schema.field(i), arr)
    return table


def spectrum_meta(
    product: ProductBytes, collection: str, facts: dict, area: str, layout: str, checksum_ok: bool | None
) -> dict[str, Any]:
    """The spectrum_versions row of a spectrum or spectral time series, but for the counts and ranges."""
    author = collection  # the STScI calibration pipelines
    grating = facts.get("grating")
    if collection == "JWST" and grating is None and (facts.get("pupil") or "").upper().startswith("GR"):
        grating = facts["pupil"]  # NIRISS and NIRCam grisms sit in the pupil wheel
    return {
        "spec_id": f"{collection}:{author}:{product.stem}:{product.suffix}",  # an x1d and an x1dints share a stem
        "area": area,
        "suffix": product.suffix,
        "mission": collection,
        "author": author,
        "period": period_of(facts.get("proposal_id"), product),
        "proposal_id": facts.get("proposal_id"),
        "obs_id": product.stem,
        "target_name": facts.get("target_name"),
        "tic_id": None,
        "instrument": facts.get("instrument"),
        "detector": facts.get("detector"),
        "filter": facts.get("filter"),
        "grating": grating,
        "exp_type": facts.get("exp_type"),
        "ra": facts.get("ra"),
        "dec": facts.get("dec"),
        "date_obs": facts.get("date_obs"),
        "exptime_s": facts.get("exptime_s"),
        "time_start": None,
        "time_stop": None,
        "bjdrefi": None,
        "bjdreff": None,
        "layout": layout,
        "cal_ver": facts.get("cal_ver"),
        "file_date": facts.get("file_date"),
        "checksum_ok": checksum_ok,
        **product.identity(),
    }


def wavelength_range(chunks: list[dict]) -> dict[str, float | None]:
    waves = np.concatenate([c["wavelength"] for c in chunks]).astype(np.float64)
    finite = waves[np.isfinite(waves)]
    if not finite.size:
        return {"wavelength_min": None, "wavelength_max": None}
    return {"wavelength_min": float(finite.min()), "wavelength_max": float(finite.max())}
