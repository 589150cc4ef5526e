"""materialize: agreement with lightkurve, outputs that round-trip, reproducible named sets, bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from larun_lake import Lake, QueryError, ReadOnlyViolation, UsageError, cli, cli_sets
from larun_lake.materialize import LightCurveSet, frame, list_sets, materialize, set_status

from .conftest import FIXTURES, K2_C4, KEPLER_Q2, LIGHTKURVE_READABLE, QLP_S24, SPOC_S1, run_cli
from .test_import import _with_release

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lightkurve warns about optional extras at import
    import lightkurve as lk

ALL = "SELECT lc_id FROM lightcurves"
LONG_COLUMNS = ["lc_id", "mission", "author", "target_id", "tic_id", "period", "time", "flux", "flux_err", "quality",
                "cadenceno"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _lk_read(path: Path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lk.read(str(path), **kwargs)


@pytest.fixture(scope="module")
def small_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SPOC, QLP, Kepler and K2 light curves: quick to copy for tests that write sets."""
    path = tmp_path_factory.mktemp("small") / "lake"
    Lake(path).import_files([SPOC_S1, QLP_S24, KEPLER_Q2, K2_C4])
    return path


@pytest.fixture
def lake(small_lake: Path, tmp_path: Path) -> Lake:
    dest = tmp_path / "lake"
    shutil.copytree(small_lake, dest)
    return Lake(dest)


# -- agreement with lightkurve -------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["default", "hard"])
def test_every_fixture_agrees_with_lightkurve(fixture_lake: Path, preset: str) -> None:
    """Cadence for cadence: read(quality_bitmask=preset).remove_nans().normalize(), float32 arithmetic."""
    by_sha = {_sha(p): p for p in LIGHTKURVE_READABLE}
    lcs = materialize(Lake(fixture_lake), ALL, quality=preset, normalize=True)
    seen = set()
    for lc in lcs:
        path = by_sha.get(lc.members[0]["file_sha256"])
        if path is None:
            continue  # a light curve from a file outside LIGHTKURVE_READABLE
        seen.add(path)
        ref = _lk_read(path, quality_bitmask=preset).remove_nans().normalize()
        assert len(lc) == len(ref), lc.lc_id
        np.testing.assert_array_equal(lc.time, ref.time.value, err_msg=lc.lc_id)
        assert lc.flux.dtype == ref.flux.value.dtype == np.float32
        np.testing.assert_allclose(lc.flux, ref.flux.value, rtol=1e-6, err_msg=lc.lc_id)
        np.testing.assert_allclose(lc.flux_err, ref.flux_err.value, rtol=1e-6, err_msg=lc.lc_id)
        np.testing.assert_array_equal(lc.flux, ref.flux.value)  # bit for bit, in fact
        np.testing.assert_array_equal(lc.quality, ref.quality.value)
    assert seen == set(LIGHTKURVE_READABLE)
    kinds = {(m["mission"], m["author"]) for m in lcs.members.to_pylist()}
    assert {("TESS", "SPOC"), ("TESS", "TESS-SPOC"), ("TESS", "QLP"), ("Kepler", "Kepler"), ("K2", "K2")} <= kinds


@pytest.mark.parametrize(
    ("path", "flux", "column", "quality"),
    [
        (SPOC_S1, "sap", "sap_flux", "default"),
        (QLP_S24, "kspsap_flux", "kspsap_flux", "hard"),
        (KEPLER_Q2, "pdcsap", "pdcsap_flux", 1130799),
        (K2_C4, "sap_flux", "sap_flux", "hardest"),
    ],
)
def test_other_flux_columns_and_integer_masks_agree(
    small_lake: Path, path: Path, flux: str, column: str, quality: str | int
) -> None:
    """Medians computed in DuckDB (not at ingest) give lightkurve's normalize() too."""
    lcs = materialize(Lake(small_lake), f"SELECT lc_id FROM lightcurves WHERE file_sha256 = '{_sha(path)}'",
                      flux=flux, quality=quality, normalize=True)
    (lc,) = list(lcs)
    ref = _lk_read(path, flux_column=column, quality_bitmask=quality).remove_nans().normalize()
    np.testing.assert_array_equal(lc.time, ref.time.value)
    np.testing.assert_allclose(lc.flux, ref.flux.value, rtol=1e-6)
    np.testing.assert_allclose(lc.flux_err, ref.flux_err.value, rtol=1e-6)
    assert lc.meta["FLUX_ORIGIN"] == column


def test_nan_handling_and_raw_flux(small_lake: Path) -> None:
    lake = Lake(small_lake)
    where = f"SELECT lc_id FROM lightcurves WHERE file_sha256 = '{_sha(SPOC_S1)}'"
    (kept,) = list(materialize(lake, where, quality="none", remove_nans=False))
    ref = _lk_read(SPOC_S1, quality_bitmask="none")  # NaN times dropped, NaN fluxes kept, not normalized
    assert len(kept) == len(ref) and np.isnan(kept.flux).any() and not np.isnan(kept.time).any()
    np.testing.assert_array_equal(kept.flux, ref.flux.value)
    np.testing.assert_array_equal(kept.cadenceno, ref.cadenceno.value)
    (dropped,) = list(materialize(lake, where, quality="none"))
    assert len(dropped) == len(ref.remove_nans()) < len(kept)


def test_to_lightkurve_classes_time_units_and_meta(small_lake: Path) -> None:
    collection = materialize(Lake(small_lake), ALL, normalize=True).to_lightkurve()
    assert isinstance(collection, lk.LightCurveCollection) and len(collection) == 4
    by_kind = {lc.meta["AUTHOR"]: lc for lc in collection}
    tess, kepler, k2 = by_kind["SPOC"], by_kind["Kepler"], by_kind["K2"]
    assert isinstance(by_kind["QLP"], lk.TessLightCurve) and by_kind["QLP"].meta["FLUX_ORIGIN"] == "sap_flux"
    assert isinstance(tess, lk.TessLightCurve) and tess.time.format == "btjd"
    assert isinstance(kepler, lk.KeplerLightCurve) and kepler.time.format == "bkjd"
    assert isinstance(k2, lk.KeplerLightCurve) and k2.time.format == "bkjd"
    assert tess.flux.unit.is_equivalent("") and tess.meta["NORMALIZED"]
    assert tess.meta["TARGETID"] == 25155310 and tess.meta["SECTOR"] == 1 and tess.meta["LABEL"] == "TIC 25155310"
    assert tess.meta["QUALITY_BITMASK"] == "default" and tess.meta["FLUX_ORIGIN"] == "pdcsap_flux"
    assert kepler.meta["QUARTER"] == 2 and k2.meta["CAMPAIGN"] == 4 and kepler.meta["AUTHOR"] == "Kepler"
    raw = next(iter(materialize(Lake(small_lake), f"SELECT lc_id FROM lightcurves WHERE target_id = {25155310}")))
    assert str(raw.to_lightkurve().flux.unit) == "electron / s"


# -- the long form, iteration, streaming ---------------------------------------------------------
def test_long_output_columns_and_pandas_dtypes(small_lake: Path) -> None:
    lcs = materialize(Lake(small_lake), ALL, normalize=True)
    table = lcs.to_arrow()
    assert table.column_names == LONG_COLUMNS
    df = lcs.to_pandas()
    assert list(df.columns) == LONG_COLUMNS and len(df) == table.num_rows
    assert df["lc_id"].dtype == "category" and df["time"].dtype == np.float64 and df["flux"].dtype == np.float32
    assert df["tic_id"].dtype == "Int64"
    assert df.loc[df["mission"] == "Kepler", "tic_id"].isna().all()
    assert (df.loc[df["mission"] == "TESS", "tic_id"] == df.loc[df["mission"] == "TESS", "target_id"]).all()
    # canonical order: mission, target, period; each light curve's cadences in time order
    assert list(dict.fromkeys(df["lc_id"].astype(str))) == lcs.lc_ids
    assert all(np.all(np.diff(g["time"].to_numpy()) > 0) for _, g in df.groupby("lc_id", observed=True))
    medians = df.groupby("lc_id", observed=True)["flux"].median()
    np.testing.assert_allclose(medians.to_numpy(), 1.0, rtol=1e-6)


def test_iteration_yields_one_light_curve_at_a_time(small_lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[tuple[int, int]] = []
    real_submit = frame.Engine._submit

    def counting(self, pool, files, lo, hi):
        reads.append((lo, hi))
        return real_submit(self, pool, files, lo, hi)

    monkeypatch.setattr(frame.Engine, "_submit", counting)
    lake = Lake(small_lake)
    lcs = materialize(lake, ALL)
    lcs.batch_rows = 1  # one light curve per batch
    it = iter(lcs)
    first = next(it)
    assert first.lc_id == lcs.lc_ids[0] and len(reads) <= 1 + frame.READ_AHEAD  # this batch and those read ahead
    with lake.catalog.write("test"):  # the catalog is free while a set streams
        pass
    rest = list(it)
    assert [lc.lc_id for lc in [first, *rest]] == lcs.lc_ids and len(reads) == 4
    assert sum(len(lc) for lc in [first, *rest]) == lcs.to_arrow().num_rows


def test_bin_and_stitch(fixture_lake: Path) -> None:
    lake = Lake(fixture_lake)
    sql = "SELECT 'TESS' AS mission, 25155310 AS target_id"
    unbinned = next(iter(materialize(lake, sql, normalize=True)))
    binned = next(iter(materialize(lake, sql, normalize=True, bin="10min")))
    width = 600 / 86400
    keys = np.floor(unbinned.time / width)
    first = keys == keys[0]
    assert binned.time[0] == pytest.approx((keys[0] + 0.5) * width)
    assert binned.flux[0] == pytest.approx(unbinned.flux[first].mean(), rel=1e-6)
    expected_err = np.sqrt(np.sum(unbinned.flux_err[first].astype(float) ** 2)) / first.sum()
    assert binned.flux_err[0] == pytest.approx(expected_err, rel=1e-6)
    assert len(binned) < len(unbinned) / 4
    # The star also has a light curve made from its pixels (SPOC-TPF): a series of its own, not preferred here.
    stitched = list(materialize(lake, sql, normalize=True, stitch=True, stitch_prefer="SPOC:120"))
    assert len(stitched) == 1
    (star,) = stitched
    assert star.lc_id == "TESS:SPOC:25155310:s0001:120+TESS:SPOC:25155310:s0006:120"
    assert np.all(np.diff(star.time) >= 0) and star.meta["STITCHED"] == star.lc_id.split("+")
    for part in star.lc_id.split("+"):  # each part normalized separately
        rows = star.table.filter(pc.equal(star.table["lc_id"].cast(pa.string()), part))
        assert np.median(rows["flux"].to_numpy()) == pytest.approx(1.0, rel=1e-6)
    assert isinstance(star.to_lightkurve(), lk.TessLightCurve)
    df = materialize(lake, sql, normalize=True, stitch=True, stitch_prefer="SPOC:120").to_pandas()
    np.testing.assert_array_equal(df["time"].to_numpy(), star.time)
    assert list(df["lc_id"].astype(str)) == star.table["lc_id"].to_pylist()
    binned_df = materialize(lake, sql, normalize=True, bin="10min").to_pandas()
    binned_df = binned_df[binned_df["lc_id"] == binned.lc_id]
    assert binned_df["flux"].iloc[0] == binned.flux[0] and binned_df["time"].is_monotonic_increasing


def test_fetch_missing_calls_the_fetcher_then_selects_again(lake: Lake) -> None:
    asked: list[list[tuple[str, int]]] = []
    target = FIXTURES / "tess_spoc" / "tess2019032160000-s0008-0000000413248763-0136-s_lc.fits"

    def fetcher(pairs: list[tuple[str, int]]) -> None:
        asked.append(pairs)
        lake.import_files([target])

    sql = "SELECT * FROM (VALUES ('TESS', 413248763), ('TESS', 25155310)) AS t(mission, target_id)"
    lcs = materialize(lake, sql, fetcher=fetcher)
    assert asked == [[("TESS", 413248763)]]
    assert lcs.lc_ids == ["TESS:SPOC:25155310:s0001:120", "TESS:SPOC:413248763:s0008:120"]
    again = materialize(lake, "SELECT 413248763 AS tic_id", fetcher=fetcher)
    assert len(asked) == 1 and again.lc_ids == ["TESS:SPOC:413248763:s0008:120"]


# -- outputs -------------------------------------------------------------------------------------
def test_every_format_round_trips(lake: Lake, tmp_path: Path) -> None:
    lcs = materialize(lake, ALL, normalize=True)
    expected = lcs.to_arrow()
    long = lcs.write(tmp_path / "long.parquet")
    assert long.n_rows == expected.num_rows and long.name == "long"
    assert pq.read_table(long.path).equals(expected)
    assert pd.read_parquet(long.path).shape == (expected.num_rows, len(LONG_COLUMNS))

    nested = pq.read_table(lcs.write(tmp_path / "nested.parquet", format="parquet-nested").path)
    assert nested.column("lc_id").to_pylist() == lcs.lc_ids
    for name in ("time", "flux", "flux_err", "quality", "cadenceno"):
        assert nested.column(name).combine_chunks().flatten().equals(expected.column(name).combine_chunks())

    csv = pacsv.read_csv(lcs.write(tmp_path / "long.csv", format="csv").path)
    assert csv.column_names == LONG_COLUMNS and csv.num_rows == expected.num_rows
    np.testing.assert_array_equal(csv.column("time").to_numpy(), expected.column("time").to_numpy())
    np.testing.assert_array_equal(csv.column("flux").to_numpy().astype(np.float32), expected.column("flux").to_numpy())

    folder = lcs.write(tmp_path / "fits", format="lightkurve-fits").path
    files = sorted(folder.glob("*.fits"))
    assert [f.name for f in files] == sorted(lc.replace(":", "_") + ".fits" for lc in lcs.lc_ids)
    for lc in lcs:
        back = _lk_read(folder / (lc.lc_id.replace(":", "_") + ".fits"))
        assert type(back) is type(lc.to_lightkurve()) and back.time.format == ("btjd" if "TESS" in lc.lc_id else "bkjd")
        np.testing.assert_array_equal(back.time.value, lc.time)
        np.testing.assert_array_equal(back.flux.value, lc.flux)
        np.testing.assert_array_equal(back.flux_err.value, lc.flux_err)
    manifest = json.loads((tmp_path / "fits.manifest.json").read_text())
    assert manifest["name"] == "fits" and manifest["counts"]["rows"] == expected.num_rows
    assert sorted(n for n in list_sets(lake.catalog).column("name").to_pylist()) == ["fits", "long", "nested"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_manifest_and_hash_are_reproducible(lake: Lake, tmp_path: Path) -> None:
    first = materialize(lake, ALL, normalize=True)
    second = materialize(lake, ALL + " ", normalize=True)
    assert first.content_hash == second.content_hash
    assert materialize(lake, ALL, normalize=False).content_hash != first.content_hash
    assert materialize(lake, ALL, normalize=True, quality="hard").content_hash != first.content_hash
    assert materialize(lake, ALL + " ORDER BY lc_id", normalize=True).content_hash != first.content_hash
    a = first.write(tmp_path / "a.parquet")
    b = second.write(tmp_path / "b.parquet")
    assert a.content_hash == b.content_hash
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()  # same bytes, too
    manifest = json.loads(a.manifest_path.read_text())
    assert manifest["content_hash"] == a.content_hash and manifest["sql"] == ALL
    assert manifest["options"] == {"flux": "auto", "quality": "default", "remove_nans": True, "normalize": True,
                                   "bin_s": None, "stitch": False}
    member = manifest["lightcurves"][0]
    assert {"lc_id", "file_sha256", "data_rel", "n_rows"} <= set(member)
    assert sum(m["n_rows"] for m in manifest["lightcurves"]) == manifest["counts"]["rows"] == a.n_rows
    assert {"larun-lake", "duckdb", "pyarrow", "python"} <= set(manifest["software"])


def test_sets_show_detects_a_new_release_and_new_light_curves(lake: Lake, tmp_path: Path) -> None:
    sql = "SELECT lc_id FROM lightcurves WHERE mission = 'TESS'"
    materialize(lake, sql, normalize=True).write(tmp_path / "tess.parquet")
    assert not set_status(lake.catalog, "tess").changed
    newer = _with_release(SPOC_S1, tmp_path / "newer_lc.fits", 99, "spoc-9.9.9-20300101", scale=2.0)
    lake.import_files([newer, FIXTURES / "tess_spoc" / "tess2019032160000-s0008-0000000413248763-0136-s_lc.fits"])
    status = set_status(lake.catalog, "tess")
    assert status.changed and status.current_hash != status.record["content_hash"]
    (item,) = status.superseded
    assert item["lc_id"] == "TESS:SPOC:25155310:s0001:120" and (item["old_data_rel"], item["new_data_rel"]) == (42, 99)
    assert status.added == ["TESS:SPOC:413248763:s0008:120"] and status.removed == []
    assert "newer version" in status.summary()


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sql", "kwargs", "error", "message"),
    [
        ("DELETE FROM products", {}, ReadOnlyViolation, "refused"),
        ("EXPLAIN SELECT lc_id FROM lightcurves", {}, UsageError, "must be a SELECT"),
        ("SELECT 1; SELECT 2", {}, UsageError, "2 statements"),
        ("SELECT target_id FROM lightcurves", {}, UsageError, "none of which names light curves"),
        ("SELECT lc_id FROM lightcurves WHERE false", {}, UsageError, "returned no rows"),
        ("SELECT 'nope' AS lc_id", {}, UsageError, "none of which has a light curve"),
        ("SELECT lc_id FROM no_such_table", {}, QueryError, "no_such_table"),
        ("SELECT * FROM read_csv('/etc/passwd')", {}, ReadOnlyViolation, "refused"),
        (ALL, {"flux": "bogus"}, UsageError, "unknown flux column"),
        (ALL, {"flux": "kspsap_flux"}, UsageError, "is not in"),
        (ALL, {"flux": "pdcsap"}, UsageError, "TESS/QLP"),
        (ALL, {"quality": "soft"}, UsageError, "unknown quality preset"),
        (ALL, {"bin": "ten minutes"}, UsageError, "bin width"),
    ],
)
def test_bad_selections_and_options(small_lake: Path, sql: str, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        materialize(Lake(small_lake), sql, **kwargs)


def test_bad_outputs_leave_nothing_behind(lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    lcs = materialize(lake, ALL)
    lcs.write(out / "x.parquet")
    before = sorted(out.iterdir())
    with pytest.raises(UsageError, match="exists"):
        lcs.write(out / "x.parquet")
    with pytest.raises(UsageError, match="unknown output format"):
        lcs.write(out / "y.parquet", format="hdf5")
    with pytest.raises(UsageError, match="different set is already named 'x'"):
        materialize(lake, ALL, normalize=True).write(out / "x.csv", format="csv")

    batches = iter(range(10))
    real = frame.assemble

    def failing(plan, pieces, lo, hi):
        if next(batches) == 1:  # the disk fills up halfway through
            raise OSError("No space left on device")
        return real(plan, pieces, lo, hi)

    monkeypatch.setattr(frame, "assemble", failing)
    small = materialize(lake, ALL)
    small.batch_rows = 1
    with pytest.raises(OSError, match="No space"):
        small.write(out / "z.parquet")
    assert sorted(out.iterdir()) == before
    assert list_sets(lake.catalog).column("name").to_pylist() == ["x"]
    # --overwrite replaces output, manifest and the set record together
    monkeypatch.setattr(frame, "assemble", real)
    replaced = materialize(lake, ALL, normalize=True).write(out / "x.parquet", overwrite=True)
    assert set_status(lake.catalog, "x").record["content_hash"] == replaced.content_hash


# -- the commands --------------------------------------------------------------------------------
def _local_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(cli.main_options)
    cli_sets.install(app, cli.handled)
    return app


def test_materialize_and_sets_commands(lake: Lake, tmp_path: Path) -> None:
    runner = CliRunner()
    app = _local_app()
    base = ["--lake", str(lake.path)]
    query = tmp_path / "sel.sql"
    query.write_text("SELECT lc.lc_id FROM lightcurves lc WHERE lc.mission = 'TESS';\n")
    out = tmp_path / "msets" / "tess.parquet"
    result = runner.invoke(app, [*base, "materialize", "--file", str(query), "--normalize", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "materialized set tess: 2 light curves" in result.output and out.is_file()
    result = runner.invoke(app, [*base, "materialize", "--file", str(query), "--format", "lightkurve-fits",
                                 "--quality", "hard", "--out", str(tmp_path / "msets" / "tessfits") + "/"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "msets" / "tessfits").glob("*.fits"))) == 2
    result = runner.invoke(app, [*base, "sets", "list", "--format", "csv"])
    assert result.exit_code == 0 and result.output.splitlines()[0].startswith("name,n_lightcurves")
    assert {"tess", "tessfits"} <= {line.split(",")[0] for line in result.output.splitlines()[1:]}
    result = runner.invoke(app, [*base, "sets", "show", "tess"])
    assert result.exit_code == 0 and "unchanged" in result.output
    result = runner.invoke(app, [*base, "sets", "show", "tess", "--json"])
    assert json.loads(result.output)["changed"] is False
    for args, message in [
        (["materialize", ALL, "--out", str(out)], "exists"),
        (["materialize", "SELECT 1 AS x", "--out", str(tmp_path / "x.parquet")], "none of which names"),
        (["materialize", ALL, "--flux", "nope", "--out", str(tmp_path / "x.parquet")], "unknown flux"),
        (["materialize", ALL, "--file", str(query), "--out", str(tmp_path / "x.parquet")], "not both"),
        (["materialize", ALL, "--mission", "TESS", "--out", str(tmp_path / "x.parquet")], "--fetch-missing"),
        (["materialize", ALL], "--out is required"),
        (["sets", "show", "nope"], "no materialized set"),
    ]:
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_fetch_missing_flags_reach_the_fetcher(lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def factory(the_lake, options):
        return lambda pairs: calls.append((pairs, options))

    monkeypatch.setattr(cli_sets, "fetcher_factory", factory)
    result = CliRunner().invoke(_local_app(), [
        "--lake", str(lake.path), "materialize", "SELECT 'TESS' AS mission, 99 AS target_id UNION ALL "
        "SELECT 'TESS', 25155310", "--fetch-missing", "--author", "SPOC", "--exptime", "120",
        "--out", str(tmp_path / "f.parquet")])
    assert result.exit_code == 0, result.output
    assert calls == [([("TESS", 99)], {"mission": None, "author": "SPOC", "exptime": 120})]


def test_default_fetcher_harvests_with_the_command_options() -> None:
    calls = []

    class FakeLake:
        def harvest_lightcurves(self, targets, **kwargs):
            calls.append((targets, kwargs))
            return type("Report", (), {"ingested": 2})()

    fetch = cli_sets.harvest_fetcher(FakeLake(), {"mission": None, "author": "SPOC", "exptime": 120})
    fetch([("TESS", 5), ("Kepler", 7)])
    assert calls == [(["TIC 5", "KIC 7"], {"mission": ["Kepler", "TESS"], "author": "SPOC", "exptime": 120})]


def test_outputs_stay_out_of_the_lake(lake: Lake) -> None:
    with pytest.raises(UsageError, match="is inside the lake"):
        materialize(lake, ALL).write(lake.path / "cadences" / "x.parquet")


@pytest.mark.skipif("materialize" not in {c.name for c in cli.app.registered_commands},
                    reason="the materialize command is not registered in larun_lake.cli yet")
def test_commands_as_real_processes(lake: Lake, tmp_path: Path) -> None:
    out = tmp_path / "m.parquet"
    proc = run_cli("--lake", str(lake.path), "materialize", ALL, "--normalize", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pq.read_table(out).num_rows > 0
    proc = run_cli("--lake", str(lake.path), "sets", "show", "m")
    assert proc.returncode == 0 and "unchanged" in proc.stdout
    proc = run_cli("--lake", str(lake.path), "materialize", ALL, "--out", str(out))
    assert proc.returncode == 2 and "exists" in proc.stderr


def test_set_object_basics(small_lake: Path) -> None:
    lcs = materialize(Lake(small_lake), "SELECT tic_id FROM lightcurves WHERE tic_id IS NOT NULL", normalize=True)
    assert isinstance(lcs, LightCurveSet) and len(lcs) == 2 and lcs.selection.key == "tic_id"
    assert "2 light curves" in repr(lcs)
    assert set(lcs.members.column("file_sha256").to_pylist()) == {_sha(QLP_S24), _sha(SPOC_S1)}
    assert lcs.to_polars().height == lcs.to_arrow().num_rows
