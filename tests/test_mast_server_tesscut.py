"""TESScut cutouts and target pixel files from the loopback MAST, through the real astroquery and lightkurve.

The cubes are astrocut cubes of synthetic FFIs (tests/mast_server/ffi.py) with TIC 25155310 on all three
sectors; the target pixel files are the real truncated fixtures.
"""

from __future__ import annotations

import gzip
import time
import zipfile
from pathlib import Path

import astropy.units as u
import lightkurve as lk
import numpy as np
import pytest
import requests
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astroquery.exceptions import NoResultsWarning
from astroquery.mast import Observations, Tesscut
from astroquery.mast.discovery_portal import PortalAPI
from astroquery.mast.services import ServiceAPI

from tests.mast_server import Fault, MastServer
from tests.mast_server.ffi import STARS

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
SPOC_LC = FIXTURES / "tess_spoc" / "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"
TESS_TPF_GZ = FIXTURES / "truncated" / "tess25155310-s01-first-cadences.fits.gz"
K2_TPF = FIXTURES / "truncated" / "ktwo201907706-c01-first-cadence.fits.gz"
TARGET, FFI_ONLY = STARS[0], STARS[1]
ALL_SECTORS = ["tess-s0001-4-1", "tess-s0002-4-1", "tess-s0003-4-2"]


@pytest.fixture(scope="module")
def tess_tpf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The TESS TPF fixture as MAST serves it: uncompressed."""
    path = tmp_path_factory.mktemp("tpf") / "tess25155310-s01-first-cadences.fits"
    path.write_bytes(gzip.decompress(TESS_TPF_GZ.read_bytes()))
    return path


@pytest.fixture(scope="module")
def server(ffi_cubes: dict, tess_tpf: Path):
    with MastServer(fits_files=[SPOC_LC, tess_tpf, K2_TPF], cubes=ffi_cubes.values()) as srv:
        for star in STARS:
            srv.add_star(star.tic, star.ra, star.dec)
        yield srv


@pytest.fixture
def mast(clean_mast_server: MastServer, monkeypatch: pytest.MonkeyPatch):
    """The clients pointed at the server: portal URLs, the SANTA resolver through the proxy settings, and
    TESScut's base URL (new TesscutClass objects read ServiceAPI.SERVICE_URL; the Tesscut singleton has its own)."""
    server = clean_mast_server
    for attr, path in [
        ("MAST_REQUEST_URL", "/api/v0/invoke"),
        ("COLUMNS_CONFIG_URL", "/portal/Mashup/Mashup.asmx/columnsconfig"),
        ("MAST_DOWNLOAD_URL", "/api/v0.1/Download/file"),
        ("MAST_BUNDLE_URL", "/api/v0.1/Download/bundle"),
    ]:
        monkeypatch.setattr(PortalAPI, attr, server.url + path)
    monkeypatch.setattr(PortalAPI, "_column_configs", {})
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, server.url)
    monkeypatch.setattr(ServiceAPI, "SERVICE_URL", server.url)
    monkeypatch.setattr(Tesscut._service_api_connection, "REQUEST_URL", server.url + "/tesscut/api/v0.1/")
    for search in (lk.search_tesscut, lk.search_targetpixelfile, lk.search_lightcurve):
        search.cache_clear()
    return server


def _coord(star=TARGET) -> SkyCoord:
    return SkyCoord(star.ra, star.dec, unit="deg")


def _sky(server: MastServer, sector_name: str, x: float, y: float) -> SkyCoord:
    cube = next(c for c in server.tesscut.cubes if c.sector_name == sector_name)
    ra, dec = cube.wcs.all_pix2world([[x, y]], 0)[0]
    return SkyCoord(ra, dec, unit="deg")


def _last(server: MastServer, service: str) -> dict:
    return [r for r in server.requests if r.kind == "tesscut" and r.service == service][-1].request


# -- sectors -------------------------------------------------------------------------------------
def test_sectors_are_the_cubes_whose_image_holds_the_position(mast: MastServer) -> None:
    table = Tesscut.get_sectors(coordinates=_coord())
    assert list(table["sectorName"]) == ALL_SECTORS
    assert (list(table["sector"]), list(table["camera"]), list(table["ccd"])) == ([1, 2, 3], [4, 4, 4], [1, 1, 2])
    assert float(_last(mast, "sector")["ra"][0]) == pytest.approx(TARGET.ra)

    corner = _sky(mast, "tess-s0001-4-1", 1.0, 1.0)  # on sector 1's image, off the rotated others
    assert list(Tesscut.get_sectors(coordinates=corner)["sector"]) == [1]
    outside = _sky(mast, "tess-s0001-4-1", -4.0, 1.0)
    with pytest.warns(NoResultsWarning):
        assert len(Tesscut.get_sectors(coordinates=outside)) == 0
    assert 1 in Tesscut.get_sectors(coordinates=outside, radius=6 * 21 * u.arcsec)["sector"]
    assert mast.count("tesscut", "sector") == 4


# -- cutouts -------------------------------------------------------------------------------------
def test_download_cutouts_has_the_star_at_the_centre(mast: MastServer, tmp_path: Path) -> None:
    manifest = Tesscut.download_cutouts(coordinates=_coord(), size=11, sector=1, path=str(tmp_path / "one"))
    paths = [Path(p) for p in manifest["Local Path"]]
    assert [p.name for p in paths] == ["tess-s0001-4-1_63.373890_-69.226789_11x11_astrocut.fits"]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [paths[0].name]  # the zip was unpacked, removed
    with fits.open(paths[0]) as hdul:
        primary = hdul[0].header
        assert (primary["TELESCOP"], primary["ORIGIN"], primary["SECTOR"], primary["CAMERA"]) == (
            "TESS",
            "STScI/MAST",
            1,
            4,
        )
        flux = hdul["PIXELS"].data["FLUX"]
        assert flux.shape == (60, 11, 11) and np.isfinite(flux).all()
        image = np.median(flux, axis=0)
        assert np.unravel_index(np.argmax(image), image.shape) in {(5, 5), (5, 4), (4, 5), (5, 6), (6, 5)}
        assert image.max() > 50 * np.median(image)  # a star, not sky
    query = _last(mast, "astrocut")
    assert {k: v[0] for k, v in query.items() if k != "ra" and k != "dec"} == {
        "x": "11",
        "y": "11",
        "units": "px",
        "sector": "1",
    }

    every = Tesscut.download_cutouts(coordinates=_coord(), size=(7, 9), path=str(tmp_path / "all"))  # (ny, nx)
    names = sorted(Path(p).name for p in every["Local Path"])
    assert names == [f"{s}_63.373890_-69.226789_9x7_astrocut.fits" for s in ALL_SECTORS]
    assert {fits.getdata(p, "PIXELS")["FLUX"].shape for p in every["Local Path"]} == {(60, 7, 9)}
    assert "sector" not in _last(mast, "astrocut")


def test_cutouts_sized_in_degrees_and_fetched_in_memory(mast: MastServer) -> None:
    cutouts = Tesscut.get_cutouts(coordinates=_coord(), size=0.05 * u.deg, sector=2)  # a POSTed form
    assert len(cutouts) == 1
    name = cutouts[0].filename
    assert name.startswith("tess-s0002-4-1_63.373890_-69.226789_")
    width, height = (int(n) for n in name.split("_")[-2].split("x"))
    assert cutouts[0]["PIXELS"].data["FLUX"].shape[1:] == (height, width)
    assert 7 <= width <= 10 and 7 <= height <= 10  # 0.05 deg is 8.6 TESS pixels
    assert [r.method for r in mast.requests if r.kind == "tesscut"] == ["POST"]
    assert _last(mast, "astrocut")["units"] == ["d"]


def test_cutout_off_the_image_edge_keeps_its_size_with_empty_pixels(mast: MastServer, tmp_path: Path) -> None:
    edge = _sky(mast, "tess-s0001-4-1", 1.0, 20.0)
    manifest = Tesscut.download_cutouts(coordinates=edge, size=11, sector=1, path=str(tmp_path))
    flux = fits.getdata(manifest["Local Path"][0], "PIXELS")["FLUX"]
    assert flux.shape == (60, 11, 11)
    empty = np.isnan(flux).all(axis=(0, 1))
    n_empty = int(empty.sum())
    assert 3 <= n_empty <= 5 and empty[:n_empty].all() and np.isfinite(flux[:, :, n_empty:]).all()


def test_no_data_is_a_message_and_bad_parameters_are_400(mast: MastServer, tmp_path: Path) -> None:
    with pytest.warns(NoResultsWarning, match="not in any sector"):
        assert len(Tesscut.download_cutouts(coordinates=SkyCoord(10, 10, unit="deg"), size=5, path=str(tmp_path))) == 0
    with pytest.warns(NoResultsWarning, match="not in sector 9"):
        assert len(Tesscut.get_cutouts(coordinates=_coord(), size=5, sector=9)) == 0

    url = mast.url + "/tesscut/api/v0.1/astrocut"
    good = {"ra": TARGET.ra, "dec": TARGET.dec, "x": 5, "y": 5, "units": "px"}
    assert requests.get(url, params=good, timeout=10).content[:2] == b"PK"
    for bad, fragment in [
        ({"ra": None}, "ra"),
        ({"dec": 95}, "dec"),
        ({"x": -3}, "positive"),
        ({"units": "furlong"}, "units"),
        ({"sector": "one"}, "sector"),
        ({"ra": "nan"}, "ra"),
    ]:
        reply = requests.get(url, params={**good, **bad}, timeout=10)
        assert reply.status_code == 400 and fragment in reply.json()["msg"], bad
    reply = requests.post(mast.url + "/tesscut/api/v0.1/sector", data={"ra": 1}, timeout=10)
    assert reply.status_code == 400 and "dec" in reply.json()["msg"]


# -- lightkurve ----------------------------------------------------------------------------------
def test_lightkurve_search_tesscut_and_download(mast: MastServer, tmp_path: Path) -> None:
    result = lk.search_tesscut(f"TIC {TARGET.tic}")
    assert list(result.table["sequence_number"]) == [1, 2, 3]
    assert set(result.table["author"]) == {"TESScut"} and set(result.table["exptime"]) == {1800}
    assert mast.count("Mast.Caom.Filtered.Position") == 1

    tpf = result[0].download(cutout_size=11, download_dir=str(tmp_path))
    assert isinstance(tpf, lk.TessTargetPixelFile) and tpf.sector == 1 and tpf.shape == (60, 11, 11)
    mask = tpf.create_threshold_mask()
    assert mask[5, 5] and mask.sum() < 60
    lc = tpf.to_lightcurve(aperture_mask=mask)
    assert len(lc) == 60 and np.isfinite(lc.flux.value).all()
    assert 0.9 * TARGET.flux < np.median(lc.flux.value) < 1.2 * TARGET.flux
    downloads = mast.count("tesscut", "astrocut")
    assert downloads == 1
    result[0].download(cutout_size=11, download_dir=str(tmp_path))  # lightkurve finds its cached cutout by name
    assert mast.count("tesscut", "astrocut") == downloads

    only = lk.search_tesscut(f"TIC {FFI_ONLY.tic}", sector=2)
    assert list(only.table["sequence_number"]) == [2]
    small = only.download(download_dir=str(tmp_path))  # lightkurve's default 5x5
    assert small.shape == (60, 5, 5) and small.create_threshold_mask()[2, 2]


def test_lightkurve_and_astroquery_target_pixel_files(mast: MastServer, tess_tpf: Path, tmp_path: Path) -> None:
    result = lk.search_targetpixelfile(f"TIC {TARGET.tic}", sector=1)
    assert list(result.table["productFilename"]) == ["tess2018206045859-s0001-0000000025155310-0120-s_tp.fits"]
    assert list(result.table["obs_id"]) == [SPOC_LC.name.replace("_lc.fits", "")]  # the light curve's observation
    tpf = result[0].download(download_dir=str(tmp_path))
    expected = lk.read(tess_tpf)
    assert isinstance(tpf, lk.TessTargetPixelFile) and tpf.targetid == TARGET.tic
    assert tpf.shape == expected.shape and np.array_equal(tpf.flux.value, expected.flux.value, equal_nan=True)

    k2 = lk.search_targetpixelfile("EPIC 201907706", campaign=1)
    assert list(k2.table["productFilename"]) == ["ktwo201907706-c01_lpd-targ.fits.gz"]
    observations = Observations.query_criteria(target_name="ktwo201907706", obs_collection="K2")
    products = Observations.get_product_list(observations)
    assert list(products["productSubGroupDescription"]) == ["TPF"]
    manifest = Observations.download_products(products, download_dir=str(tmp_path), productSubGroupDescription="TPF")
    assert list(manifest["Status"]) == ["COMPLETE"]
    assert Path(manifest["Local Path"][0]).read_bytes() == K2_TPF.read_bytes()


# -- faults --------------------------------------------------------------------------------------
def test_tesscut_faults_reach_the_clients(mast: MastServer, tmp_path: Path) -> None:
    mast.add_fault(Fault(kind="tesscut", service="sector", status=503, retry_after=9))
    reply = requests.post(mast.url + "/tesscut/api/v0.1/sector", data={"ra": TARGET.ra, "dec": TARGET.dec}, timeout=10)
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "9"
    mast.add_fault(Fault(kind="tesscut", service="sector", status=503, retry_after=9))
    with pytest.raises(requests.HTTPError, match="503"):
        Tesscut.get_sectors(coordinates=_coord())

    def download(where: str):
        return Tesscut.download_cutouts(coordinates=_coord(), size=5, sector=1, path=str(tmp_path / where))

    mast.add_fault(Fault(kind="tesscut", service="astrocut", status=503, retry_after=2))
    with pytest.raises(requests.HTTPError, match="503"):
        download("a")
    mast.add_fault(Fault(kind="tesscut", service="astrocut", corrupt=True))
    with pytest.raises(zipfile.BadZipFile):
        download("b")
    mast.add_fault(Fault(kind="tesscut", service="astrocut", short_body=0.5))
    with pytest.raises(ValueError):  # not a zip, so astroquery parses it as the JSON no-data message and fails
        download("c")
    mast.add_fault(Fault(kind="tesscut", service="astrocut", truncate=0.5))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        download("d")
    mast.add_fault(Fault(kind="tesscut", service="astrocut", stall=1.0))
    start = time.monotonic()
    assert len(download("e")) == 1
    assert time.monotonic() - start >= 1.0
    assert mast.count("tesscut", "astrocut") == 5
