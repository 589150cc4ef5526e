"""Light curves from pixels equal lightkurve's `read(f).to_lightcurve(aperture_mask=M)`, cadence for cadence.

Files: the real SPOC target pixel file in the fixtures, astroquery's real 2018 TESScut cutout, a
cutout astrocut makes now (integer APERTURE, zero CADENCENO; one fully inside the detector, one
partly off its edge), and generated SPOC (square and not), Kepler (long and short cadence) and K2
target pixel files. Masks: default, pipeline, threshold, all and a custom array.

Tolerances: none. Every column is compared with np.array_equal on the cadences lightkurve keeps
(the same numpy reductions over the same float32 values give the same bits), and the count of
those cadences must match. The normalised light curve is compared to float32 rounding (rtol 1e-6).
"""

from __future__ import annotations

import warnings
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from larun_lake.errors import ProductError, UsageError
from larun_lake.pixels import aperture_photometry, read_pixel_file, resolve_aperture
from larun_lake.pixels.aperture import default_keep, mask_tag
from larun_lake.schema import CADENCE_TYPES
from tests.conftest import FIXTURES, TPF_GZ
from tests.pixelgen import make_k2_tpf, make_kepler_tpf, make_spoc_tpf

K2_IMAGE = FIXTURES / "truncated" / "ktwo201907706-c01-first-cadence.fits.gz"
MASKS = ("default", "pipeline", "threshold", "all", "custom")
COMPARED = (
    ("time", "time"),
    ("flux", "flux"),
    ("flux_err", "flux_err"),
    ("mom_centr1", "centroid_col"),
    ("mom_centr2", "centroid_row"),
    ("quality", "quality"),
    ("cadenceno", "cadenceno"),
)


def _lk():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lightkurve

    return lightkurve


def _astroquery_zip(name: str) -> Path:
    return Path(str(resources.files("astroquery.mast.tests").joinpath("data", name)))


@pytest.fixture(scope="module")
def pixel_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pixels")
    with zipfile.ZipFile(_astroquery_zip("astrocut_107.27_-70.0_5x5.zip")) as z:
        cutout_2018 = root / z.extract(z.namelist()[0], root)
    files = {
        "spoc-real": TPF_GZ,
        "tesscut-2018": cutout_2018,
        "spoc": make_spoc_tpf(root, 100000001, 3, n_cadences=2000, seed=1),
        "spoc-9x12": make_spoc_tpf(root, 100000002, 14, n_cadences=1500, shape=(9, 12), seed=2),
        "spoc-20s": make_spoc_tpf(root, 100000003, 30, n_cadences=1500, cadence_s=20, seed=3),
        "kepler": make_kepler_tpf(root, 10002792, 2, n_cadences=1200, seed=4),
        "kepler-sc": make_kepler_tpf(root, 10002793, 3, n_cadences=1500, short_cadence=True, seed=5),
        "k2": make_k2_tpf(root, 201907706, 1, n_cadences=1000, seed=6),
    }
    files.update(_astrocut_cutouts(root / "astrocut"))
    return files


def _astrocut_cutouts(folder: Path) -> dict[str, Path]:
    """Cutouts astrocut cuts from a small synthetic FFI cube: one inside, one across the CCD's edge."""
    from astrocut import CubeFactory, TessCubeCutout
    from astrocut.tests.utils_for_test import create_test_ffis
    from astropy.wcs import WCS

    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ffis = create_test_ffis(img_size=24, num_images=30, dir_name=str(folder))
        for name in ffis:
            with fits.open(name, mode="update") as hdul:
                hdul[0].header["TELESCOP"] = "TESS"
        cube = CubeFactory().make_cube(ffis, str(folder / "tess-s0001-1-1-cube.fits"), sector=1, verbose=False)
        wcs = WCS(fits.getheader(ffis[0], 1))
        out = {}
        for key, (x, y) in {"tesscut": (12.0, 11.0), "tesscut-edge": (1.0, 12.0)}.items():
            ra, dec = wcs.pixel_to_world_values(x, y)
            cut = TessCubeCutout(cube, f"{float(ra)} {float(dec)}", cutout_size=(5, 7))
            out[key] = Path(cut.write_as_tpf(str(folder / key))[0])
    return out


def _custom(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    cy, cx = shape[0] // 2, shape[1] // 2
    mask[cy - 1 : cy + 2, cx - 1 : cx + 1] = True
    return mask


def _lightkurve_only(path: Path, mask_name: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _lk().read(str(path)).to_lightcurve(aperture_mask=mask_name)


def _ours_and_lightkurve(path: Path, mask_name: str):
    lk = _lk()
    pixels = read_pixel_file(path)
    spec = _custom(pixels.shape) if mask_name == "custom" else mask_name
    aperture = resolve_aperture(pixels, spec)
    columns = aperture_photometry(pixels, aperture.mask)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tpf = lk.read(str(path))
        lc = tpf.to_lightcurve(aperture_mask=spec)
    return pixels, aperture, columns, tpf, lc


@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize(
    "kind",
    [
        "spoc-real",
        "tesscut-2018",
        "tesscut",
        "tesscut-edge",
        "spoc",
        "spoc-9x12",
        "spoc-20s",
        "kepler",
        "kepler-sc",
        "k2",
    ],
)
def test_light_curve_equals_lightkurve(pixel_files: dict[str, Path], kind: str, mask_name: str) -> None:
    if kind in ("tesscut", "tesscut-edge") and mask_name == "pipeline":
        # astrocut marks pixels on the CCD with 1, never the optimal-aperture bit: both refuse
        with pytest.raises(ProductError, match="no pipeline aperture"):
            resolve_aperture(read_pixel_file(pixel_files[kind]), "pipeline")
        with pytest.raises(ValueError, match="'pipeline' is requested, but it is missing or empty"):
            _lightkurve_only(pixel_files[kind], "pipeline")
        return
    pixels, aperture, columns, tpf, lc = _ours_and_lightkurve(pixel_files[kind], mask_name)
    np.testing.assert_array_equal(aperture.mask, tpf._last_aperture_mask)
    keep = default_keep(pixels)
    assert keep.sum() == len(lc) > 0
    for ours, theirs in COMPARED:
        expected = np.asarray(getattr(lc, theirs).value if hasattr(getattr(lc, theirs), "value") else lc[theirs])
        got = columns[ours][keep]
        if ours == "time" and pixels.mission != "TESS":
            got = np.where(np.isnan(got), 0.0, got)  # lightkurve's Kepler reader shows a missing time as 0
        if ours == "cadenceno" and pixels.cadenceno[0] == 0:
            # TESScut writes zeros; lightkurve numbers the cadences it keeps, the lake (keeping all) numbers rows
            np.testing.assert_array_equal(expected, np.arange(len(lc)))
            np.testing.assert_array_equal(got, np.flatnonzero(keep))
            continue
        assert np.array_equal(got, expected, equal_nan=True), f"{ours} differs from lightkurve's {theirs}"
    # the lake's normalisation: divide by the median flux of the kept cadences, NaNs out
    flux = columns["flux"][keep]
    finite = np.isfinite(flux)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        normalized = lc.remove_nans().normalize()
    if finite.any():
        median = np.nanmedian(flux)
        np.testing.assert_allclose(flux[finite] / median, normalized.flux.value, rtol=1e-6)
        np.testing.assert_allclose(columns["flux_err"][keep][finite] / median, normalized.flux_err.value, rtol=1e-6)
        np.testing.assert_array_equal(columns["time"][keep][finite], normalized.time.value)
    else:
        assert len(normalized) == 0


def test_columns_are_the_lake_cadence_columns_for_every_cadence(pixel_files: dict[str, Path]) -> None:
    pixels = read_pixel_file(pixel_files["spoc"])
    columns = aperture_photometry(pixels, resolve_aperture(pixels).mask)
    assert set(columns) <= set(CADENCE_TYPES)
    for name, values in columns.items():
        assert values.dtype == CADENCE_TYPES[name].to_pandas_dtype(), name
        assert len(values) == pixels.n_cadences == 2000  # flagged and gap cadences included
    assert np.isnan(columns["time"]).any() and (columns["quality"] != 0).any()
    assert np.isfinite(columns["sap_bkg"][np.isfinite(columns["time"])]).all()


def test_background_is_the_pipeline_background_summed_over_the_aperture(pixel_files: dict[str, Path]) -> None:
    lk = _lk()
    for kind in ("spoc-real", "kepler", "tesscut"):
        pixels = read_pixel_file(pixel_files[kind])
        aperture = resolve_aperture(pixels)
        columns = aperture_photometry(pixels, aperture.mask)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bkg = lk.read(str(pixel_files[kind])).get_bkg_lightcurve(aperture.mask)
        keep = default_keep(pixels)
        np.testing.assert_array_equal(columns["sap_bkg"][keep], bkg.flux.value)
        np.testing.assert_array_equal(columns["sap_bkg_err"][keep], bkg.flux_err.value)


def test_default_mask_is_pipeline_for_tpfs_and_threshold_for_cutouts(pixel_files: dict[str, Path]) -> None:
    tags = {kind: resolve_aperture(read_pixel_file(pixel_files[kind])).tag for kind in ("spoc-real", "k2", "tesscut")}
    assert tags == {"spoc-real": "ap-pipeline", "k2": "ap-pipeline", "tesscut": "ap-threshold"}
    # TESScut files of 2018 store APERTURE as floats, which lightkurve takes as "every pixel is pipeline"
    old = resolve_aperture(read_pixel_file(pixel_files["tesscut-2018"]))
    assert (old.tag, old.n_pixels) == ("ap-pipeline", 25)


def test_all_zero_frames_give_nan_flux_as_in_lightkurve(pixel_files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "zeros_tp.fits"
    with fits.open(pixel_files["spoc"]) as hdul:
        hdul[1].data["FLUX"][[10, 11]] = 0.0
        hdul.writeto(path)
    pixels, _aperture, columns, _tpf, lc = _ours_and_lightkurve(path, "default")
    assert np.isnan(columns["flux"][[10, 11]]).all() and np.isfinite(columns["flux_err"][[10, 11]]).all()
    keep = default_keep(pixels)
    assert np.array_equal(columns["flux"][keep], lc.flux.value, equal_nan=True)


def test_custom_mask_files_and_tags(pixel_files: dict[str, Path], tmp_path: Path) -> None:
    pixels = read_pixel_file(pixel_files["spoc"])
    mask = _custom(pixels.shape)
    np.save(tmp_path / "mask.npy", mask)
    (tmp_path / "mask.csv").write_text("\n".join(",".join(str(int(v)) for v in row) for row in mask) + "\n")
    (tmp_path / "mask.txt").write_text("\n".join(" ".join(str(int(v)) for v in row) for row in mask) + "\n")
    tags = {
        resolve_aperture(pixels, spec).tag
        for spec in (mask, tmp_path / "mask.npy", str(tmp_path / "mask.csv"), tmp_path / "mask.txt")
    }
    assert tags == {mask_tag(mask)} and len(mask_tag(mask)) == len("ap-") + 8
    assert mask_tag(mask) != mask_tag(np.roll(mask, 1, axis=1))
    for name in ("pipeline", "threshold", "all"):
        assert resolve_aperture(pixels, name).tag == f"ap-{name}"
    # pipeline-style integer images select bit 2, as lightkurve does
    assert (resolve_aperture(pixels, pixels.aperture).mask == resolve_aperture(pixels, "pipeline").mask).all()


def test_bad_masks_are_refused_in_one_line(pixel_files: dict[str, Path], tmp_path: Path) -> None:
    pixels = read_pixel_file(pixel_files["spoc"])
    with pytest.raises(ProductError, match=r"aperture mask is 5x5 but the pixel stamps are 11x11"):
        resolve_aperture(pixels, np.ones((5, 5), dtype=bool))
    (tmp_path / "two.csv").write_text("0,1\n2,1\n")
    (tmp_path / "ragged.csv").write_text("0,1\n1\n")
    for name, pattern in (
        ("two.csv", "other than 0 and 1"),
        ("ragged.csv", "not a rectangular grid"),
        ("missing.npy", "does not exist"),
    ):
        with pytest.raises(UsageError, match=pattern) as err:
            resolve_aperture(pixels, tmp_path / name)
        assert "\n" not in str(err.value)
    with pytest.raises(UsageError, match="selects no pixel"):
        resolve_aperture(pixels, np.zeros(pixels.shape, dtype=bool))
    cutout = read_pixel_file(pixel_files["tesscut"])
    with pytest.raises(ProductError, match="no pipeline aperture"):
        resolve_aperture(cutout, "pipeline")


def test_bad_files_are_refused_in_one_line(pixel_files: dict[str, Path], tmp_path: Path) -> None:
    spoc = pixel_files["spoc"]
    no_aperture = make_spoc_tpf(tmp_path, 100000009, 3, n_cadences=200, aperture=False)
    truncated = make_spoc_tpf(tmp_path / "cut", 100000009, 3, n_cadences=200, truncate_to=spoc.stat().st_size // 30)
    candels = tmp_path / "candels"
    with zipfile.ZipFile(_astroquery_zip("astrocut_189.49206_62.20615_100x100px_f.zip")) as z:
        hst_cutout = Path(z.extract(z.namelist()[0], candels))
    cases = {
        no_aperture: "target pixel file has no aperture extension",
        truncated: "truncated FITS file",
        K2_IMAGE: "truncated FITS file: NEXTEND=2",  # a K2 target pixel file cut to one image
        hst_cutout: "no PIXELS table",
        _off_edge(pixel_files["tesscut-2018"], tmp_path / "off_edge.fits"): "cutout lies off the detector",
    }
    for path, reason in cases.items():
        with pytest.raises(ProductError, match=reason) as err:
            read_pixel_file(path)
        assert "\n" not in str(err.value) and str(path) in str(err.value)


def _off_edge(source: Path, out: Path) -> Path:
    """What a cutout wholly beyond the CCD would hold: NaN everywhere, APERTURE all 0."""
    with fits.open(source) as hdul:
        hdul[1].data["FLUX"][:] = np.nan
        hdul[2].data = np.zeros(hdul[2].data.shape, dtype=np.int32)
        hdul.writeto(out)
    return out


def test_partly_off_edge_cutout_is_kept(pixel_files: dict[str, Path]) -> None:
    pixels = read_pixel_file(pixel_files["tesscut-edge"])
    off = pixels.aperture == 0
    assert off.any() and (~off).any()
    assert np.isnan(pixels.flux[:, off]).all()


def test_header_facts(pixel_files: dict[str, Path]) -> None:
    lk = _lk()
    facts = {}
    for kind in ("spoc-real", "tesscut-2018", "tesscut", "kepler", "k2"):
        p = read_pixel_file(pixel_files[kind])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tpf = lk.read(str(pixel_files[kind]))
            ra, dec = tpf.wcs.pixel_to_world_values((p.shape[1] - 1) / 2, (p.shape[0] - 1) / 2)
        assert (p.ref_col, p.ref_row) == (tpf.column, tpf.row)
        assert p.wcs_ra == pytest.approx(float(ra), abs=1e-6) and p.wcs_dec == pytest.approx(float(dec), abs=1e-6)
        facts[kind] = (
            p.product_type,
            p.mission,
            p.author,
            p.target_id,
            p.sector,
            p.quarter,
            p.campaign,
            p.camera,
            p.ccd,
            p.shape,
            p.exptime_s,
        )
    assert facts["spoc-real"] == ("target_pixel", "TESS", "SPOC-TPF", 25155310, 1, None, None, 4, 1, (11, 11), 120)
    assert facts["tesscut-2018"] == ("ffi_cutout", "TESS", "TESScut", None, 1, None, None, 4, 3, (5, 5), 1800)
    assert facts["tesscut"][:3] == ("ffi_cutout", "TESS", "TESScut") and facts["tesscut"][9] == (7, 5)
    assert facts["kepler"][:7] == ("target_pixel", "Kepler", "Kepler-TPF", 10002792, None, 2, None)
    assert facts["k2"][:7] == ("target_pixel", "K2", "K2-TPF", 201907706, None, None, 1)
    real = read_pixel_file(TPF_GZ)
    assert real.checksum_ok is False  # the fixture's pixel table was cut after the pipeline summed it
