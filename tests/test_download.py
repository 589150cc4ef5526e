"""Concurrent downloads from the loopback MAST server with our own HTTP client."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from larun_lake.layout import LakeLayout
from larun_lake.mast import DownloadJob, DownloadResult, RetryPolicy, download_all, download_url
from tests.mast_server import Fault, MastServer
from tests.mast_server.fixtures import FIXTURES

SPOC_25155310 = FIXTURES / "tess_spoc" / "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"
FILES = sorted(
    [
        *(FIXTURES / "tess_spoc").glob("*.fits"),
        *(FIXTURES / "kepler").glob("*.fits"),
        *(FIXTURES / "k2").glob("*.fits"),
    ]
)


@pytest.fixture(scope="module")
def server():
    with MastServer(fits_files=FILES) as mast:
        yield mast


# Each test starts with a quiet server: no faults, no latency, no counted requests.
pytestmark = pytest.mark.usefixtures("clean_mast_server")


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(attempts=4, backoff=0.01, sleep=sleeps.append, random=lambda: 0.5)


def jobs_for(server: MastServer, root: Path, files: list[Path] = FILES) -> list[DownloadJob]:
    """Jobs as the harvester builds them: the safe raw path from the product row."""
    layout = LakeLayout(root)
    products = {p["productFilename"]: p for p in server.products}
    jobs = []
    for path in files:
        product = products[path.name]
        dest = layout.raw_file(product["obs_collection"], product["obs_id"], product["productFilename"])
        jobs.append(DownloadJob(product["dataURI"], dest, product["size"]))
    return jobs


def by_name(results: list[DownloadResult]) -> dict[str, DownloadResult]:
    return {r.job.dest.name: r for r in results}


def test_download_url_is_escaped_like_astroquery() -> None:
    uri = "mast:HLSP/qlp/s0024/a b#c.fits"
    assert (
        download_url("http://h:1/", uri) == "http://h:1/api/v0.1/Download/file?uri=mast:HLSP/qlp/s0024/a%20b%23c.fits"
    )


def test_downloads_equal_fixture_bytes(server: MastServer, tmp_path: Path, policy: RetryPolicy) -> None:
    jobs = jobs_for(server, tmp_path)
    seen: list[DownloadResult] = []
    results = list(download_all(server.url, jobs, workers=4, policy=policy, on_result=seen.append))
    assert seen == results and len(results) == len(FILES) == 10
    for path in FILES:
        result = by_name(results)[path.name]
        assert result.ok and result.attempts == 1 and result.error is None
        assert result.size == path.stat().st_size
        assert result.job.dest.read_bytes() == path.read_bytes()
    assert server.count("download") == len(FILES) and server.count("head") == 0
    assert not list(tmp_path.rglob("*.part"))
    kepler = next(r for r in results if r.job.dest.name.startswith("kplr"))
    assert kepler.job.dest.relative_to(tmp_path).parts[:3] == ("raw", "mastDownload", "Kepler")


DOWNLOAD_FAULTS = {
    "503-retry-after": {"status": 503, "retry_after": 2},
    "429-retry-after": {"status": 429, "retry_after": 1},
    "500": {"status": 500},
    "drop": {"drop": True},
    "truncated": {"truncate": 0.3},
    "stall": {"stall": 3.0},
}


@pytest.mark.parametrize("name", list(DOWNLOAD_FAULTS))
def test_download_survives_fault(
    name: str, server: MastServer, tmp_path: Path, policy: RetryPolicy, sleeps: list[float]
) -> None:
    fault = server.add_fault(Fault(kind="download", uri="0000000025155310", **DOWNLOAD_FAULTS[name]))
    jobs = jobs_for(server, tmp_path, [SPOC_25155310, FILES[-1]])
    start = time.monotonic()
    results = by_name(list(download_all(server.url, jobs, workers=2, read_timeout=0.5, policy=policy)))
    elapsed = time.monotonic() - start
    hit = results[SPOC_25155310.name]
    assert fault.hits == 1 and hit.ok and hit.attempts == 2
    assert hit.job.dest.read_bytes() == SPOC_25155310.read_bytes()
    assert results[FILES[-1].name].attempts == 1
    assert len(sleeps) == 1 and server.count("download") == 3
    if "retry-after" in name:
        assert sleeps == [DOWNLOAD_FAULTS[name]["retry_after"]]
    if name == "stall":
        assert 0.4 < elapsed < 2.0  # one read timeout of 0.5 s


def test_persistent_failure_reports_and_others_go_on(
    server: MastServer, tmp_path: Path, policy: RetryPolicy, sleeps: list[float]
) -> None:
    server.add_fault(Fault(kind="download", uri="0000000025155310", status=503, retry_after=1, times=100))
    jobs = jobs_for(server, tmp_path)
    missing = DownloadJob("mast:TESS/product/nope_lc.fits", tmp_path / "raw" / "nope_lc.fits", 10)
    results = by_name(list(download_all(server.url, [*jobs, missing], workers=3, policy=policy)))
    failed = results[SPOC_25155310.name]
    assert (
        not failed.ok and failed.transient and failed.attempts == 4 and failed.error == "HTTP 503 Service Unavailable"
    )
    assert not failed.job.dest.exists() and not list(failed.job.dest.parent.glob("*.part"))
    assert sleeps == [1.0, 1.0, 1.0]
    gone = results["nope_lc.fits"]  # a 404 is not retried and will not heal by itself
    assert not gone.ok and not gone.transient and gone.attempts == 1 and "404" in (gone.error or "")
    others = [r for name, r in results.items() if name not in {SPOC_25155310.name, "nope_lc.fits"}]
    assert len(others) == len(FILES) - 1 and all(r.ok and r.job.dest.exists() for r in others)


def test_size_mismatch_is_retried_then_reported(
    server: MastServer, tmp_path: Path, policy: RetryPolicy, sleeps: list[float]
) -> None:
    (job,) = jobs_for(server, tmp_path, [SPOC_25155310])
    job.expected_size += 1
    (result,) = download_all(server.url, [job], policy=policy)
    assert not result.ok and not result.transient and result.attempts == 4 and len(sleeps) == 3
    assert "size mismatch" in (result.error or "") and not job.dest.exists()
    assert not list(job.dest.parent.glob("*"))

    job.expected_size = None  # unknown size: Content-Length is still checked, and it matches
    (result,) = download_all(server.url, [job], policy=policy)
    assert result.ok and job.dest.stat().st_size == SPOC_25155310.stat().st_size


def test_truncated_body_without_expected_size_is_retried(
    server: MastServer, tmp_path: Path, policy: RetryPolicy
) -> None:
    server.add_fault(Fault(kind="download", truncate=0.5, times=2))
    (job,) = jobs_for(server, tmp_path, [SPOC_25155310])
    job.expected_size = None
    (result,) = download_all(server.url, [job], policy=policy)
    assert result.ok and result.attempts == 3 and job.dest.read_bytes() == SPOC_25155310.read_bytes()


def test_existing_file_is_replaced_atomically(server: MastServer, tmp_path: Path, policy: RetryPolicy) -> None:
    (job,) = jobs_for(server, tmp_path, [SPOC_25155310])
    job.dest.parent.mkdir(parents=True)
    job.dest.write_bytes(b"old")
    (result,) = download_all(server.url, [job], policy=policy)
    assert result.ok and job.dest.read_bytes() == SPOC_25155310.read_bytes()


def test_unsafe_destination_name_is_refused(server: MastServer, tmp_path: Path, policy: RetryPolicy) -> None:
    (job,) = jobs_for(server, tmp_path, [SPOC_25155310])
    job.dest = tmp_path / "raw" / "..\\evil.fits"
    (result,) = download_all(server.url, [job], policy=policy)
    assert not result.ok and result.attempts == 0 and "unsafe" in (result.error or "")
    assert server.count("download") == 0 and not (tmp_path / "raw").exists()


def test_unreachable_server_fails_quickly(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    job = DownloadJob("mast:TESS/product/x_lc.fits", tmp_path / "x_lc.fits", None)
    start = time.monotonic()
    (result,) = download_all(f"http://127.0.0.1:{port}", [job], retries=2, backoff=0.05)
    assert not result.ok and result.transient and result.attempts == 3
    assert "ConnectionError" in (result.error or "") and time.monotonic() - start < 2.0


@pytest.mark.slow
def test_workers_download_concurrently(server: MastServer, tmp_path: Path, policy: RetryPolicy) -> None:
    (base,) = jobs_for(server, tmp_path, [FILES[0]])
    server.latency = 0.2

    def timed(workers: int, run: str) -> float:
        # 16 downloads of one product into separate folders
        jobs = [
            DownloadJob(base.data_uri, tmp_path / run / str(i) / base.dest.name, base.expected_size) for i in range(16)
        ]
        start = time.monotonic()
        results = list(download_all(server.url, jobs, workers=workers, policy=policy))
        assert all(r.ok for r in results) and len(results) == 16
        return time.monotonic() - start

    parallel, serial = timed(8, "parallel"), timed(1, "serial")
    assert serial > 16 * 0.2 and parallel < serial / 3


def test_a_link_at_the_partial_name_is_not_written_through(
    server: MastServer, tmp_path: Path, policy: RetryPolicy
) -> None:
    (job,) = jobs_for(server, tmp_path / "lake", [SPOC_25155310])
    job.dest.parent.mkdir(parents=True)
    users = tmp_path / "thesis.tex"
    users.write_bytes(b"the user's own")
    job.dest.with_name(job.dest.name + ".part").symlink_to(users)
    (result,) = download_all(server.url, [job], policy=policy)
    assert result.ok and job.dest.read_bytes() == SPOC_25155310.read_bytes()
    assert users.read_bytes() == b"the user's own"
    assert not job.dest.is_symlink()
