"""Harvest benchmark over loopback: LARUN Lake against the usual lightkurve loop, on the same server.

    python -m tests.benchmarks.bench_harvest [--targets 100] [--sectors 2] [--latency 0.1]

The MAST-compatible server adds `latency` seconds to every request. Prints requests per
light curve and light curves per second for both, and their ratio, from one run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from larun_lake import Lake
from tests.fitsgen import write_spoc_lightcurve
from tests.mast_server import MastServer


@contextmanager
def lightkurve_pointed_at(url: str):
    """Point astroquery (so lightkurve) at the server the way a user would configure it; restore after."""
    from astroquery.mast.discovery_portal import PortalAPI

    saved = {a: getattr(PortalAPI, a) for a in ("MAST_REQUEST_URL", "COLUMNS_CONFIG_URL", "MAST_DOWNLOAD_URL",
                                                 "MAST_BUNDLE_URL", "TIMEOUT", "_column_configs")}
    PortalAPI.MAST_REQUEST_URL = url + "/api/v0/invoke"
    PortalAPI.COLUMNS_CONFIG_URL = url + "/portal/Mashup/Mashup.asmx/columnsconfig"
    PortalAPI.MAST_DOWNLOAD_URL = url + "/api/v0.1/Download/file"
    PortalAPI.MAST_BUNDLE_URL = url + "/api/v0.1/Download/bundle"
    PortalAPI.TIMEOUT = 60
    PortalAPI._column_configs = {}
    try:
        yield
    finally:
        for attr, value in saved.items():
            setattr(PortalAPI, attr, value)


def run(n_targets: int = 100, n_sectors: int = 2, latency: float = 0.1, n_cadences: int = 18000,
        workers: int = 8) -> dict[str, float]:
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tics = list(range(400_000_001, 400_000_001 + n_targets))
        with MastServer() as server:
            for tic in tics:
                for sector in range(1, n_sectors + 1):
                    server.add_file(write_spoc_lightcurve(root / "fits", tic_id=tic, sector=sector,
                                                          n_cadences=n_cadences))
            n_lcs = n_targets * n_sectors
            server.latency = latency

            lake = Lake(root / "lake")
            lake.catalog.create_if_missing()
            server.reset_counts()
            start = time.perf_counter()
            report = lake.harvest_lightcurves([f"TIC {t}" for t in tics], mission="TESS", author="SPOC",
                                              workers=workers, mast_url=server.url)
            lake_s = time.perf_counter() - start
            lake_requests = len(server.requests)
            assert report.ingested == n_lcs, report.problems[:3]

            with warnings.catch_warnings(), lightkurve_pointed_at(server.url):
                warnings.simplefilter("ignore")
                import lightkurve as lk

                server.reset_counts()
                start = time.perf_counter()
                got = 0
                for tic in tics:  # the usual loop: search, then download, one target at a time
                    lk.search_lightcurve.cache_clear()
                    result = lk.search_lightcurve(f"TIC {tic}", mission="TESS", author="SPOC")
                    got += len(result.download_all(download_dir=str(root / "lk")))
                lk_s = time.perf_counter() - start
                lk_requests = len(server.requests)
            assert got == n_lcs
    return {
        "targets": n_targets, "lightcurves": n_lcs, "latency_s": latency,
        "lake_requests_per_lc": lake_requests / n_lcs, "lake_lc_per_s": n_lcs / lake_s,
        "lightkurve_requests_per_lc": lk_requests / n_lcs, "lightkurve_lc_per_s": n_lcs / lk_s,
        "speedup": lk_s / lake_s, "request_ratio": lk_requests / max(lake_requests, 1),
    }


def report(r: dict[str, float]) -> str:
    return "\n".join([
        f"harvest benchmark: {r['lightcurves']} light curves of {r['targets']} targets, "
        f"{r['latency_s'] * 1000:.0f} ms added to every request",
        f"  LARUN Lake harvest        {r['lake_requests_per_lc']:5.2f} requests/LC  {r['lake_lc_per_s']:7.1f} LC/s",
        f"  lightkurve search+download {r['lightkurve_requests_per_lc']:5.2f} requests/LC  "
        f"{r['lightkurve_lc_per_s']:7.1f} LC/s",
        f"  speed-up {r['speedup']:.1f}x, {r['request_ratio']:.1f}x fewer requests",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--sectors", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--cadences", type=int, default=18000)
    args = parser.parse_args()
    print(report(run(args.targets, args.sectors, args.latency, args.cadences)))


if __name__ == "__main__":
    main()
