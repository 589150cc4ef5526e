"""Where a set is written: a local file or folder, or an object on a store (s3://bucket/sets/s1.parquet).

The rules are the same for both (see lake/outputs.py for local paths): never into the lake, nor over
what holds it; without --overwrite nothing existing is replaced; with it only an earlier set's output,
as the manifest beside it says; the output becomes visible whole, and only once the set is recorded.

Locally the output is written under a temporary name beside the target and renamed into place. An
object store has no rename: the object is sent as a multipart upload that is completed only at
publication (an upload abandoned by an error or a killed run never appears), and, without
--overwrite, completed only if the key is still free (a conditional write, where the store has one).
pyarrow's own output stream cannot be used for this: closing it, even after an error, completes the
upload and would publish half a file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import posixpath
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import pyarrow.fs as pafs

from ..errors import FileSystemError, UsageError
from ..extras import require
from ..lake import files
from ..lake.outputs import check_output, remove_stale_temporaries, temporary_beside
from ..lake.storage import Storage, is_remote, normalize_url, s3_client
from ..layout import LakeLayout

MANIFEST_SUFFIX = ".manifest.json"
FOLDER_FORMAT = "lightkurve-fits"
STALE_AFTER_S = 24 * 3600.0  # a temporary prefix on an object store untouched this long belongs to a dead run
_TEMPORARY = re.compile(r"^\..+\.tmp-\d+-[0-9a-f]{8}$")  # as lake.outputs.temporary_beside names them


def set_target(out: str | os.PathLike[str], layout: LakeLayout) -> SetTarget:
    """The target --out names: an object URL, or a local path (`file://` too)."""
    text = os.fspath(out)
    if is_remote(text):
        return ObjectTarget(text, layout)
    if text.startswith("file://"):
        text = urlparse(text).path
    return LocalTarget(Path(text), layout)


class Staged:
    """An output being written that appears at its final name only when published."""

    def open(self) -> IO[bytes] | Any:
        """The stream to write the file into (closing it does not publish)."""
        raise NotImplementedError

    @property
    def path(self) -> Path:
        """A local folder to write into (lightkurve-fits)."""
        raise UsageError("this output is written as one file, not a folder")

    def publish(self, *, replace: bool) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        """Remove what was written unless it was published (always safe to call)."""


class SetTarget:
    """A set's output and the manifest beside it."""

    display: str  # the output as users name it and as the set record keeps it
    name: str  # its last component

    def check(self, *, format: str, overwrite: bool) -> None:
        raise NotImplementedError

    def default_set_name(self, format: str) -> str:
        return self.name if format == FOLDER_FORMAT else posixpath.splitext(self.name)[0]

    @property
    def manifest_display(self) -> str:
        raise NotImplementedError

    def stage(self, *, exclusive: bool) -> Staged:
        raise NotImplementedError

    def stage_manifest(self, *, exclusive: bool) -> Staged:
        raise NotImplementedError

    def remove_output(self) -> None:
        """Remove the published output (its manifest could not follow it)."""
        raise NotImplementedError

    def remove_stale_temporaries(self) -> None:
        """Leftovers of killed runs beside the output, where they can be told from a live run's."""

    def parts_folder(self) -> tuple[Storage, str]:
        """The output's folder and a new temporary prefix in it, for parts written by tasks."""
        raise NotImplementedError

    @contextlib.contextmanager
    def failures(self) -> Iterator[None]:
        """Around the writing: a failure of the output's store becomes one line naming the output."""
        yield


# -- local paths ---------------------------------------------------------------------------------
class _LocalStaged(Staged):
    def __init__(self, final: Path) -> None:
        self.final = final
        self.tmp = temporary_beside(final)

    def open(self):
        files.make_dirs(self.final.parent)
        return files.open_output(self.tmp)

    @property
    def path(self) -> Path:
        files.make_dirs(self.final.parent)
        return self.tmp

    def publish(self, *, replace: bool) -> None:
        _publish(self.tmp, self.final, replace=replace)

    def discard(self) -> None:
        files.remove_any(self.tmp)


class LocalTarget(SetTarget):
    def __init__(self, path: Path, layout: LakeLayout) -> None:
        self.path = Path(os.path.abspath(path))
        self.protected = layout.protected_root
        self.display = str(self.path)
        self.name = self.path.name

    @property
    def manifest_path(self) -> Path:
        return manifest_path_for(self.path)

    @property
    def manifest_display(self) -> str:
        return str(self.manifest_path)

    def check(self, *, format: str, overwrite: bool) -> None:
        self.path = check_set_output(self.protected, self.path, format=format, overwrite=overwrite)
        check_output(self.protected, self.manifest_path, overwrite=overwrite)

    def stage(self, *, exclusive: bool) -> Staged:
        return _LocalStaged(self.path)

    def stage_manifest(self, *, exclusive: bool) -> Staged:
        return _LocalStaged(self.manifest_path)

    def remove_output(self) -> None:
        files.remove_any(self.path)

    def remove_stale_temporaries(self) -> None:
        remove_stale_temporaries(self.path)

    def parts_folder(self) -> tuple[Storage, str]:
        return Storage.from_url(self.path.parent), temporary_beside(self.path).name


def manifest_path_for(path: Path) -> Path:
    return path.parent / f"{path.name}{MANIFEST_SUFFIX}"


def check_set_output(lake_root: Path, path: Path, *, format: str, overwrite: bool) -> Path:
    """Where a set may be written (see lake.outputs): --overwrite replaces only an earlier set's file or folder."""
    folder = format == FOLDER_FORMAT
    return check_output(
        lake_root,
        path,
        overwrite=overwrite,
        folder=folder,
        replaceable_folder=_earlier_fits_set,
        replaceable_file=_earlier_set_file,
    )


def _earlier_output(path: Path) -> dict | None:
    """The output entry of the manifest beside `path` when that manifest names `path`."""
    try:
        manifest = json.loads(manifest_path_for(path).read_text())
    except (OSError, ValueError):
        return None
    output = manifest.get("output") if isinstance(manifest, dict) else None
    if not isinstance(output, dict) or Path(str(output.get("path", ""))) != path:
        return None
    return output


def _earlier_set_file(path: Path) -> bool:
    """A file an earlier set wrote (never a user's file, nor another set's manifest)."""
    output = _earlier_output(path)
    return output is not None and output.get("format") != FOLDER_FORMAT


def _earlier_fits_set(folder: Path) -> bool:
    """A folder an earlier lightkurve-fits set wrote: its manifest beside it names it, and it holds FITS files only."""
    output = _earlier_output(folder)
    if output is None or output.get("format") != FOLDER_FORMAT:
        return False
    return all(entry.is_file() and entry.name.endswith(".fits") for entry in folder.iterdir())


def _publish(tmp: Path, final: Path, *, replace: bool) -> None:
    """Rename into place; a replaced folder is moved aside first (rename cannot replace a folder)."""
    aside = None
    if replace and files.is_dir(final):  # a folder cannot be renamed over: move the old one aside first
        aside = temporary_beside(final, "old")
        files.publish(final, aside)
    elif not replace and files.taken(final):
        raise UsageError(f"{final} appeared while writing", hint="pass --overwrite or choose another --out")
    files.publish(tmp, final)
    if aside is not None:
        files.remove_any(aside)


# -- objects ---------------------------------------------------------------------------------------
def _object_filesystem(scheme: str):
    """The fsspec filesystem of a store. On S3 the lake's own client: one per store and process, since
    a new one costs 0.3-0.8 s of set-up at its first request (measured against a loopback S3)."""
    if scheme == "s3":
        return s3_client()
    fsspec = require("fsspec", "s3", "outputs on object storage")
    try:
        return fsspec.filesystem(scheme)
    except (ImportError, ValueError) as exc:
        raise UsageError(
            f"cannot write to {scheme}:// here ({exc})", hint="write the set to s3:// or a local path"
        ) from None


class _ObjectStaged(Staged):
    """A multipart upload completed only by publish (fsspec's autocommit=False)."""

    def __init__(self, fs, url: str, *, exclusive: bool) -> None:
        parsed = urlparse(url)
        self.url = url
        self.fs = fs
        self.key = f"{parsed.netloc}/{parsed.path.lstrip('/')}"
        # S3 completes an upload opened with "xb" only if nothing is at the key by then.
        self.mode = "xb" if exclusive and parsed.scheme == "s3" else "wb"
        self.exclusive = exclusive
        self._file = None
        self._published = False

    def open(self):
        self._file = self.fs.open(self.key, self.mode, autocommit=False)
        return self._file

    def publish(self, *, replace: bool) -> None:
        if self._file is None:
            raise RuntimeError("nothing was written")
        self._file.close()  # uploads what is buffered; the object does not exist yet
        self.fs.invalidate_cache(self.key)
        if self.exclusive and self.mode == "wb" and self.fs.exists(self.key):
            raise UsageError(f"{self.url} appeared while writing", hint="pass --overwrite or choose another --out")
        try:
            self._file.commit()
        except FileExistsError:
            raise UsageError(
                f"{self.url} appeared while writing", hint="pass --overwrite or choose another --out"
            ) from None
        self._published = True

    def discard(self) -> None:
        if self._file is not None and not self._published:
            # Aborts the multipart upload: the store drops its parts. An abort that fails (the store is
            # unreachable) leaves an upload that never completes, invisible: the first error is the one to raise.
            with contextlib.suppress(OSError):
                self._file.discard()
            self._file = None


class ObjectTarget(SetTarget):
    def __init__(self, url: str, layout: LakeLayout) -> None:
        parsed = urlparse(url)
        key = parsed.path.lstrip("/")
        if not parsed.netloc or not key or key.endswith("/"):
            raise UsageError(f"--out {url} names no object", hint="e.g. --out s3://BUCKET/sets/NAME.parquet")
        if any(part in ("", ".", "..") for part in key.split("/")):
            # A store that resolved them could be led into the lake's own prefix.
            raise UsageError(f"--out {url}: an object key with empty, '.' or '..' parts",
                             hint="name the object by its plain key, e.g. s3://BUCKET/sets/NAME.parquet")
        self.scheme, self.bucket, self.key = parsed.scheme, parsed.netloc, key
        self.display = f"{parsed.scheme}://{parsed.netloc}/{key}"
        parent, self.name = posixpath.split(key)
        self.folder = Storage.from_url(f"{parsed.scheme}://{parsed.netloc}/{parent}")
        self.lake_url = layout.url

    @property
    def manifest_name(self) -> str:
        return f"{self.name}{MANIFEST_SUFFIX}"

    @property
    def manifest_display(self) -> str:
        return f"{self.display}{MANIFEST_SUFFIX}"

    def check(self, *, format: str, overwrite: bool) -> None:
        if format == FOLDER_FORMAT:
            raise UsageError(
                f"--out {self.display}: lightkurve-fits writes a folder of files, which goes to a local path only",
                hint="write parquet, parquet-nested or csv to object storage, or the FITS folder to a local path",
            )
        self._check_outside_lake()
        if self.folder.list_files(self.name + "/", limit_one=True):
            raise UsageError(f"--out {self.display} is a folder (a prefix holding objects)", hint="name an object")
        if self.folder.exists(self.name):
            if not overwrite:
                raise UsageError(
                    f"--out {self.display} exists", hint="pass --overwrite to replace it, or choose another path"
                )
            if not self._earlier_set_object():
                raise UsageError(
                    f"--out {self.display} is an object that is not an earlier output of this command",
                    hint="--overwrite replaces only such an object: choose a new path",
                )
        if not overwrite and self.folder.exists(self.manifest_name):
            raise UsageError(
                f"--out {self.manifest_display} exists", hint="pass --overwrite to replace it, or choose another path"
            )

    def _check_outside_lake(self) -> None:
        """Never into the lake's prefix, nor at a key that is the lake's prefix or one of its parents."""
        if not is_remote(self.lake_url):
            return
        lake = urlparse(normalize_url(self.lake_url))
        if (lake.scheme, lake.netloc) != (self.scheme, self.bucket):
            return
        prefix = lake.path.strip("/")
        if not prefix or self.key == prefix or self.key.startswith(prefix + "/"):
            raise UsageError(
                f"--out {self.display} is inside the lake {self.lake_url}",
                hint="write outputs outside the lake's prefix",
            )
        if prefix.startswith(self.key + "/"):
            raise UsageError(
                f"--out {self.display} holds the lake {self.lake_url}", hint="choose a path outside the lake's prefix"
            )

    def _earlier_set_object(self) -> bool:
        try:
            manifest = json.loads(self.folder.read_bytes(self.manifest_name))
        except (OSError, ValueError):
            return False
        output = manifest.get("output") if isinstance(manifest, dict) else None
        return isinstance(output, dict) and output.get("path") == self.display and output.get("format") != FOLDER_FORMAT

    @functools.cached_property
    def _fs(self):
        return _object_filesystem(self.scheme)

    def stage(self, *, exclusive: bool) -> Staged:
        return _ObjectStaged(self._fs, self.display, exclusive=exclusive)

    def stage_manifest(self, *, exclusive: bool) -> Staged:
        return _ObjectStaged(self._fs, self.manifest_display, exclusive=exclusive)

    def remove_output(self) -> None:
        self.folder.delete(self.name)

    def remove_stale_temporaries(self) -> None:
        """Task parts of runs killed before they cleaned up. Whether a run on another machine still lives
        cannot be asked, so a temporary prefix none of whose objects changed for STALE_AFTER_S is a dead run's."""
        selector = pafs.FileSelector(self.folder.path(), recursive=False, allow_not_found=True)
        mine = f".{self.name}.tmp-"
        for entry in self.folder.fs.get_file_info(selector):
            name = posixpath.basename(entry.path)
            if entry.type != pafs.FileType.Directory or not name.startswith(mine) or not _TEMPORARY.match(name):
                continue
            inside = self.folder.fs.get_file_info(pafs.FileSelector(entry.path, recursive=True))
            newest = max((i.mtime for i in inside if i.mtime is not None), default=None)
            if newest is None or (datetime.now(UTC) - newest).total_seconds() > STALE_AFTER_S:
                self.folder.delete_tree(name)

    def parts_folder(self) -> tuple[Storage, str]:
        return self.folder, f".{self.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"

    @contextlib.contextmanager
    def failures(self) -> Iterator[None]:
        # The object-store client's own errors (the store unreachable, a request refused); the lake's
        # reads raise OSError through pyarrow, and those keep their own meaning.
        try:
            yield
        except _client_errors() as exc:
            reason = " ".join((str(exc).strip().partition("\n")[0] or type(exc).__name__).split())
            raise FileSystemError(
                f"cannot write {self.display}: {reason}",
                hint="check that the store is reachable and its credentials may write there, then run the "
                "command again; nothing was published",
            ) from exc


def _client_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    with contextlib.suppress(ImportError):
        from botocore.exceptions import BotoCoreError, ClientError

        errors += [BotoCoreError, ClientError]
    with contextlib.suppress(ImportError):
        from aiohttp import ClientError as HttpClientError

        errors.append(HttpClientError)
    return tuple(errors)


def output_present(output: str | None) -> bool:
    """Whether a set's output is still where it was written (users move and delete them)."""
    if not output:
        return False
    if is_remote(output):
        parsed = urlparse(output)
        parent, name = posixpath.split(parsed.path.lstrip("/"))
        return Storage.from_url(f"{parsed.scheme}://{parsed.netloc}/{parent}").exists(name)
    return files.taken(Path(output))


# -- forgetting a set ----------------------------------------------------------------------------
def owned_outputs(record: dict[str, Any], layout: LakeLayout) -> tuple[list[str], str | None]:
    """What a recorded set wrote and may take away with it: its output and manifest, as the set record
    names them, when the manifest there is still this set's (same name, content hash and output) and the
    output is still what the set wrote (a file, or a folder of FITS files only), outside the lake.

    Returns (the paths or URLs present, None), or ([], why nothing may be removed)."""
    output, manifest_at = str(record["output_path"]), str(record["manifest_path"])
    if is_remote(output):
        target = ObjectTarget(output, layout)
        read_manifest = functools.partial(target.folder.read_bytes, target.manifest_name)
    else:
        target = LocalTarget(Path(output), layout)
        read_manifest = Path(manifest_at).read_bytes
    if target.manifest_display != manifest_at:
        return [], f"its manifest {manifest_at} is not beside its output"
    try:
        manifest = json.loads(read_manifest())
    except (OSError, ValueError):
        return [], f"its manifest {manifest_at} is gone or unreadable, so the output cannot be told to be the set's"
    written = manifest.get("output") if isinstance(manifest, dict) else None
    if (
        manifest.get("name") != record["name"]
        or manifest.get("content_hash") != record["content_hash"]
        or not isinstance(written, dict)
        or str(written.get("path")) != output
    ):
        return [], f"{manifest_at} now describes another set's output"
    if isinstance(target, ObjectTarget):
        target._check_outside_lake()
        present = [target.display] if target.folder.exists(target.name) else []
        return [*present, target.manifest_display], None
    path = target.path
    real, lake = Path(os.path.realpath(path)), Path(os.path.realpath(layout.protected_root))
    if real.is_relative_to(lake) or lake.is_relative_to(real):
        return [], f"{path} is inside or holds the lake"
    if files.is_dir(path) and not _earlier_fits_set(path):
        return [], f"{path} is a folder that holds more than the set's FITS files"
    present = [str(path)] if files.taken(path) else []
    return [*present, manifest_at], None


def remove_outputs(paths: list[str], layout: LakeLayout) -> None:
    """Remove what `owned_outputs` returned: the output first, its manifest (which proves it the set's) last."""
    for entry in paths:
        if is_remote(entry):
            ObjectTarget(entry, layout).remove_output()
        else:
            files.remove_any(Path(entry))
