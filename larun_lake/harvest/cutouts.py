"""`larun-lake harvest cutouts`: TESScut cutouts of full-frame images, kept in the lake with their light curves.

Most TESS stars have no 2-minute light curve; their pixels are in the full-frame images, which
TESScut cuts around a position. A cutout is a product whose identity is its sector, camera, CCD,
position (rounded to 1e-4 degree) and size, so asking again with the same size fetches nothing and
a bigger size is another product. Positions of TIC ids come from one TIC query; the sectors of each
target from one TESScut request (astroquery's `Tesscut`). The cutouts are then downloaded
concurrently with the light curves' retries (Retry-After honoured, short bodies retried), each zip
checked (a corrupt one is fetched once more, then quarantined), and the FITS file inside is kept in
the raw area (raw/tesscut/<sector>/<file>) and ingested with its light curve.
"""

from __future__ import annotations

import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..catalog import Catalog, runs
from ..catalog import products as product_rows
from ..config import Settings
from ..errors import LakeWriteError, UsageError
from ..ingest.convert import InputFile
from ..ingest.importer import Ingestor, storage_reason
from ..lake import files
from ..layout import period_key
from ..mast.download import DownloadJob, DownloadResult, download_all
from ..pixels.spec import aperture_spec
from .lightcurves import HarvestReport
from .plan import kept_files_gone, kept_in_lake
from .progress import ProgressFn, ProgressState
from .targets import Target

INGEST_GROUP_FILES = 16
DONE_STATES = ("ingested", "superseded", "skipped")
CORRUPT_ZIP = "truncated or corrupt cutout zip after a second download"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._+-]+\.fits$")


@dataclass(frozen=True)
class Cutout:
    """One cutout product: a target's position in one sector's FFIs, at one size."""

    label: str  # how the user named the target
    tic_id: int | None
    ra: float
    dec: float
    sector_name: str  # tess-s0001-1-3
    sector: int
    camera: int
    ccd: int
    columns: int
    rows: int

    @property
    def uri(self) -> str:
        return f"tesscut:{self.sector_name}/{self.ra:.4f}{self.dec:+.4f}/{self.columns}x{self.rows}"

    @property
    def period(self) -> str:
        return period_key("TESS", self.sector)

    def url(self, tesscut_url: str) -> str:
        # As astroquery joins it: by hand, not URL-encoded.
        return (f"{tesscut_url}astrocut?x={self.columns}&y={self.rows}&units=px&sector={self.sector}"
                f"&ra={self.ra}&dec={self.dec}")

    def zip_name(self) -> str:
        return f"{self.sector_name}_{self.ra:.4f}_{self.dec:+.4f}_{self.columns}x{self.rows}.zip"


def parse_size(text: str | int | None) -> tuple[int, int]:
    """'11' or '11x15' (columns x rows) -> (columns, rows) in pixels."""
    raw = str(text if text is not None else 11).strip().lower()
    m = re.fullmatch(r"(\d+)(?:\s*x\s*(\d+))?", raw)
    if not m:
        raise UsageError(f"--size {text!r} is not a cutout size", hint="give pixels: 11, or columns x rows: 11x15")
    columns, rows = int(m.group(1)), int(m.group(2) or m.group(1))
    if not (1 <= columns <= 100 and 1 <= rows <= 100):
        raise UsageError(f"--size {text!r} is out of range", hint="TESScut cuts 1 to 100 pixels a side")
    return columns, rows


class CutoutHarvest:
    def __init__(self, catalog: Catalog, settings: Settings, client: Any, *, workers: int = 8,
                 aperture: Any = "default", progress: ProgressFn | None = None) -> None:
        self.catalog = catalog
        self.layout = catalog.layout
        self.settings = settings
        self.client = client
        self.workers = workers
        self.aperture = aperture_spec(aperture)
        self.progress = ProgressState(progress)

    def run(self, targets: list[Target], size: tuple[int, int], *, sectors: set[int] | None = None,
            dry_run: bool = False, retry_quarantined: bool = False, parameters: dict | None = None) -> HarvestReport:
        self.catalog.create_if_missing()
        run_id = runs.new_run_id()
        report = HarvestReport(run_id=run_id)
        start = time.monotonic()
        if not dry_run:
            with self.catalog.write("harvest cutouts") as con:
                runs.start_run(con, run_id, "harvest cutouts", parameters or {}, mast_url=self.settings.mast_url)
        failed = False
        try:
            cutouts = self._list(targets, size, sectors)
            report.n_products = len(cutouts)
            todo, kept, held = self._plan(cutouts, retry_quarantined)
            report.in_lake, report.n_to_fetch, report.reused = held, len(todo), len(kept)
            if not dry_run:
                self._register(todo + kept, run_id)
                self._fetch(todo, kept, run_id, report)
        except KeyboardInterrupt:
            report.interrupted = True
        except OSError as exc:
            failed = True
            raise LakeWriteError(self.layout.url, storage_reason(exc)) from exc
        except BaseException:
            failed = True
            raise
        finally:
            report.seconds = time.monotonic() - start
            report.metadata_requests = int(getattr(self.client, "requests_total", 0) or 0)
            if not dry_run:
                status = "error" if failed else "interrupted" if report.interrupted else (
                    "ok" if report.ok else "partial")
                try:
                    with self.catalog.write("harvest cutouts") as con:
                        runs.finish_run(con, run_id, status, report.counts())
                except Exception:
                    if not failed:
                        raise
            self.progress.update(phase="done", detail="")
        return report

    # -- what to fetch -------------------------------------------------------------------------
    def _list(self, targets: list[Target], size: tuple[int, int], sectors: set[int] | None) -> list[Cutout]:
        """Every (target, sector) cutout TESScut has: one TIC query for the ids, one sector request per target."""
        positions: list[tuple[str, int | None, float, float]] = []
        ids = [t.target_id for t in targets if t.mission == "TESS" and t.target_id is not None]
        if any(t.mission not in (None, "TESS") for t in targets):
            raise UsageError("cutouts are of TESS full-frame images: name TIC ids or object names")
        found: dict[int, tuple[float, float]] = {}
        if ids:
            self.progress.update(phase="searching", detail=f"TIC positions of {len(ids)} target(s)")
            for row in self.client.tic_by_ids(ids):
                if row.get("ra") is not None and row.get("dec") is not None:
                    found[int(row["ID"])] = (float(row["ra"]), float(row["dec"]))
        for t in targets:
            if t.target_id is not None:
                if t.target_id not in found:
                    raise UsageError(f"TIC {t.target_id} is not in the TIC at MAST", hint="check the id")
                positions.append((t.label, t.target_id, *found[t.target_id]))
            else:
                positions.append((t.label, None, *self.client.resolve(t.name)))
        cutouts = []
        for label, tic, ra, dec in positions:
            self.progress.update(phase="searching", detail=f"TESScut sectors of {label}")
            for s in self.client.tesscut_sectors(ra, dec):
                if sectors is None or s["sector"] in sectors:
                    cutouts.append(Cutout(label, tic, ra, dec, s["sectorName"], s["sector"], s["camera"], s["ccd"],
                                          *size))
        return list({c.uri: c for c in cutouts}.values())

    def _plan(self, cutouts: list[Cutout], retry_quarantined: bool) -> tuple[list[Cutout], list[Cutout], int]:
        """(to download, complete files already in the raw area, count already in the lake)."""
        with self.catalog.read(sandbox=False, surface=False) as con:
            state = dict(con.execute(
                "SELECT product_uri, state FROM lake.products WHERE product_uri IN (SELECT unnest(?))",
                [[c.uri for c in cutouts]]).fetchall())
        gone = kept_files_gone(self.catalog, [c.uri for c in cutouts])  # fetched again to put them back
        todo, kept, held = [], [], 0
        for c in cutouts:
            st = state.get(c.uri)
            if st in DONE_STATES and c.uri not in gone and (self.aperture.name == "default" or not self._extracted(c)):
                held += 1  # (another aperture is made from the kept file, where this machine has it)
            elif st == "quarantined" and not retry_quarantined:
                continue
            elif self._extracted(c) is not None:
                kept.append(c)  # an interrupted run got as far as the FITS file
            else:
                todo.append(c)
        return todo, kept, held

    def _register(self, cutouts: list[Cutout], run_id: str) -> None:
        rows = [{"product_uri": c.uri, "product_type": "ffi_cutout", "state": "known", "mission": "TESS",
                 "author": "TESScut", "target_id": c.tic_id, "obs_collection": "TESScut", "obs_id": c.sector_name,
                 "run_id": run_id} for c in cutouts]
        with self.catalog.write("harvest cutouts") as con:
            existing = {r[0] for r in con.execute(
                "SELECT product_uri FROM lake.products WHERE product_uri IN (SELECT unnest(?))",
                [[r["product_uri"] for r in rows]]).fetchall()}
            product_rows.upsert_many(con, [r for r in rows if r["product_uri"] not in existing])

    # -- fetching ------------------------------------------------------------------------------
    def _zip_path(self, c: Cutout) -> Path:
        return self.layout.download_root / "raw" / "tesscut" / "_downloads" / c.zip_name()

    def _folder(self, c: Cutout) -> Path:
        return self.layout.download_root / PurePosixPath(self.layout.cutout_relpath(c.period, "x.fits")).parent

    def _extracted(self, c: Cutout) -> Path | None:
        """The cutout's FITS file from an earlier run, by the name TESScut gives it (position and size)."""
        folder = self._folder(c)
        if not folder.is_dir():
            return None
        pattern = f"{c.sector_name}_*_{c.columns}x{c.rows}_astrocut.fits"
        for path in sorted(folder.glob(pattern)):
            parts = path.name.split("_")
            try:
                if abs(float(parts[1]) - c.ra) < 1e-4 and abs(float(parts[2]) - c.dec) < 1e-4:
                    return path
            except (IndexError, ValueError):
                continue
        return None

    def _fetch(self, todo: list[Cutout], kept: list[Cutout], run_id: str, report: HarvestReport) -> None:
        ingestor = Ingestor(self.catalog, run_id)
        known = ingestor.known_shas()
        group: list[tuple[Cutout, Path]] = [(c, p) for c in kept if (p := self._extracted(c)) is not None]
        by_uri = {c.uri: c for c in todo}
        base = self.client.tesscut_url()
        jobs = [DownloadJob(c.uri, self._zip_path(c), None, url=c.url(base)) for c in todo]
        self.progress.update(phase="downloading", detail="", files_total=len(jobs))
        again: list[DownloadJob] = []
        for result, second in self._download(jobs, again):
            c = by_uri[result.job.data_uri]
            _count(result, report)
            self.progress.update(files_done=self.progress.current.files_done + 1)
            if not result.ok:
                self._fail(c, "failed" if result.transient else "quarantined", result.error or "download failed",
                           run_id, report)
                continue
            try:
                fits_path = self._unpack(c, result.job.dest)
            except _NoData as exc:
                self._fail(c, "quarantined", str(exc), run_id, report)
                continue
            except zipfile.BadZipFile:
                if second:
                    self._fail(c, "quarantined", CORRUPT_ZIP, run_id, report)
                else:
                    again.append(result.job)
                continue
            finally:
                files.remove(result.job.dest)
            group.append((c, fits_path))
            if len(group) >= INGEST_GROUP_FILES:
                self._ingest(ingestor, group, known, report)
                group = []
        if group:
            self._ingest(ingestor, group, known, report)
        files.remove_empty_dirs(self.layout.download_root / "raw" / "tesscut" / "_downloads",
                                stop=self.layout.download_root)

    def _download(self, jobs: list[DownloadJob], again: list[DownloadJob]):
        """Each result once, with whether it was the second try; `again` collects jobs to fetch once more."""
        options = {"workers": self.workers, "read_timeout": self.settings.timeout_s}
        for result in download_all(self.settings.mast_url, jobs, **options):
            yield result, False
        if again:
            for result in download_all(self.settings.mast_url, list(again), **options):
                yield result, True

    def _unpack(self, c: Cutout, zip_path: Path) -> Path:
        """The one FITS file of a cutout zip, written into the raw area; _NoData for TESScut's JSON 'no data'."""
        if not zipfile.is_zipfile(zip_path):
            head = zip_path.read_bytes()[:2000].decode("utf-8", "replace").strip()
            if head.startswith("{"):
                import json

                try:
                    message = json.loads(head).get("msg") or head
                except ValueError:
                    message = head
                raise _NoData(f"TESScut has no cutout here: {message}")
            raise zipfile.BadZipFile("not a zip")
        with zipfile.ZipFile(zip_path) as archive:
            members = [m for m in archive.infolist() if m.filename.lower().endswith(".fits")]
            if len(members) != 1:
                raise zipfile.BadZipFile(f"{len(members)} FITS files in the zip")
            name = PurePosixPath(members[0].filename).name
            if not _SAFE_NAME.match(name):
                raise _NoData(f"unsafe file name in the cutout zip: {name!r}")
            dest = self.layout.download_root / self.layout.cutout_relpath(c.period, name)
            data = archive.read(members[0])  # CRC-checked: a damaged member raises BadZipFile
        files.make_dirs(dest.parent)
        part = dest.with_name(dest.name + ".part")
        with files.open_output(part) as out:
            out.write(data)
        files.publish(part, dest)
        return dest

    def _ingest(self, ingestor: Ingestor, group: list[tuple[Cutout, Path]], known: frozenset,
                report: HarvestReport) -> None:
        items = [
            InputFile(path, c.uri, c.url(self.client.tesscut_url()),
                      extra={"target_id": c.tic_id, "obs_collection": "TESScut", "obs_id": c.sector_name},
                      aperture=self.aperture)
            for c, path in group
        ]
        self.progress.update(phase="ingesting")
        report.add(ingestor.stage_and_commit(items, known))
        registered = kept_in_lake(self.catalog, [path for _, path in group])
        for _, path in group:  # the lake's store holds the kept copy now; a refused file is not kept
            if path not in registered:
                files.remove(path)
        self.progress.update(phase="downloading", ingested=report.ingested + report.unchanged)

    def _fail(self, c: Cutout, state: str, reason: str, run_id: str, report: HarvestReport) -> None:
        with self.catalog.write("harvest cutouts") as con:
            product_rows.upsert(con, c.uri, state, run_id=run_id, error=reason, count_attempt=True,
                                product_type="ffi_cutout", mission="TESS", author="TESScut", target_id=c.tic_id)
        setattr(report, state, getattr(report, state) + 1)
        report.problems.append((c.uri, state, reason))


def _count(result: DownloadResult, report: HarvestReport) -> None:
    report.download_requests += result.attempts
    if result.ok:
        report.downloaded += 1
        report.bytes_downloaded += result.size


class _NoData(Exception):
    """TESScut answered, but with no cutout (a position off the detector): terminal for this product."""
