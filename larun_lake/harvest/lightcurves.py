"""`larun-lake harvest lightcurves`: search, then download what is missing, then ingest.

Every product passes through the products states (known -> ingested, or failed /
quarantined with the reason), so a re-run fetches only what is missing and a run
killed at any moment resumes: downloads land as *.part and are renamed when
complete, ingest is idempotent (file hashes), and complete raw files are reused.
What to fetch is decided by plan.py, the same way for a dry run and a real run.

Given a task runner (--executor dask), the per-file work -- download, verify, convert --
runs as tasks on its workers (tasks.py), which write straight to lake storage; this
process still commits every chunk to the catalog, in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..catalog import Catalog, runs
from ..catalog import products as product_rows
from ..config import Settings, duration_seconds
from ..errors import LakeWriteError, ProductError, UsageError
from ..ingest.commit import Counts
from ..ingest.importer import Ingestor, storage_reason
from ..lake import files
from ..layout import STAGING
from ..mast.download import DownloadJob
from .fetch import Fetched, fetch_verified
from .plan import FetchPlan, kept_in_lake, plan_fetch, raw_path, raw_relpath
from .progress import ProgressFn, ProgressState
from .rawfiles import keep_in_store, pull_from_store
from .search import Product, ProductSearch
from .targets import Target
from .tasks import TaskOptions, harvest_chunk, product_input

if TYPE_CHECKING:
    from ..executors import TaskRunner

INGEST_GROUP_FILES = 32
INGEST_GROUP_SECONDS = 3.0
TASK_FILES = 16  # products one task downloads and converts together on a cluster's worker


@dataclass
class HarvestFilter:
    missions: list[str]
    authors: list[str] | None = None
    exptime: float | None = None
    periods: dict[str, set[int]] = field(default_factory=dict)  # per mission: sectors, quarters, campaigns
    product_type: str = "lightcurve"  # or 'target_pixel' (harvest pixels)

    def keep(self, p: Product) -> bool:
        if p.product_type != self.product_type:
            return False
        if p.mission not in self.missions or (self.authors and p.author not in self.authors):
            return False
        # Nominal exposures are exact values (120, 1800, ...): 121 must not select 120-s products.
        if self.exptime is not None and (p.exptime_s is None or abs(p.exptime_s - self.exptime) > 1e-6):
            return False
        allowed = self.periods.get(p.mission)
        return allowed is None or p.period_number in allowed


@dataclass(kw_only=True)
class HarvestReport(Counts):
    run_id: str
    n_products: int = 0
    n_observations: int = 0  # observation harvests: observations found
    n_listed: int = 0  # observation harvests: products their observations list (n_products: those selected)
    n_to_fetch: int = 0  # downloads planned (what a dry run reports)
    bytes_to_fetch: int = 0
    in_lake: int = 0  # listed products whose file the lake already holds: not fetched
    downloaded: int = 0  # downloads that succeeded (a file fetched twice counts twice)
    reused: int = 0  # complete raw files ingested without a download
    bytes_downloaded: int = 0
    metadata_requests: int = 0
    download_requests: int = 0
    unknown_targets: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not (self.failed or self.quarantined or self.interrupted)

    @property
    def requests_per_lightcurve(self) -> float:
        n = self.ingested + self.unchanged
        return (self.metadata_requests + self.download_requests) / n if n else float("nan")

    def counts(self) -> dict[str, int]:
        return self.run_counts(n_files=self.n_to_fetch + self.reused, bytes_read=self.bytes_downloaded)


class LightCurveHarvest:
    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        client: Any,
        *,
        workers: int = 8,
        keep_fits: bool = False,
        progress: ProgressFn | None = None,
        runner: TaskRunner | None = None,
        aperture: Any = "default",
        command: str = "harvest lightcurves",
    ) -> None:
        self.catalog = catalog
        self.layout = catalog.layout
        self.settings = settings
        self.client = client
        self.workers = workers
        self.keep_fits = keep_fits
        # Kept files of a lake on object storage go into the lake: the local download is removed once ingested.
        self._keep_here = keep_fits and self.layout.is_local
        self.progress = ProgressState(progress)
        self.runner = runner  # where per-file work runs; None: downloads in threads here, ingest in this process
        self.aperture = aperture  # which pixels make a target pixel file's light curve
        self.command = command
        self._kept_pixel_files: set[Path] = set()
        self._diverted: dict[str, Path] = {}  # data URI -> download path away from a kept file of that name  # downloads that are the lake's own kept pixel files

    def run(
        self,
        targets: list[Target],
        filt: HarvestFilter,
        *,
        dry_run: bool = False,
        offline: bool = False,
        max_age: timedelta | None = None,
        retry_quarantined: bool = False,
        parameters: dict | None = None,
    ) -> HarvestReport:
        self.catalog.create_if_missing()
        run_id = runs.new_run_id()
        report = HarvestReport(run_id=run_id)
        start = time.monotonic()
        if not dry_run:
            with self.catalog.write(self.command) as con:
                runs.start_run(con, run_id, self.command, parameters or {}, mast_url=self.settings.mast_url)
        plan = FetchPlan()
        failed = False
        try:
            found = self._find(targets, filt, run_id, report, offline=offline, max_age=max_age, dry_run=dry_run)
            report.n_products = len(found)
            # Pixel files asked for with another aperture than the default are taken again (from the kept
            # file where it is complete): ingest makes the light curves the lake lacks and leaves the rest.
            named = getattr(self.aperture, "name", "default") != "default"
            again = {p.data_uri for p in found if p.product_type != "lightcurve"} if named else set()
            plan = plan_fetch(self.catalog, found, retry_quarantined=retry_quarantined, again=again)
            report.n_to_fetch = len(plan.download)
            report.bytes_to_fetch = plan.bytes_to_download
            report.in_lake = len(plan.in_lake)
            report.reused = len(plan.on_disk)
            if not dry_run and not offline:
                self._register_known(plan, run_id)
                self._fetch(plan, run_id, report)
        except KeyboardInterrupt:
            report.interrupted = True
        except (OSError, duckdb.IOException) as exc:
            failed = True
            if _is_network(exc):
                raise
            # Per-product problems are handled where they occur; what escapes is the lake's storage failing.
            raise LakeWriteError(self.layout.url, storage_reason(exc)) from exc
        except BaseException:
            failed = True
            raise
        finally:
            if not dry_run:
                try:
                    self._tidy(plan, run_id)
                except OSError:
                    if not failed:
                        raise
                    # The storage failing is what stopped the run; `verify` removes what is left.
            report.seconds = time.monotonic() - start
            report.metadata_requests = int(getattr(self.client, "requests_total", 0) or 0)
            if not dry_run:
                status = (
                    "error" if failed else "interrupted" if report.interrupted else "ok" if report.ok else "partial"
                )
                try:
                    with self.catalog.write(self.command) as con:
                        runs.finish_run(con, run_id, status, report.counts())
                except Exception:
                    if not failed:
                        raise
                    # The run failed already and the catalog cannot take the record either (a full disk):
                    # it stays 'running' until `verify` marks it interrupted; the first error is reported.
            self.progress.update(phase="done", detail="")
        return report

    def _find(self, targets: Any, filt: Any, run_id: str, report: HarvestReport, *, offline: bool,
              max_age: timedelta | None, dry_run: bool) -> list[Product]:
        """The products to consider: one search for many targets (remembered), kept by the filter."""
        search = ProductSearch(
            self.catalog,
            None if offline else self.client,
            run_id=run_id,
            mast_url=self.settings.mast_url,
            on_phase=lambda phase, detail: self.progress.update(phase=phase, detail=detail),
        )
        found = [p for p in search.find(targets, filt.missions, max_age=max_age, offline=offline) if filt.keep(p)]
        report.unknown_targets = [name for _, name in search.unknown]
        return found

    def _register_known(self, plan: FetchPlan, run_id: str) -> None:
        """New products as `known`; those whose file the lake holds as `ingested`, pointing at that version."""
        todo = [*plan.download, *plan.on_disk]
        rows = [_product_row(p, "known", run_id) for p in todo]
        held = [
            _product_row(m.product, "ingested", run_id)
            | {"sha256": m.sha256, "lc_id": m.lc_id, "size_bytes": m.product.size_bytes}
            for m in plan.in_lake
        ]
        with self.catalog.write(self.command) as con:
            existing = {
                r[0]
                for r in con.execute(
                    "SELECT product_uri FROM lake.products WHERE product_uri IN (SELECT unnest(?))",
                    [[r["product_uri"] for r in rows]],
                ).fetchall()
            }
            product_rows.upsert_many(con, [r for r in rows if r["product_uri"] not in existing] + held)

    def _raw_path(self, p: Product) -> Path:
        if p.data_uri in self._diverted:
            return self._diverted[p.data_uri]
        try:
            return raw_path(self.layout, p)
        except ValueError as exc:
            raise ProductError(p.data_uri, f"unsafe file name from MAST ({exc})") from exc

    def _fetch(self, plan: FetchPlan, run_id: str, report: HarvestReport) -> None:
        for p, reason in plan.unsafe:
            self._fail(p, "quarantined", reason, run_id, report)
        self._divert_over_kept_files(plan, run_id)
        ingestor = Ingestor(self.catalog, run_id)
        known = ingestor.known_shas()
        self.progress.update(
            phase="downloading", detail="", files_total=len(plan.download), bytes_total=report.bytes_to_fetch
        )
        here = plan.download
        if self.runner is not None:
            # A fetch that rewrites a damaged data file needs its FITS file afterwards: it stays on this machine.
            here = [p for p in plan.download if p.data_uri in plan.repair]
            elsewhere = [p for p in plan.download if p.data_uri not in plan.repair]
            self._fetch_on_workers(elsewhere, ingestor, known, run_id, report)
        self._fetch_here(here, plan, ingestor, known, run_id, report)
        self._repair(ingestor, report)

    def _divert_over_kept_files(self, plan: FetchPlan, run_id: str) -> None:
        """A pixel file MAST reprocessed under the same name is downloaded beside the raw area, not over the
        kept file of the version the lake holds: ingest then keeps the new one beside the old."""
        pixel = [p for p in plan.download if p.product_type != "lightcurve"]
        if not pixel or not self.layout.is_local:
            return
        places = {raw_path(self.layout, p): p for p in pixel}
        for path in kept_in_lake(self.catalog, list(places)):
            p = places[path]
            self._diverted[p.data_uri] = self.layout.download_root / STAGING / run_id / "downloads" / (p.obs_id or p.target_name) / path.name

    def _fetch_here(
        self,
        products: list[Product],
        plan: FetchPlan,
        ingestor: Ingestor,
        known: frozenset,
        run_id: str,
        report: HarvestReport,
    ) -> None:
        """Download with threads of this process and ingest in groups as files arrive."""
        by_uri = {p.data_uri: p for p in products}
        group: list[Product] = []  # complete downloads from an interrupted run, or kept in the lake's raw area
        for p in plan.on_disk:
            if p.data_uri in plan.in_store:
                pull_from_store(self.layout.store, raw_relpath(self.layout, p), self._raw_path(p))
            elif self.keep_fits and not self.layout.is_local:
                keep_in_store(self.layout.store, raw_relpath(self.layout, p), self._raw_path(p))
            group.append(p)
        jobs = [DownloadJob(p.data_uri, self._raw_path(p), p.size_bytes) for p in products]
        started = time.monotonic()
        for fetched in fetch_verified(
            self.settings.mast_url,
            jobs,
            workers=self.workers,
            read_timeout=self.settings.timeout_s,
            on_bytes=self.progress.add_bytes,
            on_download=lambda _: self.progress.update(files_done=self.progress.current.files_done + 1),
            on_retry=self._more_files,
        ):
            p = by_uri[fetched.job.data_uri]
            _count(fetched, report)
            if not fetched.ok:
                self._fail(p, fetched.state, fetched.reason or "download failed", run_id, report)
                continue
            if self.keep_fits and not self.layout.is_local:
                keep_in_store(self.layout.store, raw_relpath(self.layout, p), fetched.job.dest)
            group.append(p)
            if len(group) >= INGEST_GROUP_FILES or time.monotonic() - started > INGEST_GROUP_SECONDS:
                self._ingest(ingestor, group, known, report)
                group, started = [], time.monotonic()
        if group:
            self._ingest(ingestor, group, known, report)

    def _fetch_on_workers(
        self, products: list[Product], ingestor: Ingestor, known: frozenset, run_id: str, report: HarvestReport
    ) -> None:
        """Tasks on the runner's workers download, verify and write; this process commits each chunk in order."""
        if not products:
            return
        runner = self.runner
        options = TaskOptions(
            self.settings.mast_url,
            self.settings.timeout_s,
            threads=max(1, -(-self.workers // runner.workers)),  # about --workers downloads in all
            keep_fits=self.keep_fits,
            aperture=self.aperture,
        )
        shared = runner.share(known)
        chunks = [products[i : i + TASK_FILES] for i in range(0, len(products), TASK_FILES)]
        futures = [
            runner.submit(harvest_chunk, chunk, shared, self.layout, run_id, ingestor.new_chunk_id(), options)
            for chunk in chunks
        ]
        by_uri = {p.data_uri: p for p in products}
        for done in ingestor.in_order(futures):
            for fetched in done.fetched:
                _count(fetched, report)
                self.progress.update(
                    files_done=self.progress.current.files_done + 1,
                    bytes_done=self.progress.current.bytes_done + fetched.size,
                )
                if not fetched.ok:
                    self._fail(by_uri[fetched.job.data_uri], fetched.state, fetched.reason or "", run_id, report)
            if not done.staged.results:  # every download of the chunk failed
                continue
            phase = self.progress.current.phase
            self.progress.update(phase="ingesting")
            report.add(ingestor.commit_chunk(done.staged, known))
            self.progress.update(phase=phase, ingested=report.ingested + report.unchanged)

    def _more_files(self, n: int) -> None:
        self.progress.update(phase="downloading", detail="", files_total=self.progress.current.files_total + n)

    def _repair(self, ingestor: Ingestor, report: HarvestReport) -> None:
        """Fetched files the lake already held rewrite their data file if it was damaged (see plan.py)."""
        pending = [item.path for held in ingestor.pending_repair.values() for item in held]
        if not pending:
            return
        self.progress.update(phase="ingesting")
        ingestor.repair_pending(report)
        if not self._keep_here:
            for path in pending:
                if path not in self._kept_pixel_files:
                    files.remove(path)

    def _tidy(self, plan: FetchPlan, run_id: str) -> None:
        """Leave no empty folders: this run's staging, and raw folders whose files were ingested and removed.

        Done once downloads have stopped, since a download thread may be creating a raw folder.
        """
        self.layout.store.delete_tree(f"{STAGING}/{run_id}")
        if self.layout.is_local:
            files.remove_empty_dirs(self.layout.root / STAGING, stop=self.layout.root)
        for folder in sorted({self._raw_path(p).parent for p in [*plan.download, *plan.on_disk]}):
            files.remove_empty_dirs(folder, stop=self.layout.download_root)

    def _ingest(self, ingestor: Ingestor, group: list[Product], known: frozenset, report: HarvestReport) -> None:
        items = [product_input(p, self._raw_path(p), self.aperture) for p in group]
        phase = self.progress.current.phase
        self.progress.update(phase="ingesting")
        report.add(ingestor.stage_and_commit(items, known))
        pending = {item.path for held in ingestor.pending_repair.values() for item in held}
        if not self._keep_here:
            registered = kept_in_lake(self.catalog, [item.path for item, p in zip(items, group, strict=True)
                                                     if p.product_type != "lightcurve"])
            for item in items:
                if item.path in registered:  # a kept pixel file of the lake, in this very place
                    self._kept_pixel_files.add(item.path)
                elif item.path not in pending:  # removed after repair_pending has read it
                    files.remove(item.path)
        self.progress.update(phase=phase, ingested=report.ingested + report.unchanged)

    def _fail(self, p: Product, state: str, reason: str, run_id: str, report: HarvestReport) -> None:
        with self.catalog.write(self.command) as con:
            product_rows.upsert(
                con,
                p.data_uri,
                state,
                run_id=run_id,
                error=reason,
                count_attempt=True,
                product_type=p.product_type,
                file_name=p.product_filename,
                expected_size=p.size_bytes,
            )
        setattr(report, state, getattr(report, state) + 1)
        report.problems.append((p.data_uri, state, reason))


def _count(fetched: Fetched, report: HarvestReport) -> None:
    """Add a product's downloads, made here or by a task, to the report's counters."""
    report.download_requests += fetched.attempts
    report.downloaded += fetched.downloads
    report.bytes_downloaded += fetched.size


def _is_network(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, ConnectionError | TimeoutError | requests.RequestException)


def _product_row(p: Product, state: str, run_id: str) -> dict[str, Any]:
    return {
        "product_uri": p.data_uri,
        "product_type": p.product_type,
        "state": state,
        "mission": p.mission,
        "author": p.author,
        "target_id": p.target_id,
        "obs_collection": p.obs_collection,
        "obs_id": p.obs_id,
        "file_name": p.product_filename,
        "expected_size": p.size_bytes,
        "run_id": run_id,
    }


def parse_max_age(text: str | None) -> timedelta | None:
    """'7d', '12h', '30m', '90s' or plain seconds."""
    if not text:
        return None
    try:
        return timedelta(seconds=duration_seconds(text))
    except ValueError:
        raise UsageError(f"malformed --max-age {text!r}", hint="use forms like 7d, 12h, 30m") from None
