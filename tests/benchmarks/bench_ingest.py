"""Ingest benchmark: LARUN Lake import against a `lightkurve.read` loop over the same files, in one run.

    python -m tests.benchmarks.bench_ingest [--files 200] [--cadences 18000]

Prints files/s and cadences/s for both, their ratio, and lake bytes over FITS bytes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from larun_lake import Lake
from tests.fitsgen import make_spoc_set


def _bytes(folder: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern))


def run(n_files: int = 200, n_cadences: int = 18000, workers: int = 0) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_spoc_set(root / "fits", n_files, n_cadences=n_cadences, seed=1)
        for f in files:  # same warm page cache for both contenders
            f.read_bytes()
        fits_bytes = _bytes(root / "fits", "*.fits")
        lake = Lake(root / "lake")
        lake.catalog.create_if_missing()  # one-time set-up, not part of the rate

        start = time.perf_counter()
        report = lake.import_files([root / "fits"], workers=workers)
        lake_s = time.perf_counter() - start
        assert report.ingested == n_files, report.problems[:3]

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lightkurve as lk

            start = time.perf_counter()
            n_lk = sum(len(lk.read(str(f)).time) for f in files)
            lk_s = time.perf_counter() - start

        cadences = report.cadences
        lake_bytes = _bytes(root / "lake" / "cadences", "*.parquet")
    result = {
        "files": n_files, "cadences_per_file": n_cadences,
        "lake_files_per_s": n_files / lake_s, "lake_cadences_per_s": cadences / lake_s,
        "lightkurve_files_per_s": n_files / lk_s, "lightkurve_cadences_per_s": n_lk / lk_s,
        "speedup": lk_s / lake_s, "lake_over_fits_bytes": lake_bytes / fits_bytes,
    }
    return result


def report(result: dict[str, float]) -> str:
    return "\n".join([
        f"ingest benchmark: {result['files']} SPOC-format files x {result['cadences_per_file']} cadences",
        f"  LARUN Lake import    {result['lake_files_per_s']:8.1f} files/s  {result['lake_cadences_per_s']:12,.0f} cadences/s",
        f"  lightkurve.read loop {result['lightkurve_files_per_s']:8.1f} files/s  "
        f"{result['lightkurve_cadences_per_s']:12,.0f} cadences/s",
        f"  speed-up             {result['speedup']:8.1f}x  (target >= 10x)",
        f"  lake bytes / FITS bytes {result['lake_over_fits_bytes']:.3f}  (target <= 0.45)",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--cadences", type=int, default=18000)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    print(report(run(args.files, args.cadences, args.workers)))


if __name__ == "__main__":
    main()
