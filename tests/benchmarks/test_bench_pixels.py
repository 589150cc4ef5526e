"""Pixel benchmark: small runs of its cases in the default suite (the code path, and the agreement with
lightkurve it checks on the light curves it timed); the full runs on demand:
python -m pytest tests/benchmarks -m benchmark -s

Also here: the speed-ups the benchmark led to keep lightkurve's bits and spread big files over workers.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from larun_lake.ingest import order
from larun_lake.ingest.convert import InputFile
from larun_lake.pixels.aperture import nanmedian_image

from . import bench_pixels


def _sane(result: dict) -> None:
    assert result["compared"] == result["files"]  # every timed light curve equals lightkurve's
    assert result["raw_kept_bytes"] == pytest.approx(result["file_mb"] * 1e6 * result["files"])
    assert all(result[f"{c}_ms_per_file"] > 0 for c in bench_pixels.CONTENDERS)
    assert "lightkurve / it" in bench_pixels.report(result)


@pytest.mark.slow
def test_pixel_benchmark_runs_on_target_pixel_files() -> None:
    result = bench_pixels.run_tpf(3, 1200, repeats=1)
    _sane(result)
    assert result["cadences"] == 1200
    growth = bench_pixels.run_growth(4, 2, 600, repeats=1)
    assert len(growth["ms_per_file"]) == 2 and growth["last_over_first"] > 0
    assert "last / first batch" in bench_pixels.report(growth)


def test_pixel_benchmark_runs_on_cutouts() -> None:
    result = bench_pixels.run_cutouts(4, 40, repeats=1)
    _sane(result)
    assert result["cadences"] == 40


@pytest.mark.parametrize("case", ["clean", "sparse NaN", "NaN cadences", "off-detector pixels", "all NaN", "ties"])
@pytest.mark.parametrize("n", [600, 1001, 1282])
def test_median_image_is_numpys_nanmedian_bit_for_bit(case: str, n: int) -> None:
    """The threshold mask's median image (TESScut sectors have 1,000+ FFIs) takes numpy's per-pixel path."""
    rng = np.random.default_rng(n)
    flux = rng.normal(200, 40, size=(n, 7, 9)).astype(np.float32)
    if case == "sparse NaN":
        flux[rng.random(flux.shape) < 0.03] = np.nan
    elif case == "NaN cadences":
        flux[rng.integers(0, n, size=n // 10)] = np.nan
    elif case == "off-detector pixels":
        flux[:, :, :3] = np.nan
        flux[rng.random(flux.shape) < 0.01] = np.nan
    elif case == "all NaN":
        flux[:] = np.nan
    elif case == "ties":
        flux = np.round(flux / 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(flux, axis=0)
        got = nanmedian_image(flux)
    assert got.dtype == expected.dtype and got.shape == (7, 9)
    assert np.array_equal(got, expected, equal_nan=True)


def test_big_pixel_files_are_spread_over_workers() -> None:
    """50 target pixel files of 44 MB made one chunk of 48 and one of 2: one worker did nearly all."""
    items = [InputFile(Path(f"tess{i:03d}_tp.fits"), f"file:{i}") for i in range(50)]
    chunks = order.in_chunks(items, 48, size_of=lambda _: 44_101_440)
    assert len(chunks) >= 8 and max(len(c) for c in chunks) <= 6
    assert [i for c in chunks for i in c] == items
    light_curves = order.in_chunks(items * 2, 48, size_of=lambda _: 2_000_000)  # SPOC light curves: as before
    assert [len(c) for c in light_curves] == [48, 48, 4]
