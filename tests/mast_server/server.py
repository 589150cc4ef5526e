"""HTTP front of the fake MAST: portal invoke, column configs, SANTA resolver, downloads, TESScut."""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from . import portal
from .catalog import Catalog
from .faults import KINDS, Fault, FaultSet
from .observatory import ObservatoryCatalog
from .tesscut import TesscutError, TesscutService
from .tic import TicTable

_CONNECTION_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


@dataclass
class RequestRecord:
    """One request as received (recorded before any fault is applied)."""

    kind: str  # one of faults.KINDS, or "other"
    method: str
    path: str
    service: str | None = None  # invoke service, or colConfigId for columnsconfig
    uri: str | None = None  # download/head dataURI
    request: dict[str, Any] = field(default_factory=dict)  # parsed invoke JSON or query/form fields
    timestamp: float = field(default_factory=time.time)


@dataclass
class _Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    file: Path | None = None  # streamed instead of body
    headers: dict[str, str] = field(default_factory=dict)


def _json_reply(payload: Any, status: int = 200) -> _Reply:
    return _Reply(status=status, body=json.dumps(payload).encode())


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # concurrent harvesters must not hit a full accept backlog

    def __init__(self, address: tuple[str, int], mast: MastServer) -> None:
        self.mast = mast
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which can stall offline.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """Unblock handler threads parked on keep-alive reads or slow writes."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up are not server errors
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real service; Content-Length always sent
    timeout = 30  # an idle client cannot pin a handler thread forever
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        mast = self.server.mast
        try:
            try:
                record, reply = self._dispatch(method, mast)
            except _CONNECTION_ERRORS:
                raise
            except Exception as exc:  # a server bug must come back as a response, not a hung client
                record = RequestRecord("other", method, self.path)
                reply = _json_reply({"status": "ERROR", "msg": f"fake MAST server error: {exc!r}"}, 500)
            with mast._lock:
                mast.requests.append(record)
            faults = mast._faults.pick(record.kind, record.service, record.uri or self.path)
            self._respond(method, mast, record, reply, faults)
        except _CONNECTION_ERRORS:
            self.close_connection = True

    # -- routing -------------------------------------------------------------------------------
    def _dispatch(self, method: str, mast: MastServer) -> tuple[RequestRecord, _Reply]:
        # Proxied resolver requests arrive in absolute form (GET http://host/path?...).
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        form = {**query, **parse_qs(body.decode("utf-8", "replace"))}
        lower = path.lower().rstrip("/")
        ctx = mast._context()
        if lower.endswith("/portal/mashup/mashup.asmx/columnsconfig") and method == "POST":
            config_id = (form.get("colConfigId") or [""])[0]
            record = RequestRecord("columnsconfig", method, path, service=config_id)
            return record, _json_reply(portal.column_config(config_id, ctx))
        if lower == "/api/v0/invoke" and method in {"GET", "POST"}:
            try:
                request = json.loads((form.get("request") or [""])[0])
            except json.JSONDecodeError:
                return RequestRecord("invoke", method, path), _json_reply(portal.error("Bad request JSON"), 400)
            record = RequestRecord("invoke", method, path, service=str(request.get("service")), request=request)
            return record, _json_reply(portal.invoke(request, ctx))
        if lower.endswith("/api/v0.1/download/file") and method in {"GET", "HEAD"}:
            uri = (form.get("uri") or [""])[0]
            record = RequestRecord("download" if method == "GET" else "head", method, path, uri=uri)
            return record, self._file_reply(mast, uri)
        if lower == "/santa-war/query" and method == "GET":
            record = RequestRecord("resolve", method, path, request=dict(form))
            names = form.get("name", [])
            resolve_all = (form.get("resolveAll") or ["false"])[0].lower() == "true"
            resolver = (form.get("resolver") or [None])[0]
            found = portal.resolve_names(names, ctx, resolver=resolver, resolve_all=resolve_all)
            return record, _json_reply({"resolvedCoordinate": found, "status": ""})
        if lower in {"/tesscut/api/v0.1/sector", "/tesscut/api/v0.1/astrocut"} and method in {"GET", "POST"}:
            service = lower.rsplit("/", 1)[1]
            record = RequestRecord("tesscut", method, path, service=service, request=dict(form))
            return record, self._tesscut_reply(mast, service, form)
        return RequestRecord("other", method, path), _json_reply({"status": "ERROR", "msg": "Not found"}, 404)

    @staticmethod
    def _tesscut_reply(mast: MastServer, service: str, form: dict[str, list[str]]) -> _Reply:
        try:
            answer = mast.tesscut.sectors(form) if service == "sector" else mast.tesscut.cutout(form)
        except TesscutError as exc:
            return _json_reply({"msg": str(exc)}, 400)
        if isinstance(answer, bytes):
            return _Reply(body=answer, content_type="application/zip")
        return _json_reply(answer)

    @staticmethod
    def _file_reply(mast: MastServer, uri: str) -> _Reply:
        listed, path = mast.catalog.file_for_uri(uri)
        if not listed and mast.observatory is not None:
            listed, path = mast.observatory.file_for_uri(uri)
        if path is None or not path.exists():
            msg = "product has no content on this server" if listed else "unknown dataURI"
            return _json_reply({"status": "ERROR", "msg": f"{msg}: {uri}"}, 404)
        name = uri.rsplit("/", 1)[-1]
        return _Reply(
            file=path,
            content_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # -- sending, with faults ------------------------------------------------------------------
    def _respond(
        self, method: str, mast: MastServer, record: RequestRecord, reply: _Reply, faults: list[Fault]
    ) -> None:
        delay = mast.latency + sum(f.latency for f in faults)
        if delay > 0 and mast._sleep(delay):
            return self._abort()
        if any(f.drop for f in faults):
            return self._abort()
        status_fault = next((f for f in faults if f.status is not None), None)
        if status_fault is not None:
            reply = _json_reply({"status": "ERROR", "msg": f"injected HTTP {status_fault.status}"}, status_fault.status)  # type: ignore[arg-type]
            if status_fault.retry_after is not None:
                reply.headers["Retry-After"] = str(max(0, round(status_fault.retry_after)))
        elif record.kind in {"invoke", "columnsconfig"} and any(f.executing for f in faults):
            reply = _json_reply({"status": "EXECUTING", "msg": "", "data": [], "fields": []})
        stall = max((f.stall or 0.0 for f in faults), default=0.0)
        truncate = min((f.truncate for f in faults if f.truncate is not None), default=None)

        length = reply.file.stat().st_size if reply.file is not None else len(reply.body)
        if any(f.corrupt for f in faults):
            body = bytearray(reply.file.read_bytes() if reply.file is not None else reply.body)
            middle = max(0, len(body) // 2 - 32)
            body[middle : middle + 64] = bytes(b ^ 0xFF for b in body[middle : middle + 64])
            reply = _Reply(reply.status, bytes(body), reply.content_type, None, reply.headers)
            length = len(reply.body)
        short = min((f.short_body for f in faults if f.short_body is not None), default=None)
        if short is not None:
            length = int(length * short)
        if method == "HEAD" and stall > 0 and mast._sleep(stall):
            return self._abort()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(length))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.flush()
        if method == "HEAD":
            return None
        if stall > 0 and mast._sleep(stall):
            return self._abort()
        limit = length if truncate is None else int(length * truncate)
        if reply.file is None:
            self.wfile.write(reply.body[:limit])
        else:
            self._stream(reply.file, limit)
        self.wfile.flush()
        if truncate is not None:
            self._abort()
        return None

    def _stream(self, path: Path, limit: int) -> None:
        with path.open("rb") as fh:
            while limit > 0:
                chunk = fh.read(min(1 << 16, limit))
                if not chunk:
                    break
                self.wfile.write(chunk)
                limit -= len(chunk)

    def _abort(self) -> None:
        """Close the connection without (the rest of) a response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class MastServer:
    """A MAST-compatible HTTP server on 127.0.0.1 serving real FITS light curves.

    ``fits_files`` must all be light curves; files found under ``fits_dir``
    (recursively, ``*.fits``/``*.fits.gz``) that are not are listed in ``skipped``.
    """

    def __init__(
        self,
        fits_files: Iterable[str | Path] | None = None,
        fits_dir: str | Path | Iterable[str | Path] | None = None,
        tic_rows: Any = None,
        non_lc_products: bool = True,
        names: dict[str, tuple[float, float]] | None = None,
        cubes: Iterable[str | Path] = (),
        stars: dict[int, tuple[float, float]] | None = None,
        observatory: bool | str | Path | ObservatoryCatalog = False,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        seed: int = 0,
        max_stall: float = 30.0,
    ) -> None:
        self.catalog = Catalog(non_lc_products=non_lc_products)
        for path in fits_files or []:
            self.catalog.add_file(path)
        dirs = [fits_dir] if isinstance(fits_dir, (str, Path)) else list(fits_dir or [])
        for directory in dirs:
            found = sorted({*Path(directory).rglob("*.fits"), *Path(directory).rglob("*.fits.gz")})
            self.catalog.add_files(found)
        self.tic = TicTable(tic_rows)
        self.names: dict[str, tuple[float, float]] = dict(names or {})
        self.tesscut = TesscutService()
        for cube in cubes:
            self.tesscut.add_cube(cube)
        self.stars: dict[int, tuple[float, float]] = {int(k): v for k, v in (stars or {}).items()}
        # HST/JWST observations (observatory.py): True for a private cache folder, a path to keep the files
        if isinstance(observatory, ObservatoryCatalog):
            self.observatory: ObservatoryCatalog | None = observatory
        elif observatory is True or isinstance(observatory, (str, Path)):
            self.observatory = ObservatoryCatalog(None if observatory is True else observatory)
        else:
            self.observatory = None
        self.latency = latency  # seconds added to every request
        self.max_stall = max_stall  # upper bound for any injected stall or latency
        self.host, self.port = host, port
        self.requests: list[RequestRecord] = []
        self._faults = FaultSet(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> MastServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"mast-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; interrupts injected stalls and closes open connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_open_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MastServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content -------------------------------------------------------------------------------
    def add_file(self, path: str | Path, **overrides: Any) -> dict[str, Any]:
        """Serve one more light curve (see ``Catalog.add_file`` for overrides); returns its product row."""
        return self.catalog.add_file(path, **overrides)

    def replace_file(self, data_uri: str, new_path: str | Path) -> None:
        """Serve new bytes under an existing dataURI, as when MAST reprocesses a product in place."""
        self.catalog.replace_file(data_uri, new_path)

    def add_cube(self, path: str | Path) -> None:
        """Serve TESScut cutouts from one astrocut cube (``tess-sSSSS-C-D-cube.fits``) and list it
        as a TESS FFI observation."""
        self.tesscut.add_cube(path)

    def add_star(self, tic: int, ra: float, dec: float) -> None:
        """Make ``TIC <tic>`` resolve to (ra, dec)."""
        self.stars[int(tic)] = (float(ra), float(dec))

    def set_tic_rows(self, rows: Any) -> None:
        self.tic = TicTable(rows)

    @property
    def observations(self) -> list[dict[str, Any]]:
        """Copies of the observation rows as served."""
        return [dict(row) for row in self.catalog.observations()]

    @property
    def products(self) -> list[dict[str, Any]]:
        """Copies of the product rows as served (light curves and listed-only siblings)."""
        return [dict(row) for row in self.catalog.products()]

    @property
    def skipped(self) -> list[tuple[Path, str]]:
        return self.catalog.skipped

    def uri_for(self, filename: str) -> str:
        """dataURI of the product whose productFilename is ``filename``."""
        for product in self.products:
            if product["productFilename"] == Path(filename).name:
                return product["dataURI"]
        if self.observatory is not None:
            return self.observatory.uri_for(filename)
        raise KeyError(filename)

    def download_url(self, data_uri: str) -> str:
        return f"{self.url}/api/v0.1/Download/file?uri={quote(data_uri, safe=':/')}"

    # -- faults and request log ----------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        return self._faults.add(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    def count(self, kind: str, service: str | None = None) -> int:
        """Requests of a kind (``invoke``, ``columnsconfig``, ``download``, ``head``, ``resolve``,
        ``tesscut``), optionally of one service (for ``tesscut``: ``sector`` or ``astrocut``); any
        other ``kind`` is taken as an invoke service name."""
        with self._lock:
            records = list(self.requests)
        if kind not in KINDS:
            kind, service = "invoke", kind
        return sum(
            1 for r in records if r.kind == kind and (service is None or (r.service or "").lower() == service.lower())
        )

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- internals -----------------------------------------------------------------------------
    def _context(self) -> portal.Context:
        return portal.Context(
            catalog=self.catalog,
            tic=self.tic,
            names=self.names,
            tesscut=self.tesscut,
            stars=self.stars,
            observatory=self.observatory,
        )

    def _sleep(self, seconds: float) -> bool:
        """Bounded, interruptible wait; True when the server is stopping."""
        return self._stopping.wait(min(seconds, self.max_stall))
