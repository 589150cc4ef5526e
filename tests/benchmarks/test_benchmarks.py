"""Benchmarks, run on demand: python -m pytest tests/benchmarks -m benchmark -s

They print ratios measured side by side in one run; the assertions only check that
the runs were comparable, never a number of seconds.
"""

from __future__ import annotations

import pytest

from . import bench_ingest


@pytest.mark.benchmark
def test_ingest_benchmark() -> None:
    result = bench_ingest.run(200, 18000)
    print()
    print(bench_ingest.report(result))
    assert result["lake_over_fits_bytes"] < 1.0


@pytest.mark.benchmark
def test_harvest_benchmark() -> None:
    from . import bench_harvest

    result = bench_harvest.run(100, 2, 0.1)
    print()
    print(bench_harvest.report(result))
    assert result["lake_requests_per_lc"] < result["lightkurve_requests_per_lc"]
