"""HST and JWST observations, products and files from the loopback MAST, through the real astroquery client
and MastClient.find_observations.

The served rows are tests/mast_server/observatory.py's; the files are made by tests/obsgen.py on first use.
"""

from __future__ import annotations

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from astroquery.mast import Observations
from astroquery.mast.discovery_portal import PortalAPI

from larun_lake.mast import MastClient
from tests.mast_server import MastServer

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
