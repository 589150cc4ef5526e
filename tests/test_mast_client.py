"""MastClient driving the real astroquery clients against the loopback MAST server."""

from __future__ import annotations

import itertools
import socket
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pandas as pd
import pytest
import requests
from astropy.io import fits
from astroquery.exceptions import InputWarning
from astroquery.mast.discovery_portal import PortalAPI

from larun_lake.errors import EXIT_MAST, MastResponseError, MastUnavailableError, UsageError
from larun_lake.mast import MastClient, RetryPolicy
from larun_lake.mast.client import check_ids_subset
from larun_lake.mast.retry import TransientError, classify, parse_retry_after, retry_call
from tests.mast_server import Fault, MastServer
from tests.mast_server.fixtures import FIXTURES, bare_tic_rows, make_tic_rows, spoc_fixture_files

RESOLVER = "/Santa-war/query"
SERVED_DIRS = ["tess_spoc", "tess_spoc_renamed", "tess_hlsp", "kepler", "k2"]
SPOC_25155310 = FIXTURES / "tess_spoc" / "tess2018206045859-s0001-0000000025155310-0120-s_lc.fits"
HAT_P_2 = (245.151491310447, 41.0480858456587)  # TIC 39903405 header position
SPOC_TICS = sorted({str(int(fits.getheader(p)["TICID"])) for p in spoc_fixture_files()})


@pytest.fixture(scope="module")
def tic_rows() -> pd.DataFrame:
    return make_tic_rows(n_random=60)


@pytest.fixture(scope="module")
def server(tic_rows: pd.DataFrame):
    dirs = [FIXTURES / d for d in SERVED_DIRS]
    with MastServer(fits_dir=dirs, tic_rows=tic_rows, names={"HAT-P-2": HAT_P_2}) as mast:
        yield mast


# Each test starts with a quiet server: no faults, no latency, no counted requests.
pytestmark = pytest.mark.usefixtures("clean_mast_server")


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_client(server: MastServer, sleeps: list[float], **kwargs) -> MastClient:
    options = {"timeout": 1.0, "retries": 3, "backoff": 0.01, **kwargs}
    client = MastClient(server.url, resolver_url=server.url + RESOLVER, **options)
    client.retry_policy.sleep = sleeps.append  # retries happen at once; the waits are recorded
    client.retry_policy.random = lambda: 0.5
    return client


@pytest.fixture
def client(server: MastServer, sleeps: list[float]):
    with make_client(server, sleeps) as mast_client:
        yield mast_client


def filtered_requests(server: MastServer, service: str) -> list[dict]:
    return [r.request for r in server.requests if r.kind == "invoke" and r.service == service]


# -- retry policy --------------------------------------------------------------------------------
def test_retry_policy_backoff_jitter_and_retry_after() -> None:
    policy = RetryPolicy(attempts=4, backoff=0.5, max_delay=3.0, random=lambda: 1.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(1, retry_after=7) == 7 and policy.delay(4, retry_after=0) == 3.0
    assert RetryPolicy(random=lambda: 0.0).delay(3) == 0.0  # full jitter reaches down to zero
    assert RetryPolicy(max_retry_after=10).delay(1, retry_after=3600) == 10

    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None

    waits: list[float] = []
    calls: list[int] = []

    def flaky(attempt: int) -> str:
        calls.append(attempt)
        if attempt < 3:
            raise TransientError("try again")
        return "done"

    assert retry_call(flaky, RetryPolicy(attempts=3, sleep=waits.append)) == "done"
    assert calls == [1, 2, 3] and len(waits) == 2
    with pytest.raises(ValueError):
        retry_call(lambda _: int("x"), RetryPolicy(sleep=waits.append))  # not transient: no retry
    assert len(waits) == 2


def test_classify_http_statuses() -> None:
    def http_error(status: int, retry_after: str | None = None) -> requests.HTTPError:
        response = requests.Response()
        response.status_code = status
        if retry_after is not None:
            response.headers["Retry-After"] = retry_after
        return requests.HTTPError(response=response)

    assert classify(http_error(503, "4")) == (True, 4.0)
    assert classify(http_error(429, "2")) == (True, 2.0)
    assert classify(http_error(500, "9")) == (True, None)  # Retry-After only means something on 429/503
    assert classify(http_error(404)) == (False, None) and classify(http_error(400)) == (False, None)
    assert classify(requests.ConnectionError())[0] and classify(requests.exceptions.ChunkedEncodingError())[0]
    assert classify(TimeoutError())[0] and not classify(KeyError("x"))[0]


# -- observations and products -------------------------------------------------------------------
def test_observations_many_targets_in_one_request(client: MastClient, server: MastServer) -> None:
    targets = [*SPOC_TICS, *(str(n) for n in range(100, 160))]  # 60 unknown targets too
    rows = client.observations(target_names=targets, obs_collection=["TESS"], provenance_name=["SPOC"])
    assert len(rows) == 11 and {r["target_name"] for r in rows} == set(SPOC_TICS)
    assert server.count("Mast.Caom.Filtered") == 1
    (sent,) = filtered_requests(server, "Mast.Caom.Filtered")
    filters = {f["paramName"]: f["values"] for f in sent["params"]["filters"]}
    assert filters["target_name"] == targets and filters["dataproduct_type"] == ["timeseries"]
    assert filters["provenance_name"] == ["SPOC"] and filters["obs_collection"] == ["TESS"]
    row = next(r for r in rows if r["obs_id"] == SPOC_25155310.name.removesuffix("_lc.fits"))
    assert isinstance(row["obsid"], str) and row["obsid"].isdigit()
    assert (row["sequence_number"], row["t_exptime"], row["provenance_name"]) == (1, 120.0, "SPOC")
    assert isinstance(row["s_ra"], float) and row["t_min"] < row["t_max"]
    assert row["target_classification"] is None  # masked -> None
    assert client.request_count["invoke"] == server.count("invoke") == 1

    server.reset_counts()
    batched = client.observations(target_names=targets, obs_collection=["TESS"], batch_size=25)
    assert server.count("Mast.Caom.Filtered") == 3  # 71 targets in batches of 25
    assert sorted(r["obsid"] for r in batched) == sorted(r["obsid"] for r in rows)


def test_observations_filters_and_position(client: MastClient, server: MastServer) -> None:
    rows = client.observations(
        target_names=SPOC_TICS, obs_collection=["TESS"], exptime=(100, 150), sequence_number=[1, 2]
    )
    assert sorted(r["sequence_number"] for r in rows) == [1, 1, 2]
    near = client.observations(position=(*HAT_P_2, 2 / 3600), obs_collection=["TESS", "HLSP"])
    assert sorted(r["provenance_name"] for r in near) == ["QLP", "QLP", "SPOC", "SPOC", "TESS-SPOC", "TESS-SPOC"]
    assert server.count("Mast.Caom.Filtered.Position") == 1 and server.count("resolve") == 0
    kepler = client.observations(target_names=["kplr010002792"], obs_collection=["Kepler"])
    assert len(kepler) == 1 and kepler[0]["sequence_number"] is None
    with pytest.raises(UsageError):
        client.observations(obs_collection=["TESS"])


def test_products_many_obsids_in_one_request(client: MastClient, server: MastServer) -> None:
    obs = client.observations(target_names=SPOC_TICS, obs_collection=["TESS"])
    server.reset_counts()
    products = client.products([o["obsid"] for o in obs])
    assert server.count("Mast.Caom.Products") == 1
    assert len(filtered_requests(server, "Mast.Caom.Products")[0]["params"]["obsid"].split(",")) == 11
    light_curves = [p for p in products if p["productSubGroupDescription"] == "LC"]
    assert len(light_curves) == 11 and len(products) == 33
    spoc = next(p for p in products if p["productFilename"] == SPOC_25155310.name)
    assert spoc["size"] == SPOC_25155310.stat().st_size and isinstance(spoc["size"], int)
    assert spoc["dataURI"] == f"mast:TESS/product/{SPOC_25155310.name}" and spoc["obsID"].isdigit()
    assert {"obs_id", "obs_collection", "description", "project"} <= set(spoc)

    server.reset_counts()
    assert len(client.products([o["obsid"] for o in obs], batch_size=4)) == 33
    assert server.count("Mast.Caom.Products") == 3


def test_paging_with_small_page_size(server: MastServer, sleeps: list[float]) -> None:
    before = {name: PortalAPI.__dict__[name] for name in ("MAST_REQUEST_URL", "TIMEOUT", "PAGESIZE")}
    with make_client(server, sleeps, page_size=3) as paged:
        rows = paged.observations(target_names=SPOC_TICS, obs_collection=["TESS"])
    assert len(rows) == 11
    assert [r["page"] for r in filtered_requests(server, "Mast.Caom.Filtered")] == [1, 2, 3, 4]
    assert all(r["pagesize"] == 3 for r in filtered_requests(server, "Mast.Caom.Filtered"))
    # astroquery's class attributes are left exactly as they were found
    assert {name: PortalAPI.__dict__[name] for name in before} == before


# -- TIC ---------------------------------------------------------------------------------------
def test_tic_by_ids_cone_and_criteria(client: MastClient, server: MastServer, tic_rows: pd.DataFrame) -> None:
    ids = [25155310, 39903405, 1_000_000_005, 424242]  # the last one is not in the TIC
    rows = client.tic_by_ids(ids)
    assert sorted(r["ID"] for r in rows) == sorted(ids[:3]) and all(isinstance(r["ID"], int) for r in rows)
    sent = filtered_requests(server, "Mast.Catalogs.Filtered.Tic.Rows")[0]["params"]["filters"]
    assert sent == [{"paramName": "ID", "values": [str(i) for i in ids]}]
    target = next(r for r in rows if r["ID"] == 25155310)
    assert target["Tmag"] == pytest.approx(fits.getheader(SPOC_25155310)["TESSMAG"])
    assert target["mass"] is None and isinstance(target["ra"], float)

    server.reset_counts()
    assert len(client.tic_by_ids(list(tic_rows.ID), batch_size=30)) == len(tic_rows)
    assert server.count("Mast.Catalogs.Filtered.Tic.Rows") == -(-len(tic_rows) // 30)

    cone = client.tic_cone(target["ra"], target["dec"], 0.3)
    assert cone[0]["ID"] == 25155310 and len(cone) > 3 and server.count("Mast.Catalogs.TIC.Cone") == 1
    bright = client.tic_criteria({"Tmag": (9, 11)})
    expected = tic_rows[(tic_rows.Tmag >= 9) & (tic_rows.Tmag <= 11)]
    assert sorted(r["ID"] for r in bright) == sorted(expected.ID)
    assert filtered_requests(server, "Mast.Catalogs.Filtered.Tic.Rows")[-1]["params"]["filters"] == [
        {"paramName": "Tmag", "values": [{"min": 9, "max": 11}]}
    ]
    near = client.tic_criteria({"Tmag": (0, 12), "objType": ["STAR"]}, cone=(target["ra"], target["dec"], 0.3))
    assert {r["ID"] for r in near} <= {r["ID"] for r in cone} and 25155310 in {r["ID"] for r in near}
    with pytest.raises(UsageError, match="does not exist"):
        client.tic_criteria({"NoSuchColumn": (0, 1)})
    with pytest.raises(UsageError, match="needs"):
        client.tic_criteria({"Tmag": (9,)})
    server.reset_counts()
    with pytest.raises(UsageError, match="would alter"):  # a list on a range column is never sent
        client.tic_criteria({"Tmag": [9, 10, 11]})
    assert server.count("invoke") == 0
    assert not any(f[2] is InputWarning for f in warnings.filters)  # filters are ours only during a call


def test_tic_rows_carry_the_types_mast_declared_even_when_all_null(sleeps: list[float]) -> None:
    bare = bare_tic_rows()
    with MastServer(tic_rows=bare) as mast, make_client(mast, sleeps) as client:
        rows = client.tic_by_ids([1_100_000_001, 1_100_000_002])
        cone = client.tic_cone(100.0, -30.0, 0.1)
    assert [r["Teff"] for r in rows] == [None, None] and [r["d"] for r in rows] == [None, None]
    # The response's `fields` declare these columns float/int/string whatever the values are.
    assert {c: rows.types[c] for c in ("ID", "Teff", "logg", "rad", "mass", "d", "KIC", "TYC")} == {
        "ID": "BIGINT",
        "Teff": "DOUBLE",
        "logg": "DOUBLE",
        "rad": "DOUBLE",
        "mass": "DOUBLE",
        "d": "DOUBLE",
        "KIC": "BIGINT",
        "TYC": "VARCHAR",
    }
    assert len(cone) == 3 and cone.types["dstArcSec"] == "DOUBLE" and cone.types["Teff"] == "DOUBLE"


def test_tic_id_check_refuses_rows_not_requested() -> None:
    check_ids_subset([1, 2, 3], [1, 3])
    with pytest.raises(MastResponseError, match="not requested") as err:
        check_ids_subset([1, 2, 3], [1, 2, 3, *range(100, 110)])
    assert "100, 101" in str(err.value) and err.value.exit_code == EXIT_MAST


def test_tic_histogram_failure_does_not_leave_a_half_config(
    server: MastServer, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh config cache, so the column config and the TIC histograms are fetched by this call.
    monkeypatch.setattr("larun_lake.mast.portal._LEASE.configs", {})
    server.add_fault(Fault(service="Mast.Catalogs.All.Tic", status=503))
    with make_client(server, sleeps) as mast:
        assert [r["ID"] for r in mast.tic_by_ids([25155310])] == [25155310]
        assert [r["ID"] for r in mast.tic_by_ids([39903405])] == [39903405]
    assert server.count("Mast.Catalogs.All.Tic") == 2 and len(sleeps) == 1


# -- names -------------------------------------------------------------------------------------
def test_resolve_names(client: MastClient, server: MastServer) -> None:
    assert client.resolve("HAT-P-2") == pytest.approx(HAT_P_2)
    assert client.resolve("hat-p-2") == pytest.approx(HAT_P_2)
    assert server.count("resolve") == 2 and client.request_count["resolve"] == 2
    request = server.requests[0].request
    assert request["name"] == ["HAT-P-2"] and request["outputFormat"] == ["json"]
    with pytest.raises(UsageError, match="cannot resolve 'Nowhere-1'"):
        client.resolve("Nowhere-1")
    server.add_fault(Fault(kind="resolve", status=503, retry_after=1))
    assert client.resolve("HAT-P-2") == pytest.approx(HAT_P_2)


# -- faults ------------------------------------------------------------------------------------
FAULTS = {
    "503-retry-after": Fault(kind="invoke", service="Mast.Caom.Filtered", status=503, retry_after=2),
    "429": Fault(kind="invoke", service="Mast.Caom.Filtered", status=429),
    "500": Fault(kind="invoke", service="Mast.Caom.Filtered", status=500),
    "drop": Fault(kind="invoke", service="Mast.Caom.Filtered", drop=True),
    "truncated": Fault(kind="invoke", service="Mast.Caom.Filtered", truncate=0.5),
    "stall": Fault(kind="invoke", service="Mast.Caom.Filtered", stall=3.0),
    "executing": Fault(kind="invoke", service="Mast.Caom.Filtered", executing=True),
    "columnsconfig-503": Fault(kind="columnsconfig", status=503),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_metadata_survives_fault(
    name: str, server: MastServer, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("larun_lake.mast.portal._LEASE.configs", {})
    fault = server.add_fault(Fault(**{k: v for k, v in vars(FAULTS[name]).items() if k != "hits"}))
    with make_client(server, sleeps) as mast:
        start = time.monotonic()
        rows = mast.observations(target_names=SPOC_TICS, obs_collection=["TESS"])
        elapsed = time.monotonic() - start
    assert len(rows) == 11 and fault.hits == 1
    if name == "executing":  # astroquery long-polls by itself: no retry of ours
        assert sleeps == [] and server.count("Mast.Caom.Filtered") == 2
    else:
        assert len(sleeps) == 1
    if name == "503-retry-after":
        assert sleeps == [2.0]
    if name == "stall":
        assert 0.9 < elapsed < 2.5  # one read timeout of 1 s, then the retry succeeds


def test_persistent_503_raises_mast_unavailable(server: MastServer, sleeps: list[float]) -> None:
    server.add_fault(Fault(kind="invoke", service="Mast.Caom.Filtered", status=503, retry_after=1, times=100))
    with make_client(server, sleeps) as mast, pytest.raises(MastUnavailableError) as err:
        mast.observations(target_names=SPOC_TICS, obs_collection=["TESS"])
    assert server.url in str(err.value) and err.value.exit_code == EXIT_MAST
    assert server.count("Mast.Caom.Filtered") == 4 and sleeps == [1.0, 1.0, 1.0]


def test_stall_is_cut_by_the_socket_timeout(server: MastServer, sleeps: list[float]) -> None:
    server.add_fault(Fault(kind="invoke", service="Mast.Catalogs.TIC.Cone", stall=20, times=5))
    with make_client(server, sleeps, timeout=0.5, retries=0) as mast:
        start = time.monotonic()
        with pytest.raises(MastUnavailableError, match="TIC cone"):
            mast.tic_cone(10.0, 10.0, 0.1)
        assert time.monotonic() - start < 2.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_server_fails_quickly() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with MastClient(url, resolver_url=url + RESOLVER, timeout=1, retries=2, backoff=0.05) as mast:
        with pytest.raises(MastUnavailableError, match="unreachable") as err:
            mast.tic_by_ids([25155310])
        assert url in str(err.value) and err.value.transient
        with pytest.raises(MastUnavailableError):
            mast.resolve("HAT-P-2")
        assert mast.request_count["columnsconfig"] == 3 and mast.request_count["resolve"] == 3
    assert time.monotonic() - start < 3.0


# -- sharing astroquery between threads and servers ----------------------------------------------
def test_metadata_calls_are_serialized(server: MastServer, sleeps: list[float]) -> None:
    def arrivals(concurrency: int) -> list[float]:
        with make_client(server, sleeps, metadata_concurrency=concurrency) as mast:
            mast.tic_cone(10.0, 10.0, 0.1)  # column config fetched once, outside the measurement
            server.reset_counts()
            server.latency = 0.15
            threads = [threading.Thread(target=mast.tic_cone, args=(10.0 + i, 10.0, 0.1)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            server.latency = 0.0
        return sorted(r.timestamp for r in server.requests)

    serial = arrivals(1)
    assert len(serial) == 4 and min(b - a for a, b in itertools.pairwise(serial)) >= 0.12
    parallel = arrivals(4)
    assert parallel[-1] - parallel[0] < 0.12


def test_two_servers_used_from_two_threads(server: MastServer) -> None:
    with MastServer(fits_files=[SPOC_25155310], latency=0.02) as other:
        errors: list[BaseException] = []

        def run(mast_server: MastServer, expected: int) -> None:
            try:
                with make_client(mast_server, []) as mast:
                    for _ in range(5):
                        assert len(mast.observations(target_names=SPOC_TICS, obs_collection=["TESS"])) == expected
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        server.latency = 0.02
        threads = [threading.Thread(target=run, args=(server, 11)), threading.Thread(target=run, args=(other, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert other.count("Mast.Caom.Filtered") == 5 and server.count("Mast.Caom.Filtered") == 5
    assert not any((Path.home() / ".config" / "astropy").iterdir())  # no configuration written
