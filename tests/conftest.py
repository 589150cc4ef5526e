"""Shared test fixtures: real MAST files from ../shared/fixtures, temporary lakes, the CLI as a real process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"

SPOC_S1 = FIXTURES / "tess_spoc" / "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"
SPOC_S1_OLD = FIXTURES / "tess_spoc" / "tess2018206045859-s0001-0000000358108509-0120-s_lc.fits"
QLP_S24 = FIXTURES / "tess_hlsp" / "hlsp_qlp_tess_ffi_s0024-0000000039903405_tess_v01_llc.fits"
TESS_SPOC_FFI = FIXTURES / "tess_hlsp" / "hlsp_tess-spoc_tess_phot_0000000033910247-s0001_tess_v1_lc.fits"
KEPLER_Q2 = FIXTURES / "kepler" / "kplr010002792-2009259160929_llc.fits"
K2_C4 = FIXTURES / "k2" / "ktwo211117077-c04_llc.fits"
GOLDEN_STALE = FIXTURES / "odd" / "golden-lc.fits"
TPF_GZ = FIXTURES / "truncated" / "tess25155310-s01-first-cadences.fits.gz"

# Every light curve in the fixtures that must be ingested and agree with lightkurve.
LIGHTKURVE_READABLE = sorted(
    [*(FIXTURES / "tess_spoc").glob("*.fits"), *(FIXTURES / "tess_spoc_renamed").glob("*.fits"),
     *(FIXTURES / "kepler").glob("*.fits"), *(FIXTURES / "k2").glob("*.fits"),
     *(FIXTURES / "tess_hlsp").glob("hlsp_qlp*.fits"), *(FIXTURES / "tess_hlsp").glob("hlsp_tess-*.fits")]
)


def pytest_configure(config: pytest.Config) -> None:
    if not FIXTURES.is_dir():
        raise pytest.UsageError(f"test fixtures not found at {FIXTURES}: check out ../shared beside the repository")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("LARUN_LAKE_LIVE_MAST") != "1":
        skip = pytest.mark.skip(reason="live MAST tests run only with LARUN_LAKE_LIVE_MAST=1")
        for item in items:
            if "live" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's ~/.astropy, ~/.lightkurve or environment-selected lake."""
    home = tmp_path_factory.mktemp("home")
    for sub in (".config/astropy", ".cache/astropy"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    for name in ("LARUN_LAKE", "LARUN_LAKE_MAST_URL", "LARUN_LAKE_WAIT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def lake_path(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture(scope="session")
def fixture_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with every fixture imported once; tests must not modify it (copy it first)."""
    from larun_lake import Lake

    path = tmp_path_factory.mktemp("fixture_lake") / "lake"
    Lake(path).import_files([FIXTURES])
    return path


@pytest.fixture
def lake_copy(fixture_lake: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "lake"
    shutil.copytree(fixture_lake, dest)
    return dest


def run_cli(*args: str, input: str | None = None, env: dict | None = None, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `larun-lake` as a real process (the installed console script's module)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "larun_lake", *args], capture_output=True, text=True,
                          input=input, env=full_env, cwd=cwd, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def clean_mast_server(server, monkeypatch: pytest.MonkeyPatch):
    """Reset a module's shared loopback MAST server (its `server` fixture) around each test."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server.clear_faults()
    server.reset_counts()
    server.latency = 0.0
    yield server
    server.clear_faults()
    server.latency = 0.0


@pytest.fixture(scope="session")
def ffi_cubes(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Synthetic TESS FFI cubes (sectors 1-3 around TIC 25155310; see mast_server/ffi.py), made once per
    session in about a second: {SectorSpec: cube path}. Serve them with MastServer(cubes=...)."""
    from .mast_server.ffi import make_cubes

    return make_cubes(tmp_path_factory.mktemp("ffi_cubes"))


# --- Object storage and Dask on loopback (moto's S3 server, a LocalCluster with worker processes) ---


@pytest.fixture(scope="session")
def s3_server():
    """One S3-compatible server on 127.0.0.1 for the whole session (`.endpoint`, `.env()`); starts in about 0.7 s."""
    from .s3server import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def s3_server_private():
    """A server of this test's own, for faults: `.stop()` makes the store unreachable, `.restart()` brings it back
    on the same port with its objects. Point clients at it with `s3server.use_s3_server(monkeypatch, server)`."""
    from .s3server import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch: pytest.MonkeyPatch):
    """AWS_ENDPOINT_URL, credentials and region of the session's server in os.environ for this test, so the CLI
    in a subprocess (started after this fixture) finds the store the way a user's does. Returns the server."""
    from .s3server import use_s3_server

    use_s3_server(monkeypatch, s3_server)
    return s3_server


@pytest.fixture
def s3_bucket(s3_env) -> str:
    """A new, empty bucket with a unique name on the session's server."""
    return s3_env.create_bucket()


@pytest.fixture
def s3_lake_url(s3_bucket: str) -> str:
    return f"s3://{s3_bucket}/lake"


@pytest.fixture(scope="session")
def dask_cluster(s3_server, tmp_path_factory: pytest.TempPathFactory):
    """A LocalCluster with 2 worker processes (one thread each), started once (about 1.5 s).

    Worker processes are spawned, so they take os.environ as it is when each one starts; the session starts
    before any test's monkeypatch, and the nanny restarts a killed worker with the environment of that moment.
    So the cluster passes its workers their environment explicitly (`env=`, which the nannies apply to every
    worker they start or restart): the session S3 server's endpoint and credentials, and a home folder of
    their own so that nothing they run touches the user's ~/.aws, ~/.astropy or ~/.lightkurve. A test with a
    server of its own (s3_server_private) needs a cluster of its own.
    Spawned workers also inherit this process's sys.path, so they import this checkout's `larun_lake` and
    the `tests` package (tasks defined in test modules are pickled by reference).
    """
    from distributed import LocalCluster

    home = tmp_path_factory.mktemp("dask_home")
    for sub in (".config/astropy", ".cache/astropy"):
        (home / sub).mkdir(parents=True)
    env = {
        **s3_server.env(),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    cluster = LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
        # Without a dashboard the scheduler still serves HTTP (health, metrics), by default on port 8787, which
        # another cluster on this machine may hold: a free loopback port instead, and no warning.
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        env=env,
        local_directory=str(tmp_path_factory.mktemp("dask_scratch")),
    )
    yield cluster
    cluster.close()


@pytest.fixture
def dask_client(dask_cluster):
    """A Client on the session's cluster, once both workers are up (a test may have killed one)."""
    from distributed import Client

    with Client(dask_cluster) as client:
        client.wait_for_workers(2, timeout=60)
        yield client
