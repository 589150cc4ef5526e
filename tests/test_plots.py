"""Quick-look plots: every point drawn is a materialized row, flagged cadences are the ones the preset drops,
the images are not blank, formats follow the extension, and outputs obey the same rules as other outputs."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from typer.testing import CliRunner

from larun_lake import Lake, UsageError, cli
from larun_lake.plots.common import FLAGGED, element_id

from . import obsgen
from .conftest import FIXTURES, REPO, run_cli

SAMPLES = REPO / "data" / "samples"
# A second period for the Kepler star and the HAT-P-2 FFI light curves, so targets have several panels.
EXTRA = [
    FIXTURES / "kepler" / "kplr010002792-2010174085026_llc.fits",
    FIXTURES / "tess_hlsp" / "hlsp_qlp_tess_ffi_s0025-0000000039903405_tess_v01_llc.fits",
    FIXTURES / "tess_hlsp" / "hlsp_tess-spoc_tess_phot_0000000039903405-s0025_tess_v1_lc.fits",
]
HATP2 = "SELECT lc_id FROM lightcurves WHERE mission = 'TESS' AND target_id = 39903405"
KIC = "SELECT lc_id FROM lightcurves WHERE mission = 'Kepler' AND target_id = 10002792"
KEPLER_Q2_LC = "Kepler:Kepler:10002792:q02:1800"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The samples plus three files: 8 light curves of 3 targets (read only by these tests)."""
    lake = Lake(tmp_path_factory.mktemp("plots") / "lake")
    report = lake.import_files([SAMPLES, *EXTRA])
    assert report.ingested == 8
    lake.materialize("SELECT lc_id FROM lightcurves", normalize=True).write(
        tmp_path_factory.mktemp("sets") / "everything.parquet"
    )
    return lake


def _rows(lake: Lake, sql: str, **options) -> dict[str, dict[str, np.ndarray]]:
    """Materialized time and flux per lc_id."""
    frame = lake.materialize(sql, **options).to_pandas()
    return {
        str(lc): {"time": g["time"].to_numpy(), "flux": g["flux"].to_numpy()}
        for lc, g in frame.groupby("lc_id", observed=True)
    }


def _layer(ax, lc_id: str, layer: str):
    found = [line for line in ax.get_lines() if line.get_gid() == element_id(lc_id, layer)]
    return found[0] if found else None


def _panels(fig) -> dict[str, object]:
    return {ax.get_gid(): ax for ax in fig.axes}


def test_plot_lc_draws_the_materialized_rows_and_marks_what_the_preset_drops(lake: Lake) -> None:
    fig = lake.plot("TIC 39903405", bin="2h")
    kept = _rows(lake, HATP2)
    everything = _rows(lake, HATP2, quality="none")
    binned = _rows(lake, HATP2, bin="2h")
    assert len(fig.axes) == 5  # SPOC s24, TESS-SPOC and QLP in s24 and s25
    panels = _panels(fig)
    assert set(panels) == {element_id(lc) for lc in kept}
    n_flagged = 0
    for lc_id, rows in kept.items():
        ax = panels[element_id(lc_id)]
        good = _layer(ax, lc_id, "good")
        np.testing.assert_array_equal(good.get_xdata(), rows["time"])
        np.testing.assert_array_equal(good.get_ydata(), rows["flux"])
        dropped = ~np.isin(everything[lc_id]["time"], rows["time"])
        flagged = _layer(ax, lc_id, "flagged")
        assert len(flagged.get_xdata()) == dropped.sum() > 0
        np.testing.assert_array_equal(flagged.get_xdata(), everything[lc_id]["time"][dropped])
        n_flagged += int(dropped.sum())
        line = _layer(ax, lc_id, "binned")
        shown = np.asarray(line.get_ydata(), dtype=float)
        np.testing.assert_array_equal(shown[np.isfinite(shown)], binned[lc_id]["flux"])
    assert n_flagged == sum(len(everything[lc]["time"]) - len(kept[lc]["time"]) for lc in kept) == 25
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "TESS · SPOC · sector 24 · 120 s · CDPP(1 h) 115 ppm" in titles
    assert "TESS · QLP · sector 25 · 1800 s" in titles
    assert fig.get_suptitle().startswith("TIC 39903405 · TESS · 5 light curves · quality default")


def test_plot_lc_normalized_panels_share_y_and_flag_with_the_hard_mask(lake: Lake) -> None:
    fig = lake.plot("KIC 10002792", quality="hard", normalize=True)
    kept = _rows(lake, KIC, quality="hard", normalize=True)
    everything = _rows(lake, KIC, quality="none")
    first, second = fig.axes
    assert first.get_shared_y_axes().joined(first, second)
    for lc_id, rows in kept.items():
        ax = _panels(fig)[element_id(lc_id)]
        np.testing.assert_array_equal(_layer(ax, lc_id, "good").get_ydata(), rows["flux"])
        flagged = _layer(ax, lc_id, "flagged")
        assert len(flagged.get_xdata()) == len(everything[lc_id]["time"]) - len(rows["time"])
        assert abs(np.median(flagged.get_ydata()) - 1) < 0.1  # scaled by the same median as the kept cadences
        assert _layer(ax, lc_id, "binned") is None
    assert "normalized" in fig.get_suptitle() and "quality hard" in fig.get_suptitle()


def test_plot_lc_narrows_by_period_and_author_and_flags_nothing_without_a_mask(lake: Lake) -> None:
    fig = lake.plot("TIC 39903405", sector=25, author="qlp", quality="none")
    (ax,) = fig.axes
    assert ax.get_gid() == element_id("TESS:QLP:39903405:s0025:1800")
    assert [line.get_gid().rsplit("-", 1)[1] for line in ax.get_lines()] == ["good"]
    assert len(ax.get_lines()[0].get_xdata()) == len(
        _rows(lake, HATP2, quality="none")["TESS:QLP:39903405:s0025:1800"]["time"]
    )
    assert len(lake.plot(39903405, sector=24).axes) == 3  # an int is a TIC id


@pytest.mark.parametrize(
    ("target", "options", "message"),
    [
        ("TIC 1", {}, "no light curve of TIC 1"),
        ("TIC 39903405", {"sector": 26}, "it holds QLP s0024"),
        ("KIC 10002792", {"sector": 2}, "--sector selects TESS"),
        ("TIC 39903405", {"sector": 24, "quarter": 2}, "give one of"),
        ("TIC 39903405", {"quality": "loose"}, "unknown quality preset"),
        ("TIC 39903405", {"bin": "-5m"}, "not a positive number"),
        ("WASP-39", {}, "no light curve of WASP-39"),
        ("TIC -5", {}, "malformed TIC id"),
    ],
)
def test_plot_lc_refusals(lake: Lake, target: str, options: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        lake.plot(target, **options)


def test_plot_coverage_shows_each_target_and_counts_light_curves_per_period_and_author(lake: Lake) -> None:
    fig = lake.plot_coverage()
    sky, bars, colorbar = fig.axes
    assert colorbar.get_xlabel().startswith("periods")
    assert sky.name == "mollweide"
    (points,) = [c for c in sky.collections if isinstance(c, PathCollection)]
    assert len(points.get_offsets()) == 3
    assert sorted(points.get_array().tolist()) == [1, 2, 2]  # K2: one campaign; Kepler and TESS: two periods
    # HAT-P-2 (RA 245.15, Dec 41.05) sits at longitude -(245.15 - 360) degrees: RA grows to the left.
    lon, lat = points.get_offsets()[np.argmax(points.get_offsets()[:, 0])]
    assert np.degrees(lon) == pytest.approx(360 - 245.1514913, abs=1e-6) and np.degrees(lat) == pytest.approx(
        41.048, abs=1e-3
    )
    heights = {c.get_label(): [round(r.get_height()) for r in c] for c in bars.containers}
    assert heights == {
        "K2": [1, 0, 0, 0, 0],
        "Kepler": [0, 1, 1, 0, 0],
        "QLP": [0, 0, 0, 1, 1],
        "SPOC": [0, 0, 0, 1, 0],
        "TESS-SPOC": [0, 0, 0, 1, 1],
    }
    assert [t.get_text() for t in bars.get_xticklabels()] == [
        "K2 c04",
        "Kepler q02",
        "Kepler q05",
        "TESS s0024",
        "TESS s0025",
    ]
    assert fig.get_suptitle() == "lake coverage: 3 targets, 8 light curves"


def test_plot_set_draws_the_first_light_curves_of_a_named_set(lake: Lake) -> None:
    fig = lake.plot_set("everything", max_lightcurves=4)
    rows = _rows(lake, "SELECT lc_id FROM lightcurves", normalize=True)
    order = lake.materialize("SELECT lc_id FROM lightcurves").lc_ids
    assert [ax.get_gid() for ax in fig.axes] == [element_id(lc) for lc in order[:4]]
    for ax, lc_id in zip(fig.axes, order, strict=False):
        np.testing.assert_array_equal(_layer(ax, lc_id, "good").get_ydata(), rows[lc_id]["flux"])
    assert fig.get_suptitle().startswith("set everything: 4 of 8 light curves · quality default · normalized")
    assert "changed" not in fig.get_suptitle()
    assert len(lake.materialize(KIC).plot().axes) == 2
    with pytest.raises(UsageError, match="no materialized set named 'nope'"):
        lake.plot_set("nope")
    with pytest.raises(UsageError, match="--max 0"):
        lake.plot_set("everything", max_lightcurves=0)


def test_png_is_a_real_picture_with_flagged_points_in_red(lake: Lake, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "looks" / "hatp2.png"
    args = ["--lake", str(lake.path), "plot", "lc", "TIC 39903405", "--sector", "24", "--author", "TESS-SPOC"]
    result = runner.invoke(cli.app, [*args, "--out", str(out), "--dpi", "60"])
    assert result.exit_code == 0, result.output
    image = mpimg.imread(out)[..., :3]
    assert image.shape[0] > 150 and image.std() > 0.05  # not blank
    red = np.array([int(FLAGGED[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    assert (np.abs(image - red).max(axis=2) < 0.15).sum() > 10  # the flagged cadences are drawn
    for extra, message in [([], "exists"), (["--out", str(tmp_path / "x.gif")], "extension .gif"),
                           (["--out", str(lake.path / "p.png")], "inside the lake")]:  # fmt: skip
        before = out.read_bytes()
        result = runner.invoke(cli.app, [*args, "--out", str(out), *extra])
        assert result.exit_code == 2 and message in result.output, result.output
        assert out.read_bytes() == before
    assert not (tmp_path / "x.gif").exists() and not (lake.path / "p.png").exists()
    result = runner.invoke(cli.app, [*args, "--out", str(out), "--overwrite", "--dpi", "40"])
    assert result.exit_code == 0 and mpimg.imread(out).shape[0] < image.shape[0]


def test_svg_and_pdf_by_extension(lake: Lake, tmp_path: Path) -> None:
    svg = tmp_path / "kic.svg"
    args = ["--lake", str(lake.path), "plot", "lc", "KIC 10002792", "--quality", "hard", "--normalize", "-o", str(svg)]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    text = svg.read_text()
    assert text.startswith("<?xml") and "<svg" in text and f'id="{element_id(KEPLER_Q2_LC)}"' in text
    grid = tmp_path / "grid.svg"
    result = CliRunner().invoke(
        cli.app, ["--lake", str(lake.path), "plot", "set", "everything", "--max", "2", "-o", str(grid)]
    )
    assert result.exit_code == 0 and grid.read_text().count('id="lc-') == 2  # one group per panel
    # The console script itself, once: exit code and a real PDF.
    pdf = tmp_path / "coverage.pdf"
    proc = run_cli("--lake", str(lake.path), "plot", "coverage", "--out", str(pdf))
    assert proc.returncode == 0 and f"plot coverage -> {pdf}" in proc.stderr, proc.stderr
    assert pdf.read_bytes().startswith(b"%PDF")


def test_readme_links_every_quick_look_image_made_from_the_samples() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((data/samples/plots/[^)]+\.png)\)", readme))
    made = {str(p.relative_to(REPO)) for p in (SAMPLES / "plots").glob("*")}
    assert linked == made and len(made) == 4
    provenance = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert all(f"--out {path}" in provenance for path in made)


def test_plot_lc_takes_a_jwst_target_name(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.import_files([obsgen.make_product(obsgen.JWST_TSO_WHTLT, tmp_path / "jwst")])
    fig = lake.plot("wasp-39")  # target_name, matched as MAST spells it or not
    rows = _rows(lake, "SELECT lc_id FROM lightcurves WHERE target_name = 'WASP-39'")
    assert [ax.get_gid() for ax in fig.axes] == [element_id(lc) for lc in sorted(rows)]
    for ax, lc_id in zip(fig.axes, sorted(rows), strict=True):
        np.testing.assert_array_equal(_layer(ax, lc_id, "good").get_ydata(), rows[lc_id]["flux"])
    assert [ax.get_title(loc="left") for ax in fig.axes][1].startswith("JWST · JWST · proposal 2734 · order 2")
    assert fig.axes[0].get_xlabel() == "time [BJD_TDB − 2400000.5, days]"
    assert fig.get_suptitle().startswith("WASP-39 · JWST · 2 light curves")
    assert len(lake.plot_coverage().axes) == 3
