"""Property test of the storage layer: Arrow -> Parquet -> (pyarrow, DuckDB) gives back the same rows."""

from __future__ import annotations

import tempfile

import duckdb
import numpy as np
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from larun_lake.lake.storage import Storage
from larun_lake.lake.writer import lightcurve_table, read_lightcurves, split_for_files, write_file
from larun_lake.readers.lightcurve import LightCurveData


@st.composite
def light_curves(draw) -> list[LightCurveData]:
    out = []
    for i in range(draw(st.integers(1, 6))):
        n = draw(st.integers(1, 40_000))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        flux = rng.normal(1000, 10, n).astype(np.float32)
        flux[rng.random(n) < draw(st.floats(0, 0.5))] = np.nan
        time = 1325.0 + np.arange(n) / 720.0
        time[rng.random(n) < 0.01] = np.nan
        target = draw(st.integers(1, 10**10))
        lc_id = f"TESS:SPOC:{target}:s{i + 1:04d}:120"
        columns = {"time": time, "flux": flux, "flux_err": np.abs(flux) * np.float32(0.01),
                   "quality": rng.integers(0, 2**16, n, dtype=np.int32) * (rng.random(n) < 0.05),
                   "cadenceno": np.arange(n, dtype=np.int32), "mom_centr1": rng.normal(500, 1, n)}
        out.append(LightCurveData({"lc_id": lc_id, "target_id": target}, columns))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(light_curves())
def test_written_rows_read_back_identically(lcs: list[LightCurveData]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        items = [((lc.meta["target_id"], lc.lc_id), lc.lc_id, lightcurve_table(lc)) for lc in lcs]
        paths = []
        store = Storage.from_url(tmp)
        for n, chunk in enumerate(split_for_files(items)):
            written = write_file(store, f"part-{n}.parquet", chunk)
            paths.append(store.path(written.staged))
            # Placements point at exactly the light curve's rows.
            table = pq.read_table(store.path(written.staged))
            for p in written.placements:
                ids = set(table.slice(p.row_offset, p.row_count).column("lc_id").to_pylist())
                assert ids == {p.key}
        back = {}
        for path in paths:
            back.update(read_lightcurves(path))
        assert set(back) == {lc.lc_id for lc in lcs}
        con = duckdb.connect()
        for lc in lcs:
            via_arrow = back[lc.lc_id]
            for name, values in lc.columns.items():
                np.testing.assert_array_equal(via_arrow.column(name).to_numpy(zero_copy_only=False), values)
            rows = con.execute("SELECT time, flux, quality FROM read_parquet(?) WHERE lc_id = ? ORDER BY cadenceno",
                               [[str(p) for p in paths], lc.lc_id]).fetchnumpy()
            np.testing.assert_array_equal(rows["time"], lc.columns["time"])
            np.testing.assert_array_equal(rows["flux"].astype(np.float32), lc.columns["flux"])
            np.testing.assert_array_equal(rows["quality"], lc.columns["quality"])
        con.close()
