"""Importing target pixel files and TESScut cutouts: every pixel kind lands in the lake, its file kept in the
raw area, and its light curve agrees with lightkurve's `to_lightcurve()` cadence for cadence."""

from __future__ import annotations

import hashlib
import shutil
import warnings
import zipfile
from importlib import resources
from pathlib import Path

import lightkurve as lk
import numpy as np
import pytest
from astropy.io import fits

from larun_lake import Lake, UsageError
from tests.mast_server.ffi import STARS
from tests.mast_server.tesscut import TesscutService, read_cube
from tests.pixelgen import make_k2_tpf, make_kepler_tpf, make_spoc_tpf

from .conftest import TPF_GZ, run_cli

# file key -> (author, aperture tag of the default light curve)
EXPECTED = {
    "spoc-real": ("SPOC-TPF", "ap-pipeline"),
    "spoc": ("SPOC-TPF", "ap-pipeline"),
    "spoc-20s": ("SPOC-TPF", "ap-pipeline"),
    "kepler": ("Kepler-TPF", "ap-pipeline"),
    "kepler-sc": ("Kepler-TPF", "ap-pipeline"),
    "k2": ("K2-TPF", "ap-pipeline"),
    "tesscut-2018": ("TESScut", "ap-pipeline"),  # a float APERTURE: lightkurve takes every pixel as the pipeline's
    "tesscut": ("TESScut", "ap-threshold"),
    "tesscut-edge": ("TESScut", "ap-threshold"),
}


def _cutouts(cubes: dict, folder: Path) -> dict[str, Path]:
    """TESScut cutouts as the service cuts them (astrocut, from synthetic FFI cubes with stars): one around a star,
    one across the image's edge."""
    cube = read_cube(next(iter(cubes.values())))
    edge_ra, edge_dec = cube.wcs.all_pix2world([[1.0, cube.shape[0] / 2]], 0)[0]
    out = {}
    for key, (ra, dec) in {"tesscut": (STARS[0].ra, STARS[0].dec), "tesscut-edge": (edge_ra, edge_dec)}.items():
        blob = TesscutService._cut([cube], float(ra), float(dec), (7, 5), "px")
        zipped = folder / f"{key}.zip"
        zipped.write_bytes(blob)
        with zipfile.ZipFile(zipped) as z:
            out[key] = Path(z.extract(z.namelist()[0], folder / key))
    return out


@pytest.fixture(scope="module")
def pixel_files(tmp_path_factory: pytest.TempPathFactory, ffi_cubes: dict) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pixel_files")
    zipped = resources.files("astroquery.mast.tests").joinpath("data", "astrocut_107.27_-70.0_5x5.zip")
    with resources.as_file(zipped) as path, zipfile.ZipFile(path) as z:
        cutout_2018 = Path(z.extract(z.namelist()[0], root))
    files = {
        "spoc-real": TPF_GZ,
        "tesscut-2018": cutout_2018,
        "spoc": make_spoc_tpf(root, 100000001, 3, n_cadences=1500, seed=1),
        "spoc-20s": make_spoc_tpf(root, 100000003, 30, n_cadences=1500, cadence_s=20, seed=3),
        "kepler": make_kepler_tpf(root, 10002792, 2, n_cadences=1000, seed=4),
        "kepler-sc": make_kepler_tpf(root, 10002793, 3, n_cadences=1200, short_cadence=True, seed=5),
        "k2": make_k2_tpf(root, 201907706, 1, n_cadences=900, seed=6),
    }
    files.update(_cutouts(ffi_cubes, root))
    return files


@pytest.fixture(scope="module")
def pixel_lake(pixel_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("pixel_lake") / "lake")
    report = lake.import_files(list(pixel_files.values()))
    assert report.ok and report.ingested == len(pixel_files), report.problems
    return lake


def _lk_lightcurve(path: Path, aperture="default") -> lk.LightCurve:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lk.read(str(path)).to_lightcurve(aperture_mask=aperture)


def _version(lake: Lake, path: Path, aperture: str) -> dict:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = lake.sql("SELECT * FROM lightcurves WHERE pixel_sha256 = ? AND aperture = ?", [sha, aperture]).df()
    assert len(rows) == 1, (path.name, aperture)
    return rows.iloc[0].to_dict()


def _assert_agrees(lake: Lake, path: Path, lc_id: str, aperture="default", *, empty: bool = False) -> None:
    ours = lake.materialize(f"SELECT '{lc_id}' AS lc_id", normalize=True).to_pandas()
    theirs = _lk_lightcurve(path, aperture).remove_nans().normalize()
    assert len(ours) == len(theirs) and (len(ours) == 0) == empty, lc_id
    assert np.array_equal(ours["time"].to_numpy(), theirs.time.value), lc_id
    assert np.allclose(ours["flux"].to_numpy(), theirs.flux.value, rtol=1e-6), lc_id
    assert np.allclose(ours["flux_err"].to_numpy(), theirs.flux_err.value, rtol=1e-6), lc_id
    assert np.array_equal(ours["quality"].to_numpy(), theirs.quality.value), lc_id


@pytest.mark.parametrize("key", list(EXPECTED))
def test_every_pixel_kind_lands_and_agrees_with_lightkurve(pixel_lake: Lake, pixel_files: dict, key: str) -> None:
    path = pixel_files[key]
    author, tag = EXPECTED[key]
    row = _version(pixel_lake, path, tag)
    assert row["author"] == author and row["lc_id"].endswith(tag)
    raw = lk_raw = _lk_lightcurve(path)
    assert row["n_good"] == len(lk_raw.remove_nans()) or author == "TESScut"
    # Every cadence is kept in the lake; the per-cadence columns equal lightkurve's on the cadences it keeps.
    cadences = pixel_lake.sql("SELECT time, flux, flux_err, mom_centr1, mom_centr2, quality, cadenceno FROM cadences "
                              "WHERE lc_id = ? ORDER BY cadenceno", [row["lc_id"]]).df()
    assert len(cadences) == row["n_cadences"] >= len(raw)
    kept = cadences[np.isin(cadences["time"], raw.time.value)] if author != "Kepler-TPF" else cadences
    if len(kept) == len(raw):
        assert np.array_equal(kept["flux"].to_numpy(), raw.flux.value.astype(np.float32), equal_nan=True)
        assert np.array_equal(kept["mom_centr1"].to_numpy(), raw.centroid_col.value, equal_nan=True)
    # No star near the edge: the threshold mask is empty, so lightkurve's light curve is all NaN; so is ours.
    _assert_agrees(pixel_lake, path, row["lc_id"], empty=key == "tesscut-edge")
    # The file is kept in the raw area, byte for byte; pixel_files describes it.
    info = pixel_lake.sql("SELECT * FROM pixel_files WHERE file_sha256 = ?", [row["pixel_sha256"]]).df().iloc[0]
    kept_file = pixel_lake.path / info["raw_path"]
    assert kept_file.read_bytes() == path.read_bytes()
    assert info["product_type"] == ("ffi_cutout" if author == "TESScut" else "target_pixel")
    assert info["default_aperture"] == tag and info["n_cadences"] == row["n_cadences"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tpf = lk.read(str(path))
    assert (info["n_rows"], info["n_cols"]) == tpf.shape[1:]
    if author != "TESScut":
        assert info["pipeline_pixels"] == int(tpf.pipeline_mask.sum())
        assert info["corner_column"] == tpf.column and info["corner_row"] == tpf.row
    else:
        assert info["cutout_size"] == f"{tpf.shape[2]}x{tpf.shape[1]}"
        assert info["raw_path"].startswith(f"raw/tesscut/s{info['sector']:04d}/")


def test_named_apertures_and_a_mask_file_are_light_curves_of_their_own(pixel_lake: Lake, pixel_files: dict,
                                                                      tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    spoc, cutout = pixel_files["spoc"], pixel_files["tesscut"]
    lake.import_files([spoc, cutout])
    for name, new in (("all", 2), ("threshold", 1)):  # the cutout's default light curve is its threshold one
        report = lake.import_files([spoc, cutout], aperture=name)
        assert report.ingested == new and report.unchanged == 2 - new
        for path in (spoc, cutout):
            row = _version(lake, path, f"ap-{name}")
            _assert_agrees(lake, path, row["lc_id"], name)
    mask = np.zeros((11, 11), dtype=int)  # the SPOC stamp's rows x columns
    mask[4:7, 5:7] = 1
    mask_file = tmp_path / "mask.txt"
    np.savetxt(mask_file, mask, fmt="%d")
    proc = run_cli("--lake", str(lake.path), "import", "--aperture", str(mask_file), str(spoc))
    assert proc.returncode == 0 and "1 ingested" in proc.stderr, proc.stderr
    tag = "ap-" + hashlib.sha256(np.packbits(mask.astype(bool), axis=None).tobytes()).hexdigest()[:8]
    row = _version(lake, spoc, tag)
    assert row["n_aperture_pixels"] == 6 and row["lc_id"].endswith(tag)
    _assert_agrees(lake, spoc, row["lc_id"], mask.astype(bool))
    # Asking again for an aperture the lake holds reads nothing again.
    again = lake.import_files([spoc, cutout], aperture="all")
    assert again.ingested == 0 and again.unchanged == 2
    assert lake.sql("SELECT count(*) FROM pixel_files").fetchall() == [(2,)]
    assert lake.sql("SELECT count(*) FROM lightcurves").fetchall() == [(6,)]  # SPOC: 4 apertures, cutout: 2
    # A mask the stamp cannot take is that file's problem: the 5x7 cutout is refused, the 11x11 file is not.
    wrong = lake.import_files([spoc, cutout], aperture=np.ones((11, 11), dtype=bool))
    assert wrong.ingested == 1 and len(wrong.problems) == 1 and "aperture mask is 11x11" in wrong.problems[0][2]
    assert wrong.failed == 1 and not wrong.ok  # the run says so (exit 1) ...
    states = lake.sql("SELECT DISTINCT state FROM products").fetchall()
    assert states == [("ingested",)]  # ... but the cutout's product keeps its state: the file is fine


def test_bad_pixel_files_get_one_line_each_and_the_rest_goes_on(pixel_files: dict, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = shutil.copy(pixel_files["spoc"], folder / pixel_files["spoc"].name)
    spoc = make_spoc_tpf(tmp_path / "gen", 100000011, 4, n_cadences=300, seed=11)
    make_spoc_tpf(folder / "truncated_tp.fits", 100000012, 4, n_cadences=300, truncate_to=spoc.stat().st_size // 3)
    make_spoc_tpf(folder / "no-aperture_tp.fits", 100000013, 4, n_cadences=300, aperture=False)
    off = folder / "tess-s0001-1-1_10.0_20.0_5x7_astrocut.fits"
    with fits.open(pixel_files["tesscut"]) as hdul:  # a cutout astrocut placed wholly off the CCD
        hdul[1].data["FLUX"][:] = np.nan
        hdul[2].data[:] = 0
        hdul.writeto(off)
    lake_dir = tmp_path / "lake"
    proc = run_cli("--lake", str(lake_dir), "import", str(folder))
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("quarantined:")]
    assert len(lines) == 3
    reasons = {Path(line.split(": ")[1]).name: line for line in lines}
    assert "truncated" in reasons["truncated_tp.fits"]
    assert "no aperture extension" in reasons["no-aperture_tp.fits"]
    assert "off the detector" in reasons[off.name]
    assert "1 ingested" in proc.stderr and "3 quarantined" in proc.stderr
    lake = Lake(lake_dir)
    states = lake.sql("SELECT file_name, product_type, state, last_error IS NOT NULL FROM products ORDER BY 1").fetchall()
    assert states == sorted([
        (good.name, "target_pixel", "ingested", False),
        ("no-aperture_tp.fits", "target_pixel", "quarantined", True),
        (off.name, "ffi_cutout", "quarantined", True),
        ("truncated_tp.fits", "target_pixel", "quarantined", True),
    ])
    kept = sorted(p.name for p in (lake_dir / "raw").rglob("*") if p.is_file())
    assert kept == [good.name]  # refused files are not kept


def test_lake_pixels_opens_the_kept_file(pixel_lake: Lake, pixel_files: dict) -> None:
    tpf = pixel_lake.pixels("TIC 100000001", sector=3)
    assert isinstance(tpf, lk.TessTargetPixelFile)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = lk.read(str(pixel_files["spoc"]))
    assert np.array_equal(tpf.flux.value, original.flux.value, equal_nan=True)
    assert isinstance(pixel_lake.pixels("KIC 10002792", quarter=2), lk.KeplerTargetPixelFile)
    with pytest.raises(UsageError, match="keeps no pixel file of TIC 100000001 \\(period s0004\\)"):
        pixel_lake.pixels("TIC 100000001", sector=4)


def test_a_kept_file_gone_is_reported_and_written_back_by_the_next_import(pixel_files: dict, tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    spoc = pixel_files["spoc"]
    Lake(lake_dir).import_files([spoc])
    kept = lake_dir / Lake(lake_dir).sql("SELECT raw_path FROM pixel_files").fetchall()[0][0]
    kept.unlink()
    proc = run_cli("--lake", str(lake_dir), "verify")
    assert proc.returncode == 1 and f"missing: kept pixel file {kept.relative_to(lake_dir).as_posix()}" in proc.stderr
    assert "1 kept pixel files checked" in proc.stdout and "NOT consistent" in proc.stdout
    again = Lake(lake_dir).import_files([spoc])
    assert again.unchanged == 1 and again.ingested == 0
    assert kept.read_bytes() == spoc.read_bytes()
    assert run_cli("--lake", str(lake_dir), "verify").returncode == 0
    kept.write_bytes(kept.read_bytes()[:-2880])  # cut short behind the lake's back
    proc = run_cli("--lake", str(lake_dir), "verify")
    assert proc.returncode == 1 and "corrupt: kept pixel file" in proc.stderr


def test_another_file_under_the_same_name_is_kept_beside_the_first(pixel_files: dict, tmp_path: Path) -> None:
    first = pixel_files["spoc"]
    other_dir = tmp_path / "reprocessed"
    other = make_spoc_tpf(other_dir / first.name, 100000001, 3, n_cadences=1500, seed=99)  # same name, other bytes
    assert other.name == first.name and other.read_bytes() != first.read_bytes()
    lake = Lake(tmp_path / "lake")
    lake.import_files([first])
    lake.import_files([other])
    rows = lake.sql("SELECT raw_path, file_sha256 FROM pixel_file_versions ORDER BY ingested_at").fetchall()
    assert len(rows) == 2 and rows[0][0] != rows[1][0]
    assert (lake.path / rows[0][0]).read_bytes() == first.read_bytes()  # never replaced by the other bytes
    assert (lake.path / rows[1][0]).read_bytes() == other.read_bytes()
    assert rows[1][0] == rows[0][0].rsplit("/", 1)[0] + f"/{rows[1][1][:16]}/{first.name}"
    assert run_cli("--lake", str(lake.path), "verify").returncode == 0


def test_pixel_light_curves_materialize_in_every_form(pixel_lake: Lake, pixel_files: dict, tmp_path: Path) -> None:
    # astroquery's 2018 cutout names no TIC: a negative target id stands for its position, tic_id stays empty.
    row = _version(pixel_lake, pixel_files["tesscut-2018"], "ap-pipeline")
    assert row["target_id"] < 0
    assert row["tic_id"] is None or np.isnan(row["tic_id"])
    assert row["lc_id"] == "TESS:TESScut:107.2700-70.0000:s0001:1800:5x5.ap-pipeline"
    sql = "SELECT lc_id FROM lightcurves ORDER BY lc_id"
    n = len(pixel_lake.sql(sql).fetchall())
    collection = pixel_lake.materialize(sql, normalize=True).to_lightkurve()
    assert len(collection) == n
    kinds_of = {type(lc).__name__ for lc in collection}
    assert kinds_of == {"TessLightCurve", "KeplerLightCurve"}
    out = tmp_path / "fits"
    proc = run_cli("--lake", str(pixel_lake.path), "materialize", sql, "--format", "lightkurve-fits", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert len(list(out.glob("*.fits"))) == n
    stitched = list(pixel_lake.materialize("SELECT lc_id FROM lightcurves WHERE author = 'TESScut'", stitch=True))
    assert len(stitched) == 3  # three positions, one series each
