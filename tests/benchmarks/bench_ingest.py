"""Ingest benchmarks: LARUN Lake import against a `lightkurve.read` loop over the same files, in one run.

    python -m tests.benchmarks.bench_ingest [--case large|small|growth|all] [--repeats 3]

large   SPOC-format files of ~18,000 cadences (--files 200, --cadences 18000)
small   QLP-like files of 1,000-2,000 cadences, the size class of full-frame-image products
        (--small-files 2000), where the fixed cost of each commit weighs most per file
growth  --batches imports of --small-files new QLP-like files each (new targets, the same
        sectors, so every partition grows) into one lake: the rate of the last batch against
        the first shows whether the per-file cost stays flat as the lake grows

Each case runs --repeats times and reports medians, and ratios rather than bare seconds:
the machine is shared, so compare contenders measured side by side in one run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from larun_lake import Lake
from tests.fitsgen import make_qlp_set, make_spoc_set


def _bytes(folder: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern))


def _warm(files: list[Path]) -> None:
    for f in files:  # same warm page cache for every contender
        f.read_bytes()


def _import_seconds(lake: Lake, folder: Path, n_files: int, workers: int) -> tuple[float, int]:
    start = time.perf_counter()
    report = lake.import_files([folder], workers=workers)
    seconds = time.perf_counter() - start
    assert report.ingested == n_files, (report.ingested, report.problems[:3])
    return seconds, report.cadences


def _lightkurve_seconds(files: list[Path]) -> tuple[float, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lightkurve as lk

        start = time.perf_counter()
        n = sum(len(lk.read(str(f)).time) for f in files)
        return time.perf_counter() - start, n


def _new_lake(path: Path) -> Lake:
    lake = Lake(path)
    lake.catalog.create_if_missing()  # one-time set-up, not part of the rate
    return lake


def _side_by_side(files: list[Path], folder: Path, root: Path, workers: int, repeats: int) -> dict[str, float]:
    """Import into a fresh lake and read with lightkurve, `repeats` times, alternating; medians."""
    lake_s, lk_s, ratios = [], [], []
    cadences = n_lk = 0
    lake_bytes = 0
    for i in range(repeats):
        _warm(files)
        seconds, cadences = _import_seconds(_new_lake(root / f"lake{i}"), folder, len(files), workers)
        lake_bytes = _bytes(root / f"lake{i}" / "cadences", "*.parquet")
        lk_seconds, n_lk = _lightkurve_seconds(files)
        lake_s.append(seconds)
        lk_s.append(lk_seconds)
        ratios.append(lk_seconds / seconds)
    lake_med, lk_med = statistics.median(lake_s), statistics.median(lk_s)
    n = len(files)
    return {
        "files": n,
        "repeats": repeats,
        "lake_files_per_s": n / lake_med,
        "lake_cadences_per_s": cadences / lake_med,
        "lightkurve_files_per_s": n / lk_med,
        "lightkurve_cadences_per_s": n_lk / lk_med,
        "lightkurve_ms_per_file": 1000 * lk_med / n,
        "speedup": statistics.median(ratios),
        "speedup_min": min(ratios),
        "speedup_max": max(ratios),
        "lake_over_fits_bytes": lake_bytes / _bytes(folder, "*.fits"),
    }


def run(n_files: int = 200, n_cadences: int = 18000, workers: int = 0, repeats: int = 1) -> dict[str, float]:
    """Large files: SPOC format, n_cadences each."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_spoc_set(root / "fits", n_files, n_cadences=n_cadences, seed=1)
        result = _side_by_side(files, root / "fits", root, workers, repeats)
    return {**result, "case": "large", "cadences_per_file": n_cadences}


def run_small(n_files: int = 2000, workers: int = 0, repeats: int = 3) -> dict[str, float]:
    """Small files: QLP-like, 1,000-2,000 cadences each, two sectors."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_qlp_set(root / "fits", n_files, seed=2)
        result = _side_by_side(files, root / "fits", root, workers, repeats)
    return {**result, "case": "small", "cadences_per_file": "1000-2000"}


def run_growth(
    n_batches: int = 10,
    n_files: int = 2000,
    workers: int = 0,
    repeats: int = 3,
    progress: Callable[[str], None] | None = None,
) -> dict[str, object]:
    """Rate of the last of n_batches imports of new small files into one lake, against the first.

    The lake is grown with the first n_batches - 1 batches (their rates are reported). Then, to
    keep the shared machine's changing load out of the ratio, the last batch is imported side
    by side, `repeats` times: into an empty lake (the rate of a first batch) and into a copy of
    the grown lake; the ratio is the median over those pairs.
    """
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # New targets in every batch, the same two sectors: the lake's partitions grow with each batch.
        folders = []
        for b in range(n_batches):
            folder = root / f"batch{b:02d}"
            make_qlp_set(folder, n_files, seed=3, first_tic=300_000_000 + b * n_files)
            folders.append(folder)
        grown = _new_lake(root / "grown")
        rates = []
        for b, folder in enumerate(folders[:-1]):
            _warm(sorted(folder.iterdir()))
            rates.append(n_files / _import_seconds(grown, folder, n_files, workers)[0])
            if progress:
                progress(f"growing the lake, batch {b + 1}: {rates[-1]:.0f} files/s")
        last = folders[-1]
        first_rates, last_rates, ratios = [], [], []
        for r in range(repeats):
            _warm(sorted(last.iterdir()))
            first = n_files / _import_seconds(_new_lake(root / f"empty{r}"), last, n_files, workers)[0]
            copy = root / f"grown{r}"
            shutil.copytree(root / "grown", copy)
            _warm(sorted(last.iterdir()))
            tenth = n_files / _import_seconds(Lake(copy), last, n_files, workers)[0]
            lightcurves = Lake(copy).sql("SELECT count(*) FROM lightcurves").fetchall()[0][0]
            assert lightcurves == n_batches * n_files, lightcurves
            shutil.rmtree(copy)
            shutil.rmtree(root / f"empty{r}")
            first_rates.append(first)
            last_rates.append(tenth)
            ratios.append(tenth / first)
            if progress:
                progress(
                    f"repeat {r + 1}: batch {n_batches} into the grown lake {tenth:.0f} files/s, "
                    f"into an empty lake {first:.0f} files/s"
                )
    return {
        "case": "growth",
        "batches": n_batches,
        "files": n_files,
        "repeats": repeats,
        "rates": [*rates, statistics.median(last_rates)],
        "first_rate": statistics.median(first_rates),
        "last_over_first": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


def report(result: dict) -> str:
    if result["case"] == "growth":
        rates = "  ".join(f"{r:.0f}" for r in result["rates"])
        return "\n".join(
            [
                f"ingest growth benchmark: {result['batches']} imports of {result['files']} new QLP-like files "
                f"into one lake",
                f"  files/s per batch    {rates}  (the last: median of {result['repeats']})",
                f"  first batch          {result['first_rate']:.0f} files/s (into an empty lake, side by side)",
                f"  last / first batch   {result['last_over_first']:8.2f}  (runs {result['ratio_min']:.2f}-"
                f"{result['ratio_max']:.2f}; target >= 0.80)",
            ]
        )
    kind = "SPOC-format" if result["case"] == "large" else "QLP-like"
    return "\n".join(
        [
            f"ingest benchmark ({result['case']}): {result['files']} {kind} files x {result['cadences_per_file']} "
            f"cadences, median of {result['repeats']}",
            f"  LARUN Lake import    {result['lake_files_per_s']:8.1f} files/s  {result['lake_cadences_per_s']:12,.0f} cadences/s",
            f"  lightkurve.read loop {result['lightkurve_files_per_s']:8.1f} files/s  "
            f"{result['lightkurve_cadences_per_s']:12,.0f} cadences/s  ({result['lightkurve_ms_per_file']:.0f} ms a file)",
            f"  speed-up             {result['speedup']:8.1f}x  (runs {result['speedup_min']:.1f}-{result['speedup_max']:.1f}x; "
            "target >= 10x)",
            f"  lake bytes / FITS bytes {result['lake_over_fits_bytes']:.3f}  (target <= 0.45)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("large", "small", "growth", "all"), default="all")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--cadences", type=int, default=18000)
    parser.add_argument("--small-files", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.case in ("large", "all"):
        print(report(run(args.files, args.cadences, args.workers, args.repeats)), flush=True)
    if args.case in ("small", "all"):
        print(report(run_small(args.small_files, args.workers, args.repeats)), flush=True)
    if args.case in ("growth", "all"):
        growth = run_growth(
            args.batches,
            args.small_files,
            args.workers,
            args.repeats,
            progress=lambda line: print("  " + line, flush=True),
        )
        print(report(growth), flush=True)


if __name__ == "__main__":
    main()
