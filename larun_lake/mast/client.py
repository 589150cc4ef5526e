"""Metadata from MAST through astroquery's own Observations and Catalogs clients.

Each thread gets its own astroquery client objects (they keep per-call state and are not
thread-safe) with a session that enforces a socket timeout and counts requests. Calls are
limited to `metadata_concurrency` at a time, since MAST asks for few parallel queries, and are
retried with back-off because astroquery never retries.
"""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import astropy.units as u
import requests
from astropy.coordinates import SkyCoord
from astroquery.exceptions import InputWarning, InvalidQueryError, NoResultsWarning, RemoteServiceError
from astroquery.mast import CatalogsClass, ObservationsClass

from ..errors import MastResponseError, MastUnavailableError, UsageError
from .portal import PortalSettings, TimeoutAdapter, as_int, declared_types, mount_timeout, portal_at, table_rows
from .retry import RetryPolicy, classify, retry_call

T = TypeVar("T")


def _batches(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + max(1, size)]


def _unique(items: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(items))


# The CAOM observation columns MAST filters on. The float ones are ranges: astroquery sends them
# as {min, max} and drops (with a warning) any other number of values.
CAOM_TEXT_COLUMNS = frozenset(
    {
        "intentType",
        "obs_collection",
        "provenance_name",
        "instrument_name",
        "project",
        "filters",
        "wavelength_region",
        "target_name",
        "target_classification",
        "obs_id",
        "dataproduct_type",
        "proposal_pi",
        "calib_level",
        "obs_title",
        "proposal_id",
        "proposal_type",
        "sequence_number",
        "s_region",
        "jpegURL",
        "dataURL",
        "dataRights",
        "mtFlag",
        "obsid",
        "objID",
    }
)
CAOM_RANGE_COLUMNS = frozenset(
    {"s_ra", "s_dec", "t_min", "t_max", "t_exptime", "em_min", "em_max", "t_obs_release", "srcDen"}
)


def caom_criteria(criteria: dict[str, Any]) -> dict[str, Any]:
    """Criteria checked and shaped for astroquery: lists of text for columns, (min, max) for ranges.

    Column names are matched case-insensitively, as MAST does, and given MAST's spelling.
    """
    spelled = {name.lower(): name for name in CAOM_TEXT_COLUMNS | CAOM_RANGE_COLUMNS}
    out: dict[str, Any] = {}
    for key, value in criteria.items():
        column = spelled.get(str(key).lower())
        if column is None:
            raise UsageError(
                f"unknown observation criterion {key!r}",
                hint="use a CAOM column name such as obs_collection, instrument_name, target_name, proposal_id",
            )
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        if column in CAOM_RANGE_COLUMNS:
            if len(values) != 2:
                raise UsageError(f"criterion {column!r} is a range and needs (min, max), got {value!r}")
            out[column] = [float(values[0]), float(values[1])]
        elif not values:
            raise UsageError(f"criterion {column!r} has no values")
        else:
            out[column] = [str(v) for v in values]
    return out


class TicRows(list):
    """TIC rows as plain dicts, with `types`: the SQL type MAST declared for each column.

    The declaration, not the values, types the lake's TIC columns: a batch whose Teff is all
    null must still store Teff as a number.
    """

    def __init__(self, rows: Iterable[dict[str, Any]] = (), types: dict[str, str] | None = None) -> None:
        super().__init__(rows)
        self.types: dict[str, str] = dict(types or {})


class _Clients(threading.local):
    observations: ObservationsClass | None = None
    catalogs: CatalogsClass | None = None


class MastClient:
    """The one way LARUN Lake asks MAST for observations, products, TIC rows and names."""

    def __init__(
        self,
        mast_url: str,
        *,
        resolver_url: str,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 0.5,
        metadata_concurrency: int = 1,
        page_size: int | None = None,
        query_timeout: float | None = None,
    ) -> None:
        self.mast_url = mast_url.rstrip("/")
        self.resolver_url = resolver_url
        self.timeout = timeout
        self.retry_policy = RetryPolicy.from_retries(retries, backoff)
        # Sockets are bounded by `timeout`; the astroquery budget covers long-polling over many pages.
        self._settings = PortalSettings(self.mast_url, query_timeout or 10 * timeout, page_size)
        self._slots = threading.BoundedSemaphore(max(1, metadata_concurrency))
        self._clients = _Clients()
        self._sessions: list[requests.Session] = []
        self._count_lock = threading.Lock()
        self.request_count: Counter[str] = Counter()
        self._resolver_session = self._new_session(requests.Session())

    # -- sessions and counting ------------------------------------------------------------------
    def _new_session(self, session: requests.Session) -> requests.Session:
        mount_timeout(session, TimeoutAdapter(self.timeout, self._count))
        with self._count_lock:
            self._sessions.append(session)
        return session

    def _count(self, request: requests.PreparedRequest) -> None:
        path = urlsplit(request.url or "").path.lower()
        if path.endswith("/columnsconfig"):
            kind = "columnsconfig"
        elif path.endswith("/api/v0/invoke"):
            kind = "invoke"
        elif (request.url or "").startswith(self.resolver_url):
            kind = "resolve"
        else:
            kind = "other"
        with self._count_lock:
            self.request_count[kind] += 1

    @property
    def requests_total(self) -> int:
        with self._count_lock:
            return sum(self.request_count.values())

    def _astroquery(self) -> tuple[ObservationsClass, CatalogsClass]:
        local = self._clients
        if local.observations is None or local.catalogs is None:
            local.observations, local.catalogs = ObservationsClass(), CatalogsClass()
            self._new_session(local.observations._session)
            self._new_session(local.catalogs._session)
        return local.observations, local.catalogs

    def close(self) -> None:
        with self._count_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def __enter__(self) -> MastClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running a query ------------------------------------------------------------------------
    def _run(
        self,
        what: str,
        fn: Callable[[], T],
        *,
        portal: bool = True,
        altered: type[UsageError | MastResponseError] = UsageError,
        where: str | None = None,
    ) -> T:
        """Run one astroquery (or resolver) call with retries; errors become LARUN Lake errors.

        `altered` is raised when astroquery would change the query (InputWarning): the caller's
        mistake by default, MAST's when the query was built here from ids.
        """

        def attempt(_: int) -> T:
            if not portal:
                return fn()
            with portal_at(self._settings) as configs:
                before = set(configs)
                try:
                    return fn()
                except Exception:
                    # A config fetched by a failed call may lack its second half (TIC histograms).
                    for key in set(configs) - before:
                        configs.pop(key, None)
                    raise

        with self._slots:
            try:
                return retry_call(attempt, self.retry_policy)
            except InvalidQueryError as exc:
                raise UsageError(f"invalid MAST query for {what}: {exc}") from exc
            except InputWarning as exc:
                message = " ".join(str(exc).split())
                raise altered(f"astroquery would alter the {what} query, refusing it: {message}") from exc
            except RemoteServiceError as exc:
                raise MastResponseError(f"MAST at {self.mast_url} refused the {what} query: {exc}") from exc
            except (requests.RequestException, OSError) as exc:
                url = where or (self.resolver_url if not portal else self.mast_url)
                if classify(exc)[0]:
                    raise MastUnavailableError(
                        f"MAST unreachable at {url} ({what}) after {self.retry_policy.attempts} attempts: {exc}",
                        hint=(
                            "check the MAST address (LARUN_LAKE_MAST_URL, or a harvest command's --mast-url) or try again later"
                            if portal or where
                            else "check LARUN_LAKE_RESOLVER_URL or try again later"
                        ),
                    ) from exc
                raise MastResponseError(f"MAST at {url} failed the {what} query: {exc}") from exc

    # -- observations and products --------------------------------------------------------------
    def observations(
        self,
        *,
        target_names: list[str] | None = None,
        position: tuple[float, float, float] | None = None,
        obs_collection: list[str],
        provenance_name: list[str] | None = None,
        exptime: tuple[float, float] | None = None,
        sequence_number: list[int] | None = None,
        batch_size: int = 200,
    ) -> list[dict[str, Any]]:
        """Time-series observations; many target names go into one request per batch."""
        if not target_names and position is None:
            raise UsageError("observations need target names or a position")
        criteria: dict[str, Any] = {"obs_collection": list(obs_collection), "dataproduct_type": ["timeseries"]}
        if provenance_name:
            criteria["provenance_name"] = list(provenance_name)
        if exptime is not None:
            criteria["t_exptime"] = [float(exptime[0]), float(exptime[1])]
        if sequence_number:
            criteria["sequence_number"] = [int(s) for s in sequence_number]
        if position is not None:
            ra, dec, radius = position
            criteria["coordinates"] = SkyCoord(ra, dec, unit="deg")
            criteria["radius"] = radius * u.deg
        names = _unique(str(n) for n in target_names or [])
        batches: Iterable[list[str] | None] = _batches(names, batch_size) if names else [None]
        rows: dict[str, dict[str, Any]] = {}
        for batch in batches:
            query = dict(criteria, target_name=batch) if batch else criteria
            table = self._run("observations", lambda q=query: self._astroquery()[0].query_criteria(**q))
            for row in table_rows(table):
                row["obsid"] = str(row["obsid"])
                row["sequence_number"] = as_int(row.get("sequence_number"))
                rows.setdefault(row["obsid"], row)
        return list(rows.values())

    def find_observations(
        self,
        criteria: dict[str, Any],
        position: tuple[float, float, float] | None = None,
        *,
        batch_size: int = 200,
    ) -> list[dict[str, Any]]:
        """Observations of any collection matching CAOM column criteria, optionally in a cone.

        `criteria` maps column names to a value or a list of values (any of them matches); float
        columns (t_min, t_exptime, ...) take (min, max). All target names go into one request up to
        `batch_size` of them; `position` is (ra, dec, radius) in degrees.
        """
        query = caom_criteria(criteria)
        if not query and position is None:
            raise UsageError("observations need at least one criterion or a position")
        if position is not None:
            ra, dec, radius = position
            query["coordinates"] = SkyCoord(ra, dec, unit="deg")
            query["radius"] = radius * u.deg
        names = _unique(query.pop("target_name", []))
        batches: Iterable[list[str] | None] = _batches(names, batch_size) if names else [None]
        rows: dict[str, dict[str, Any]] = {}
        for batch in batches:
            q = dict(query, target_name=batch) if batch else query
            table = self._run("observations", lambda q=q: self._astroquery()[0].query_criteria(**q))
            for row in table_rows(table):
                row["obsid"] = str(row["obsid"])
                row["calib_level"] = as_int(row.get("calib_level"))
                row["sequence_number"] = as_int(row.get("sequence_number"))
                rows.setdefault(row["obsid"], row)
        return list(rows.values())

    def products(self, obsids: list[str], *, batch_size: int = 200) -> list[dict[str, Any]]:
        """Products of many observations per request (astroquery comma-joins the obsids)."""
        result: list[dict[str, Any]] = []
        for batch in _batches(_unique(str(o) for o in obsids if str(o)), batch_size):
            table = self._run("products", lambda b=batch: self._astroquery()[0].get_product_list(b))
            for row in table_rows(table):
                row["obsID"] = str(row["obsID"]) if row.get("obsID") is not None else None
                row["size"] = as_int(row.get("size"))
                result.append(row)
        return result

    # -- TIC ------------------------------------------------------------------------------------
    def tic_by_ids(self, ids: list[int], *, batch_size: int = 500) -> TicRows:
        """TIC rows for the given ids; fails if MAST returns any row that was not asked for."""
        result = TicRows()
        for batch in _batches(_unique(int(i) for i in ids), batch_size):
            table = self._run(
                "TIC by id",
                lambda b=batch: self._astroquery()[1].query_criteria(catalog="Tic", ID=b),
                altered=MastResponseError,  # MAST's column config made ID a range column
            )
            rows = self._tic_rows(table)
            check_ids_subset(batch, [r["ID"] for r in rows])
            result.extend(rows)
            result.types = rows.types | result.types
        return result

    def tic_cone(self, ra: float, dec: float, radius_deg: float) -> TicRows:
        center = SkyCoord(ra, dec, unit="deg")
        table = self._run(
            "TIC cone",
            lambda: self._astroquery()[1].query_region(center, radius=radius_deg * u.deg, catalog="TIC"),
        )
        return self._tic_rows(table)

    def tic_criteria(
        self,
        filters: dict[str, tuple[float, float] | list[Any]],
        *,
        cone: tuple[float, float, float] | None = None,
    ) -> TicRows:
        """TIC rows matching column ranges (tuples: min, max) and value lists, optionally within a cone."""
        criteria: dict[str, Any] = {}
        for column, value in filters.items():
            if isinstance(value, tuple) and len(value) != 2:
                raise UsageError(f"range for TIC column {column!r} needs (min, max), got {value!r}")
            criteria[column] = list(value)
        if cone is not None:
            criteria["coordinates"] = SkyCoord(cone[0], cone[1], unit="deg")
            criteria["radius"] = cone[2] * u.deg
        table = self._run("TIC criteria", lambda: self._astroquery()[1].query_criteria(catalog="Tic", **criteria))
        return self._tic_rows(table)

    @staticmethod
    def _tic_rows(table: Any) -> TicRows:
        rows = TicRows(table_rows(table), declared_types(table))
        for row in rows:
            row["ID"] = as_int(row.get("ID"))  # MAST types the TIC id as a string
        rows.types["ID"] = "BIGINT"  # stored as a number, to join lightcurves.tic_id
        return rows

    # -- TESScut ---------------------------------------------------------------------------------
    def tesscut_url(self) -> str:
        """TESScut's base under the MAST address, as astroquery builds it (``<server>/tesscut/api/v0.1/``)."""
        return f"{self.mast_url}/tesscut/api/v0.1/"

    def tesscut_sectors(self, ra: float, dec: float) -> list[dict[str, Any]]:
        """Sectors (sectorName, sector, camera, ccd) whose FFIs hold a position: one TESScut request."""
        from astroquery.mast import TesscutClass

        def fetch() -> list[dict[str, Any]]:
            client = TesscutClass()
            connection = client._service_api_connection  # astroquery fixes its URL at import: point it here
            connection.REQUEST_URL = self.tesscut_url()
            self._new_session(connection._session)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NoResultsWarning)
                table = client.get_sectors(coordinates=SkyCoord(ra, dec, unit="deg"))
            return [
                {
                    "sectorName": str(r["sectorName"]),
                    "sector": int(r["sector"]),
                    "camera": int(r["camera"]),
                    "ccd": int(r["ccd"]),
                }
                for r in table
            ]

        return self._run(f"TESScut sectors at {ra:.5f} {dec:+.5f}", fetch, portal=False, where=self.tesscut_url())

    # -- names ----------------------------------------------------------------------------------
    def resolve(self, name: str) -> tuple[float, float]:
        """(ra, dec) in degrees of an object name, from the SANTA name resolver."""
        params = [("outputFormat", "json"), ("resolveAll", "False"), ("name", name)]

        def fetch() -> dict[str, Any]:
            response = self._resolver_session.get(self.resolver_url, params=params, headers={"Accept": "text/plain"})
            response.raise_for_status()
            return response.json()

        reply = self._run(f"name {name!r}", fetch, portal=False)
        for found in reply.get("resolvedCoordinate") or []:
            if str(found.get("searchString", "")) == name.lower() and found.get("ra") is not None:
                return float(found["ra"]), float(found["decl"])
        raise UsageError(
            f"cannot resolve {name!r}", hint="check the spelling, or give a TIC/KIC/EPIC id or coordinates"
        )


def check_ids_subset(requested: Iterable[int], returned: Iterable[int | None]) -> None:
    """MAST must return only the TIC ids asked for; anything else means the query was misread."""
    asked = set(requested)
    extra = sorted({r for r in returned if r not in asked}, key=lambda r: (r is None, r or 0))
    if extra:
        shown = ", ".join(str(e) for e in extra[:5]) + (" ..." if len(extra) > 5 else "")
        raise MastResponseError(
            f"MAST returned {len(extra)} TIC id(s) that were not requested ({shown}); "
            "the ID filter was not applied as a list, refusing the result"
        )
