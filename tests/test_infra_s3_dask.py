"""The loopback object store and Dask cluster the scale-out tests stand on, checked with real parts: Hive-partitioned
Parquet written by pyarrow and read back by pandas and DuckDB, a conditional write, a task on a worker process
writing to the store, and a store that goes away mid-test."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
import s3fs

from .conftest import REPO
from .s3server import put_from_environment, use_s3_server

# Partition keys declared, so pyarrow, pandas and DuckDB agree on their types.
PARTITIONING = ds.partitioning(pa.schema([("mission", pa.string()), ("sector", pa.int32())]), flavor="hive")


def _cadences() -> pa.Table:
    rows = [
        ("TESS", 1, "TESS:SPOC:25155310:s0001", [1325.0, 1325.5, 1326.0], [1.0, 2.0, 4.0]),
        ("TESS", 2, "TESS:SPOC:25155310:s0002", [1354.0, 1354.5], [8.0, 16.0]),
        ("K2", 4, "K2:K2:211117077:c04", [2229.5], [32.0]),
    ]
    columns: dict[str, list] = {"mission": [], "sector": [], "lc_id": [], "time": [], "flux": []}
    for mission, sector, lc_id, times, fluxes in rows:
        for time, flux in zip(times, fluxes, strict=True):
            for name, value in zip(columns, (mission, sector, lc_id, time, flux), strict=True):
                columns[name].append(value)
    return pa.table({**columns, "sector": pa.array(columns["sector"], pa.int32())})


def test_hive_parquet_written_by_pyarrow_reads_back_in_pandas_and_duckdb(s3_lake_url: str) -> None:
    table = _cadences()
    fs, root = pafs.FileSystem.from_uri(f"{s3_lake_url}/cadences")  # the endpoint comes from AWS_ENDPOINT_URL
    # create_dir=False: no zero-byte "folder" objects, which make fsspec readers fail.
    ds.write_dataset(
        table,
        root,
        filesystem=fs,
        format="parquet",
        partitioning=PARTITIONING,
        create_dir=False,
        basename_template="part-{i}.parquet",
    )

    written = sorted(
        info.path
        for info in fs.get_file_info(pafs.FileSelector(root, recursive=True))
        if info.type == pafs.FileType.File
    )
    assert written == [
        f"{root}/mission=K2/sector=4/part-0.parquet",
        f"{root}/mission=TESS/sector=1/part-0.parquet",
        f"{root}/mission=TESS/sector=2/part-0.parquet",
    ]

    frame = pd.read_parquet(f"{s3_lake_url}/cadences", storage_options={"endpoint_url": os.environ["AWS_ENDPOINT_URL"]})
    frame = frame.astype({"mission": str, "sector": int}).sort_values(["lc_id", "time"], ignore_index=True)
    expected = table.to_pandas().astype({"sector": int}).sort_values(["lc_id", "time"], ignore_index=True)
    pd.testing.assert_frame_equal(frame[expected.columns], expected)

    con = duckdb.connect()
    con.register_filesystem(s3fs.S3FileSystem())
    summary = con.sql(
        "SELECT mission, sector, count(*), sum(flux) "
        f"FROM read_parquet('{s3_lake_url}/cadences/**/*.parquet', hive_partitioning = true) "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert summary == [("K2", 4, 1, 32.0), ("TESS", 1, 3, 7.0), ("TESS", 2, 2, 24.0)]


def test_pyarrow_s3_filesystem_pickles_with_its_endpoint_into_a_process_without_one(
    s3_lake_url: str, tmp_path: Path
) -> None:
    fs, path = pafs.FileSystem.from_uri(f"{s3_lake_url}/probe.bin")
    with fs.open_output_stream(path) as out:
        out.write(b"written by the client")
    (tmp_path / "fs.pickle").write_bytes(pickle.dumps(fs))

    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    # Importing pyarrow.fs registers the S3 shutdown at exit; a process that only unpickles the filesystem
    # (which imports pyarrow.s3_client alone) aborts when it exits ("FinalizeS3 was not called").
    code = (
        "import pickle, sys, pyarrow.fs; fs = pickle.loads(open(sys.argv[1], 'rb').read());"
        "sys.stdout.buffer.write(fs.open_input_stream(sys.argv[2]).read())"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "fs.pickle"), path], env=env, capture_output=True, timeout=60
    )
    assert child.returncode == 0, child.stderr.decode()
    assert child.stdout == b"written by the client"


def test_a_conditional_put_fails_when_the_key_exists(s3_bucket: str) -> None:
    fs = s3fs.S3FileSystem()
    lease = f"{s3_bucket}/lake/_catalog/LEASE"
    fs.pipe_file(lease, b"writer A", mode="create")
    with pytest.raises(FileExistsError):
        fs.pipe_file(lease, b"writer B", mode="create")
    assert fs.cat_file(lease) == b"writer A"


def test_a_task_on_each_dask_worker_writes_an_object_the_client_reads(dask_client, s3_lake_url: str) -> None:
    workers = sorted(dask_client.scheduler_info()["workers"])
    assert len(workers) == 2
    futures = [
        dask_client.submit(
            put_from_environment,
            f"{s3_lake_url}/from-worker-{i}",
            f"payload {i}".encode(),
            workers=[address],
            pure=False,
        )
        for i, address in enumerate(workers)
    ]
    results = dask_client.gather(futures)

    fs = s3fs.S3FileSystem()
    bucket_prefix = s3_lake_url.removeprefix("s3://")
    assert [fs.cat_file(f"{bucket_prefix}/from-worker-{i}") for i in range(2)] == [b"payload 0", b"payload 1"]
    assert len({r["pid"] for r in results} | {os.getpid()}) == 3  # two worker processes, not this one
    assert all(r["larun_lake"] == str(REPO / "larun_lake" / "__init__.py") for r in results)
    assert all(r["aws_config"] == os.devnull and "dask_home" in r["home"] for r in results)


def test_a_stopped_private_server_is_unreachable_and_a_restart_keeps_its_objects(
    s3_server_private, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_s3_server(monkeypatch, s3_server_private)
    bucket = s3_server_private.create_bucket()
    fs = pafs.S3FileSystem(
        endpoint_override=s3_server_private.endpoint, retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=1)
    )
    with fs.open_output_stream(f"{bucket}/lake/x") as out:
        out.write(b"kept")

    s3_server_private.stop()
    with pytest.raises(OSError, match="NETWORK_CONNECTION"):
        fs.open_input_stream(f"{bucket}/lake/x").read()
    # s3fs reports the same condition with botocore's exception, which is not an OSError.
    from botocore.exceptions import EndpointConnectionError

    impatient = s3fs.S3FileSystem(config_kwargs={"retries": {"max_attempts": 1}})
    impatient.retries = 1  # s3fs's own retry loop (5 by default, with back-off), outside botocore's
    with pytest.raises(EndpointConnectionError):
        impatient.cat_file(f"{bucket}/lake/x")

    s3_server_private.restart()
    assert fs.open_input_stream(f"{bucket}/lake/x").read() == b"kept"
