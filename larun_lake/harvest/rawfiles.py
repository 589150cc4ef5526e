"""Harvested FITS files in the lake's raw area when the lake is on object storage.

Downloads land on a local disk (the writer's, or a worker's); `--keep-fits` then keeps them
in the lake itself, under the same raw/mastDownload/... names a local lake uses. A complete
copy found there later is ingested without asking MAST again.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from ..lake import files
from ..lake.storage import Storage

_COPY_CHUNK = 1 << 20
FOLDER_LISTINGS_MAX = 32  # past this many product folders, list each collection's folder once instead


def keep_in_store(store: Storage, rel: str, local: Path) -> None:
    """Copy a downloaded file into the lake (on an object store the object appears whole when the upload ends)."""
    with open(local, "rb") as src, store.open_output(rel) as out:  # a download on local disk
        while chunk := src.read(_COPY_CHUNK):
            out.write(chunk)


def pull_from_store(store: Storage, rel: str, dest: Path) -> None:
    """Copy a kept file from the lake to a local path: complete or absent, as a download is."""
    part = dest.with_name(dest.name + ".part")
    files.make_dirs(dest.parent)
    try:
        with store.open_input(rel) as src, files.open_output(part) as out:  # never written through a link
            while chunk := src.read(_COPY_CHUNK):
                out.write(chunk)
        files.publish(part, dest)
    finally:
        files.remove(part)


def stored_sizes(store: Storage, rels: list[str]) -> dict[str, int]:
    """Size of each of these raw files that the store holds, from a few listings rather than a request per file."""
    folders = sorted({posixpath.dirname(rel) for rel in rels})
    if len(folders) > FOLDER_LISTINGS_MAX:  # raw/mastDownload/<collection>/<obs_id>: list by collection
        folders = sorted({posixpath.dirname(folder) for folder in folders})
    wanted = set(rels)
    return {rel: size for folder in folders for rel, size in store.list_files(folder) if rel in wanted}
