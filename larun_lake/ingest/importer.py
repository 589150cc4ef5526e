"""Run an ingest: find files, convert them in parallel, commit in short batches.

Each batch commits in its own short transaction. Between batches the run keeps the
catalog attached only while nobody waits for it: a reader that finds it busy is let
in within POLL_S plus one commit, so `larun-lake sql` works during an import.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..catalog import Catalog, observatory, runs, versions
from ..catalog import products as product_rows
from ..catalog.db import WRITER_GAP_S, WriteSession
from ..errors import LakeWriteError, UsageError
from ..executors import LocalRunner, TaskRunner, default_workers
from ..lake import files
from ..layout import STAGING
from . import repair
from .commit import BatchCommitter, Counts
from .commit_observatory import is_observatory_result
from .convert import InputFile
from .order import in_chunks, in_conversion_order
from .stage import StagedChunk, stage_chunk

FITS_SUFFIXES = (".fits", ".fits.gz", ".fit", ".fit.gz", ".fts")
# JWST white-light curves and TSO photometry are ECSV tables.
IMPORT_SUFFIXES = (*FITS_SUFFIXES, ".ecsv")


@dataclass(kw_only=True)
class IngestReport(Counts):
    run_id: str
    n_files: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not (self.failed or self.quarantined or self.interrupted)

    def counts(self) -> dict[str, int]:
        return self.run_counts(n_files=self.n_files, bytes_read=self.bytes_read)


def discover(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files given by name are taken as they are; folders are searched for FITS files."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().absolute()  # workers elsewhere (Dask) resolve nothing relative
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(IMPORT_SUFFIXES)))
        elif path.is_file():
            out.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder", hint="check the path")
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


ProgressFn = Callable[[int, int], None]  # (files done, bytes done)
CHUNK_FILES = 48  # files converted and staged together by one worker (measured best of 16, 32, 48)
POLL_S = 0.05  # while waiting for a staged chunk, look this often for readers waiting for the catalog


class Ingestor:
    """Ingest files into one lake under one run id.

    Worker processes convert chunks of files and stage their Parquet; this process
    commits each staged chunk in a short catalog transaction, in order. Given a
    WriteSession, the catalog stays attached between commits unless a reader waits.
    """

    def __init__(
        self,
        catalog: Catalog,
        run_id: str,
        *,
        workers: int = 0,
        progress: ProgressFn | None = None,
        session: WriteSession | None = None,
        runner: TaskRunner | None = None,
    ) -> None:
        self.catalog = catalog
        self.runner = runner  # where chunks are converted (default: a local process pool)
        self.session = session
        self.layout = catalog.layout
        self.run_id = run_id
        self.workers = workers or default_workers()
        self.progress = progress
        self.store = self.layout.store
        self.stage_dir = f"{STAGING}/{run_id}"  # local lakes: files written here are moved in by the commit
        self.sequence = itertools.count(1)
        self._chunks = itertools.count(1)
        self.pending_repair: dict[str, list[InputFile]] = {}  # see stage_and_commit
        self._done_files = 0
        self._done_bytes = 0

    def known_shas(self) -> frozenset[str]:
        if self.session is not None:
            with self.session.transaction() as con:
                return frozenset(versions.known_shas(con) | observatory.known_shas(con))
        with self.catalog.read(sandbox=False, surface=False) as con:
            return frozenset(versions.known_shas(con) | observatory.known_shas(con))

    def _transaction(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self.session.transaction() if self.session else self.catalog.write(f"import run {self.run_id}")

    def _let_waiters_in(self) -> None:
        if self.session is not None:
            self.session.let_waiters_in()
        elif self.catalog.others_waiting():
            time.sleep(WRITER_GAP_S)

    def in_order(self, futures: list[Future]) -> Iterator:
        """Results of submitted tasks in submission order, letting readers at the catalog while waiting."""
        for i, future in enumerate(futures):
            futures[i] = None  # a result taken is let go (Dask would recompute one a lost worker held)
            # Polled rather than waited for with a timeout: a Dask result waited for with a timeout while its
            # worker dies can fail inside distributed (UnboundLocalError) instead of timing out.
            while not future.done():
                self._let_waiters_in()
                time.sleep(POLL_S)
            yield future.result()

    def run(self, items: list[InputFile], report: IngestReport) -> IngestReport:
        start = time.monotonic()
        known = self.known_shas()
        self.store.make_dirs(self.stage_dir)
        items = in_conversion_order(items)
        runner = self.runner
        chunks = in_chunks(items, CHUNK_FILES)
        pool = None
        try:
            if runner is None and self.workers > 1 and len(chunks) > 1:
                runner = pool = LocalRunner(min(self.workers, len(chunks)))
            if runner is not None:
                shared = runner.share(known)
                futures = [
                    runner.submit(stage_chunk, c, shared, self.layout, self.run_id, next(self._chunks)) for c in chunks
                ]
                staged: Iterable[StagedChunk] = self.in_order(futures)
            else:
                staged = (stage_chunk(c, known, self.layout, self.run_id, next(self._chunks)) for c in chunks)
            unchanged: dict[str, list[InputFile]] = {}  # versions the lake had before this run
            for i, chunk in enumerate(staged):
                if i:
                    self._let_waiters_in()
                report.add(self.commit(chunk, last_of_run=i == len(chunks) - 1))
                for r in chunk.results:
                    if r.sha256 in known:
                        unchanged.setdefault(r.sha256, []).append(r.item)
            self._repair(unchanged, report)
        except KeyboardInterrupt:
            report.interrupted = True
        except (OSError, duckdb.IOException) as exc:
            # Reading an input file is that file's problem (convert catches it); what escapes
            # here is the lake's storage failing (full disk, permissions): nothing more can go in.
            raise LakeWriteError(self.layout.url, storage_reason(exc)) from exc
        finally:
            if pool is not None:
                pool.close(cancel=report.interrupted)
            with contextlib.suppress(OSError):  # storage failing: `verify` removes staging of dead runs
                self.store.delete_tree(self.stage_dir)
                if self.store.is_local:
                    files.remove_empty_dirs(self.store.local_path(STAGING), stop=self.layout.root)
            report.seconds += time.monotonic() - start
        return report

    def _repair(self, unchanged: dict[str, list[InputFile]], report: IngestReport | Counts) -> None:
        """An unchanged file is only as good as the data file holding its rows: rewrite damaged ones."""
        if not unchanged:
            return
        with self._transaction() as con:
            damaged = repair.find_damaged(con, self.layout, list(unchanged))
        if not damaged:
            return
        outcome = repair.repair_files(
            damaged,
            unchanged,
            transaction=self._transaction,
            layout=self.layout,
            run_id=self.run_id,
            sequence=self.sequence,
            stage_dir=self.stage_dir,
        )
        rewritten = sum(len(unchanged.get(sha, ())) for sha in outcome.repaired_shas)
        report.unchanged -= rewritten
        report.ingested += rewritten
        report.failed += sum(state == "failed" for _, state, _ in outcome.problems)
        report.problems.extend(outcome.problems)

    def stage_and_commit(self, items: list[InputFile], known: frozenset[str]) -> Counts:
        """One chunk in this process (harvest commits each group of downloads this way).

        Files the lake already held are kept in `pending_repair` until `repair_pending`, which
        rewrites any data file of theirs that was damaged behind the lake's back.
        """
        self.store.make_dirs(self.stage_dir)
        chunk = stage_chunk(in_conversion_order(items), known, self.layout, self.run_id, self.new_chunk_id())
        return self.commit_chunk(chunk, known)

    def new_chunk_id(self) -> int:
        """A chunk number not yet used in this run: it names the files the chunk's task writes."""
        return next(self._chunks)

    def commit_chunk(self, chunk: StagedChunk, known: frozenset[str]) -> Counts:
        """Commit a chunk staged here or by a task, keeping files the lake already held for `repair_pending`."""
        counts = self.commit(chunk)
        for r in chunk.results:
            if r.sha256 in known and not is_observatory_result(r):  # spectra and images are not rewritten
                self.pending_repair.setdefault(r.sha256, []).append(r.item)
        return counts

    def repair_pending(self, report: Counts) -> None:
        pending, self.pending_repair = self.pending_repair, {}
        self._repair(pending, report)

    def commit(self, chunk: StagedChunk, *, last_of_run: bool = False) -> Counts:
        published: list[str] = []
        obsolete: list[str] = []
        try:
            with self._transaction() as con:
                committer = BatchCommitter(con, self.layout, self.run_id, self.sequence)
                published, obsolete = committer.published, committer.obsolete
                outcome = committer.commit(chunk, last_of_run=last_of_run)
        except BaseException:
            with contextlib.suppress(OSError):  # storage failing: `verify` removes these orphans later
                staged = [*(s.path for s in chunk.staged), *(r.staged.path for r in chunk.results if r.staged)]
                self.store.delete_many([*published, *staged])  # never registered
            raise
        for staged in chunk.staged:
            if staged.path not in published:  # moved in, or rewritten into other files
                self.store.delete(staged.path)
        for rel in obsolete:  # replaced by files registered in the commit
            self.store.delete(rel)
        self._done_files += len(chunk.results)
        self._done_bytes += chunk.size_bytes
        if self.progress:
            self.progress(self._done_files, self._done_bytes)
        return outcome


def import_paths(
    catalog: Catalog,
    paths: list[str],
    *,
    command: str = "import",
    workers: int = 0,
    progress_factory: Callable[[int], ProgressFn] | None = None,
    parameters: dict | None = None,
    runner: TaskRunner | None = None,
    aperture: object = "default",
) -> IngestReport:
    """`larun-lake import`: ingest FITS files already on disk (never moving or changing them).

    `aperture` says which pixels make the light curve of a target pixel file or cutout (see pixels/aperture.py).
    """
    found = discover(paths)
    if not found:
        raise UsageError(
            f"no FITS files found in {', '.join(map(str, paths))}",
            hint="give product files or folders holding *.fits / *.fits.gz (or JWST *.ecsv tables)",
        )
    if runner is not None:
        runner.check_inputs(found)
    catalog.create_if_missing()
    run_id = runs.new_run_id()
    items = [InputFile(p, product_rows.file_uri(p), aperture=aperture) for p in found]
    report = IngestReport(run_id=run_id, n_files=len(items), bytes_read=sum(_size(p) for p in found))
    with catalog.session(command) as session:
        with session.transaction() as con:
            runs.start_run(con, run_id, command, parameters or {"paths": [str(p) for p in paths]})
        progress = progress_factory(len(items)) if progress_factory else None
        ingestor = Ingestor(catalog, run_id, workers=workers, progress=progress, session=session, runner=runner)
        try:
            ingestor.run(items, report)
        except BaseException:
            _finish_run(session, run_id, "interrupted" if report.interrupted else "error", report, best_effort=True)
            raise
        status = "interrupted" if report.interrupted else ("ok" if report.ok else "partial")
        _finish_run(session, run_id, status, report)
    return report


def _finish_run(session: WriteSession, run_id: str, status: str, report: IngestReport, *, best_effort=False) -> None:
    try:
        with session.transaction() as con:
            runs.finish_run(con, run_id, status, report.counts())
    except Exception:
        if not best_effort:
            raise
        # The run failed already and the catalog cannot take the record either (a full disk):
        # the run stays 'running' until `verify` marks it interrupted; the first error is reported.


def storage_reason(exc: BaseException) -> str:
    """One line saying why a write failed: the OS's words, and the file where known."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror} ({exc.filename})" if exc.filename else exc.strerror
    else:
        text = str(exc).strip().partition("\n")[0] or type(exc).__name__
    return " ".join(text.split())


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
