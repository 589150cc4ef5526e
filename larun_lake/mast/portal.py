"""Plumbing between MastClient and astroquery: where the portal lives, socket timeouts, result rows.

astroquery reads its MAST addresses and time limit into `PortalAPI` class attributes when it is
imported, so the only way to aim it elsewhere without touching the user's configuration files
is to set those attributes around each use. They are process-wide, so a lease lets any number of
calls share one setting and makes a call with another setting wait until they are done.

The lease also sets warning filters while held: "no results" is not worth a warning here, and an
InputWarning (astroquery turning a list into a range, or dropping a filter) becomes an error, so
an altered query is never sent. Filters are process-wide too, hence set once per lease.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import requests
from astroquery.exceptions import InputWarning, NoResultsWarning
from astroquery.mast.discovery_portal import PortalAPI
from requests.adapters import HTTPAdapter

# Paths below the server, exactly as astroquery builds them from conf.server.
_PATHS = {
    "MAST_REQUEST_URL": "/api/v0/invoke",
    "COLUMNS_CONFIG_URL": "/portal/Mashup/Mashup.asmx/columnsconfig",
    "MAST_DOWNLOAD_URL": "/api/v0.1/Download/file",
    "MAST_BUNDLE_URL": "/api/v0.1/Download/bundle",
}
_SAVED_ATTRS = (*_PATHS, "TIMEOUT", "PAGESIZE", "_column_configs")


@dataclass(frozen=True)
class PortalSettings:
    mast_url: str
    query_timeout: float  # astroquery's budget for one call, long-polling and paging included
    page_size: int | None = None


class _Lease:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.current: PortalSettings | None = None
        self.users = 0
        self.saved: dict[str, Any] = {}
        self.warnings: warnings.catch_warnings | None = None
        # Column configs differ between servers, so each address keeps its own cache.
        self.configs: dict[str, dict[str, Any]] = {}


_LEASE = _Lease()


@contextmanager
def portal_at(settings: PortalSettings) -> Iterator[dict[str, Any]]:
    """Point `PortalAPI` at `settings` for the duration; yields the column-config cache in use."""
    lease = _LEASE
    with lease.cond:
        while lease.users and lease.current != settings:
            lease.cond.wait()
        if lease.users == 0:
            lease.saved = {name: PortalAPI.__dict__[name] for name in _SAVED_ATTRS}
            base = settings.mast_url.rstrip("/")
            for name, path in _PATHS.items():
                setattr(PortalAPI, name, base + path)
            PortalAPI.TIMEOUT = settings.query_timeout
            if settings.page_size:
                PortalAPI.PAGESIZE = settings.page_size
            PortalAPI._column_configs = lease.configs.setdefault(base, {})
            lease.warnings = warnings.catch_warnings()
            lease.warnings.__enter__()
            warnings.simplefilter("ignore", NoResultsWarning)
            warnings.simplefilter("error", InputWarning)
            lease.current = settings
        lease.users += 1
        configs = PortalAPI._column_configs
    try:
        yield configs
    finally:
        with lease.cond:
            lease.users -= 1
            if lease.users == 0:
                for name, value in lease.saved.items():  # leave astroquery as we found it
                    setattr(PortalAPI, name, value)
                if lease.warnings is not None:
                    lease.warnings.__exit__(None, None, None)
                    lease.warnings = None
                lease.current = None
                lease.cond.notify_all()


class TimeoutAdapter(HTTPAdapter):
    """Gives every request a timeout (astroquery passes none) and reports each one sent."""

    def __init__(self, timeout: float, on_send: Callable[[requests.PreparedRequest], None]) -> None:
        super().__init__()
        self._timeout = timeout
        self._on_send = on_send

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None, **kwargs: Any):  # type: ignore[override]
        self._on_send(request)
        return super().send(request, stream=stream, timeout=self._timeout if timeout is None else timeout, **kwargs)


def mount_timeout(session: requests.Session, adapter: TimeoutAdapter) -> requests.Session:
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def table_rows(table: Any) -> list[dict[str, Any]]:
    """An astropy (masked) Table as plain dicts of Python values; masked and NaN become None."""
    if table is None or len(table) == 0:
        return []
    columns: dict[str, list[Any]] = {}
    for name in table.colnames:
        column = table[name]
        values = np.ma.getdata(column).tolist()
        mask = np.ma.getmaskarray(column).tolist()
        columns[name] = [None if masked else _plain(v) for v, masked in zip(values, mask, strict=True)]
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


# numpy dtype kinds of astroquery's columns -> the SQL type of the field MAST declared.
_DECLARED = {"f": "DOUBLE", "i": "BIGINT", "u": "BIGINT", "b": "BOOLEAN", "U": "VARCHAR", "S": "VARCHAR"}


def declared_types(table: Any) -> dict[str, str]:
    """SQL types of a table's columns as MAST declared them in the response's `fields`.

    astroquery builds each column's dtype from that declaration, so an all-null float column
    is still float64 here; a column astroquery left as object has no declaration and is omitted.
    """
    if table is None:
        return {}
    out = {}
    for name in table.colnames:
        kind = _DECLARED.get(table[name].dtype.kind)
        if kind is not None:
            out[name] = kind
    return out


def as_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = value.strip()
        return int(value) if value.lstrip("-").isdigit() else int(float(value))
    return int(value)
