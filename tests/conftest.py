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
