"""Materialize benchmark: LARUN Lake against a lightkurve loop and a hand-written fitsio loop, in one run.

    python -m tests.benchmarks.bench_materialize [--sizes 1,10,100,1000] [--memory 5000]

Generated SPOC light curves (~18,000 cadences each) are imported into one lake; each size
selects that many of them. Every contender does the same job on the same light curves: the
default quality mask, NaNs removed, each light curve divided by its median flux.

  lake -> pandas   materialize(...).to_pandas(): one long DataFrame (ids, time, flux, flux_err,
                   quality, cadenceno)
  lake -> Parquet  materialize(...).write(...): the same rows in a Parquet file, manifest and set
  lightkurve       [lightkurve.read(f).remove_nans().normalize() for f in files]
  fitsio + numpy   fitsio.read of the five columns, mask, drop NaNs, divide by nanmedian, then
                   one DataFrame with the same columns (the best a skilled user would write)

Times are medians of three runs (one run for lightkurve beyond 10 files); peak resident memory
of the largest size is measured in fresh processes. --memory N materializes N light curves
into Parquet in a fresh process and reports its peak RSS (it takes minutes).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from larun_lake import Lake
from larun_lake.materialize import materialize
from tests.fitsgen import make_spoc_set

DEFAULT_SIZES = (1, 10, 100, 1000)
COLUMNS = ["TIME", "PDCSAP_FLUX", "PDCSAP_FLUX_ERR", "QUALITY", "CADENCENO"]


def _timed(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
        del result
    return statistics.median(times)


def _selection(n: int) -> str:
    return f"SELECT lc_id FROM lightcurves ORDER BY lc_id LIMIT {n}"


def fitsio_loop(files: list[Path], bitmask: int) -> pd.DataFrame:
    """Read, mask, drop NaNs and normalize with fitsio and numpy; one long DataFrame."""
    import fitsio

    parts: dict[str, list[np.ndarray]] = {name: [] for name in COLUMNS}
    counts = []
    for path in files:
        data = fitsio.read(str(path), ext=1, columns=COLUMNS)
        time_, flux, quality = data["TIME"], data["PDCSAP_FLUX"], data["QUALITY"]
        keep = ~np.isnan(time_) & ((quality & bitmask) == 0)
        median = np.nanmedian(flux[keep])
        keep &= ~np.isnan(flux)
        parts["TIME"].append(time_[keep].astype(np.float64))
        parts["PDCSAP_FLUX"].append((flux[keep] / median).astype(np.float32))
        parts["PDCSAP_FLUX_ERR"].append((data["PDCSAP_FLUX_ERR"][keep] / median).astype(np.float32))
        parts["QUALITY"].append(quality[keep].astype(np.int32))
        parts["CADENCENO"].append(data["CADENCENO"][keep].astype(np.int32))
        counts.append(int(keep.sum()))
    codes = np.repeat(np.arange(len(files), dtype=np.int16), counts)
    frame = pd.DataFrame({"lc": pd.Categorical.from_codes(codes, [p.name for p in files])})
    for name, key in zip(("time", "flux", "flux_err", "quality", "cadenceno"), COLUMNS, strict=True):
        frame[name] = np.concatenate(parts[key])
    return frame


def lightkurve_loop(files: list[Path]) -> list:
    import lightkurve as lk

    return [lk.read(str(f)).remove_nans().normalize() for f in files]


def _peak_rss(lake: Path, n: int, how: str, out: Path) -> dict[str, float]:
    """Peak resident memory (MB) and seconds of one materialization in a fresh process."""
    # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child would report the parent's peak.
    code = (
        "import json, resource, sys, time\n"
        "from larun_lake import Lake\n"
        "from larun_lake.materialize import materialize\n"
        "lake, sql, how, out = sys.argv[1:5]\n"
        "start = time.perf_counter()\n"
        "lcs = materialize(Lake(lake), sql, normalize=True)\n"
        "rows = len(lcs.to_pandas()) if how == 'pandas' else lcs.write(out, overwrite=True).n_rows\n"
        "seconds = time.perf_counter() - start\n"
        "try:\n"
        "    status = open('/proc/self/status').read()\n"
        "    peak = int(status.split('VmHWM:')[1].split()[0]) / 1024\n"
        "except OSError:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'peak_mb': peak, 'seconds': seconds, 'rows': rows}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(lake), _selection(n), how, str(out)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _build(root: Path, n_files: int, chunk: int = 500) -> tuple[Lake, dict[str, Path]]:
    """Generate and import n_files SPOC light curves, in chunks so FITS files need not all exist at once."""
    lake = Lake(root / "lake")
    files: dict[str, Path] = {}
    for start in range(0, n_files, chunk):
        folder = root / f"fits{start}"
        made = make_spoc_set(folder, min(chunk, n_files - start), seed=1, first_tic=100000000 + start // 2)
        report = lake.import_files([folder])
        assert report.ingested == len(made), report.problems[:3]
        files.update({p.name: p for p in made})
    return lake, files


def ours_rows(lake: Lake, sql: str) -> int:
    return lake.sql(f"SELECT sum(row_count) FROM lightcurves WHERE lc_id IN ({sql})").fetchall()[0][0]


def _measure(lake: Lake, sql: str, out: Path, files: list[Path], bitmask: int) -> dict[str, float]:
    return {
        "lake_pandas_s": _timed(lambda: materialize(lake, sql, normalize=True).to_pandas(), 3),
        "lake_parquet_s": _timed(lambda: materialize(lake, sql, normalize=True).write(out, overwrite=True), 3),
        "fitsio_s": _timed(lambda: fitsio_loop(files, bitmask), 3),
        "lightkurve_s": _timed(lambda: lightkurve_loop(files), 3 if len(files) <= 10 else 1),
    }


def run(sizes: list[int] | tuple[int, ...] = DEFAULT_SIZES) -> list[dict]:
    """Each size measured side by side in this process; the last row also has peak memory."""
    warnings.simplefilter("ignore")
    import lightkurve  # noqa: F401  (import cost outside the timings)

    from larun_lake.quality import bitmask_for

    bitmask = bitmask_for("TESS", "SPOC", "default")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lake, by_name = _build(root, max(sizes))
        for n in sorted(sizes):
            names = lake.sql(
                "SELECT file_name FROM lightcurves WHERE lc_id IN (" + _selection(n) + ") ORDER BY lc_id"
            ).fetchall()
            files = [by_name[name] for (name,) in names]
            for f in files:  # the same warm page cache for every contender
                f.read_bytes()
            out = root / f"set{n}.parquet"
            sql = _selection(n)
            reference = fitsio_loop(files, bitmask)
            ours = materialize(lake, sql, normalize=True).to_pandas()
            assert len(ours) == len(reference), (len(ours), len(reference))  # the same job
            np.testing.assert_array_equal(np.sort(ours["flux"].to_numpy()), np.sort(reference["flux"].to_numpy()))
            del ours, reference
            row = {"n": n, "cadences": int(ours_rows(lake, sql))}
            row.update(_measure(lake, sql, out, files, bitmask))
            row["pandas_vs_lightkurve"] = row["lightkurve_s"] / row["lake_pandas_s"]
            row["pandas_vs_fitsio"] = row["fitsio_s"] / row["lake_pandas_s"]
            row["parquet_vs_lightkurve"] = row["lightkurve_s"] / row["lake_parquet_s"]
            rows.append(row)
        largest = rows[-1]
        largest["peak_pandas_mb"] = _peak_rss(lake.path, largest["n"], "pandas", root / "peak.parquet")["peak_mb"]
        largest["peak_parquet_mb"] = _peak_rss(lake.path, largest["n"], "parquet", root / "peak.parquet")["peak_mb"]
    return rows


def run_memory(n: int) -> dict:
    """Materialize n light curves into Parquet in a fresh process; peak RSS must stay bounded."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        lake, _ = _build(root, n)
        build_s = time.perf_counter() - start
        for folder in root.glob("fits*"):  # only the lake is needed from here on
            for f in folder.iterdir():
                f.unlink()
        result = _peak_rss(lake.path, n, "parquet", root / "memory.parquet")
        result.update(n=n, build_s=build_s, output_mb=(root / "memory.parquet").stat().st_size / 1e6)
    return result


def report(rows: list[dict]) -> str:
    lines = [
        "materialize benchmark: generated SPOC light curves (~18,000 cadences), default mask, NaNs out, normalized",
        f"{'n':>5} {'cadences':>11} {'lake->pandas':>13} {'lake->parquet':>14} {'fitsio':>9} {'lightkurve':>11}"
        f" {'pandas/lk':>10} {'pandas/fitsio':>14} {'parquet/lk':>11}",
    ]
    for r in rows:
        lines.append(
            f"{r['n']:>5} {r['cadences']:>11,} {r['lake_pandas_s']:>12.3f}s {r['lake_parquet_s']:>13.3f}s"
            f" {r['fitsio_s']:>8.3f}s {r['lightkurve_s']:>10.2f}s {r['pandas_vs_lightkurve']:>9.1f}x"
            f" {r['pandas_vs_fitsio']:>13.1f}x {r['parquet_vs_lightkurve']:>10.1f}x"
        )
    last = rows[-1]
    if "peak_pandas_mb" in last:
        lines.append(
            f"peak resident memory at n={last['n']}: to_pandas {last['peak_pandas_mb']:,.0f} MB, "
            f"write parquet {last['peak_parquet_mb']:,.0f} MB (fresh processes)"
        )
    lines.append("targets at 1,000: pandas >= 100x lightkurve and >= 3x fitsio; parquet >= 40x lightkurve")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated set sizes")
    parser.add_argument("--memory", type=int, default=0, help="also materialize this many light curves into Parquet")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if sizes:
        print(report(run(sizes)), flush=True)
    if args.memory:
        m = run_memory(args.memory)
        print(
            f"memory: {m['n']} light curves, {m['rows']:,} cadences -> Parquet ({m['output_mb']:,.0f} MB) in "
            f"{m['seconds']:.1f} s, peak resident memory {m['peak_mb']:,.0f} MB (target < 2,048 MB); "
            f"lake built in {m['build_s']:.0f} s"
        )


if __name__ == "__main__":
    main()
