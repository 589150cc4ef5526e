"""`forget`: a target's light curves, a run's, superseded versions, a named set; atomic and verify-clean."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from typer.testing import CliRunner

from larun_lake import Lake, UsageError, cli
from larun_lake.catalog import forget as catalog_forget
from larun_lake.lake.storage import Storage

from .fitsgen import write_spoc_lightcurve

TARGETS = (100, 200, 300)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three TESS targets in one data file (run 1), then a newer release of TIC 200 (run 2), whose old rows
    go to _history. Tests copy the lake."""
    root = tmp_path_factory.mktemp("forget")
    v1 = {tic: write_spoc_lightcurve(root / "v1", tic_id=tic, sector=5, n_cadences=300, seed=tic) for tic in TARGETS}
    v2 = write_spoc_lightcurve(root / "gen", tic_id=200, sector=5, n_cadences=300, seed=201, data_rel=99)
    (root / "v2").mkdir()
    v2 = v2.rename(root / "v2" / v2.name)
    lake = Lake(root / "lake")
    first = lake.import_files([root / "v1"])
    second = lake.import_files([root / "v2"])
    assert (first.ingested, second.ingested, second.superseded) == (3, 1, 1)
    return {"root": root / "lake", "v1": v1, "v2": v2, "runs": (first.run_id, second.run_id)}


@pytest.fixture
def lake(built: dict, tmp_path: Path) -> Lake:
    shutil.copytree(built["root"], tmp_path / "lake")
    return Lake(tmp_path / "lake")


def _state(lake: Lake) -> tuple:
    """Everything forget may change: catalog rows, registered files and the bytes on disk."""
    tables = [lake.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
              for t in ("lightcurve_versions", "products", "data_files", "materialized_sets")]  # fmt: skip
    files = {p.relative_to(lake.path).as_posix(): p.read_bytes() for p in lake.path.rglob("*.parquet")
             if not p.relative_to(lake.path).as_posix().startswith("_catalog")}  # fmt: skip
    return tables, files


def _flux(lake: Lake, tic: int) -> np.ndarray:
    return lake.sql("SELECT flux FROM cadences WHERE target_id = ? ORDER BY cadenceno", [tic]).df()["flux"].to_numpy()


def _clean(lake: Lake) -> None:
    report = lake.verify()
    assert report.consistent and not report.repairs, report.repairs


def test_forget_a_target_takes_its_rows_out_of_every_data_file(lake: Lake, built: dict) -> None:
    before = _state(lake)
    dry = lake.forget(target="TIC 200", dry_run=True)
    assert (dry.versions, dry.current, dry.rows, dry.products) == (2, 1, 600, 2)
    assert _state(lake) == before  # a dry run changes nothing
    report = lake.forget(target="TIC 200")
    assert (report.versions, report.rows, len(report.data_files)) == (2, 600, 2)
    assert lake.sql("SELECT count(*) FROM lightcurve_versions WHERE target_id = 200").fetchall() == [(0,)]
    assert lake.sql("SELECT count(*) FROM products WHERE target_id = 200").fetchall() == [(0,)]
    assert lake.sql("SELECT target_id, count(*) FROM cadences GROUP BY ALL ORDER BY ALL").fetchall() == [
        (100, 300), (300, 300)]  # fmt: skip
    for tic in (100, 300):  # the rows that stay are the files' own
        np.testing.assert_array_equal(_flux(lake, tic), fits.getdata(built["v1"][tic], 1)["PDCSAP_FLUX"])
    # Plain Parquet readers see the same: the data files were rewritten, the old ones deleted.
    plain = pd.read_parquet(lake.path / "cadences")
    assert sorted(plain["target_id"].unique()) == [100, 300] and len(plain) == 600
    assert not any((lake.path / rel).exists() for rel in report.data_files)
    assert not list((lake.path / "_history").rglob("*.parquet"))
    assert lake.sql("SELECT command, status FROM runs WHERE run_id = ?", [report.run_id]).fetchall() == [
        ("forget", "ok")]  # fmt: skip
    _clean(lake)


def test_forget_a_run_makes_the_previous_version_current_again(lake: Lake, built: dict) -> None:
    report = lake.forget(run=built["runs"][1])
    assert (report.versions, report.restored) == (1, ["TESS:SPOC:200:s0005:120"])
    rows = lake.sql("SELECT data_rel, is_current, superseded_by, data_file FROM lightcurve_versions "
                    "WHERE target_id = 200").fetchall()  # fmt: skip
    assert [r[:3] for r in rows] == [(7, True, None)] and rows[0][3].startswith("cadences/")
    np.testing.assert_array_equal(_flux(lake, 200), fits.getdata(built["v1"][200], 1)["PDCSAP_FLUX"])
    assert dict(lake.sql("SELECT file_name, state FROM products").fetchall()) == {
        p.name: "ingested" for p in built["v1"].values()}  # fmt: skip
    assert not list((lake.path / "_history").rglob("*.parquet"))
    _clean(lake)
    with pytest.raises(UsageError, match="no run"):
        lake.forget(run="20000101T000000-000000")


def test_forget_superseded_versions_prunes_history(lake: Lake, built: dict) -> None:
    runner = CliRunner()
    base = ["--lake", str(lake.path), "forget"]
    before = _state(lake)
    result = runner.invoke(cli.app, [*base, "--superseded", "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["versions"] == 1 and _state(lake) == before
    assert "nothing to forget" in runner.invoke(cli.app, [*base, "--superseded", "--older-than", "30d"]).output
    assert _state(lake) == before
    result = runner.invoke(cli.app, [*base, "--superseded"])
    assert result.exit_code == 0 and "forgot 1 light-curve version(s)" in result.output
    assert lake.sql("SELECT count(*) FROM superseded_lightcurves").fetchall() == [(0,)]
    assert lake.sql("SELECT data_rel FROM lightcurves WHERE target_id = 200").fetchall() == [(99,)]
    np.testing.assert_array_equal(_flux(lake, 200), fits.getdata(built["v2"], 1)["PDCSAP_FLUX"])
    assert not list((lake.path / "_history").rglob("*.parquet"))
    _clean(lake)
    for args in ([], ["--superseded", "--run", "x"], ["--target", "TIC 1", "--older-than", "1d"],
                 ["--superseded", "--older-than", "soon"]):  # fmt: skip
        result = runner.invoke(cli.app, [*base, *args])
        assert result.exit_code == 2, (args, result.output)


def test_a_failure_before_the_commit_leaves_the_lake_as_it_was(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the new data files were written, before the catalog commit: nothing forgotten, and
    verify removes the new files (unregistered files of a recorded run)."""
    before = _state(lake)

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(catalog_forget, "delete", crash)
    monkeypatch.setattr(Storage, "delete", lambda self, rel: None)  # a killed process cleans up nothing
    with pytest.raises(RuntimeError):
        lake.forget(target="TIC 100")
    monkeypatch.undo()
    tables, files = _state(lake)
    assert tables == before[0] and set(files) > set(before[1])  # the new files are there, unregistered
    report = lake.verify()
    assert report.consistent and report.orphans_removed
    assert _state(lake) == before


def test_a_crash_after_the_commit_leaves_only_orphans(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Storage, "delete", lambda self, rel: None)  # killed before deleting the old files
    report = lake.forget(target="TIC 100")
    monkeypatch.undo()
    assert lake.sql("SELECT count(*) FROM cadences WHERE target_id = 100").fetchall() == [(0,)]
    verified = lake.verify()
    assert verified.consistent and sorted(verified.orphans_removed) == report.data_files


def test_forget_a_set_removes_its_output_only_when_the_set_wrote_it(lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "sets"
    ours = lake.materialize("SELECT lc_id FROM lightcurves").write(out / "ours.parquet")
    theirs = lake.materialize("SELECT lc_id FROM lightcurves WHERE target_id = 100").write(out / "theirs.parquet")
    Path(theirs.manifest_path).write_text('{"name": "someone else"}')  # the manifest no longer says so
    dry = lake.forget(set="ours", dry_run=True)
    assert dry.outputs == [str(ours.path), str(ours.manifest_path)] and Path(ours.path).exists()
    report = lake.forget(set="ours")
    assert not Path(ours.path).exists() and not Path(ours.manifest_path).exists()
    assert report.outputs_kept is None
    kept = lake.forget(set="theirs")
    assert kept.outputs == [] and "another set's output" in kept.outputs_kept and Path(theirs.path).exists()
    assert lake.sets().fetchall() == []
    assert lake.sql("SELECT count(*) FROM materialized_set_members").fetchall() == [(0,)]
    with pytest.raises(UsageError, match="no materialized set"):
        lake.forget(set="ours")
    _clean(lake)
