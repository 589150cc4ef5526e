"""Filesystem access for lake data files, behind pyarrow's filesystem layer.

All moves, deletes and listings of data files go through here, so that the data
folders can later live on another pyarrow/fsspec filesystem (object storage).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

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


def remove_tree(path: Path) -> None:
    info = _LOCAL.get_file_info(str(path))
    if info.type == pafs.FileType.Directory:
        _LOCAL.delete_dir(str(path))


def exists(path: Path) -> bool:
    return _LOCAL.get_file_info(str(path)).type == pafs.FileType.File


def size(path: Path) -> int:
    return _LOCAL.get_file_info(str(path)).size


def list_files(root: Path, suffix: str = ".parquet") -> list[Path]:
    info = _LOCAL.get_file_info(str(root))
    if info.type != pafs.FileType.Directory:
        return []
    selector = pafs.FileSelector(str(root), recursive=True)
    return sorted(
        Path(i.path) for i in _LOCAL.get_file_info(selector) if i.type == pafs.FileType.File and i.path.endswith(suffix)
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with _LOCAL.open_input_stream(str(path)) as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
