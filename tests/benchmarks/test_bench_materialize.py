"""Materialize benchmark, run on demand: python -m pytest tests/benchmarks -m benchmark -s

Prints the side-by-side table; the assertions only check that the contenders did the same job
(bench_materialize.run compares row counts and fluxes) and that the numbers are sane.
"""

from __future__ import annotations

import pytest

from . import bench_materialize


@pytest.mark.benchmark
@pytest.mark.timeout(1800)
def test_materialize_benchmark() -> None:
    rows = bench_materialize.run((1, 10, 100, 1000))
    print()
    print(bench_materialize.report(rows))
    assert [r["n"] for r in rows] == [1, 10, 100, 1000]
    assert all(r["lake_pandas_s"] > 0 and r["lightkurve_s"] > 0 for r in rows)
