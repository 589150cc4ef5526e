"""Verified downloads: a product counts as fetched only when its size and FITS checksum hold.

A file whose CHECKSUM fails is fetched once more (the transfer may have flipped a bit);
failing again, it is quarantined and its bytes are removed. Used by the harvest on this
machine and by harvest tasks on a cluster's workers alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProductError
from ..lake import files
from ..mast.download import DownloadJob, DownloadResult, download_all
from ..readers.fitsfile import open_fits

CHECKSUM_QUARANTINE = "FITS checksum mismatch after a second download"


@dataclass
class Fetched:
    """One product's downloads, and whether its file is fit to ingest."""

    job: DownloadJob
    state: str = "ok"  # 'ok', or 'failed' / 'quarantined' with the reason
    reason: str | None = None
    attempts: int = 0  # HTTP requests made
    downloads: int = 0  # complete downloads (a checksum mismatch is downloaded twice)
    size: int = 0  # bytes of the complete downloads

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def add(self, result: DownloadResult) -> bool:
        self.attempts += result.attempts
        if result.ok:
            self.downloads += 1
            self.size += result.size
        return result.ok


def checksum_ok(path: Path) -> bool:
    """False only when the file's FITS CHECKSUM fails; a file FITS cannot read is left to ingest to judge."""
    try:
        return open_fits(path).checksum_ok is not False
    except ProductError:
        return True


def fetch_verified(
    mast_url: str,
    jobs: list[DownloadJob],
    *,
    workers: int,
    read_timeout: float,
    on_bytes: Callable[[int], None] | None = None,
    on_download: Callable[[DownloadResult], None] | None = None,
    on_retry: Callable[[int], None] | None = None,
) -> Iterator[Fetched]:
    """Download every job, yielding each product once its outcome is known (good files as they arrive).

    `on_download` is told of every finished download, `on_retry` of how many files are fetched a second time.
    """
    outcome = {job.data_uri: Fetched(job) for job in jobs}
    again: list[DownloadJob] = []
    options = {"workers": workers, "read_timeout": read_timeout, "on_bytes": on_bytes, "on_result": on_download}
    for result in download_all(mast_url, jobs, **options):
        fetched = outcome[result.job.data_uri]
        if not fetched.add(result):
            fetched.state, fetched.reason = "failed", result.error or "download failed"
        elif not checksum_ok(result.job.dest):
            again.append(result.job)
            continue
        yield fetched
    if not again:
        return
    if on_retry is not None:
        on_retry(len(again))
    for result in download_all(mast_url, again, **options):
        fetched = outcome[result.job.data_uri]
        if not fetched.add(result):
            fetched.state, fetched.reason = "failed", result.error or "download failed"
        elif not checksum_ok(result.job.dest):
            fetched.state, fetched.reason = "quarantined", CHECKSUM_QUARANTINE
        if not fetched.ok:
            files.remove(result.job.dest)
        yield fetched
