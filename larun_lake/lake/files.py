"""Local files outside the lake's storage: user outputs, downloads in progress, the catalog's folder.

Lake files themselves (data, history, TIC, raw FITS, snapshots) go through `storage.Storage`,
which works on object stores too; this module is the local side, on pyarrow's local filesystem.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

_LOCAL = pafs.LocalFileSystem()


def make_dirs(path: Path) -> None:
    _LOCAL.create_dir(str(path), recursive=True)


def publish(staged: Path, final: Path) -> None:
    """Move a fully written file into place (an atomic rename on one filesystem)."""
    make_dirs(final.parent)
    _LOCAL.move(str(staged), str(final))


def remove(path: Path) -> None:
    info = _LOCAL.get_file_info(str(path))
    if info.type == pafs.FileType.File:
        _LOCAL.delete_file(str(path))


def remove_empty_dirs(path: Path, *, stop: Path) -> None:
    """Remove `path` and then its parents while they are empty folders, never `stop` or above it.

    os.rmdir refuses a folder that is not empty, so a folder another process has just put a
    file into survives (pyarrow's delete_dir would remove it with its contents).
    """
    while stop in path.parents:
        try:
            os.rmdir(path)
        except OSError:  # not empty, not there, or not ours to remove
            return
        path = path.parent


def remove_any(path: Path) -> None:
    """Remove a file or a folder tree, whichever is there."""
    remove(path)
    if _LOCAL.get_file_info(str(path)).type == pafs.FileType.Directory:
        _LOCAL.delete_dir(str(path))


def exists(path: Path) -> bool:
    return _LOCAL.get_file_info(str(path)).type == pafs.FileType.File


def is_dir(path: Path) -> bool:
    return _LOCAL.get_file_info(str(path)).type == pafs.FileType.Directory


def taken(path: Path) -> bool:
    """Anything (file or folder) is at this path."""
    return _LOCAL.get_file_info(str(path)).type != pafs.FileType.NotFound


def open_output(path: Path) -> pa.NativeFile:
    """A new file at `path` (a temporary name): a leftover or a link there is removed first, so that
    nothing is ever written through a link into the file it points at."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return pa.output_stream(open(path, "xb"))
