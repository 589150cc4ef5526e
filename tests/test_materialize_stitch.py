"""Stitching, bin widths, `sets show` exit codes and the multi-sector example, checked on real files."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from larun_lake import Lake, UsageError, cli, cli_sets
from larun_lake.materialize import materialize
from larun_lake.materialize import options as materialize_options
from larun_lake.sqlfiles import load_sql

from .conftest import FIXTURES, SPOC_S1
from .test_import import _with_release

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lightkurve warns about optional extras at import
    import lightkurve as lk

HAT_P_2 = 39903405  # SPOC 2-min, TESS-SPOC 30-min and QLP 30-min light curves in sectors 24 and 25
HAT_P_2_FILES = {
    ("SPOC", 120): sorted((FIXTURES / "tess_spoc").glob("*-00000000399034*-s_lc.fits")),
    ("TESS-SPOC", 1800): sorted((FIXTURES / "tess_hlsp").glob("hlsp_tess-spoc_*39903405*.fits")),
    ("QLP", 1800): sorted((FIXTURES / "tess_hlsp").glob("hlsp_qlp_*39903405*.fits")),
}


def _lk_stitch(paths: list[Path]):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lk.LightCurveCollection([lk.read(str(p)) for p in paths]).stitch()


def _local_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(cli.main_options)
    cli_sets.install(app, cli.handled)
    return app


@pytest.fixture(scope="module")
def hat_p_2_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hatp2") / "lake"
    Lake(path).import_files([p for paths in HAT_P_2_FILES.values() for p in paths])
    return path


# -- stitching -----------------------------------------------------------------------------------
def test_stitch_gives_one_series_per_pipeline_and_cadence_equal_to_lightkurve(hat_p_2_lake: Path) -> None:
    assert all(len(paths) == 2 for paths in HAT_P_2_FILES.values())
    lcs = materialize(Lake(hat_p_2_lake), f"SELECT {HAT_P_2} AS tic_id", stitch=True, remove_nans=False)
    stars = list(lcs)
    assert len(lcs) == len(stars) == 3
    by_kind = {(s.meta["AUTHOR"], s.meta["EXPOSURE_S"]): s for s in stars}
    assert set(by_kind) == set(HAT_P_2_FILES)
    for kind, paths in HAT_P_2_FILES.items():
        star, expected = by_kind[kind], _lk_stitch(paths)
        assert {lc_id.split(":")[1] for lc_id in star.meta["STITCHED"]} == {kind[0]}
        assert len(np.unique(star.time)) == len(star.time)  # no cadence twice
        np.testing.assert_array_equal(star.time, expected.time.value)
        np.testing.assert_array_equal(star.flux, expected.flux.value)  # each part divided by its own median
        np.testing.assert_array_equal(star.flux_err, expected.flux_err.value)
        assert star.meta["NORMALIZED"] is True


def test_stitch_without_nans_and_through_pandas_and_lightkurve(hat_p_2_lake: Path) -> None:
    lake = Lake(hat_p_2_lake)
    lcs = materialize(lake, f"SELECT 'TESS' AS mission, {HAT_P_2} AS target_id", stitch=True)
    assert lcs.options.normalize
    df = lcs.to_pandas()
    assert df.groupby(["author", "time"], observed=True).size().max() == 1  # no duplicate times in a series
    spoc = df[df["author"] == "SPOC"]
    expected = _lk_stitch(HAT_P_2_FILES[("SPOC", 120)]).remove_nans()
    np.testing.assert_array_equal(spoc["time"].to_numpy(), expected.time.value)
    np.testing.assert_array_equal(spoc["flux"].to_numpy(), expected.flux.value)
    collection = lcs.to_lightkurve()
    assert len(collection) == 3 and sorted(lc.meta["AUTHOR"] for lc in collection) == ["QLP", "SPOC", "TESS-SPOC"]


def test_stitched_series_each_get_their_own_fits_file(hat_p_2_lake: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(hat_p_2_lake, lake)
    lcs = materialize(Lake(lake), f"SELECT {HAT_P_2} AS tic_id", stitch=True)
    folder = lcs.write(tmp_path / "fits", format="lightkurve-fits").path
    names = sorted(f.name for f in folder.glob("*.fits"))
    assert names == [f"TESS_{HAT_P_2}_{kind}_stitched.fits" for kind in ("QLP_1800", "SPOC_120", "TESS-SPOC_1800")]
    for star in lcs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            back = lk.read(
                str(folder / f"TESS_{HAT_P_2}_{star.meta['AUTHOR']}_{star.meta['EXPOSURE_S']}_stitched.fits")
            )
        np.testing.assert_array_equal(back.flux.value, star.flux)


def test_stitch_refuses_raw_flux(hat_p_2_lake: Path) -> None:
    with pytest.raises(UsageError, match="normaliz"):
        materialize(Lake(hat_p_2_lake), f"SELECT {HAT_P_2} AS tic_id", stitch=True, normalize=False)


def test_stitch_prefer_picks_one_kind_per_target(fixture_lake: Path) -> None:
    lake = Lake(fixture_lake)
    sql = f"SELECT tic_id FROM lightcurves WHERE tic_id IN ({HAT_P_2}, 25155310)"
    lcs = materialize(lake, sql, stitch_prefer="TESS-SPOC, SPOC:120")
    assert lcs.options.stitch and lcs.options.stitch_prefer == ("TESS-SPOC", "SPOC:120")
    stars = {s.meta["TARGETID"]: s for s in lcs}
    assert sorted(stars) == [25155310, HAT_P_2]
    assert stars[HAT_P_2].meta["STITCHED"] == [
        "TESS:TESS-SPOC:39903405:s0024:1800",
        "TESS:TESS-SPOC:39903405:s0025:1800",
    ]
    expected = _lk_stitch(HAT_P_2_FILES[("TESS-SPOC", 1800)]).remove_nans()
    np.testing.assert_array_equal(stars[HAT_P_2].flux, expected.flux.value)
    assert stars[25155310].meta["AUTHOR"] == "SPOC" and len(stars[25155310].meta["STITCHED"]) == 2
    assert lcs.selection.n_not_preferred == 5  # HAT-P-2's SPOC and QLP light curves, the pixel one of 25155310
    only_qlp = materialize(lake, sql, stitch_prefer="qlp")
    assert [s.meta["TARGETID"] for s in only_qlp] == [HAT_P_2]
    assert only_qlp.content_hash != materialize(lake, sql, stitch=True).content_hash
    with pytest.raises(UsageError, match="none of the preferred"):
        materialize(lake, "SELECT 25155310 AS tic_id", stitch_prefer="QLP")
    for bad in ("SPOC:two", "", ":120", "SPOC:-120"):
        with pytest.raises(UsageError, match="stitch preference"):
            materialize(lake, sql, stitch_prefer=bad)


def test_stitch_command_reports_the_series_and_records_the_choice(hat_p_2_lake: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    shutil.copytree(hat_p_2_lake, lake)
    out = tmp_path / "stars.parquet"
    runner = CliRunner()
    result = runner.invoke(
        _local_app(), ["--lake", str(lake), "materialize", f"SELECT {HAT_P_2} AS tic_id", "--stitch", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "6 light curves stitched into 3 series" in result.output
    manifest = json.loads((tmp_path / "stars.parquet.manifest.json").read_text())
    assert manifest["options"]["normalize"] is True and manifest["counts"]["units"] == 3
    result = runner.invoke(
        _local_app(),
        [
            "--lake",
            str(lake),
            "materialize",
            f"SELECT {HAT_P_2} AS tic_id",
            "--stitch-prefer",
            "QLP",
            "--out",
            str(tmp_path / "qlp.parquet"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 light curves stitched into 1 series" in result.output and "4 light curve(s) left out" in result.output
    assert json.loads((tmp_path / "qlp.parquet.manifest.json").read_text())["options"]["stitch_prefer"] == ["QLP"]
    result = runner.invoke(
        _local_app(),
        [
            "--lake",
            str(lake),
            "materialize",
            f"SELECT {HAT_P_2} AS tic_id",
            "--stitch",
            "--no-normalize",
            "--out",
            str(tmp_path / "raw.parquet"),
        ],
    )
    assert result.exit_code == 2 and "normaliz" in result.output
    help_text = runner.invoke(_local_app(), ["materialize", "--help"]).output
    assert "pipeline" in help_text and "--stitch-prefer" in help_text


# -- bin widths ----------------------------------------------------------------------------------
def test_bin_shorter_than_the_cadence_warns_naming_it(hat_p_2_lake: Path, tmp_path: Path) -> None:
    lake = Lake(hat_p_2_lake)
    sql = f"SELECT {HAT_P_2} AS tic_id"
    with pytest.warns(
        materialize_options.BinWidthWarning, match=r"shorter than the cadence of 4 .*QLP 1800 s.*TESS-SPOC 1800 s"
    ) as got:
        lcs = materialize(lake, sql, bin="10min")
    assert len(got) == 1 and "SPOC 120 s" not in str(got[0].message)
    assert len(lcs) == 6
    with pytest.warns(materialize_options.BinWidthWarning, match="all 6 light curves"):
        materialize(lake, sql, bin=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        materialize(lake, sql, bin="1h")  # no cadence is longer: no warning
    copy = tmp_path / "lake"
    shutil.copytree(hat_p_2_lake, copy)
    result = CliRunner().invoke(
        _local_app(), ["--lake", str(copy), "materialize", sql, "--bin", "10min", "--out", str(tmp_path / "b.parquet")]
    )
    assert result.exit_code == 0, result.output
    assert "warning: --bin 600 s is shorter than the cadence" in result.output
    assert "1800 s" in result.output


@pytest.mark.parametrize("width", [0, -5, "0s", "-10min", float("inf"), float("nan"), "inf"])
def test_bin_width_must_be_positive_and_finite(hat_p_2_lake: Path, width) -> None:
    with pytest.raises(UsageError, match="bin width"):
        materialize(Lake(hat_p_2_lake), f"SELECT {HAT_P_2} AS tic_id", bin=width)


@pytest.mark.parametrize("width", ["0", "-5", "-10min", "inf"])
def test_bin_command_refuses_non_positive_widths(hat_p_2_lake: Path, tmp_path: Path, width: str) -> None:
    out = tmp_path / "b.parquet"
    result = CliRunner().invoke(
        _local_app(),
        ["--lake", str(hat_p_2_lake), "materialize", "SELECT 1 AS tic_id", f"--bin={width}", "--out", str(out)],
    )
    assert result.exit_code == 2 and "bin width" in result.output
    assert ("not a positive number" in result.output) == (width != "inf")
    assert not out.exists()


# -- sets show -----------------------------------------------------------------------------------
def test_sets_show_exits_1_when_the_set_changed(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.import_files([SPOC_S1])
    materialize(lake, "SELECT lc_id FROM lightcurves", normalize=True).write(tmp_path / "s.parquet")
    runner, app = CliRunner(), _local_app()
    base = ["--lake", str(lake.path), "sets", "show", "s"]
    result = runner.invoke(app, base)
    assert result.exit_code == 0 and "unchanged" in result.output
    assert runner.invoke(app, [*base, "--json"]).exit_code == 0
    lake.import_files([_with_release(SPOC_S1, tmp_path / "newer_lc.fits", 99, "spoc-9.9.9-20300101", scale=2.0)])
    result = runner.invoke(app, base)
    assert result.exit_code == 1 and "CHANGED" in result.output
    result = runner.invoke(app, [*base, "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["changed"] is True
    assert runner.invoke(app, ["--lake", str(lake.path), "sets", "show", "nope"]).exit_code == 2
    help_text = runner.invoke(app, ["sets", "show", "--help"]).output
    assert "Exit code 0" in help_text and "1 when" in help_text


# -- shipped examples ----------------------------------------------------------------------------
def test_multi_sector_example_counts_distinct_periods(fixture_lake: Path) -> None:
    lake = Lake(fixture_lake)
    rows = lake.sql(load_sql("examples/multi_sector_targets.sql")).df()
    got = {
        (m, int(t)): (int(n), list(p))
        for m, t, n, p in rows[["mission", "target_id", "n_periods", "periods"]].itertuples(index=False)
    }
    # HAT-P-2 has six light curves (three pipelines) but only two sectors.
    assert got[("TESS", HAT_P_2)] == (2, ["s0024", "s0025"])
    assert got[("TESS", 25155310)] == (2, ["s0001", "s0006"])
    truth = lake.sql("SELECT DISTINCT mission, target_id, period FROM lightcurves").df()
    periods = truth.groupby(["mission", "target_id"])["period"].agg(sorted)
    expected = {(m, int(t)): (len(p), p) for (m, t), p in periods.items() if len(p) > 1}
    assert got == expected
    assert list(rows["n_periods"]) == sorted(rows["n_periods"], reverse=True)
