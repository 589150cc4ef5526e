"""The catalog of a lake on object storage: a local file on the writing machine, snapshots for everyone else.

DuckDB needs a local file to write. So the machine that writes keeps the catalog on its own
disk and ends every writing command by publishing a snapshot into the lake (snapshot.py).
One machine writes at a time: it holds `<lake>/_catalog/LEASE`, created with a conditional
write (create-if-absent), renewed while the command runs and expiring after LEASE_S, so that
a writer that died does not lock the lake for ever. A writer whose local catalog is missing,
or older than the lake's latest snapshot (another machine wrote since), starts from that
snapshot. A machine that only reads opens the latest snapshot, restored once into a file in
its cache folder, and reads the data files straight from the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import LakeBusyError
from ..lake import processes
from ..layout import LakeLayout
from . import snapshot

if TYPE_CHECKING:
    from .db import Catalog

LEASE = f"{snapshot.SNAPSHOT}/LEASE"
LEASE_S = 300.0  # a lease not renewed for this long belongs to a dead writer
RENEW_S = 60.0


def _lease_text(command: str) -> bytes:
    now = datetime.now(UTC)
    return json.dumps({
        "host": socket.gethostname(), "pid": os.getpid(), "command": command,
        "since": now.isoformat(timespec="seconds"),
        "expires": (now + timedelta(seconds=LEASE_S)).isoformat(timespec="seconds"),
    }).encode()


def _holder(layout: LakeLayout) -> dict | None:
    try:
        info = json.loads(layout.store.read_bytes(LEASE))
        return info if isinstance(info, dict) else {}
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _mine(info: dict) -> bool:
    return info.get("host") == socket.gethostname() and info.get("pid") == os.getpid()


def _expired(info: dict) -> bool:
    """Not renewed in time, or held by a process of this machine that has died (killed, say)."""
    pid = info.get("pid")
    if info.get("host") == socket.gethostname() and isinstance(pid, int) and not processes.alive(pid):
        return True
    try:
        return datetime.fromisoformat(info["expires"]) < datetime.now(UTC)
    except (KeyError, TypeError, ValueError):
        return True  # unreadable: a writer cut off while writing it


class Lease:
    """This process's hold on a remote lake's writing side, renewed in the background until released."""

    def __init__(self, layout: LakeLayout, command: str) -> None:
        self.layout = layout
        self.command = command
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        delay = 0.2
        store = self.layout.store
        while True:
            if store.create_exclusive(LEASE, _lease_text(self.command)):
                break
            info = _holder(self.layout)
            if info is not None and (_mine(info) or _expired(info)):
                store.write_bytes(LEASE, _lease_text(self.command))  # ours again, or a dead writer's
                break
            if time.monotonic() + delay > deadline:
                info = info or {}
                raise LakeBusyError(
                    f"lake busy: writer on {info.get('host', 'another machine')} since {info.get('since', '?')}"
                    f" ({info.get('command', 'a command')}, pid {info.get('pid', '?')})",
                    hint="retry later or raise --wait; a writer that died lets go when its lease expires "
                    f"({LEASE_S:.0f} s after its last renewal)",
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        self._thread = threading.Thread(target=self._renew, name="larun-lake-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(RENEW_S):
            with contextlib.suppress(OSError):  # the store is unreachable: the command fails on its next write
                self.layout.store.write_bytes(LEASE, _lease_text(self.command))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError):  # the store unreachable: the lease expires by itself
            info = _holder(self.layout)
            if info is not None and (not info or _mine(info)):
                self.layout.store.delete(LEASE)


@contextmanager
def writing(catalog: Catalog, command: str) -> Iterator[None]:
    """Hold the lake's lease, bring the local catalog up to the lake's latest snapshot, and release."""
    lease = Lease(catalog.layout, command)
    lease.acquire(catalog.wait_s)
    try:
        if not local_is_current(catalog):
            restore_local(catalog)
        yield
    finally:
        lease.release()


def _snapshot_version(catalog: Catalog) -> tuple[str | None, str | None]:
    """(snapshot version, lake id) the local catalog last published or was restored from."""
    with catalog.read(sandbox=False, surface=False, local=True) as con:
        meta = dict(con.execute(
            "SELECT key, value FROM lake.lake_meta WHERE key IN ('snapshot_version', 'lake_id')").fetchall())
    return meta.get("snapshot_version"), meta.get("lake_id")


def local_is_current(catalog: Catalog) -> bool:
    """Whether the local catalog knows everything the lake's latest snapshot does."""
    found = snapshot.latest(catalog.layout)
    if not catalog.exists():
        return found is None
    if found is None:
        return True
    version, lake_id = _snapshot_version(catalog)
    return lake_id == found[1].get("lake_id") and version is not None and version >= found[1]["version"]


def restore_local(catalog: Catalog) -> None:
    """Replace the local catalog by the lake's latest snapshot (the old file is kept beside it)."""
    found = snapshot.latest(catalog.layout)
    path = catalog.layout.catalog
    if catalog.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path.rename(path.with_name(f"{path.name}.stale-{stamp}"))
    if found is not None:
        _restore_into(catalog.layout, path, found[0])


def snapshot_catalog(layout: LakeLayout) -> Path | None:
    """A local catalog file restored from the lake's latest snapshot, made once per snapshot and cached."""
    found = snapshot.latest(layout)
    if found is None:
        return None
    rel, info = found
    # The folder is named after the catalog file, so that it is this program's own even beside a user's files;
    # the lake id comes from the store and is used in a name only when it is a plain id.
    folder = layout.catalog.with_name(f"{layout.catalog.name}.snapshots")
    lake_id = str(info.get("lake_id") or "")
    lake_id = lake_id if re.fullmatch(r"[A-Za-z0-9]{1,64}", lake_id) else "lake"
    path = folder / f"{lake_id}-{info['version']}.duckdb"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{path.name}.tmp-{os.getpid()}"
        try:
            _restore_into(layout, tmp, rel)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        for old in folder.iterdir():  # this lake's earlier snapshots are of no further use; nothing else goes
            if old != path and re.fullmatch(rf"{lake_id}-v\d{{6}}\.duckdb", old.name):
                old.unlink(missing_ok=True)
    return path


def _restore_into(layout: LakeLayout, path: Path, rel: str) -> None:
    from .db import Catalog

    path.parent.mkdir(parents=True, exist_ok=True)
    target = Catalog(LakeLayout(layout.store, catalog=path))
    with target.write("restore snapshot") as con:
        snapshot.restore(con, layout, rel)
