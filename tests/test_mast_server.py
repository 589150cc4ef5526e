"""The fake MAST server driven by the real astroquery and lightkurve clients over loopback.

The clients are only re-pointed through their URL settings (PortalAPI class
attributes, and HTTP_PROXY for the hard-coded SANTA resolver URL).
"""

from __future__ import annotations

import http.client
import json
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import astropy.units as u
import lightkurve as lk
import pandas as pd
import pytest
import requests
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astroquery.exceptions import RemoteServiceError
from astroquery.mast import Catalogs, Mast, Observations
from astroquery.mast.discovery_portal import PortalAPI

from tests.mast_server import Fault, MastServer
from tests.mast_server.fixtures import make_tic_rows, spoc_fixture_files

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
SERVED_DIRS = ["tess_spoc", "tess_spoc_renamed", "tess_hlsp", "kepler", "k2"]
SPOC_25155310 = FIXTURES / "tess_spoc" / "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"
HAT_P_2 = (245.151491310447, 41.0480858456587)  # TIC 39903405 header position

pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"fixtures not found at {FIXTURES}")


def _spoc_files() -> list[Path]:
    return spoc_fixture_files(FIXTURES)


@pytest.fixture(scope="module")
def tic_rows() -> pd.DataFrame:
    return make_tic_rows()


@pytest.fixture(scope="module")
def shared_server(tic_rows: pd.DataFrame):
    with MastServer(
        fits_dir=[FIXTURES / d for d in SERVED_DIRS], tic_rows=tic_rows, names={"HAT-P-2": HAT_P_2}
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Requests to the server must never go through a proxy from the environment.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def point_clients_at(server: MastServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-point astroquery (and so lightkurve) at ``server``; monkeypatch restores it all."""
    for attr, path in [
        ("MAST_REQUEST_URL", "/api/v0/invoke"),
        ("COLUMNS_CONFIG_URL", "/portal/Mashup/Mashup.asmx/columnsconfig"),
        ("MAST_DOWNLOAD_URL", "/api/v0.1/Download/file"),
        ("MAST_BUNDLE_URL", "/api/v0.1/Download/bundle"),
    ]:
        monkeypatch.setattr(PortalAPI, attr, server.url + path)
    monkeypatch.setattr(PortalAPI, "TIMEOUT", 20)
    monkeypatch.setattr(PortalAPI, "_column_configs", {})  # column configs are cached per class
    # The SANTA resolver URL is hard-coded plain http, so it reaches us as a proxy request.
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, server.url)


@pytest.fixture
def mast(shared_server: MastServer, monkeypatch: pytest.MonkeyPatch):
    point_clients_at(shared_server, monkeypatch)
    lk.search_lightcurve.cache_clear()
    shared_server.clear_faults()
    shared_server.reset_counts()
    yield shared_server
    shared_server.clear_faults()
    lk.search_lightcurve.cache_clear()


def invokes(server: MastServer, service: str) -> list[dict[str, Any]]:
    return [r.request for r in server.requests if r.kind == "invoke" and r.service == service]


# -- 1. lightkurve, TESS SPOC --------------------------------------------------------------------
def test_lightkurve_tess_search_and_download(mast: MastServer, tmp_path: Path) -> None:
    result = lk.search_lightcurve("TIC 25155310", mission="TESS", author="SPOC")
    assert list(result.table["sequence_number"]) == [1, 6]  # tess_spoc sector 1 + renamed sector 6
    assert (mast.count("columnsconfig"), mast.count("invoke")) == (2, 2)
    filters = {f["paramName"]: f["values"] for f in invokes(mast, "Mast.Caom.Filtered")[0]["params"]["filters"]}
    assert filters["target_name"] == ["25155310"] and filters["provenance_name"] == ["SPOC"]
    assert len(invokes(mast, "Mast.Caom.Products")[0]["params"]["obsid"].split(",")) == 2

    lc = result[0].download(download_dir=str(tmp_path))
    expected = lk.read(SPOC_25155310)
    assert len(lc.flux) == len(expected.flux) < fits.getheader(SPOC_25155310, 1)["NAXIS2"]
    assert lc.meta["TICID"] == 25155310 and lc.meta["SECTOR"] == 1
    local = tmp_path / "mastDownload" / "TESS" / SPOC_25155310.name.replace("_lc.fits", "") / SPOC_25155310.name
    assert local.read_bytes() == SPOC_25155310.read_bytes()
    assert (mast.count("head"), mast.count("download")) == (1, 1)

    result[0].download(download_dir=str(tmp_path))  # lightkurve's own cache: no HTTP at all
    assert (mast.count("head"), mast.count("download")) == (1, 1)


def test_lightkurve_name_search_uses_resolver_and_cone(mast: MastServer) -> None:
    result = lk.search_lightcurve("HAT-P-2", mission="TESS", author="SPOC")
    assert sorted(result.table["sequence_number"]) == [24, 25]
    assert mast.count("resolve") == 1
    assert mast.count("Mast.Caom.Filtered.Position") == 1 and mast.count("Mast.Caom.Filtered") == 0
    assert all(d < 1e-3 for d in result.table["distance"])


# -- 2. lightkurve, Kepler and K2 ----------------------------------------------------------------
def test_lightkurve_kepler_quarters(mast: MastServer, tmp_path: Path) -> None:
    result = lk.search_lightcurve("KIC 10002792", mission="Kepler")
    assert list(result.table["mission"]) == ["Kepler Quarter 02", "Kepler Quarter 05"]
    assert set(result.table["obs_id"]) == {"kplr010002792_lc_Q001001000000000000"}
    assert mast.count("Mast.Caom.Products") == 1

    collection = result.download_all(download_dir=str(tmp_path))
    assert len(collection) == 2
    assert sorted(lc.meta["QUARTER"] for lc in collection) == [2, 5]
    for lc, path in zip(collection, sorted((FIXTURES / "kepler").glob("*.fits")), strict=True):
        assert len(lc.flux) == len(lk.read(path).flux)
    assert (mast.count("head"), mast.count("download")) == (2, 2)

    k2 = lk.search_lightcurve("EPIC 211117077", mission="K2", author="K2")
    assert list(k2.table["mission"]) == ["K2 Campaign 04"]


# -- 3. Observations: many targets, many obsids, paging ------------------------------------------
def test_observations_criteria_products_and_paging(mast: MastServer, tmp_path: Path) -> None:
    tics = sorted({str(int(fits.getheader(p)["TICID"])) for p in _spoc_files()})
    targets = tics + [str(n) for n in range(100, 160)]  # plus 60 unknown targets
    criteria = {"target_name": targets, "obs_collection": "TESS", "dataproduct_type": "timeseries"}
    obs = Observations.query_criteria(**criteria)
    assert len(obs) == len(_spoc_files()) == 11
    assert set(obs["target_name"]) == set(tics)
    assert invokes(mast, "Mast.Caom.Filtered")[0]["params"]["filters"][0]["values"] == targets

    products = Observations.get_product_list(obs)
    assert mast.count("Mast.Caom.Products") == 1
    assert len(invokes(mast, "Mast.Caom.Products")[0]["params"]["obsid"].split(",")) == 11
    light_curves = products[products["productSubGroupDescription"] == "LC"]
    assert len(light_curves) == 11 and len(products) == 33  # plus listed-only TP and DVT siblings
    sizes = {p.name: p.stat().st_size for p in _spoc_files()}
    assert sorted(light_curves["size"]) == sorted(sizes.values())

    mast.reset_counts()
    paged = Observations.query_criteria(pagesize=3, **criteria)
    assert sorted(paged["obs_id"]) == sorted(obs["obs_id"])
    assert [r["page"] for r in invokes(mast, "Mast.Caom.Filtered")] == [1, 2, 3, 4]
    page_two = Observations.query_criteria(pagesize=3, page=2, **criteria)
    assert list(page_two["obs_id"]) == list(obs["obs_id"][3:6])

    assert len(Observations.query_criteria(obs_id="tess2018206045859*", obs_collection="TESS")) == 2
    assert len(Observations.query_criteria(obs_collection="TESS", t_exptime=[100, 150], sequence_number=[1, 2])) == 3
    assert Observations.query_criteria_count(obs_collection="TESS") == 11

    one = products[products["obs_id"] == SPOC_25155310.name.replace("_lc.fits", "")]
    manifest = Observations.download_products(one, download_dir=tmp_path)
    status = dict(zip(manifest["Local Path"], manifest["Status"], strict=True))
    assert sorted(status.values()) == ["COMPLETE", "ERROR", "ERROR"]  # TP/DVT are listed, not served
    assert status[str(tmp_path / "mastDownload" / "TESS" / one["obs_id"][0] / SPOC_25155310.name)] == "COMPLETE"


def test_observations_position_search(mast: MastServer) -> None:
    obs = Observations.query_criteria(coordinates=SkyCoord(*HAT_P_2, unit="deg"), radius="2 arcsec", project="TESS")
    assert sorted(obs["provenance_name"]) == ["QLP", "QLP", "SPOC", "SPOC", "TESS-SPOC", "TESS-SPOC"]
    assert max(obs["distance"]) < 2.0 and mast.count("resolve") == 0


# -- 4. Catalogs: TIC ----------------------------------------------------------------------------
def test_tic_criteria_region_and_ranges(mast: MastServer, tic_rows: pd.DataFrame) -> None:
    ids = [25155310, 39903405, 1_000_000_005]
    table = Catalogs.query_criteria(catalog="Tic", ID=ids)
    assert sorted(table["ID"]) == sorted(str(i) for i in ids) and table["ID"].dtype.kind == "U"
    sent = invokes(mast, "Mast.Catalogs.Filtered.Tic.Rows")[0]["params"]["filters"]
    assert sent == [{"paramName": "ID", "values": [str(i) for i in ids]}]
    assert mast.count("columnsconfig", "Mast.Catalogs.Tess.Cone") == 1
    assert mast.count("Mast.Catalogs.All.Tic") == 1

    single = Catalogs.query_criteria(catalog="Tic", ID=25155310)
    assert list(single["ID"]) == ["25155310"]
    assert single["Tmag"][0] == pytest.approx(fits.getheader(SPOC_25155310)["TESSMAG"])

    in_range = Catalogs.query_criteria(catalog="Tic", Tmag=[9, 11])
    expected = tic_rows[(tic_rows.Tmag >= 9) & (tic_rows.Tmag <= 11)]
    assert sorted(in_range["ID"]) == sorted(str(i) for i in expected.ID) and len(expected) > 5
    assert invokes(mast, "Mast.Catalogs.Filtered.Tic.Rows")[-1]["params"]["filters"] == [
        {"paramName": "Tmag", "values": [{"min": 9, "max": 11}]}
    ]

    center = SkyCoord(fits.getheader(SPOC_25155310)["RA_OBJ"], fits.getheader(SPOC_25155310)["DEC_OBJ"], unit="deg")
    region = Catalogs.query_region(center, radius=0.3 * u.deg, catalog="TIC")
    seps = center.separation(SkyCoord(tic_rows.ra.to_numpy(), tic_rows.dec.to_numpy(), unit="deg"))
    assert sorted(region["ID"]) == sorted(str(i) for i in tic_rows.ID[seps <= 0.3 * u.deg])
    assert region["ID"][0] == "25155310" and list(region["dstArcSec"]) == sorted(region["dstArcSec"])

    bright_near = Catalogs.query_criteria(catalog="Tic", coordinates=center, radius=0.3, Tmag=[0, 12])
    assert set(bright_near["ID"]) <= set(region["ID"]) and "25155310" in bright_near["ID"]
    assert mast.count("Mast.Catalogs.Filtered.Tic.Position.Rows") == 1

    by_name = Catalogs.query_object("TIC 25155310", radius=0.01, catalog="TIC")
    assert by_name["ID"][0] == "25155310" and mast.count("resolve") == 1


# -- 5. faults and request counting --------------------------------------------------------------
@pytest.fixture
def small_server():
    with MastServer(fits_files=[SPOC_25155310], seed=7) as server:
        yield server


def _portal_request(server: MastServer, service: str, params: dict[str, Any], **extra: Any) -> requests.Response:
    body = {"service": service, "params": params, "format": "json", "pagesize": 100, "page": 1, **extra}
    return requests.post(
        server.url + "/api/v0/invoke",
        data="request=" + quote(json.dumps(body)),
        headers={"Content-type": "application/x-www-form-urlencoded"},
        timeout=10,
    )


def test_fault_status_codes_and_retry_after(small_server: MastServer) -> None:
    uri = small_server.uri_for(SPOC_25155310.name)
    url = small_server.download_url(uri)
    small_server.add_fault(Fault(kind="download", uri="0000000025155310", status=503, retry_after=7))
    first = requests.get(url, timeout=10)
    assert first.status_code == 503 and first.headers["Retry-After"] == "7"
    second = requests.get(url, timeout=10)
    assert second.status_code == 200 and second.content == SPOC_25155310.read_bytes()

    small_server.add_fault(Fault(service="Mast.Caom.Filtered", status=429, times=2))
    params = {"columns": "*", "filters": [{"paramName": "target_name", "values": ["25155310"]}]}
    assert [_portal_request(small_server, "Mast.Caom.Filtered", params).status_code for _ in range(3)] == [
        429,
        429,
        200,
    ]
    assert small_server.count("download") == 2 and small_server.count("Mast.Caom.Filtered") == 3


def test_fault_drop_truncate_and_stall(small_server: MastServer) -> None:
    url = small_server.download_url(small_server.uri_for(SPOC_25155310.name))
    small_server.add_fault(Fault(kind="head", drop=True))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.head(url, timeout=10)
    assert int(requests.head(url, timeout=10).headers["Content-Length"]) == SPOC_25155310.stat().st_size

    small_server.add_fault(Fault(kind="download", truncate=0.25, times=2))
    received = bytearray()
    with requests.get(url, stream=True, timeout=10) as response:
        declared = int(response.headers["Content-Length"])
        with pytest.raises(requests.exceptions.RequestException):
            for chunk in response.iter_content(1 << 16):
                received.extend(chunk)
    assert declared == SPOC_25155310.stat().st_size and 0 < len(received) < declared
    assert bytes(received) == SPOC_25155310.read_bytes()[: len(received)]
    connection = http.client.HTTPConnection(small_server.host, small_server.port, timeout=10)
    connection.request("GET", url.split(str(small_server.port), 1)[1])
    with pytest.raises(http.client.IncompleteRead) as cut:
        connection.getresponse().read()
    assert len(cut.value.partial) == int(declared * 0.25)  # the client above lost its last partial chunk
    connection.close()

    small_server.add_fault(Fault(kind="download", stall=20))
    start = time.monotonic()
    with pytest.raises((requests.exceptions.Timeout, requests.exceptions.ConnectionError)):
        requests.get(url, timeout=0.3)
    assert time.monotonic() - start >= 0.3  # it was the stall that ended the request, not a dropped connection
    small_server.stop()  # must interrupt the stalled handler instead of waiting 20 s
    assert time.monotonic() - start < 5


def test_fault_latency_rate_and_unknowns(small_server: MastServer) -> None:
    url = small_server.download_url(small_server.uri_for(SPOC_25155310.name))
    small_server.latency = 0.2
    start = time.monotonic()
    requests.head(url, timeout=10)
    assert time.monotonic() - start >= 0.2
    small_server.latency = 0.0
    small_server.add_fault(Fault(kind="head", latency=0.3))
    start = time.monotonic()
    requests.head(url, timeout=10)
    assert time.monotonic() - start >= 0.3

    def pattern(server: MastServer) -> list[int]:
        server.add_fault(Fault(kind="head", status=500, rate=0.5))
        link = server.download_url(server.uri_for(SPOC_25155310.name))
        return [requests.head(link, timeout=10).status_code for _ in range(20)]

    with MastServer(fits_files=[SPOC_25155310], seed=7) as twin:
        twin_pattern = pattern(twin)
    own_pattern = pattern(small_server)
    assert own_pattern == twin_pattern and 0 < own_pattern.count(500) < 20

    assert requests.head(small_server.download_url("mast:TESS/product/nope_lc.fits"), timeout=10).status_code == 404
    tp_uri = small_server.uri_for(SPOC_25155310.name.replace("_lc.fits", "_tp.fits"))
    assert requests.get(small_server.download_url(tp_uri), timeout=10).status_code == 404
    reply = _portal_request(small_server, "Mast.No.Such.Service", {}).json()
    assert reply["status"] == "ERROR" and "Unknown service" in reply["msg"]

    assert small_server.count("head") == 23 and small_server.count("download") == 1
    assert small_server.count("invoke") == 1 and small_server.count("resolve") == 0
    small_server.reset_counts()
    assert small_server.count("head") == 0 and small_server.requests == []


def test_fault_executing_then_complete_with_astroquery(
    small_server: MastServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_clients_at(small_server, monkeypatch)
    small_server.add_fault(Fault(kind="invoke", service="Mast.Caom.Filtered", executing=True))
    obs = Observations.query_criteria(target_name="25155310", obs_collection="TESS")
    assert list(obs["target_name"]) == ["25155310"]
    assert small_server.count("Mast.Caom.Filtered") == 2 and small_server.count("columnsconfig") == 1
    with pytest.raises(RemoteServiceError, match="Unknown filter column"):
        Mast.service_request(
            "Mast.Caom.Filtered", {"columns": "*", "filters": [{"paramName": "nope", "values": ["1"]}]}
        )


def test_resolver_answers_absolute_form_proxy_requests(small_server: MastServer) -> None:
    proxies = {"http": small_server.url}
    params = [("outputFormat", "json"), ("resolveAll", "False"), ("name", "TIC 25155310"), ("name", "nope")]
    reply = requests.get(
        "http://mastresolver.stsci.edu/Santa-war/query", params=params, proxies=proxies, timeout=10
    ).json()
    assert [r["searchString"] for r in reply["resolvedCoordinate"]] == ["tic 25155310"]
    assert reply["resolvedCoordinate"][0]["ra"] == pytest.approx(fits.getheader(SPOC_25155310)["RA_OBJ"])
    assert small_server.count("resolve") == 1


# -- content changes -----------------------------------------------------------------------------
def test_add_file_and_replace_file(small_server: MastServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    point_clients_at(small_server, monkeypatch)
    added = small_server.add_file(SPOC_25155310, tic_id=123456789)
    assert "-0000000123456789-" in added["productFilename"]
    lk.search_lightcurve.cache_clear()
    result = lk.search_lightcurve("TIC 123456789", author="SPOC")
    assert list(result.table["productFilename"]) == [added["productFilename"]]

    uri = small_server.uri_for(SPOC_25155310.name)
    products = Observations.get_product_list(Observations.query_criteria(target_name="25155310", obs_collection="TESS"))
    lc_rows = products[products["productSubGroupDescription"] == "LC"]
    Observations.download_products(lc_rows, download_dir=tmp_path)
    reprocessed = tmp_path / "reprocessed.fits"
    with fits.open(SPOC_25155310) as hdul:
        hdul[0].header["DATA_REL"] = 99
        for i in range(40):  # one more header block: the new file is larger
            hdul[0].header.add_history(f"reprocessed {i}")
        hdul.writeto(reprocessed)
    small_server.replace_file(uri, reprocessed)
    small_server.reset_counts()
    manifest = Observations.download_products(lc_rows, download_dir=tmp_path)
    assert manifest["Status"][0] == "COMPLETE"
    assert Path(manifest["Local Path"][0]).read_bytes() == reprocessed.read_bytes()
    assert (small_server.count("head"), small_server.count("download")) == (1, 1)
    refreshed = Observations.get_product_list(
        Observations.query_criteria(target_name="25155310", obs_collection="TESS")
    )
    assert reprocessed.stat().st_size in list(refreshed["size"])
    lk.search_lightcurve.cache_clear()


# -- 6. standalone -------------------------------------------------------------------------------
def test_standalone_module_serves_until_killed(tmp_path: Path, tic_rows: pd.DataFrame) -> None:
    parquet = tmp_path / "tic.parquet"
    tic_rows.to_parquet(parquet)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.mast_server",
            "--fits-dir",
            str(FIXTURES / "kepler"),
            "--tic-parquet",
            str(parquet),
            "--port",
            "0",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        assert selector.select(timeout=30), "no URL printed"
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert url.startswith("http://127.0.0.1:")
        uri = "mast:KEPLER/url/missions/kepler/lightcurves/0100/010002792/kplr010002792-2009259160929_llc.fits"
        head = requests.head(f"{url}/api/v0.1/Download/file?uri={uri}", timeout=10)
        assert head.status_code == 200
        assert int(head.headers["Content-Length"]) == (FIXTURES / "kepler" / uri.rsplit("/", 1)[1]).stat().st_size
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
