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
@pytest.mark.timeout(1800)
def test_small_file_ingest_benchmark() -> None:
    result = bench_ingest.run_small(2000, repeats=3)
    print()
    print(bench_ingest.report(result))
    assert result["lake_over_fits_bytes"] < 1.0


@pytest.mark.benchmark
@pytest.mark.timeout(3600)
def test_ingest_rate_stays_flat_as_the_lake_grows() -> None:
    result = bench_ingest.run_growth(10, 2000, repeats=3)
    print()
    print(bench_ingest.report(result))
    assert result["last_over_first"] >= 0.8  # the 10th import of 2,000 files within 20 % of the 1st


@pytest.mark.benchmark
def test_harvest_benchmark() -> None:
    from . import bench_harvest

    result = bench_harvest.run(100, 2, 0.1)
    print()
    print(bench_harvest.report(result))
    assert result["lake_requests_per_lc"] < result["lightkurve_requests_per_lc"]
