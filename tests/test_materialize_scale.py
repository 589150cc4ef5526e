"""materialize beyond one machine: sets written to object storage, and Parquet sets read by Dask tasks.

moto's S3 server on 127.0.0.1 holds the lake and the outputs, a `distributed.LocalCluster` with
two worker processes runs the tasks (fixtures in conftest.py); the CLI runs as a real process.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from larun_lake import Lake, UsageError
from larun_lake.errors import FileSystemError
from larun_lake.executors import TaskRunner
from larun_lake.layout import LakeLayout
from larun_lake.materialize import frame, target, tasks
from larun_lake.materialize.target import set_target
from tests.conftest import K2_C4, KEPLER_Q2, QLP_S24, SPOC_S1, run_cli
from tests.fitsgen import make_spoc_set

ALL = "SELECT lc_id FROM lightcurves"
N_LIGHTCURVES = 28
TASK_ROWS = 3_000  # about five light curves a task, so that sets are cut into several tasks


@pytest.fixture(scope="module")
def s3_lake(s3_server, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """An S3 lake of 24 generated SPOC light curves (12 stars in sectors 1 and 2) and four real ones, in data
    files of four input files each; and the writer's catalog. Tests add sets to it under names of their own."""
    from larun_lake.ingest import importer, order
    from tests.s3server import use_s3_server

    folder = tmp_path_factory.mktemp("inputs")
    make_spoc_set(folder / "gen", 24, n_cadences=600, sectors=(1, 2))
    for path in (SPOC_S1, KEPLER_Q2, K2_C4, QLP_S24):
        shutil.copy(path, folder / path.name)
    catalog = tmp_path_factory.mktemp("writer") / "catalog.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        use_s3_server(mp, s3_server)
        mp.setattr(importer, "CHUNK_FILES", 4)
        mp.setattr(order, "CHUNK_BYTES", 0)
        url = f"s3://{s3_server.create_bucket()}/lake"
        report = Lake(url, catalog=catalog).import_files([folder])
    assert report.ingested == N_LIGHTCURVES
    return url, catalog


@pytest.fixture
def many_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "TASK_ROWS", TASK_ROWS)


def _bucket(url: str) -> str:
    return url.split("/")[2]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(s3_env, bucket: str, folder: Path) -> list[str]:
    """Temporaries (task parts, staged files) left in the bucket or the output folder."""
    names = [k for k in s3_env.filesystem().find(bucket) if "/." in k]
    return names + [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_the_same_set_from_an_s3_lake_with_and_without_dask(
    s3_env, s3_lake, dask_client, many_tasks, tmp_path: Path
) -> None:
    url, catalog = s3_lake
    bucket = _bucket(url)
    here = Lake(url, catalog=catalog)
    on_dask = Lake(url, catalog=catalog, executor=dask_client)
    outputs = {
        "here-local": (here, tmp_path / "here-local.parquet"),
        "dask-local": (on_dask, tmp_path / "dask-local.parquet"),
        "dask-s3": (on_dask, f"s3://{bucket}/sets/dask-s3.parquet"),
        "here-s3": (here, f"s3://{bucket}/sets/here-s3.parquet"),
    }
    results = {key: lake.materialize(ALL).write(out) for key, (lake, out) in outputs.items()}
    lcs = here.materialize(ALL)
    assert len(tasks.task_groups(lcs._plan, TASK_ROWS)) >= 5  # light curves of many data files, interleaved

    fs = s3_env.filesystem()
    data = {
        key: Path(out).read_bytes() if isinstance(out, Path) else fs.cat(out.removeprefix("s3://"))
        for key, (_, out) in outputs.items()
    }
    # One file, byte for byte the same, whoever read the cadences and wherever it went.
    assert len({_sha(d) for d in data.values()}) == 1
    reference = pq.read_table(outputs["here-local"][1])
    assert reference.num_rows == results["here-local"].n_rows > 0
    assert pq.read_table(f"{bucket}/sets/dask-s3.parquet", filesystem=fs).equals(reference)
    assert len({r.content_hash for r in results.values()}) == 1
    assert {r.n_rows for r in results.values()} == {reference.num_rows}
    # Plain readers open the object; its manifest is the object next to it and names it.
    frame_s3 = pd.read_parquet(f"{url.rsplit('/', 1)[0]}/sets/dask-s3.parquet", columns=["lc_id", "flux"])
    assert len(frame_s3) == reference.num_rows
    manifest = json.loads(fs.cat(f"{bucket}/sets/dask-s3.parquet.manifest.json"))
    assert manifest["output"] == {"path": f"s3://{bucket}/sets/dask-s3.parquet", "format": "parquet"}
    assert manifest["lake"] == url
    assert manifest["counts"]["rows"] == reference.num_rows
    assert sum(m["n_rows"] for m in manifest["lightcurves"]) == reference.num_rows
    # The set records keep the URL, and the output is seen where it went.
    sets = here.sets().df().set_index("name")
    assert sets.loc["dask-s3", "output_path"] == f"s3://{bucket}/sets/dask-s3.parquet"
    assert sets.loc[list(outputs), "output_present"].all()
    assert here.set_status("dask-s3").changed is False
    assert _leftovers(s3_env, bucket, tmp_path) == []


@pytest.mark.slow
def test_a_set_made_on_another_machine_keeps_the_lake_whole(
    s3_env, s3_lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = s3_lake
    # This machine never wrote the lake: no catalog of it in its cache.
    result = Lake(url).materialize("SELECT lc_id FROM lightcurves WHERE sector = 2").write(tmp_path / "s2.parquet")
    assert result.n_lightcurves == 12
    # A third machine reads the snapshot the set was recorded in: every light curve, and the set.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "third-machine"))
    third = Lake(url)
    assert third.sql("SELECT count(*) FROM lightcurves").fetchall() == [(N_LIGHTCURVES,)]
    assert "s2" in third.sets().df()["name"].tolist()


def test_out_inside_the_lake_prefix_is_refused(s3_env, s3_lake) -> None:
    url, catalog = s3_lake
    fs = s3_env.filesystem()
    before = fs.find(_bucket(url))
    proc = run_cli("--lake", url, "--catalog", str(catalog), "materialize", ALL, "--out", f"{url}/sets/x.parquet")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert f"--out {url}/sets/x.parquet is inside the lake {url}" in proc.stderr
    lcs = Lake(url, catalog=catalog).materialize(ALL)
    with pytest.raises(UsageError, match="inside the lake"):
        lcs.write(url)
    with pytest.raises(UsageError, match="names no object"):
        lcs.write(f"s3://{_bucket(url)}/sets/")
    deep = LakeLayout.at(f"s3://{_bucket(url)}/survey/lake")
    with pytest.raises(UsageError, match="holds the lake"):
        set_target(f"s3://{_bucket(url)}/survey", deep).check(format="parquet", overwrite=False)
    with pytest.raises(UsageError, match="lightkurve-fits writes a folder"):
        lcs.write(f"s3://{_bucket(url)}/sets/fits", format="lightkurve-fits")
    # Keys a resolving store would lead into the lake's prefix.
    for sneaky in ("sets/../lake/cadences/x.parquet", "sets/./x.parquet", "sets//x.parquet"):
        with pytest.raises(UsageError, match=r"empty, '\.' or '\.\.' parts"):
            lcs.write(f"s3://{_bucket(url)}/{sneaky}")
    fs.invalidate_cache()
    assert fs.find(_bucket(url)) == before
    # A key that only starts like the lake's prefix is outside it.
    set_target(f"{url}-sets.parquet", lcs.catalog.layout).check(format="parquet", overwrite=False)


@pytest.mark.slow
def test_an_existing_object_is_replaced_only_when_an_earlier_set_wrote_it(
    s3_env, s3_lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, catalog = s3_lake
    fs = s3_env.filesystem()
    user_object = f"{_bucket(url)}/mine/notes.parquet"
    fs.pipe_file(user_object, b"a user's own file")
    out = f"s3://{user_object}"
    proc = run_cli("--lake", url, "--catalog", str(catalog), "materialize", ALL, "--out", out)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert f"--out {out} exists" in proc.stderr
    lake = Lake(url, catalog=catalog)
    with pytest.raises(UsageError, match="not an earlier output"):
        lake.materialize(ALL).write(out, overwrite=True)
    assert fs.cat(user_object) == b"a user's own file"

    earlier = f"s3://{_bucket(url)}/mine/tess.parquet"
    # Task parts of a run killed on some machine: removed by the next write there once they are old enough.
    fs.pipe_file(f"{_bucket(url)}/mine/.tess.parquet.tmp-4242-0badcafe/part-00000.arrow", b"parts")
    monkeypatch.setattr(target, "STALE_AFTER_S", 0.0)
    first = lake.materialize(ALL).write(earlier)
    fs.invalidate_cache()
    assert fs.find(f"{_bucket(url)}/mine") == [user_object, earlier[5:], f"{earlier[5:]}.manifest.json"]
    with pytest.raises(UsageError, match="exists"):
        lake.materialize(ALL, normalize=True).write(earlier)
    second = lake.materialize(ALL, normalize=True).write(earlier, overwrite=True)
    assert second.content_hash != first.content_hash
    fs.invalidate_cache()
    manifest = json.loads(fs.cat(f"{earlier.removeprefix('s3://')}.manifest.json"))
    assert manifest["content_hash"] == second.content_hash
    assert lake.set_status("tess").record["content_hash"] == second.content_hash


def test_only_a_dead_runs_parts_are_removed_beside_an_object_output(
    s3_env, s3_lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = s3_lake
    fs = s3_env.filesystem()
    folder = f"{_bucket(url)}/kept"
    keep = [
        f"{folder}/.out.parquet.tmp-77-0badcafe/part-00000.arrow",  # a live run's (fresh) parts
        f"{folder}/.out.parquet.tmp-notes/a.txt",  # a user's folder named almost like them
        f"{folder}/.out.parquet.tmp-77-0badcafe.txt",  # a user's object named like them
        f"{folder}/.other.parquet.tmp-77-0badcafe/part-00000.arrow",  # another output's parts
        f"{folder}/out.parquet.tmp-77-0badcafe/part-00000.arrow",  # not hidden: not a temporary
    ]
    for key in keep:
        fs.pipe_file(key, b"x")
    out = set_target(f"s3://{folder}/out.parquet", LakeLayout.at(url))
    try:
        out.remove_stale_temporaries()
        fs.invalidate_cache()
        assert sorted(fs.find(folder)) == sorted(keep)
        monkeypatch.setattr(target, "STALE_AFTER_S", 0.0)  # now the parts are old enough to be a dead run's
        out.remove_stale_temporaries()
        fs.invalidate_cache()
        assert sorted(fs.find(folder)) == sorted(keep[1:])
    finally:  # other tests look for leftovers in the bucket
        fs.rm(folder, recursive=True)


def test_a_failed_upload_leaves_nothing(s3_env, s3_lake, monkeypatch: pytest.MonkeyPatch) -> None:
    url, catalog = s3_lake
    fs = s3_env.filesystem()
    lake = Lake(url, catalog=catalog)
    before = fs.find(_bucket(url))
    batches = iter(range(100))
    real = frame.assemble

    def failing(plan, pieces, lo, hi):
        if next(batches) == 2:  # the connection drops halfway through
            raise OSError("Connection reset by peer")
        return real(plan, pieces, lo, hi)

    monkeypatch.setattr(frame, "assemble", failing)
    lcs = lake.materialize(ALL)
    lcs.batch_rows = 1  # one light curve a batch: the upload has begun when the failure comes
    with pytest.raises(OSError, match="Connection reset"):
        lcs.write(f"s3://{_bucket(url)}/sets/broken.parquet")
    # Neither a half object nor a manifest, nor a set record; the upload was aborted, not left open.
    fs.invalidate_cache()
    assert fs.find(_bucket(url)) == before
    assert fs.call_s3("list_multipart_uploads", Bucket=_bucket(url)).get("Uploads", []) == []
    assert "broken" not in lake.sets().df()["name"].tolist()

    # Without --overwrite, an object that appears at the key while the set is written is kept.
    taken = f"{_bucket(url)}/sets/raced.parquet"
    batches = iter(range(100))

    def racing(plan, pieces, lo, hi):
        if next(batches) == 2:
            fs.pipe_file(taken, b"someone else's")
        return real(plan, pieces, lo, hi)

    monkeypatch.setattr(frame, "assemble", racing)
    with pytest.raises(UsageError, match="appeared while writing"):
        lcs.write(f"s3://{taken}")
    assert fs.cat(taken) == b"someone else's"
    assert not fs.exists(f"{taken}.manifest.json")


class _WorkersElsewhere(TaskRunner):
    """Workers on other machines: they cannot see this machine's folders."""

    distributed = True

    def submit(self, fn, *args):
        raise AssertionError("no task may start")

    def check_inputs(self, paths) -> None:
        raise UsageError(f"the workers cannot read {next(iter(paths))}")


def test_a_local_output_the_workers_cannot_reach_is_refused(s3_env, s3_lake, tmp_path: Path) -> None:
    url, catalog = s3_lake
    lake = Lake(url, catalog=catalog, executor=_WorkersElsewhere())
    with pytest.raises(UsageError, match=f"workers cannot write beside {tmp_path}") as refused:
        lake.materialize(ALL).write(tmp_path / "far.parquet")
    assert "--out s3://" in refused.value.hint
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_worker_killed_mid_materialize(
    s3_env, s3_lake, dask_client, many_tasks, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, catalog = s3_lake
    bucket = _bucket(url)
    # Options applied on the workers as here: a flux column whose medians the tasks compute, a mask.
    options = {"flux": "sap", "quality": "hard", "normalize": True}
    expected = Lake(url, catalog=catalog).materialize(ALL, **options).to_arrow()
    workers = dask_client.run(os.getpid)
    killed = []
    real = tasks.TaskEngine._fetch

    def kill_a_worker_at_the_first_part(engine, future, scratch):
        future.result()  # a first part is written; other tasks are queued or running
        if not killed:
            killed.append(sorted(workers.values())[0])
            os.kill(killed[0], signal.SIGKILL)
        return real(engine, future, scratch)

    monkeypatch.setattr(tasks.TaskEngine, "_fetch", kill_a_worker_at_the_first_part)
    lake = Lake(url, catalog=catalog, executor=dask_client)
    result = lake.materialize(ALL, **options).write(f"s3://{bucket}/sets/survived.parquet")
    assert killed
    got = pq.read_table(f"{bucket}/sets/survived.parquet", filesystem=s3_env.filesystem())
    assert got.schema == expected.schema
    assert got.to_pandas().equals(expected.to_pandas())  # NaN flux errors (QLP has none for SAP) compare equal
    assert result.n_rows == expected.num_rows
    assert [k for k in s3_env.filesystem().find(bucket) if "/." in k] == []


@pytest.mark.slow
def test_the_readme_command_on_a_dask_scheduler(s3_env, s3_lake, dask_cluster, dask_client) -> None:
    url, catalog = s3_lake
    out = f"s3://{_bucket(url)}/sets/s1.parquet"
    selection = "SELECT lc_id FROM lightcurves WHERE sector = 1"
    start = time.time()
    dask_client.get_task_stream(start=start)  # the scheduler records tasks from the first such request on
    proc = run_cli(
        "--lake", url, "--catalog", str(catalog), "--executor", "dask", "--scheduler", dask_cluster.scheduler_address,
        "materialize", selection, "--out", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"-> {out} (parquet)" in proc.stderr and f"manifest {out}.manifest.json" in proc.stderr
    ran = [str(task["key"]) for task in dask_client.get_task_stream(start=start)]
    assert any(key.startswith("materialize_part") for key in ran), ran  # the cadences were read on the cluster
    expected = Lake(url, catalog=catalog).materialize(selection).to_arrow()
    assert pq.read_table(out.removeprefix("s3://"), filesystem=s3_env.filesystem()).equals(expected)


def test_the_output_store_unreachable_mid_write(
    s3_server_private, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.s3server import use_s3_server

    lake = Lake(tmp_path / "lake")
    lake.import_files([SPOC_S1, QLP_S24, KEPLER_Q2])
    use_s3_server(monkeypatch, s3_server_private)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # fail at once rather than after the client's back-off
    bucket = s3_server_private.create_bucket()
    out = f"s3://{bucket}/sets/cut.parquet"
    batches = iter(range(100))
    real = frame.assemble

    def stop_the_store(plan, pieces, lo, hi):
        if next(batches) == 1:
            s3_server_private.stop()
        return real(plan, pieces, lo, hi)

    monkeypatch.setattr(frame, "assemble", stop_the_store)
    lcs = lake.materialize(ALL)
    lcs.batch_rows = 1
    with pytest.raises(FileSystemError) as failure:
        lcs.write(out)
    assert failure.value.exit_code == 3
    assert str(failure.value).startswith(f"cannot write {out}: ")
    assert "\n" not in str(failure.value)
    s3_server_private.restart()
    assert s3_server_private.filesystem().find(bucket) == []
    assert lake.sets().df().empty
