"""Scale-out benchmark: the local executor against Dask (1 and 2 worker processes), into a local lake and into
an S3 lake on loopback, on the same generated SPOC files, side by side in one run.

    python -m tests.benchmarks.bench_scale [--files 400] [--cadences 18000] [--repeats 3]
                                           [--materialize 1000] [--json out.json]

import       the same --files SPOC files into a fresh lake per contender and repeat; files/s (the whole
             import call, lake creation aside), medians of --repeats. Contenders: local executor with 1 and
             2 worker processes; Dask LocalCluster with 1 and 2 worker processes; each into a local folder
             and into moto's S3 server on 127.0.0.1.
materialize  --materialize light curves (default mask, NaNs out, normalized) to one Parquet file, from the
             lake they were imported into (--materialize-cadences each): local executor against Dask, local
             lake against S3 lake.

Reported: files/s; the Dask overhead per file (Dask with one worker against the local executor with one
worker, same lake); the scaling efficiency from 1 to 2 workers (rate with 2 / rate with 1; the target is at
least 1.7 on 2 cores). The machine is shared: compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from larun_lake import Lake
from tests.fitsgen import make_spoc_set

MATERIALIZE_SQL = "SELECT lc_id FROM lightcurves ORDER BY lc_id LIMIT {n}"


class _ServerProcess:
    """moto's S3 server in a process of its own: in this process it would share the client's GIL."""

    def __init__(self) -> None:
        from tests.s3server import S3Server

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._helper = S3Server()
        self._helper.port = self.port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            time.sleep(0.1)
        os.environ.update(self.env())  # this process's clients find the store as a user's do

    def env(self) -> dict[str, str]:
        return self._helper.env()

    def create_bucket(self, prefix: str) -> str:
        return self._helper.create_bucket(prefix)

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=30)


def _cluster(n_workers: int, env: dict[str, str]):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, processes=True, threads_per_worker=1, dashboard_address=None,
                           env=env)
    client = Client(cluster)
    client.wait_for_workers(n_workers)
    return cluster, client


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(n_files: int = 400, n_cadences: int = 18000, repeats: int = 3, n_materialize: int = 1000,
        materialize_cadences: int = 4000, progress: Callable[[str], None] = print) -> dict[str, object]:
    server = _ServerProcess()
    results: dict[str, list[float]] = {}
    materialize: dict[str, list[float]] = {}
    clusters = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            folder = root / "fits"
            make_spoc_set(folder, n_files, n_cadences=n_cadences, seed=5, sectors=(1, 2))
            for n in (1, 2):
                clusters[n] = _cluster(n, server.env())
            contenders = {
                "local executor, 1 worker": (None, 1),
                "local executor, 2 workers": (None, 2),
                "dask, 1 worker": (clusters[1][1], 0),
                "dask, 2 workers": (clusters[2][1], 0),
            }
            for _ in range(repeats):
                for where in ("local lake", "s3 lake"):
                    for name, (client, workers) in contenders.items():
                        lake = _new_lake(where, root, server, client)
                        seconds = _timed(lambda lake=lake, workers=workers: _import(lake, folder, n_files, workers))
                        key = f"import | {where} | {name}"
                        results.setdefault(key, []).append(seconds)
                        progress(f"{key}: {n_files / seconds:.1f} files/s")
            if n_materialize:
                small = root / "materialize-fits"
                make_spoc_set(small, n_materialize, n_cadences=materialize_cadences, seed=6, sectors=(1, 2))
                for where in ("local lake", "s3 lake"):
                    lake = _new_lake(where, root, server, clusters[2][1])
                    _import(lake, small, n_materialize, 0)
                    for _ in range(repeats):
                        for how, executor in (("local executor", "local"), ("dask, 2 workers", clusters[2][1])):
                            reader = Lake(lake.url, executor=executor, catalog=lake.layout.catalog)
                            seconds = _timed(lambda reader=reader: _materialize(reader, root, n_materialize))
                            key = f"materialize | {where} | {how}"
                            materialize.setdefault(key, []).append(seconds)
                            progress(f"{key}: {seconds:.2f} s")
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close()
        server.stop()
    rates = {k: n_files / statistics.median(v) for k, v in results.items()}
    report: dict[str, object] = {"files": n_files, "cadences_per_file": n_cadences, "repeats": repeats,
                                 "import_files_per_s": rates}
    for where in ("local lake", "s3 lake"):
        one = rates[f"import | {where} | dask, 1 worker"]
        two = rates[f"import | {where} | dask, 2 workers"]
        local_one = rates[f"import | {where} | local executor, 1 worker"]
        local_two = rates[f"import | {where} | local executor, 2 workers"]
        report[f"{where}: dask scaling 1->2 workers"] = two / one
        report[f"{where}: local scaling 1->2 workers"] = local_two / local_one
        report[f"{where}: dask overhead ms per file"] = 1000 * (1 / one - 1 / local_one)
    report["materialize_seconds"] = {k: statistics.median(v) for k, v in materialize.items()}
    report["materialize_lightcurves"] = n_materialize
    return report


def _new_lake(where: str, root: Path, server, client) -> Lake:
    if where == "local lake":
        url = str(root / f"lake-{uuid.uuid4().hex[:8]}")
    else:
        url = f"s3://{server.create_bucket('bench')}/lake"
    return Lake(url, executor=client, catalog=root / f"catalog-{uuid.uuid4().hex[:8]}" / "catalog.duckdb")


def _import(lake: Lake, folder: Path, n_files: int, workers: int) -> None:
    report = lake.import_files([folder], workers=workers)
    assert report.ingested == n_files, (report.ingested, report.problems[:3])


def _materialize(lake: Lake, root: Path, n: int) -> None:
    out = root / f"set-{uuid.uuid4().hex[:8]}.parquet"
    lcs = lake.materialize(MATERIALIZE_SQL.format(n=n), normalize=True)
    lcs.write(out)


def _table(report: dict[str, object]) -> str:
    lines = ["| contender | files/s |", "| --- | --- |"]
    lines += [f"| {k} | {v:.1f} |" for k, v in report["import_files_per_s"].items()]
    lines += ["", "| measure | value |", "| --- | --- |"]
    lines += [f"| {k} | {v:.2f} |" for k, v in report.items() if isinstance(v, float)]
    lines += ["", "| materialize | seconds |", "| --- | --- |"]
    lines += [f"| {k} | {v:.2f} |" for k, v in report["materialize_seconds"].items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--cadences", type=int, default=18000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--materialize", type=int, default=1000, help="light curves to materialize (0: none)")
    parser.add_argument("--materialize-cadences", type=int, default=4000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = run(args.files, args.cadences, args.repeats, args.materialize, args.materialize_cadences)
    print(_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
