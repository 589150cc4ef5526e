"""The numbers a materialization works from, one entry per light curve, as numpy arrays: where its
rows sit, its bitmask and divisor, the unit it belongs to (itself, or, when stitching, its
target's series of one pipeline and exposure time), and the dictionary codes of the id columns of the long form."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..lake.storage import Storage
from .options import MaterializeOptions

BATCH_ROWS = 1_000_000  # input cadences per batch: ~25 MB a column, ~50 two-minute sectors
LONG_COLUMNS = (
    "lc_id",
    "mission",
    "author",
    "target_id",
    "tic_id",
    "period",
    "time",
    "flux",
    "flux_err",
    "quality",
    "cadenceno",
)
CADENCE_FIELDS = ("time", "flux", "flux_err", "quality", "cadenceno")
DICTIONARY_FIELDS = ("lc_id", "mission", "author", "period")


def index_type(n_values: int) -> np.dtype:
    """The dictionary index width pandas picks for n categories, so to_pandas does not recode."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_values < np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def long_schema(index_types: dict[str, np.dtype]) -> pa.Schema:
    """The long form: one row per cadence; id columns dictionary-encoded."""
    fields = []
    for name in LONG_COLUMNS:
        if name in DICTIONARY_FIELDS:
            fields.append(pa.field(name, pa.dictionary(pa.from_numpy_dtype(index_types[name]), pa.string())))
        else:
            fields.append(pa.field(name, _VALUE_TYPES[name]))
    return pa.schema(fields)


_VALUE_TYPES = {
    "target_id": pa.int64(),
    "tic_id": pa.int64(),
    "time": pa.float64(),
    "flux": pa.float32(),
    "flux_err": pa.float32(),
    "quality": pa.int32(),
    "cadenceno": pa.int32(),
}
PLAIN_SCHEMA = pa.schema([(n, _VALUE_TYPES.get(n, pa.string())) for n in LONG_COLUMNS])


@dataclass(frozen=True)
class Codes:
    """Per-light-curve dictionary codes of one id column, and the dictionary."""

    codes: np.ndarray
    dictionary: pa.Array


class Plan:
    """Per-light-curve arrays of a set, and how the light curves fall into batches."""

    def __init__(self, store: Storage, members: pa.Table, options: MaterializeOptions) -> None:
        self.store = store
        self.options = options
        self.n = members.num_rows
        col = members.column
        self.files: list[str] = col("data_file").to_pylist()
        self.file_sizes: dict[str, int] = dict(zip(self.files, col("data_file_size").to_pylist(), strict=True))
        self.offsets = col("row_offset").to_numpy().astype(np.int64)
        self.counts = col("row_count").to_numpy().astype(np.int64)
        self.bitmasks = col("bitmask").to_numpy().astype(np.int64)
        self.units = unit_index(members, options.stitch)
        # Light curves of named targets (JWST, HST) have no target id: NULL in the output, as in the lake.
        self.target_id = col("target_id").fill_null(0).to_numpy().astype(np.int64)
        self.target_valid = col("target_id").is_valid().to_numpy(zero_copy_only=False)
        self.tic_id = col("tic_id").fill_null(0).to_numpy().astype(np.int64)
        self.tic_valid = col("tic_id").is_valid().to_numpy(zero_copy_only=False)
        lc_ids = col("lc_id").cast(pa.string()).combine_chunks()
        self.codes = {"lc_id": Codes(np.arange(self.n, dtype=index_type(self.n)), lc_ids)}
        for name in ("mission", "author", "period"):
            encoded = col(name).combine_chunks().dictionary_encode()
            width = index_type(len(encoded.dictionary))
            self.codes[name] = Codes(encoded.indices.to_numpy(zero_copy_only=False).astype(width), encoded.dictionary)
        self.schema = long_schema({name: c.codes.dtype for name, c in self.codes.items()})
        self.norms, self.all_nan = self._stored_norms(members)

    def _stored_norms(self, members: pa.Table) -> tuple[np.ndarray, np.ndarray]:
        """The divisor per light curve: 1 without normalising, the median computed at ingest where it
        is the one needed, NaN where a batch must compute it; and which stored medians are NULL
        (no finite flux: dividing by NaN is what lightkurve does)."""
        if not self.options.normalize:
            return np.ones(self.n), np.zeros(self.n, dtype=bool)
        norms = np.full(self.n, np.nan)
        preset = self.options.preset
        if preset is None:
            return norms, np.zeros(self.n, dtype=bool)
        stored = members.column(f"median_flux_{preset}").to_numpy(zero_copy_only=False).astype(np.float64)
        flux_columns = members.column("flux_column").to_pylist()
        usable = np.array([self.options.uses_stored_median(c or "") for c in flux_columns], dtype=bool)
        norms[usable] = stored[usable]
        return norms, usable & np.isnan(stored)

    def batches(self, batch_rows: int = BATCH_ROWS) -> list[tuple[int, int]]:
        """[lo, hi) member ranges of whole units with about batch_rows input cadences each."""
        out: list[tuple[int, int]] = []
        lo, rows = 0, 0
        for i in range(self.n):
            rows += int(self.counts[i])
            unit_ends = i + 1 == self.n or self.units[i + 1] != self.units[i]
            if rows >= batch_rows and unit_ends:
                out.append((lo, i + 1))
                lo, rows = i + 1, 0
        if lo < self.n:
            out.append((lo, self.n))
        return out


STITCH_KEY = ("mission", "target_id", "author", "exptime_s")


def unit_index(members: pa.Table, stitch: bool) -> np.ndarray:
    """Unit number per light curve: itself, or, when stitching, its target, pipeline and exposure
    time: one star's SPOC 2-min, TESS-SPOC and QLP light curves are separate series, since their
    cadences overlap in time and their fluxes differ."""
    n = members.num_rows
    if not stitch or n == 0:
        return np.arange(n, dtype=np.int64)
    keys = list(zip(*(members.column(name).to_pylist() for name in STITCH_KEY), strict=True))
    new = np.array([i == 0 or keys[i] != keys[i - 1] for i in range(n)], dtype=bool)  # resolve.sql groups them
    return np.cumsum(new) - 1
