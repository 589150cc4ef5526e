"""Concurrent downloads of MAST products with our own HTTP client.

astroquery downloads one file at a time and never retries, so files are fetched here from the
same endpoint it uses: bounded threads, a socket timeout, retries with back-off honouring
Retry-After, a size check, and an atomic rename so a file is either complete or absent.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from ..lake import files
from .retry import RetryPolicy, TransientError, classify, retry_call

DOWNLOAD_PATH = "/api/v0.1/Download/file"
_CHUNK = 1 << 20


@dataclass
class DownloadJob:
    data_uri: str
    dest: Path
    expected_size: int | None = None
    url: str | None = None  # another endpoint than MAST's file download (a TESScut cutout request)


@dataclass
class DownloadResult:
    job: DownloadJob
    ok: bool
    size: int
    attempts: int
    error: str | None = None
    transient: bool = False  # a later run may succeed (network, server); False: the content is wrong


class SizeMismatch(TransientError):
    """A complete body whose length differs from the product list's size."""


def download_url(mast_url: str, data_uri: str) -> str:
    # Escaped exactly as astroquery does, so the server sees the same request.
    return f"{mast_url.rstrip('/')}{DOWNLOAD_PATH}?uri={quote(data_uri, safe=':/')}"


def _part_path(dest: Path) -> Path:
    if not dest.name or dest.name in (".", "..") or "/" in dest.name or "\\" in dest.name:
        raise ValueError(f"unsafe download file name {dest.name!r}")
    return dest.with_name(dest.name + ".part")


class _Sessions(threading.local):
    session: requests.Session | None = None


class _Downloader:
    def __init__(
        self,
        mast_url: str,
        timeouts: tuple[float, float],
        policy: RetryPolicy,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.mast_url = mast_url
        self.timeouts = timeouts
        self.policy = policy
        self.on_bytes = on_bytes
        self._local = _Sessions()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def session(self) -> requests.Session:
        # One session per worker thread: keep-alive connections, never shared across threads.
        if self._local.session is None:
            self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(self._local.session)
        return self._local.session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def fetch(self, job: DownloadJob) -> DownloadResult:
        try:
            part = _part_path(job.dest)
        except ValueError as exc:
            return DownloadResult(job, False, 0, 0, str(exc), False)
        attempts = 0

        def attempt(number: int) -> int:
            nonlocal attempts
            attempts = number
            return self._fetch_once(job, part)

        try:
            files.make_dirs(job.dest.parent)
            size = retry_call(attempt, self.policy)
        except Exception as exc:
            files.remove(part)
            transient = classify(exc)[0] and not isinstance(exc, SizeMismatch)
            return DownloadResult(job, False, 0, attempts, _reason(exc), transient)
        return DownloadResult(job, True, size, attempts)

    def _fetch_once(self, job: DownloadJob, part: Path) -> int:
        url = job.url or download_url(self.mast_url, job.data_uri)
        # identity: the bytes on disk are the bytes counted by Content-Length and MAST's size
        headers = {"Accept-Encoding": "identity"}
        with self.session().get(url, headers=headers, stream=True, timeout=self.timeouts) as response:
            response.raise_for_status()
            declared = response.headers.get("Content-Length")
            written = 0
            with files.open_output(part) as out:
                for chunk in response.iter_content(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    if self.on_bytes is not None:
                        self.on_bytes(len(chunk))
        if declared is not None and declared.isdigit() and written != int(declared):
            raise TransientError(f"short body: {written} of {declared} bytes")
        if job.expected_size is not None and written != job.expected_size:
            raise SizeMismatch(f"size mismatch: got {written} bytes, MAST lists {job.expected_size}")
        files.publish(part, job.dest)
        return written


def _reason(exc: BaseException) -> str:
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code} {exc.response.reason or ''}".strip()
    return f"{type(exc).__name__}: {exc}"


def download_all(
    mast_url: str,
    jobs: list[DownloadJob],
    *,
    workers: int = 8,
    connect_timeout: float = 10,
    read_timeout: float = 60,
    retries: int = 5,
    backoff: float = 0.5,
    on_result: Callable[[DownloadResult], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    policy: RetryPolicy | None = None,
) -> Iterator[DownloadResult]:
    """Download every job with at most `workers` connections; yields results as they complete.

    A job that keeps failing yields ok=False with the reason while the others go on. `policy`
    overrides `retries`/`backoff` (tests inject a sleep that does not wait). `on_bytes` is told of
    every chunk received, from the download threads (retried attempts included: it counts transfer).
    """
    policy = policy or RetryPolicy.from_retries(retries, backoff)
    downloader = _Downloader(mast_url, (connect_timeout, read_timeout), policy, on_bytes)
    pending = deque(jobs)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="mast-download")
    running: set[Future[DownloadResult]] = set()
    try:
        # Submit lazily so that a consumer that stops early does not leave thousands queued.
        while pending or running:
            while pending and len(running) < 2 * max(1, workers):
                running.add(pool.submit(downloader.fetch, pending.popleft()))
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                result = future.result()
                if on_result is not None:
                    on_result(result)
                yield result
    finally:
        for future in running:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        downloader.close()
