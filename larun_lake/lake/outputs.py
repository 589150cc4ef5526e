"""Where a command may write a user's output file or folder, and how it gets there.

The rules: an output never goes into the lake folder nor over a folder that holds the lake (the lake
changes only through its own writers); without --overwrite nothing existing is replaced; with it, only
what the command itself would write is replaced: a file by a file, and a folder only when the caller
says it is an earlier output of the same kind (see `replaceable_folder`). Outputs are written under a
temporary name beside the target and renamed into place; temporaries of a killed run are removed by the
next run that writes beside them.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from ..errors import FileSystemError, UsageError
from . import files, processes

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)-[0-9a-f]{8}$")


def check_output(
    lake_root: Path,
    path: Path,
    *,
    overwrite: bool,
    folder: bool = False,
    replaceable_folder: Callable[[Path], bool] | None = None,
    replaceable_file: Callable[[Path], bool] | None = None,
    option: str = "--out",
) -> Path:
    """The absolute output path, or a UsageError naming the path and what to do instead.

    `replaceable_file`, when given, says whether an existing file is an earlier output of the same
    kind (otherwise --overwrite replaces any file, as a plain output file has nothing to tell it by)."""
    target = Path(os.path.abspath(path))
    real, lake = Path(os.path.realpath(target)), Path(os.path.realpath(lake_root))
    if real == lake or real.is_relative_to(lake):
        raise UsageError(f"{option} {path} is inside the lake {lake}", hint="write outputs outside the lake folder")
    if lake.is_relative_to(real):
        raise UsageError(f"{option} {path} holds the lake {lake}", hint="choose a path outside the lake folder")
    if not files.taken(target):
        _check_folder_can_hold(target)
        return target
    if not (os.path.isfile(target) or os.path.isdir(target)):  # a device, pipe or dangling link: never renamed over
        raise UsageError(
            f"{option} {path} is not a regular file or folder", hint="choose a new path (without it, sql prints rows)"
        )
    if not overwrite:
        raise UsageError(f"{option} {path} exists", hint="pass --overwrite to replace it, or choose another path")
    if folder and not files.is_dir(target):
        raise UsageError(f"{option} {path} is a file, not an output folder", hint="choose another path")
    if not folder and files.is_dir(target):
        raise UsageError(f"{option} {path} is a folder; --overwrite replaces a file only", hint="name a file")
    if not folder and replaceable_file and not replaceable_file(target):
        raise UsageError(
            f"{option} {path} is a file that is not an earlier output of this command",
            hint="--overwrite replaces only such a file: choose a new path",
        )
    if folder and not (replaceable_folder and replaceable_folder(target)):
        raise UsageError(
            f"{option} {path} is a folder that is not an earlier output of this command",
            hint="--overwrite replaces only such a folder: choose a new folder",
        )
    return target


def _check_folder_can_hold(target: Path) -> None:
    """The output's folder exists or can be made: no part of its path is a file (say so by the user's path)."""
    for ancestor in target.parents:
        if files.taken(ancestor):
            if not files.is_dir(ancestor):
                raise FileSystemError.from_os_error(OSError(errno.ENOTDIR, "Not a directory", str(target)))
            return


def temporary_beside(path: Path, kind: str = "tmp") -> Path:
    """A hidden sibling name that names this process, so a later run can tell a dead run's leftovers."""
    return path.parent / f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove temporaries beside `path` (of it or its manifest) left by runs that are no longer alive."""
    removed = []
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return removed
    for sibling in siblings:
        m = _TEMPORARY.match(sibling.name)
        if not m or not m.group("name").startswith(path.name) or processes.alive(int(m.group("pid"))):
            continue
        files.remove_any(sibling)
        removed.append(sibling)
    return removed
