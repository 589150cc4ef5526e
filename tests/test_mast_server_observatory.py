"""HST and JWST observations, products and files from the loopback MAST, through the real astroquery client
and MastClient.find_observations.

The served rows are tests/mast_server/observatory.py's; the files are made by tests/obsgen.py on first use.
"""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import requests
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.table import unique as table_unique
from astroquery.mast import Observations
from astroquery.mast.discovery_portal import PortalAPI

from larun_lake.errors import UsageError
from larun_lake.mast import MastClient
from tests.mast_server import Fault, MastServer
from tests.mast_server.observatory import WASP39
from tests.mast_server.schema import PRODUCT_FIELDS

SOSS3 = "jw02734-o002_t001_niriss_clear-gr700xd-substrip256"
SOSS_OBSIDS = ["87602009", "87602010", "87602011"]  # stage 3, then its two stage-2 exposure segments
X1DINTS = f"{SOSS3}_x1dints.fits"
WHTLT = f"{SOSS3}_whtlt.ecsv"
ORION = (83.82, -5.39)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with MastServer(observatory=tmp_path_factory.mktemp("observatory")) as srv:
        yield srv


@pytest.fixture
def mast(clean_mast_server: MastServer, monkeypatch: pytest.MonkeyPatch) -> MastServer:
    """astroquery's portal URLs pointed at the server (they are class attributes fixed at import)."""
    server = clean_mast_server
    for attr, path in [
        ("MAST_REQUEST_URL", "/api/v0/invoke"),
        ("COLUMNS_CONFIG_URL", "/portal/Mashup/Mashup.asmx/columnsconfig"),
        ("MAST_DOWNLOAD_URL", "/api/v0.1/Download/file"),
        ("MAST_BUNDLE_URL", "/api/v0.1/Download/bundle"),
    ]:
        monkeypatch.setattr(PortalAPI, attr, server.url + path)
    monkeypatch.setattr(PortalAPI, "TIMEOUT", 20)
    monkeypatch.setattr(PortalAPI, "_column_configs", {})
    return server


@pytest.fixture
def client(mast: MastServer):
    with MastClient(mast.url, resolver_url=mast.url + "/Santa-war/query", timeout=5.0, retries=3, backoff=0.01) as c:
        c.retry_policy.sleep = lambda _s: None
        yield c


def invokes(server: MastServer, service: str) -> list[dict]:
    return [r.request for r in server.requests if r.kind == "invoke" and r.service == service]


# -- observations ------------------------------------------------------------------------------------
def test_query_criteria_jwst_soss_time_series(mast: MastServer) -> None:
    table = Observations.query_criteria(
        obs_collection="JWST", instrument_name="NIRISS/SOSS", dataproduct_type="timeseries", target_name="WASP-39"
    )
    assert sorted(table["obsid"]) == SOSS_OBSIDS
    stage3 = table[table["calib_level"] == 3][0]
    assert stage3["obs_id"] == SOSS3 and stage3["proposal_id"] == "2734" and stage3["filters"] == "CLEAR;GR700XD"
    assert stage3["s_region"].startswith("POLYGON ICRS ") and stage3["t_min"] < stage3["t_max"]
    assert set(table[table["calib_level"] == 2]["obs_id"]) == {
        "jw02734002001_04101_00001-seg001_nis",
        "jw02734002001_04101_00001-seg002_nis",
    }
    assert mast.count("Mast.Caom.Filtered") == 1


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({"obs_collection": "HST", "dataproduct_type": "spectrum"}, {"lbgu01010", "o6d701030", "o6n301010"}),
        ({"obs_collection": ["JWST"], "calib_level": [3], "proposal_id": "1366"},
         {"jw01366-o003_t001_nirspec_g395h-f290lp-s1600a1-sub2048", "jw01366-o004_t001_nircam_f210m-wlp8-sub64p"}),
        ({"instrument_name": "STIS*"}, {"o6d701030", "o6n301010"}),  # a wildcard goes as free text
        ({"target_name": ["WASP-39", "HD209458"], "dataproduct_type": "spectrum"}, {"o6n301010"}),
        ({"filters": "F444W"}, {"jw01288-o001_t011_nircam_clear-f444w", "jw01288001001_02101_00001_nrcalong"}),
        ({"obs_collection": "JWST", "t_min": [59790, 59800]},
         {"jw01366-o003_t001_nirspec_g395h-f290lp-s1600a1-sub2048", "jw01366-o004_t001_nircam_f210m-wlp8-sub64p"}),
    ],
)  # fmt: skip
def test_query_criteria_filters(mast: MastServer, criteria: dict, expected: set[str]) -> None:
    assert set(Observations.query_criteria(**criteria)["obs_id"]) == expected


def test_query_region_hst_spectra_near_the_trapezium(mast: MastServer) -> None:
    coord = SkyCoord(*ORION, unit="deg")
    table = Observations.query_region(coord, radius=0.1 * u.deg)
    assert "o6n301010" not in set(table["obs_id"])  # HD 209458 is far away
    assert {"lbgu01010", "o6d701030", "ibxk01010", "j8oc01010", "jw01288-o001_t011_nircam_clear-f444w"} <= set(
        table["obs_id"]
    )
    assert list(table["distance"]) == sorted(table["distance"])
    spectra = Observations.query_criteria(coordinates=coord, radius=0.1 * u.deg, dataproduct_type="spectrum")
    assert set(spectra["obs_id"]) == {"lbgu01010", "o6d701030"}
    position = invokes(mast, "Mast.Caom.Filtered.Position")
    assert len(position) == 1 and position[0]["params"]["position"].startswith("83.82, -5.39, 0.1")
    assert mast.count("Mast.Caom.Cone") == 1


# -- MastClient.find_observations ----------------------------------------------------------------------
def test_find_observations_many_targets_in_one_request(mast: MastServer, client: MastClient) -> None:
    rows = client.find_observations(
        {"obs_collection": "JWST", "target_name": ["WASP-39", "ORION-BAR", "WASP-39"], "calib_level": 3}
    )
    assert {r["obs_id"] for r in rows} == {
        SOSS3,
        "jw01366-o003_t001_nirspec_g395h-f290lp-s1600a1-sub2048",
        "jw01366-o004_t001_nircam_f210m-wlp8-sub64p",
        "jw01288-o001_t011_nircam_clear-f444w",
        "jw01288-o002_t011_miri_f770w",
    }
    assert all(isinstance(r["obsid"], str) and r["calib_level"] == 3 for r in rows)
    sent = invokes(mast, "Mast.Caom.Filtered")
    assert len(sent) == 1
    names = next(f["values"] for f in sent[0]["params"]["filters"] if f["paramName"] == "target_name")
    assert names == ["WASP-39", "ORION-BAR"]  # deduplicated, in the order given


def test_find_observations_cone_and_ranges(mast: MastServer, client: MastClient) -> None:
    rows = client.find_observations({"dataproduct_type": "spectrum", "t_exptime": (1000, 3000)}, (*ORION, 0.1))
    assert sorted(r["obs_id"] for r in rows) == ["lbgu01010", "o6d701030"]
    assert all(r["distance"] < 360 for r in rows)
    assert mast.count("Mast.Caom.Filtered.Position") == 1


def test_find_observations_retries_like_other_queries(mast: MastServer, client: MastClient) -> None:
    mast.add_fault(Fault(kind="invoke", service="Mast.Caom.Filtered", status=503, times=2))
    rows = client.find_observations({"proposal_id": "2734"})
    assert sorted(r["obsid"] for r in rows) == SOSS_OBSIDS
    assert mast.count("Mast.Caom.Filtered") == 3


@pytest.mark.parametrize(
    ("criteria", "named"),
    [
        ({"obs_collection": "JWST", "instrument": "NIRISS/SOSS"}, "'instrument'"),
        ({"collection": "HST"}, "'collection'"),
        ({"t_min": 59787.0}, "'t_min' is a range"),
        ({"target_name": []}, "'target_name' has no values"),
        ({}, "at least one criterion"),
    ],
)
def test_find_observations_refuses_bad_criteria_before_any_request(
    mast: MastServer, client: MastClient, criteria: dict, named: str
) -> None:
    with pytest.raises(UsageError, match=named):
        client.find_observations(criteria)
    assert mast.requests == [] and client.requests_total == 0


# -- products --------------------------------------------------------------------------------------------
PRODUCT_COLUMNS = {name for name, _ in PRODUCT_FIELDS}


def soss_observations():
    return Observations.query_criteria(proposal_id="2734")


def soss_products(mast: MastServer):
    return Observations.get_product_list(soss_observations())


def test_product_list_of_the_soss_observations(mast: MastServer) -> None:
    observations = soss_observations()
    products = Observations.get_product_list(observations)
    assert set(products.colnames) >= PRODUCT_COLUMNS
    sent = invokes(mast, "Mast.Caom.Products")
    assert len(sent) == 1 and sorted(sent[0]["params"]["obsid"].split(",")) == SOSS_OBSIDS
    # the stage-3 products are listed under the stage-3 observation and both exposure segments
    x1dints = products[products["productFilename"] == X1DINTS]
    assert sorted(x1dints["obsID"]) == SOSS_OBSIDS and set(x1dints["parent_obsid"]) == {"87602009"}
    assert set(x1dints["dataURI"]) == {f"mast:JWST/product/{X1DINTS}"} and set(x1dints["obs_id"]) == {SOSS3}
    unique = Observations.get_unique_product_list(observations)  # one more product request, deduped on dataURI
    assert len(unique) == len(set(products["dataURI"])) == 11 and mast.count("Mast.Caom.Products") == 2
    # raw and per-integration products are listed in the gigabytes but not made
    large = unique[np.isin(unique["productSubGroupDescription"], ["UNCAL", "CALINTS"])]
    assert len(large) == 4 and all(int(size) > 1 << 30 for size in large["size"])
    assert not any(mast.observatory.cache_dir.glob("*_uncal.fits"))
    assert not any(mast.observatory.cache_dir.glob("*_calints.fits"))


def test_filter_products_minimum_recommended(mast: MastServer) -> None:
    products = soss_products(mast)
    chosen = Observations.filter_products(products, mrp_only=True, productSubGroupDescription=["X1DINTS", "WHTLT"])
    assert len(chosen) == 6  # two files, each listed under three observations
    unique = table_unique(chosen, keys="dataURI")
    assert sorted(unique["productFilename"]) == [WHTLT, X1DINTS]
    assert set(unique["calib_level"]) == {3} and set(unique["productType"]) == {"SCIENCE"}
    assert set(unique["productGroupDescription"]) == {"Minimum Recommended Products"}
    previews = Observations.filter_products(products, productType=["PREVIEW", "THUMBNAIL"])
    assert {Path(f).suffix for f in previews["productFilename"]} == {".jpg"}
    auxiliary = Observations.filter_products(products, productType="AUXILIARY")
    assert list(auxiliary["productFilename"]) == [f"{SOSS3}_asn.json"]


def test_download_of_x1dints_and_whtlt_has_the_listed_size_and_layout(mast: MastServer, tmp_path: Path) -> None:
    products = soss_products(mast)
    chosen = Observations.filter_products(products, mrp_only=True, productSubGroupDescription=["X1DINTS", "WHTLT"])
    manifest = Observations.download_products(chosen, download_dir=str(tmp_path))  # deduped on dataURI
    assert len(chosen) == 6 and len(manifest) == 2
    assert set(manifest["Status"]) == {"COMPLETE"}
    listed = {row["productFilename"]: int(row["size"]) for row in chosen}
    folder = tmp_path / "mastDownload" / "JWST" / SOSS3
    assert {p.name: p.stat().st_size for p in folder.iterdir()} == listed
    with fits.open(folder / X1DINTS) as hdul:  # the current layout: one EXTRACT1D per order, a row per integration
        assert [h.name for h in hdul] == ["PRIMARY", "EXTRACT1D", "EXTRACT1D", "INT_TIMES", "ASDF"]
        header = hdul[0].header
        assert (header["TELESCOP"], header["PROGRAM"], header["TARGNAME"], header["EXP_TYPE"]) == (
            "JWST", "02734", "WASP-39", "NIS_SOSS",
        )  # fmt: skip
        assert header["TARG_RA"] == pytest.approx(WASP39[0]) and header["TARG_DEC"] == pytest.approx(WASP39[1])
        assert [hdul[i].header["SPORDER"] for i in (1, 2)] == [1, 2]
        assert list(hdul[1].data["INT_NUM"]) == list(range(1, 21))
        np.testing.assert_array_equal(hdul["INT_TIMES"].data["int_mid_BJD_TDB"], hdul[1].data["TDB-MID"])
    curve = Table.read(folder / WHTLT, format="ascii.ecsv")
    assert curve.colnames == ["MJD_UTC", "BJD_TDB", "whitelight_flux_order_1", "whitelight_flux_order_2"]
    assert len(curve) == 20 and curve.meta["target_name"] == "WASP-39"
    assert mast.count("download") == 2


def test_stage2_x1dints_has_the_per_integration_layout(mast: MastServer, tmp_path: Path) -> None:
    name = "jw02734002001_04101_00001-seg001_nis_x1dints.fits"
    reply = requests.get(mast.download_url(mast.uri_for(name)), timeout=10)
    path = tmp_path / name
    path.write_bytes(reply.content)
    listed = next(r for r in mast.observatory.products({"87602010"}) if r["productFilename"] == name)
    assert reply.status_code == 200 and len(reply.content) == listed["size"]
    with fits.open(path) as hdul:
        spectra = [h for h in hdul if h.name == "EXTRACT1D"]
        assert len(spectra) == 40 and hdul[-2].name == "INT_TIMES"  # 20 integrations x 2 orders
        assert [(h.header["INT_NUM"], h.header["SPORDER"]) for h in spectra[:3]] == [(1, 1), (1, 2), (2, 1)]


def test_hst_cos_x1dsum_download(mast: MastServer, tmp_path: Path) -> None:
    observations = Observations.query_criteria(obs_collection="HST", instrument_name="COS/FUV")
    products = Observations.filter_products(Observations.get_product_list(observations), mrp_only=True)
    assert list(products["productFilename"]) == ["lbgu01010_x1dsum.fits"]
    manifest = Observations.download_products(products, download_dir=str(tmp_path))
    path = Path(manifest["Local Path"][0])
    assert path == tmp_path / "mastDownload" / "HST" / "lbgu01010" / "lbgu01010_x1dsum.fits"
    assert path.stat().st_size == int(products["size"][0])
    with fits.open(path) as hdul:
        assert (hdul[0].header["TELESCOP"], hdul[0].header["INSTRUME"], hdul[0].header["PROPOSID"]) == (
            "HST", "COS", 11575,
        )  # fmt: skip
        assert list(hdul[1].data["SEGMENT"]) == ["FUVA", "FUVB"]


def test_a_large_product_is_served_small_only_when_asked(mast: MastServer) -> None:
    name = "jw02734002001_04101_00001-seg002_nis_calints.fits"
    reply = requests.get(mast.download_url(mast.uri_for(name)), timeout=10)
    assert reply.status_code == 200 and 0 < len(reply.content) < 1 << 20
    assert (mast.observatory.cache_dir / name).is_file()
    assert fits.HDUList.fromstring(reply.content)["SCI"].data.ndim == 3


def test_faults_apply_to_observatory_downloads(mast: MastServer) -> None:
    url = mast.download_url(mast.uri_for(WHTLT))
    full = requests.get(url, timeout=10).content
    mast.add_fault(Fault(kind="download", uri="_whtlt.ecsv", status=503, retry_after=2))
    refused = requests.get(url, timeout=10)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
    mast.add_fault(Fault(kind="download", uri="_whtlt.ecsv", truncate=0.5))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(url, timeout=10).content  # noqa: B018 - reading the body is the point
    assert requests.get(url, timeout=10).content == full


def test_mast_client_products_keep_every_product_field(client: MastClient, mast: MastServer) -> None:
    rows = client.products(["87602009", "24139584"])
    assert mast.count("Mast.Caom.Products") == 1
    assert all(set(r) >= PRODUCT_COLUMNS for r in rows)
    x1dints = next(r for r in rows if r["productFilename"] == X1DINTS)
    assert (
        x1dints["obsID"] == "87602009" and x1dints["size"] == Path(mast.observatory.cache_dir / X1DINTS).stat().st_size
    )
    assert (x1dints["productGroupDescription"], x1dints["productSubGroupDescription"], x1dints["productType"]) == (
        "Minimum Recommended Products", "X1DINTS", "SCIENCE",
    )  # fmt: skip
    assert (x1dints["calib_level"], x1dints["proposal_id"]) == (3, "2734") and x1dints["description"]
    assert {r["productFilename"] for r in rows if r["obsID"] == "24139584"} >= {
        "lbgu01dfq_x1d.fits",
        "lbgu01010_asn.fits",
    }
