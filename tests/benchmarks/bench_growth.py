"""Catalog growth: what the catalog costs as a lake grows to 20,000 and 100,000 light curves.

    nice -n 10 python -m tests.benchmarks.bench_growth [--checkpoints 2000,20000,100000] [--batch 2000]
        [--cadences 200] [--sectors 5] [--repeats 5] [--json growth.json] [--workdir DIR]

One local lake is grown with batches of small generated SPOC files (new targets in every batch,
each target in every one of --sectors sectors, so every partition grows). A batch's FITS files
are deleted once imported, so disk use is the lake's own. At each checkpoint:

  catalog        catalog.duckdb bytes; the lake's data bytes (cadence Parquet) and files
  lookup         one target's rows of `lightcurves`: `larun-lake sql` as a whole process (what a
                 user waits for) and `Lake.sql` in-process; the same for a count(*) GROUP BY sector
  snapshot       `publish_snapshot()` (the end of every writing command; what a remote lake uploads)
                 and the snapshot's bytes under <lake>/_catalog/vNNNNNN/
  restore        the snapshot restored into a new catalog (`snapshot.restore`, what a reader without
                 a catalog pays), and `larun-lake rebuild-catalog` as a process on a copy of the lake
                 without its catalog (restore, then a full verify that re-hashes every data file)
  import         files/s of the next batch (its time includes the snapshot it publishes)

Times are medians of --repeats runs; the machine is shared, so the load average is recorded too.
The report ends with a least-squares line through the checkpoints, evaluated at 2M light curves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from larun_lake import Lake
from larun_lake.catalog import snapshot
from tests.fitsgen import make_spoc_set

REPO = Path(__file__).resolve().parents[2]
FIRST_TIC = 500_000_000
PROJECTION = 2_000_000  # 20,000 light curves a sector x 100 sectors


def _bytes(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def _catalog_bytes(lake: Path) -> int:
    return sum(p.stat().st_size for p in lake.glob("catalog.duckdb*") if p.is_file())  # with a WAL if any


def _catalog_used_bytes(lake: Lake) -> int:
    """Bytes of the catalog's blocks in use: its file also holds free blocks DuckDB reuses later."""
    with lake.catalog.read(sandbox=False, surface=False) as con:
        query = "SELECT block_size * used_blocks FROM pragma_database_size() WHERE database_name = 'lake'"
        return con.execute(query).fetchall()[0][0]


def _median_seconds(action, repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), runs


def _cli(*args: str) -> subprocess.CompletedProcess:
    """`larun-lake` as a new process running this checkout's code."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-m", "larun_lake", *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=3600
    )
    assert done.returncode == 0, (args, done.returncode, done.stderr[-2000:])
    return done


def _cli_seconds(args: tuple[str, ...], expect: str, repeats: int) -> tuple[float, list[float]]:
    def run() -> None:
        assert expect in _cli(*args).stdout

    return _median_seconds(run, repeats)


def _sql_seconds(lake: Path, query: str, expect_rows: int, repeats: int) -> tuple[float, list[float]]:
    def run() -> None:
        rows = Lake(lake).sql(query).arrow().num_rows
        assert rows == expect_rows, (query, rows)

    return _median_seconds(run, repeats)


def _linked_copy(lake: Path, dest: Path) -> None:
    """A copy of the lake without its catalog; data files are hard links (written once, never changed in place)."""
    shutil.copytree(
        lake,
        dest,
        copy_function=os.link,
        ignore=lambda folder, names: [n for n in names if n.startswith("catalog.duckdb")],
    )


def _restore_seconds(source: Lake, version: str, work: Path) -> tuple[float, dict[str, int]]:
    """Restore a snapshot into a new catalog in an empty lake folder (the catalog's part of a rebuild)."""
    root = work / "restored"
    shutil.rmtree(root, ignore_errors=True)
    lake = Lake(root)
    lake.catalog.create_if_missing()
    start = time.perf_counter()
    with lake.catalog.write("rebuild-catalog") as con:
        restored = snapshot.restore(con, source.layout, version)
    seconds = time.perf_counter() - start
    shutil.rmtree(root)
    return seconds, restored


def measure(lake_path: Path, work: Path, n_lightcurves: int, n_sectors: int, repeats: int) -> dict:
    """Everything measured at one checkpoint of a lake holding n_lightcurves light curves."""
    lake = Lake(lake_path)
    count = lake.sql("SELECT count(*) FROM lightcurves").arrow().column(0)[0].as_py()
    assert count == n_lightcurves, (count, n_lightcurves)
    tic = FIRST_TIC + n_lightcurves // n_sectors // 2  # a target from the middle of the lake
    lookup = f"SELECT * FROM lightcurves WHERE tic_id = {tic}"
    by_sector = "SELECT sector, count(*) AS n FROM lightcurves GROUP BY sector ORDER BY sector"
    base = ("--lake", str(lake_path), "sql")
    result: dict = {
        "lightcurves": n_lightcurves,
        "load_average": os.getloadavg()[0],
        "catalog_bytes": _catalog_bytes(lake_path),
        "catalog_used_bytes": _catalog_used_bytes(lake),
        "data_bytes": _bytes(lake_path / "cadences", "*.parquet"),
        "data_files": sum(1 for _ in (lake_path / "cadences").rglob("*.parquet")),
        "lake_bytes": _bytes(lake_path),
    }
    result["cli_startup_s"], _ = _cli_seconds(("--help",), "Usage", repeats)
    result["cli_lookup_s"], result["cli_lookup_runs"] = _cli_seconds(
        (*base, lookup, "--format", "csv"), str(tic), repeats
    )
    result["cli_by_sector_s"], result["cli_by_sector_runs"] = _cli_seconds(
        (*base, by_sector, "--format", "csv"), "sector", repeats
    )
    result["sql_lookup_s"], result["sql_lookup_runs"] = _sql_seconds(lake_path, lookup, n_sectors, repeats)
    result["sql_by_sector_s"], result["sql_by_sector_runs"] = _sql_seconds(lake_path, by_sector, n_sectors, repeats)

    result["snapshot_publish_s"], result["snapshot_publish_runs"] = _median_seconds(
        lambda: lake.catalog.publish_snapshot(), repeats
    )
    version, info = snapshot.latest(lake.layout)
    folder = lake_path / version
    result["snapshot_version"] = folder.name
    result["snapshot_bytes"] = _bytes(folder)
    result["snapshot_tables"] = {p.stem: p.stat().st_size for p in sorted(folder.glob("*.parquet"))}
    result["snapshot_rows"] = info["rows"]
    restores = [_restore_seconds(lake, version, work) for _ in range(repeats)]
    result["restore_s"] = statistics.median(s for s, _ in restores)
    result["restore_runs"] = [s for s, _ in restores]
    assert restores[0][1]["lightcurve_versions"] == n_lightcurves, restores[0][1]

    copy = work / "rebuilt"
    shutil.rmtree(copy, ignore_errors=True)
    _linked_copy(lake_path, copy)
    start = time.perf_counter()
    _cli("--lake", str(copy), "rebuild-catalog")
    result["cli_rebuild_s"] = time.perf_counter() - start
    rebuilt = Lake(copy).sql("SELECT count(*) FROM lightcurves").arrow().column(0)[0].as_py()
    assert rebuilt == n_lightcurves, rebuilt
    shutil.rmtree(copy)
    return result


def run(
    checkpoints: list[int], batch: int, n_cadences: int, n_sectors: int, repeats: int, work: Path, progress=print
) -> dict:
    """Grow one lake batch by batch, measuring at each checkpoint and the import of the batch after it."""
    if batch % n_sectors or any(c % batch for c in checkpoints):
        raise SystemExit("--batch must be a multiple of --sectors, and every checkpoint a multiple of --batch")
    sectors = tuple(range(1, n_sectors + 1))
    lake_path = work / "lake"
    lake = Lake(lake_path)
    lake.catalog.create_if_missing()
    batches, measured = [], []
    n_batches = max(checkpoints) // batch + 1  # one batch beyond the last checkpoint: its import rate
    for b in range(n_batches):
        have = b * batch
        if have in checkpoints:
            measured.append(measure(lake_path, work, have, n_sectors, repeats))
            progress(
                f"checkpoint {have:,}: "
                + ", ".join(f"{k} {v:.3g}" for k, v in measured[-1].items() if isinstance(v, float))
            )
        fits = work / "fits"
        start = time.perf_counter()
        make_spoc_set(
            fits, batch, n_cadences=n_cadences, seed=11, sectors=sectors, first_tic=FIRST_TIC + b * (batch // n_sectors)
        )
        generated = time.perf_counter() - start
        start = time.perf_counter()
        report = lake.import_files([fits])
        seconds = time.perf_counter() - start
        assert report.ingested == batch, (report.ingested, report.problems[:3])
        shutil.rmtree(fits)
        batches.append(
            {
                "lightcurves_before": have,
                "import_s": seconds,
                "files_per_s": batch / seconds,
                "generate_s": generated,
                "catalog_bytes_after": _catalog_bytes(lake_path),
                "load_average": os.getloadavg()[0],
            }
        )
        if have in checkpoints:
            measured[-1]["next_batch_files_per_s"] = batch / seconds
            measured[-1]["next_batch_import_s"] = seconds
        progress(
            f"batch {b + 1}/{n_batches}: {have + batch:,} light curves, import {batch / seconds:.0f} files/s, "
            f"catalog {batches[-1]['catalog_bytes_after'] / 1e6:.1f} MB"
        )
    return {
        "setup": {
            "batch": batch,
            "cadences_per_file": n_cadences,
            "sectors": list(sectors),
            "repeats": repeats,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "checkpoints": measured,
        "batches": batches,
        "projection": projection(measured),
    }


def measure_lakes(lakes: list[Path], n_sectors: int, repeats: int) -> dict:
    """The checkpoint measures of lakes grown earlier, taken now; smallest first."""
    measured = []
    for path in lakes:
        count = Lake(path).sql("SELECT count(*) FROM lightcurves").arrow().column(0)[0].as_py()
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:  # same filesystem: hard links work
            measured.append(measure(path, Path(tmp), count, n_sectors, repeats))
        print(f"  measured {path}: {count:,} light curves", flush=True)
    measured.sort(key=lambda m: m["lightcurves"])
    setup = {"batch": None, "cadences_per_file": None, "sectors": list(range(1, n_sectors + 1)), "repeats": repeats}
    return {"setup": setup, "checkpoints": measured, "batches": [], "projection": projection(measured)}


PROJECTED = {  # measure -> unit scale for the report
    "catalog_bytes": 1e6,
    "catalog_used_bytes": 1e6,
    "snapshot_bytes": 1e6,
    "snapshot_publish_s": 1,
    "restore_s": 1,
    "cli_lookup_s": 1,
    "sql_lookup_s": 1,
    "cli_by_sector_s": 1,
    "sql_by_sector_s": 1,
}


def projection(measured: list[dict], at: int = PROJECTION) -> dict:
    """A least-squares line y = a + b * N through the checkpoints, evaluated at N = `at`."""
    n = np.array([m["lightcurves"] for m in measured], float)
    out = {"at_lightcurves": at, "fit": "least-squares line y = a + b*N through the checkpoints"}
    for key in PROJECTED:
        y = np.array([m[key] for m in measured], float)
        slope, intercept = np.polyfit(n, y, 1) if len(n) > 1 else (0.0, y[0])
        out[key] = {"intercept": intercept, "per_lightcurve": slope, "projected": intercept + slope * at}
    return out


def report(result: dict) -> str:
    s = result["setup"]
    rows = [
        ("light curves in the lake", lambda m: f"{m['lightcurves']:,}"),
        ("catalog.duckdb", lambda m: f"{m['catalog_bytes'] / 1e6:.1f} MB"),
        ("catalog blocks in use", lambda m: f"{m['catalog_used_bytes'] / 1e6:.1f} MB"),
        ("data (cadence Parquet)", lambda m: f"{m['data_bytes'] / 1e6:.0f} MB in {m['data_files']} files"),
        ("`larun-lake sql` one-target lookup", lambda m: f"{m['cli_lookup_s']:.2f} s"),
        ("`larun-lake --help` (start-up alone)", lambda m: f"{m['cli_startup_s']:.2f} s"),
        ("`Lake.sql` one-target lookup", lambda m: f"{m['sql_lookup_s'] * 1e3:.0f} ms"),
        ("`larun-lake sql` count by sector", lambda m: f"{m['cli_by_sector_s']:.2f} s"),
        ("`Lake.sql` count by sector", lambda m: f"{m['sql_by_sector_s'] * 1e3:.0f} ms"),
        ("publish a snapshot", lambda m: f"{m['snapshot_publish_s']:.2f} s"),
        ("snapshot size", lambda m: f"{m['snapshot_bytes'] / 1e6:.1f} MB"),
        ("restore the snapshot into a new catalog", lambda m: f"{m['restore_s']:.2f} s"),
        ("`larun-lake rebuild-catalog` (restore + verify)", lambda m: f"{m['cli_rebuild_s']:.1f} s"),
        (
            f"import of the next {s['batch']:,} files" if s["batch"] else "import of the next batch",
            lambda m: (
                f"{m['next_batch_import_s']:.1f} s ({m['next_batch_files_per_s']:.0f} files/s)"
                if "next_batch_import_s" in m
                else "-"
            ),
        ),
        ("load average (1 min)", lambda m: f"{m['load_average']:.1f}"),
    ]
    checkpoints = result["checkpoints"]
    lines = [
        f"catalog growth: SPOC files of {s['cadences_per_file'] or '?'} cadences, sectors {s['sectors'][0]}-"
        f"{s['sectors'][-1]}, imported {s['batch'] or '?'} at a time; medians of {s['repeats']}",
        "",
        "| measure | " + " | ".join(f"{m['lightcurves']:,}" for m in checkpoints) + " |",
        "| --- |" + " --- |" * len(checkpoints),
    ]
    lines += [f"| {name} | " + " | ".join(cell(m) for m in checkpoints) + " |" for name, cell in rows[1:]]
    p = result["projection"]
    lines += ["", f"projected to {p['at_lightcurves']:,} light curves ({p['fit']}):"]
    for key, scale in PROJECTED.items():
        unit = "MB" if scale == 1e6 else "s"
        fit = p[key]
        lines.append(
            f"  {key:20s} {fit['projected'] / scale:10.2f} {unit}  "
            f"(a = {fit['intercept'] / scale:.3g} {unit}, b = {fit['per_lightcurve'] * 1e6 / scale:.3g} "
            f"{unit} per million light curves)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoints", default="2000,20000,100000")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--cadences", type=int, default=200)
    parser.add_argument("--sectors", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--workdir", type=Path, help="grow the lake here and keep it (default: a temporary folder)")
    parser.add_argument(
        "--measure",
        type=Path,
        nargs="+",
        metavar="LAKE",
        help="only measure these grown lakes (<workdir>/lake of earlier runs), one after another, so that "
        "checkpoints taken at different loads of a shared machine can be compared side by side",
    )
    args = parser.parse_args()
    if args.measure:
        result = measure_lakes(args.measure, args.sectors, args.repeats)
        if args.json:
            args.json.write_text(json.dumps(result, indent=1, default=float))
        print(report(result), flush=True)
        return
    checkpoints = sorted(int(c) for c in args.checkpoints.split(","))

    def grow(work: Path) -> dict:
        return run(
            checkpoints,
            args.batch,
            args.cadences,
            args.sectors,
            args.repeats,
            work,
            progress=lambda line: print("  " + line, flush=True),
        )

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = grow(args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="larun-growth-") as tmp:
            result = grow(Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    print(report(result), flush=True)


if __name__ == "__main__":
    main()
