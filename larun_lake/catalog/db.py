"""Opening the catalog: one writer at a time, short holds, retries with back-off.

DuckDB lets one process write a database file, and a reader cannot open it while a
writer holds it (nor the other way round). So every connection is short-lived: it
attaches the catalog, does one job, and closes; whoever finds it busy retries with
jittered exponential back-off up to the configured wait, then reports who holds it,
and meanwhile leaves a marker so that a writer running many batches (WriteSession)
lets go between them.
Every connection is an in-memory database with the catalog attached as `lake`, plus
TEMP views and macros from sql/, so readers and writers see the same SQL surface.
Starting a DuckDB instance costs about 12 ms of CPU, attaching a file 2 ms: the catalog's
own connections are cursors of one instance per process that ATTACH and DETACH the file
(DETACH releases DuckDB's file lock); only sandboxed user SQL, whose settings are
instance-wide and locked, gets an instance of its own.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb

from .. import quality
from ..errors import LakeBusyError, LakeDamagedError, NotALakeError, SchemaVersionError
from ..layout import SPECTRA, SPECTRAL_TIMESERIES, LakeLayout
from ..schema import CADENCE_SCHEMA, SPECTRAL_TIMESERIES_SCHEMA, SPECTRUM_SCHEMA
from ..sqlfiles import load_sql
from . import migrations

# The catalog schema this code writes: the number of the last file in sql/migrations/.
SCHEMA_VERSION = migrations.latest_version()
# Waiters poll at least this often; a writer with more to commit pauses WRITER_GAP_S when someone waits.
MAX_BACKOFF_S = 0.05
WRITER_GAP_S = 0.15
_LOCK_MARKERS = (
    "could not set lock",
    "conflicting lock",
    "database is locked",
    "resource temporarily unavailable",
    "unique file handle conflict",  # held by another connection of this process
)


def now() -> datetime:
    return datetime.now(UTC)


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _LOCK_MARKERS)


class Catalog:
    """Access to <lake>/catalog.duckdb for one process."""

    def __init__(
        self, layout: LakeLayout, *, wait_s: float = 30.0, threads: int | None = None, memory_limit: str | None = None
    ) -> None:
        self.layout = layout
        self.wait_s = wait_s
        self.threads = threads
        self.memory_limit = memory_limit
        self._schema_checked = False
        self._instance: duckdb.DuckDBPyConnection | None = None
        self._instance_pid = 0
        self._instance_lock = threading.Lock()  # one attachment of the shared instance at a time
        self._writing = 0  # depth of `writing()`: a remote lake's lease is held and the local catalog current

    # -- existence ---------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.layout.catalog.is_file()

    def require(self) -> None:
        root = self.layout.url
        if not self.layout.is_local:
            if self.exists() or self._writing:
                return
            from .snapshot import has_lake_data, latest

            if latest(self.layout) is not None:
                return  # read from the lake's latest snapshot
            if has_lake_data(self.layout):
                raise LakeDamagedError(f"{root} holds lake data but no catalog snapshot (_catalog/LATEST)",
                                       hint="rebuild it on the machine that wrote the lake, or restore _catalog/")
            raise NotALakeError(f"{root} is not a lake (no catalog snapshot in _catalog/)",
                                hint="create it with 'larun-lake --lake URL import PATH', or check the URL")
        if self.layout.is_local and not self.layout.root.exists():
            raise NotALakeError(
                f"lake {root} does not exist", hint="run 'larun-lake import PATH' to create it, or pass --lake"
            )
        if not self.exists():
            from .snapshot import has_lake_data

            if has_lake_data(self.layout):
                raise LakeDamagedError(
                    f"{root} holds lake data but its catalog {self.layout.catalog.name} is missing",
                    hint=f"rebuild it with 'larun-lake --lake {root} rebuild-catalog', or restore the file",
                )
            raise NotALakeError(
                f"{root} is not a lake (no {self.layout.catalog.name})",
                hint="pass the folder that 'larun-lake import' created, or create one with import",
            )

    def create_if_missing(self) -> None:
        """Create the lake folder and an empty catalog (used by import and harvest).

        A folder that holds lake data but no catalog is a damaged lake, not a new one: an empty
        catalog beside old data would make every data file look like an orphan.
        """
        if self.exists():
            return
        root = self.layout.url
        if self.layout.is_local and self.layout.root.exists() and not self.layout.root.is_dir():
            raise NotALakeError(f"lake path {root} is a file", hint="pass a folder with --lake")
        from .snapshot import has_lake_data

        if has_lake_data(self.layout):
            raise LakeDamagedError(
                f"{root} holds lake data but its catalog {self.layout.catalog.name} is missing",
                hint=f"rebuild it with 'larun-lake --lake {root} rebuild-catalog', or restore the file",
            )
        try:
            if self.layout.is_local:
                self.layout.root.mkdir(parents=True, exist_ok=True)
            self.layout.catalog.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NotALakeError(f"cannot create lake folder {exc.filename}: {exc.strerror}",
                                hint="pass a writable --lake") from exc
        with self.write("create") as con:
            con.execute("INSERT OR IGNORE INTO lake.lake_meta VALUES ('lake_id', ?)", [uuid.uuid4().hex])

    @contextmanager
    def writing(self, command: str) -> Iterator[None]:
        """Around a writing command. For a lake on object storage: hold its lease (one writing machine at
        a time) and start from its latest snapshot when the local catalog is missing or behind."""
        if self.layout.is_local or self._writing:
            self._writing += 1
            try:
                yield
            finally:
                self._writing -= 1
            return
        from . import remote

        with remote.writing(self, command):
            self._writing += 1
            try:
                yield
            finally:
                self._writing -= 1

    def publish_snapshot(self) -> bool:
        """Copy the catalog's tables into <lake>/_catalog (see snapshot.py); every writing command ends so.

        Not while another process's run is under way: a catalog rebuilt from such a snapshot would
        take that run's later files for a killed run's leftovers. That run publishes when it ends.
        """
        from ..lake import processes
        from . import snapshot

        with self.write("snapshot") as con:
            running = con.execute("SELECT pid FROM lake.runs WHERE status = 'running'").fetchall()
            if any(pid != os.getpid() and processes.alive(pid) for (pid,) in running):
                return False
            con.execute("INSERT OR IGNORE INTO lake.lake_meta VALUES ('lake_id', ?)", [uuid.uuid4().hex])
            snapshot.publish(con, self.layout)
        return True

    # -- connections -------------------------------------------------------------------------
    def _config(self) -> dict:
        config = {}
        if self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        return config

    def _new_connection(self, shared: bool) -> duckdb.DuckDBPyConnection:
        if not shared:
            return duckdb.connect(":memory:", config=self._config())
        if self._instance is None or self._instance_pid != os.getpid():  # never reuse one inherited by fork
            self._instance, self._instance_pid = duckdb.connect(":memory:", config=self._config()), os.getpid()
        return self._instance.cursor()

    def _release(self, con: duckdb.DuckDBPyConnection, shared: bool) -> None:
        """Close a connection; a shared one first detaches the catalog, which frees the file."""
        try:
            if shared:
                try:
                    con.execute("USE memory")
                    con.execute("DETACH DATABASE IF EXISTS lake")
                except duckdb.Error:  # cannot detach: drop the instance so that the file is closed
                    con.close()
                    if self._instance is not None:
                        self._instance.close()
                    self._instance = None
            con.close()
        finally:
            if shared:
                self._instance_lock.release()

    def _connect(self, *, read_only: bool, shared: bool = True) -> tuple[duckdb.DuckDBPyConnection, bool]:
        """An attached connection, and whether it is a cursor of the shared instance (see _release)."""
        # Another thread of this process using the shared instance: take a private one, as any other client would.
        shared = shared and self._instance_lock.acquire(blocking=False)
        try:
            return self._attach(read_only=read_only, shared=shared), shared
        except BaseException:
            if shared:
                self._instance_lock.release()
            raise

    def _attach(self, *, read_only: bool, shared: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.wait_s
        delay = 0.01
        path = str(self.layout.catalog).replace("'", "''")
        mode = " (READ_ONLY)" if read_only else ""
        marker: Path | None = None
        try:
            while True:
                con = self._new_connection(shared)
                try:
                    con.execute(f"ATTACH '{path}' AS lake{mode}")
                    con.execute("USE lake")
                    return con
                except duckdb.Error as exc:
                    con.close()  # a failed ATTACH leaves nothing attached
                    if not _is_lock_error(exc):
                        raise NotALakeError(
                            f"cannot open catalog {self.layout.catalog}: {str(exc).splitlines()[0]}",
                            hint=f"restore the file, or run 'larun-lake --lake {self.layout.url} rebuild-catalog'",
                        ) from exc
                    if time.monotonic() + delay > deadline:
                        raise LakeBusyError(self._busy_message(exc), hint="retry later or raise --wait") from exc
                    marker = marker or self._mark_waiting()
                    time.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, MAX_BACKOFF_S)
        finally:
            if marker is not None:
                marker.unlink(missing_ok=True)

    def _mark_waiting(self) -> Path | None:
        try:
            self.layout.waiting.mkdir(exist_ok=True)
            marker = self.layout.waiting / f"{os.getpid()}-{random.getrandbits(32):08x}"
            marker.touch()
            return marker
        except OSError:
            return None

    def others_waiting(self) -> bool:
        """True when another process has been waiting for the catalog (markers older than a minute are stale)."""
        try:
            cutoff = time.time() - 60
            return any(m.stat().st_mtime > cutoff for m in self.layout.waiting.iterdir())
        except OSError:
            return False

    def _busy_message(self, exc: Exception) -> str:
        holder = ""
        try:
            info = json.loads(self.layout.writer_info.read_text())
            holder = f"{info.get('command', 'a writer')}, pid {info.get('pid')}"
        except (OSError, ValueError):
            text = str(exc)
            marker = "PID "
            if marker in text:
                holder = "pid " + text.split(marker, 1)[1].split(")")[0].split()[0]
        return f"lake busy: {holder or 'another process holds the catalog'}"

    @contextmanager
    def read(
        self, *, sandbox: bool = True, surface: bool = True, data: bool = True, local: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection with the SQL surface (views and macros of sql/, unless surface=False).

        sandbox=True (user SQL): no file access at all, and the settings are locked.
        data=False: the statements read no data files (see query.reads_data_files), so the data views
        are stand-ins that fail when read, which spares loading pyarrow's dataset layer.
        """
        self.require()
        if not (local or self.layout.is_local or self._writing):
            from . import remote

            if not self.exists() or not remote.local_is_current(self):
                # Another machine wrote the lake, or this one never did: read its latest snapshot.
                reader = Catalog(LakeLayout(self.layout.store, remote.snapshot_catalog(self.layout)),
                                 wait_s=self.wait_s, threads=self.threads, memory_limit=self.memory_limit)
                with reader.read(sandbox=sandbox, surface=surface, data=data, local=True) as con:
                    yield con
                return
        with self.damage_errors():
            con, shared = self._connect_current(shared=not sandbox)
        spill = None
        try:
            with self.damage_errors():
                if surface:
                    self._install_surface(con, data=data)
                if sandbox:
                    spill = _private_spill_directory()
                    self._sandbox(con, spill)
                yield con
        finally:
            self._release(con, shared)
            if spill is not None:
                shutil.rmtree(spill, ignore_errors=True)

    @contextmanager
    def damage_errors(self) -> Iterator[None]:
        """DuckDB failing to read the catalog file itself (cut short, overwritten) is damage to the lake."""
        try:
            yield
        except (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException) as exc:
            if str(self.layout.catalog) not in str(exc) and not isinstance(exc, duckdb.SerializationException):
                raise
            raise LakeDamagedError(
                f"catalog {self.layout.catalog} is damaged: {str(exc).splitlines()[0]}",
                hint="restore the file, or run 'larun-lake rebuild-catalog'",
            ) from exc

    @contextmanager
    def write(self, command: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection inside one transaction; committed on success, rolled back on error."""
        with self.session(command) as session, session.transaction() as con:
            yield con

    @contextmanager
    def session(self, command: str) -> Iterator[WriteSession]:
        """A writer that keeps the catalog between its transactions until someone waits (see WriteSession)."""
        session = WriteSession(self, command)
        try:
            yield session
        finally:
            session.release()

    # -- schema ------------------------------------------------------------------------------
    def _check_version(self, con: duckdb.DuckDBPyConnection, *, empty_ok: bool = False) -> int:
        """The catalog's schema version; a catalog from a newer LARUN Lake is refused (exit 3)."""
        version = migrations.recorded_version(con)
        if version is None or (version == 0 and not empty_ok):
            raise NotALakeError(
                f"{self.layout.url} has a catalog without LARUN Lake tables",
                hint="point --lake at a LARUN Lake folder",
            )
        latest = migrations.latest_version()
        if version > latest:
            raise SchemaVersionError(
                f"lake {self.layout.url} has catalog schema version {version}, "
                f"this larun-lake ({_own_version()}) understands versions up to {latest}",
                hint="upgrade larun-lake to open this lake",
            )
        return version

    def _connect_current(self, *, shared: bool) -> tuple[duckdb.DuckDBPyConnection, bool]:
        """A read-only connection to a catalog at this code's schema: an older one is upgraded first."""
        con, shared = self._connect(read_only=True, shared=shared)
        try:
            behind = self._check_version(con) < migrations.latest_version()
            if not behind and self._up_to_date(con):
                return con, shared
        except BaseException:
            self._release(con, shared)
            raise
        self._release(con, shared)
        try:
            with self.write("upgrade catalog"):  # migrations run when the writer attaches
                pass
        except (NotALakeError, OSError):
            if behind:
                raise
            # Only the migration log or the quality tables are missing: a catalog we may not write still reads.
        con, shared = self._connect(read_only=True, shared=shared)
        try:
            self._check_version(con)
        except BaseException:
            self._release(con, shared)
            raise
        return con, shared

    @staticmethod
    def _up_to_date(con: duckdb.DuckDBPyConnection) -> bool:
        """Migration log present and the shipped quality tables loaded (checked before each read)."""
        if not migrations.is_recorded(con):
            return False
        row = con.execute("SELECT value FROM lake.lake_meta WHERE key = 'quality_tables_sha256'").fetchall()
        return bool(row) and row[0][0] == quality.tables_sha256()

    def _migrate(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._schema_checked:
            return
        self._apply_migrations(con)
        self._schema_checked = True

    def _apply_migrations(self, con: duckdb.DuckDBPyConnection) -> None:
        """Numbered migrations the catalog lacks, then the quality tables if the shipped ones differ."""
        self._check_version(con, empty_ok=True)
        migrations.upgrade(con, now)
        if not self._up_to_date(con):
            con.execute("BEGIN TRANSACTION")
            try:
                _load_quality_tables(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _install_surface(self, con: duckdb.DuckDBPyConnection, *, data: bool = True) -> None:
        """TEMP views and macros of sql/ over the registered data files (writers do not need them).

        The data files are handed to DuckDB as pyarrow datasets, so that reading them needs no
        file access of DuckDB's own (see _sandbox); a registered file that has gone missing fails
        only the queries that read it.
        """
        store = self.layout.store
        cadence_files = self._registered(con, "cadences") if data else []
        if cadence_files:
            from .datasets import cadence_dataset  # pyarrow.dataset loads pandas: only when there is data

            con.register("cadence_rows", cadence_dataset(store, cadence_files))
        else:
            columns = [(f.name, _SQL_TYPES[str(f.type)]) for f in CADENCE_SCHEMA]
            _empty_view(con, "cadence_rows", [*columns, ("mission", "VARCHAR"), ("author", "VARCHAR"),
                                              ("period", "VARCHAR")], fail=not data)
        tic_files = self._registered(con, "tic") if data else []
        if tic_files:
            from .datasets import decode_schema, tic_dataset

            recorded = con.execute("SELECT value FROM lake.lake_meta WHERE key = 'tic_schema'").fetchall()
            known = decode_schema(recorded[0][0]) if recorded else None
            con.register("tic_rows", tic_dataset(store, tic_files, known))
        else:
            _empty_view(con, "tic_rows", [("ID", "BIGINT"), ("ra", "DOUBLE"), ("dec", "DOUBLE"), ("Tmag", "DOUBLE"),
                                          ("Teff", "DOUBLE"), ("hpx", "INTEGER")], fail=not data)
        for area, schema in ((SPECTRA, SPECTRUM_SCHEMA), (SPECTRAL_TIMESERIES, SPECTRAL_TIMESERIES_SCHEMA)):
            files = self._registered(con, area) if data else []
            if files:
                from .datasets import spectrum_dataset

                con.register(f"{area}_rows" if area != SPECTRA else "spectrum_rows",
                             spectrum_dataset(store, files, schema))  # fmt: skip
            else:
                columns = [(f.name, _SQL_TYPES[str(f.type)]) for f in schema]
                _empty_view(con, f"{area}_rows" if area != SPECTRA else "spectrum_rows",
                            [*columns, ("mission", "VARCHAR"), ("period", "VARCHAR")], fail=not data)  # fmt: skip
        con.execute(load_sql("views.sql"))
        con.execute(load_sql("macros.sql"))

    @staticmethod
    def _registered(con: duckdb.DuckDBPyConnection, area: str) -> list[str]:
        return [p for (p,) in con.execute("SELECT path FROM lake.data_files WHERE area = ? ORDER BY path", [area])
                .fetchall()]

    def _sandbox(self, con: duckdb.DuckDBPyConnection, spill: str) -> None:
        """No file access at all: the data arrive as registered datasets and the catalog is attached
        read-only before this, so no statement can create, change or delete a file, nor read one
        outside the lake. DuckDB still reads and writes its spill folder: a fresh one of this
        connection's own, removed when it closes, so nothing written there outlives the statement."""
        con.execute("SET allowed_directories = []")
        con.execute("SET allowed_paths = []")
        con.execute("SET temp_directory = ?", [spill])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def _write_info(self, command: str) -> None:
        info = {"command": command, "pid": os.getpid(), "since": now().isoformat()}
        tmp = self.layout.writer_info.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, self.layout.writer_info)


class WriteSession:
    """One writer's run of short transactions, holding the catalog between them while nobody waits.

    Attaching and detaching (with its checkpoint) costs more than a small commit, so a run
    that commits batch after batch keeps the file; whoever finds it busy leaves a marker,
    and the run lets go at its next `let_waiters_in()` (called between batches and while
    it waits for work), then pauses WRITER_GAP_S before attaching again.
    """

    def __init__(self, catalog: Catalog, command: str) -> None:
        self.catalog = catalog
        self.command = command
        self._con: duckdb.DuckDBPyConnection | None = None
        self._shared = False
        self._released_at = 0.0

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.catalog.damage_errors():
            con = self._attach()
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                self._rollback(con)
                raise
            con.execute("COMMIT")

    def let_waiters_in(self) -> None:
        if self._con is not None and self.catalog.others_waiting():
            self.release()

    def release(self) -> None:
        if self._con is None:
            return
        con, self._con = self._con, None
        self._released_at = time.monotonic()
        try:
            self.catalog.layout.writer_info.unlink(missing_ok=True)
        finally:
            self.catalog._release(con, self._shared)

    def _attach(self) -> duckdb.DuckDBPyConnection:
        if self._con is not None:
            return self._con
        pause = self._released_at + WRITER_GAP_S - time.monotonic()
        if self._released_at and pause > 0:
            time.sleep(pause)
        con, shared = self.catalog._connect(read_only=False)
        try:
            self.catalog._migrate(con)
            self.catalog._write_info(self.command)
        except BaseException:
            self.catalog._release(con, shared)
            raise
        self._con, self._shared = con, shared
        return con

    def _rollback(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # the connection is unusable: let it go
            self.release()


# Arrow type of a cadence column -> the type DuckDB reads it as from Parquet.
_SQL_TYPES = {"float": "FLOAT", "double": "DOUBLE", "int32": "INTEGER", "int64": "BIGINT",
              "dictionary<values=string, indices=int32, ordered=0>": "VARCHAR"}


def _private_spill_directory() -> str:
    """A new folder only this user can enter (a shared, predictable name could be planted with links)."""
    import tempfile

    return tempfile.mkdtemp(prefix="larun-lake-spill-")


def _empty_view(
    con: duckdb.DuckDBPyConnection, name: str, columns: list[tuple[str, str]], *, fail: bool = False
) -> None:
    """A typed view with no rows; with fail=True reading it raises instead (a stand-in never answers)."""
    # Plain SQL rather than a registered Arrow table: handing DuckDB a Python object imports pandas (0.3 s).
    select = ", ".join(f'CAST(NULL AS {sql_type}) AS "{column}"' for column, sql_type in columns)
    where = f"error('{name} was not loaded for this statement')" if fail else "false"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {select} WHERE {where}")


def _load_quality_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Replace the catalog's quality tables with the shipped ones (generated from lightkurve's flag classes)."""
    con.execute("DELETE FROM lake.quality_bits")
    con.execute("DELETE FROM lake.quality_masks")
    con.executemany(
        "INSERT INTO lake.quality_bits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [list(vars(r).values()) for r in quality.bit_rows()],
    )
    con.executemany(
        "INSERT INTO lake.quality_masks VALUES (?, ?, ?, ?, ?, ?)",
        [list(vars(r).values()) for r in quality.mask_rows()],
    )
    con.execute("INSERT OR REPLACE INTO lake.lake_meta VALUES ('quality_tables_sha256', ?)", [quality.tables_sha256()])


def _own_version() -> str:
    try:
        return version("larun-lake")
    except PackageNotFoundError:
        return "unknown version"


def resolve_lake(path: str | Path) -> LakeLayout:
    return LakeLayout.at(path)
