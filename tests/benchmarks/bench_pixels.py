"""Pixel benchmarks: light curves from target pixel files and TESScut cutouts, LARUN Lake against a
`lightkurve.read(f).to_lightcurve()` loop over the same files, side by side in one run.

    python -m tests.benchmarks.bench_pixels [--case tpf|cutouts|growth|all] [--repeats 3]

tpf      --tpfs generated SPOC target pixel files (11x11 stamps, --cadences 18000, distinct TICs)
cutouts  --cutouts TESScut cutouts (11x11) cut by astrocut from one synthetic FFI cube of --ffis FFIs,
         written as TESScut serves them; a star sits near each cutout's centre
growth   the --tpfs files imported in batches of --batch into one lake: the per-file cost of the
         last batch against the first (side by side, see run_growth) shows whether it stays flat

Contenders, over the same files with the page cache warm for each:
  cli         the whole `larun-lake import FOLDER` a user waits for: a new process and a new lake,
              start-up and catalog creation included
  import      `Lake.import_files` in-process, into a new lake whose catalog exists
  photometry  the lake's photometry alone, one file after another in one process:
              read_pixel_file + resolve_aperture + aperture_photometry
  lightkurve  `lightkurve.read(f).to_lightcurve()` per file (default aperture, as the lake's default)
and, for scale, the least any import that identifies and keeps the files must do with their bytes:
  bytes       SHA-256 of each file and a copy of it into a folder, one process

Each case runs --repeats times with the contenders alternating, and reports medians and speed-ups
(lightkurve's time over the contender's, the median of the per-repeat ratios) rather than bare
seconds: the machine is shared, so only contenders measured side by side compare. The load average
is recorded. Every run checks that the lake's light curves equal lightkurve's, cadence for cadence.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from larun_lake import Lake
from larun_lake.pixels import aperture_photometry, read_pixel_file, resolve_aperture
from tests.pixelgen import make_spoc_tpf

REPO = Path(__file__).resolve().parents[2]
FIRST_TIC = 410_000_000
STAMP = (11, 11)
CONTENDERS = ("cli", "import", "photometry", "bytes", "lightkurve")


# ---------------------------------------------------------------- files


def make_tpfs(folder: Path, n_files: int, n_cadences: int = 18000, shape: tuple[int, int] = STAMP) -> list[Path]:
    """SPOC target pixel files of distinct TICs, one sector."""
    return [make_spoc_tpf(folder, FIRST_TIC + i, 7, n_cadences=n_cadences, shape=shape, seed=i) for i in range(n_files)]


def make_cutouts(folder: Path, scratch: Path, n_cutouts: int, n_ffis: int = 1000, size: int = 11) -> list[Path]:
    """Cutouts astrocut cuts from one synthetic FFI cube, in TESScut's file layout and names.

    The cube's image is big enough that the cutouts, centred at random positions at least a
    half-stamp from its edges, overlap only partly; a star is put near each cutout's centre.
    """
    from astrocut import TessCubeCutout
    from astropy.coordinates import SkyCoord
    from astropy.wcs import WCS

    from tests.mast_server.ffi import SectorSpec, Star, make_cube, sector_wcs

    side = max(64, int(np.ceil(np.sqrt(n_cutouts) * size / 1.5)))
    spec = SectorSpec(9, 2, 3, 120.0, -40.0, size=side, n_ffis=n_ffis, tstart=1543.2)
    rng = np.random.default_rng(10)
    xy = rng.uniform(size / 2 + 1, side - size / 2 - 2, size=(n_cutouts, 2))
    star_xy = xy + rng.uniform(-0.8, 0.8, size=xy.shape)
    wcs = WCS(sector_wcs(spec))
    stars = tuple(
        Star(FIRST_TIC + 100_000 + i, float(ra), float(dec), float(rng.uniform(5e3, 6e4)))
        for i, (ra, dec) in enumerate(wcs.all_pix2world(star_xy, 0))
    )
    scratch.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cube = make_cube(spec, scratch, stars)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for ra, dec in wcs.all_pix2world(xy, 0):
            cutter = TessCubeCutout(str(cube), SkyCoord(ra, dec, unit="deg"), cutout_size=size)
            out += [Path(p) for p in cutter.write_as_tpf(str(folder), legacy_filenames=True)]
    cube.unlink()
    return out


# ---------------------------------------------------------------- contenders


def _warm(files: list[Path]) -> None:
    """The same start for every contender: what earlier steps wrote is on disk (gigabytes of copies
    written back during a later contender would slow it), and every input file is in the page cache."""
    os.sync()
    for f in files:
        f.read_bytes()


def _cli_import(folder: Path, lake: Path, workers: int) -> None:
    """`larun-lake import` as a new process running this checkout's code."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    args = ["--lake", str(lake), "-q", "import", str(folder), "--workers", str(workers)]
    done = subprocess.run([sys.executable, "-m", "larun_lake", *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])


def _lake_import(folder: Path, lake: Lake, n_files: int, workers: int) -> None:
    report = lake.import_files([folder], workers=workers)
    assert report.ingested == n_files, (report.ingested, report.problems[:3])


def _photometry(files: list[Path]) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for f in files:
        pixels = read_pixel_file(f)
        out[f.name] = aperture_photometry(pixels, resolve_aperture(pixels, "default").mask)
    return out


def _bytes_floor(files: list[Path], folder: Path) -> None:
    folder.mkdir()
    for f in files:
        with open(f, "rb") as fh:
            hashlib.file_digest(fh, "sha256")
        shutil.copyfile(f, folder / f.name)
    shutil.rmtree(folder)


def _lightkurve(files: list[Path]) -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lightkurve as lk

        return {f.name: lk.read(str(f)).to_lightcurve() for f in files}


def _new_lake(path: Path) -> Lake:
    lake = Lake(path)
    lake.catalog.create_if_missing()  # one-time set-up, not part of the rate
    return lake


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


# ---------------------------------------------------------------- agreement


def check_agreement(lake: Lake, curves: dict[str, object], photometry: dict[str, dict] | None = None) -> int:
    """The lake's light curves (as stored, and as the photometry contender made them) equal lightkurve's.

    Compared on the cadences lightkurve keeps (its default quality mask, NaN fluxes removed):
    time, flux, flux error and cadence number, exactly. Returns the number of light curves compared.
    """
    names = dict(
        lake.sql(
            "SELECT l.lc_id, p.file_name FROM lightcurves l JOIN pixel_files p ON p.file_sha256 = l.pixel_sha256"
        ).fetchall()
    )
    assert sorted(names.values()) == sorted(curves), "the lake holds other files than lightkurve read"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cutouts have no target id (NULL)
        table = lake.materialize("SELECT lc_id FROM lightcurves", normalize=False).to_pandas()
    for lc_id, rows in table.groupby("lc_id", observed=True):
        theirs = curves[names[lc_id]].remove_nans()
        assert len(rows) == len(theirs) > 0, (lc_id, len(rows), len(theirs))
        for ours, column in ((rows, "time"), (rows, "flux"), (rows, "flux_err"), (rows, "cadenceno")):
            assert np.array_equal(ours[column].to_numpy(), np.asarray(getattr(theirs, column).value)), (lc_id, column)
    for name, columns in (photometry or {}).items():
        lc = curves[name]
        keep = np.isin(columns["cadenceno"], np.asarray(lc.cadenceno.value))
        assert np.array_equal(columns["flux"][keep], np.asarray(lc.flux.value), equal_nan=True), name
    return len(names)


# ---------------------------------------------------------------- cases


def side_by_side(files: list[Path], folder: Path, root: Path, workers: int, repeats: int) -> dict[str, object]:
    """Every contender over the same files, `repeats` times, alternating; medians and ratios."""
    seconds: dict[str, list[float]] = {c: [] for c in CONTENDERS}
    lake_bytes = raw_bytes = compared = 0
    load = [os.getloadavg()[0]]
    _lightkurve(files[:1])  # imported and warmed up once, as in a session that uses it
    for i in range(repeats):
        _warm(files)
        s, curves = _timed(lambda: _lightkurve(files))
        seconds["lightkurve"].append(s)
        _warm(files)
        s, phot = _timed(lambda: _photometry(files))
        seconds["photometry"].append(s)
        _warm(files)
        s, _ = _timed(lambda i=i: _bytes_floor(files, root / f"copy{i}"))
        seconds["bytes"].append(s)
        lake = _new_lake(root / f"lake{i}")
        _warm(files)
        s, _ = _timed(lambda lake=lake: _lake_import(folder, lake, len(files), workers))
        seconds["import"].append(s)
        if i == 0:  # the stored light curves equal what lightkurve made in this run
            compared = check_agreement(lake, curves, phot)
        lake_bytes = sum(p.stat().st_size for p in (root / f"lake{i}" / "cadences").rglob("*.parquet"))
        raw_bytes = sum(p.stat().st_size for p in (root / f"lake{i}" / "raw").rglob("*.fits"))
        shutil.rmtree(root / f"lake{i}")
        del curves, phot
        _warm(files)
        s, _ = _timed(lambda i=i: _cli_import(folder, root / f"cli{i}", workers))
        seconds["cli"].append(s)
        n = Lake(root / f"cli{i}").sql("SELECT count(*) FROM lightcurves").fetchall()[0][0]
        assert n == len(files), n
        shutil.rmtree(root / f"cli{i}")
        load.append(os.getloadavg()[0])
    n = len(files)
    lk = seconds["lightkurve"]
    result: dict[str, object] = {
        "files": n,
        "repeats": repeats,
        "file_mb": sum(f.stat().st_size for f in files) / n / 1e6,
        "lake_over_fits_bytes": lake_bytes / sum(f.stat().st_size for f in files),
        "raw_kept_bytes": raw_bytes,
        "compared": compared,
        "load": (min(load), max(load)),
    }
    for c in CONTENDERS:
        result[f"{c}_ms_per_file"] = 1000 * statistics.median(seconds[c]) / n
        if c != "lightkurve":
            ratios = [a / b for a, b in zip(lk, seconds[c], strict=True)]
            result[f"{c}_speedup"] = (statistics.median(ratios), min(ratios), max(ratios))
    return result


def run_tpf(n_files: int = 50, n_cadences: int = 18000, workers: int = 0, repeats: int = 3) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generated, files = _timed(lambda: make_tpfs(root / "tpf", n_files, n_cadences))
        result = side_by_side(files, root / "tpf", root, workers, repeats)
    return {**result, "case": "tpf", "cadences": n_cadences, "generate_s": generated}


def run_cutouts(n_files: int = 200, n_ffis: int = 1000, workers: int = 0, repeats: int = 3) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generated, files = _timed(lambda: make_cutouts(root / "cutouts", root / "cube", n_files, n_ffis))
        assert len(files) == n_files, len(files)
        result = side_by_side(files, root / "cutouts", root, workers, repeats)
    return {**result, "case": "cutouts", "cadences": n_ffis, "generate_s": generated}


def run_growth(
    n_files: int = 50, batch: int = 10, n_cadences: int = 18000, workers: int = 0, repeats: int = 3
) -> dict[str, object]:
    """The per-file cost of the last of the batches imported into one lake, against the first.

    The lake is grown with all batches but the last (their costs are reported). Then, to keep the
    shared machine's changing load out of the ratio, the last batch is imported side by side,
    `repeats` times in alternating order: into an empty lake (the cost of a first batch) and into a
    copy of the grown lake. The copy leaves out the kept FITS files (raw/), which an import of new
    files never reads; the ratio is the median over those pairs.
    """
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_tpfs(root / "all", n_files, n_cadences)
        folders = []
        for b in range(0, n_files, batch):
            folder = root / f"batch{b // batch:02d}"
            folder.mkdir()
            for f in files[b : b + batch]:
                f.rename(folder / f.name)
            folders.append(folder)
        load = [os.getloadavg()[0]]
        grown = _new_lake(root / "grown")
        sequence = []
        for folder in folders[:-1]:
            group = sorted(folder.iterdir())
            _warm(group)
            s, _ = _timed(lambda f=folder, g=group: _lake_import(f, grown, len(g), workers))
            sequence.append(1000 * s / len(group))
        last = sorted(folders[-1].iterdir())
        first_ms, last_ms = [], []
        for r in range(repeats):
            copy = root / f"grown{r}"
            shutil.copytree(root / "grown", copy, ignore=shutil.ignore_patterns("raw"))
            lakes = [("empty", _new_lake(root / f"empty{r}")), ("grown", Lake(copy))]
            for name, lake in lakes if r % 2 == 0 else lakes[::-1]:
                _warm(last)
                s, _ = _timed(lambda lake=lake: _lake_import(folders[-1], lake, len(last), workers))
                (first_ms if name == "empty" else last_ms).append(1000 * s / len(last))
            n = Lake(copy).sql("SELECT count(*) FROM lightcurves").fetchall()[0][0]
            assert n == n_files, n
            shutil.rmtree(copy)
            shutil.rmtree(root / f"empty{r}")
            load.append(os.getloadavg()[0])
    ratios = [b / a for a, b in zip(first_ms, last_ms, strict=True)]
    return {
        "case": "growth",
        "files": n_files,
        "batch": batch,
        "cadences": n_cadences,
        "repeats": repeats,
        "ms_per_file": [*sequence, statistics.median(last_ms)],
        "first_ms": statistics.median(first_ms),
        "last_over_first": statistics.median(ratios),
        "ratio_range": (min(ratios), max(ratios)),
        "load": (min(load), max(load)),
    }


# ---------------------------------------------------------------- report


def report(result: dict) -> str:
    lo, hi = result["load"]
    if result["case"] == "growth":
        costs = "  ".join(f"{c:.0f}" for c in result["ms_per_file"])
        r_lo, r_hi = result["ratio_range"]
        return "\n".join(
            [
                f"pixel import growth: {result['files']} SPOC target pixel files x {result['cadences']} cadences "
                f"in batches of {result['batch']} into one lake, median of {result['repeats']} (load {lo:.1f}-{hi:.1f})",
                f"  ms per file, batch by batch   {costs}  (the last: median of {result['repeats']})",
                f"  the last batch into an empty lake, side by side: {result['first_ms']:.0f} ms per file",
                f"  last / first batch            {result['last_over_first']:.2f}  (runs {r_lo:.2f}-{r_hi:.2f}; "
                "flat is 1.0)",
            ]
        )
    kind = "SPOC target pixel files" if result["case"] == "tpf" else "TESScut cutouts"
    labels = {
        "cli": "larun-lake import (process)",
        "import": "Lake.import_files",
        "photometry": "photometry alone, 1 process",
        "bytes": "(SHA-256 + copy, 1 process)",
        "lightkurve": "lightkurve read+to_lightcurve",
    }
    lines = [
        f"pixel benchmark ({result['case']}): {result['files']} {kind}, 11x11 x {result['cadences']} cadences, "
        f"{result['file_mb']:.1f} MB a file, median of {result['repeats']} (load {lo:.1f}-{hi:.1f}; "
        f"files made in {result['generate_s']:.0f} s)",
        f"  {'contender':<31} {'ms/file':>8} {'lightkurve / it':>16}",
    ]
    for c in CONTENDERS:
        ms = result[f"{c}_ms_per_file"]
        if c == "lightkurve":
            lines.append(f"  {labels[c]:<31} {ms:8.1f} {'1.0x':>16}")
        else:
            med, s_lo, s_hi = result[f"{c}_speedup"]
            lines.append(f"  {labels[c]:<31} {ms:8.1f} {med:15.1f}x  (runs {s_lo:.1f}-{s_hi:.1f}x)")
    lines.append(
        f"  lake cadence bytes / FITS bytes {result['lake_over_fits_bytes']:.3f}; FITS kept in raw/: "
        f"{result['raw_kept_bytes'] / 1e6:.0f} MB; {result['compared']} light curves equal lightkurve's"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("tpf", "cutouts", "growth", "all"), default="all")
    parser.add_argument("--tpfs", type=int, default=50)
    parser.add_argument("--cadences", type=int, default=18000)
    parser.add_argument("--cutouts", type=int, default=200)
    parser.add_argument("--ffis", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.case in ("tpf", "all"):
        print(report(run_tpf(args.tpfs, args.cadences, args.workers, args.repeats)), flush=True)
    if args.case in ("cutouts", "all"):
        print(report(run_cutouts(args.cutouts, args.ffis, args.workers, args.repeats)), flush=True)
    if args.case in ("growth", "all"):
        growth = run_growth(args.tpfs, args.batch, args.cadences, args.workers, args.repeats)
        print(report(growth), flush=True)


if __name__ == "__main__":
    main()
