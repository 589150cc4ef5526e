"""Run the fake MAST standalone: prints its URL on the first stdout line, serves until killed."""

from __future__ import annotations

import argparse
import signal
import threading

from .server import MastServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mast_server", description=__doc__)
    parser.add_argument("--fits-dir", action="append", default=[], help="directory scanned recursively")
    parser.add_argument("--fits-file", action="append", default=[], help="one light-curve file")
    parser.add_argument("--tic-parquet", help="TIC rows (ID, ra, dec, Tmag, ...) as Parquet")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--no-non-lc-products", action="store_true", help="list light curves only")
    parser.add_argument("--observatory", action="store_true", help="also serve the HST/JWST observations")
    parser.add_argument("--observatory-dir", help="where their files are made (default: a temporary folder)")
    args = parser.parse_args(argv)

    tic_rows = None
    if args.tic_parquet:
        import pandas as pd

        tic_rows = pd.read_parquet(args.tic_parquet)
    server = MastServer(
        fits_files=args.fits_file,
        fits_dir=args.fits_dir,
        tic_rows=tic_rows,
        non_lc_products=not args.no_non_lc_products,
        host=args.host,
        port=args.port,
        latency=args.latency,
        observatory=args.observatory_dir or args.observatory,
    )
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    server.start()
    print(server.url, flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
