"""The lake's storage: one filesystem handle, resolved from the lake URL, for every lake file.

A lake is a local folder (`data/lake`, `file:///...`) or an object-store prefix
(`s3://bucket/prefix`; `gs://`, `az://` where pyarrow supports them). Everything below the
root is addressed by its relative path (`cadences/mission=TESS/.../part-....parquet`, as
the catalog stores it), and every read, write, listing and delete goes through `Storage`.

Object stores have no rename: there a file is written once under its final, unique name
and an upload becomes visible only when it completes, so readers never see half a file.
Credentials and endpoints come from the store's own environment variables
(`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...), never from the project's files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs

from ..errors import ConfigError, UsageError

REMOTE_SCHEMES = ("s3", "gs", "gcs", "az", "abfs")


def is_remote(url: str | os.PathLike[str]) -> bool:
    return isinstance(url, str) and urlparse(url).scheme in REMOTE_SCHEMES


def normalize_url(url: str | os.PathLike[str]) -> str:
    """A lake URL as the lake is named everywhere: an absolute local path, or scheme://bucket/prefix."""
    if is_remote(url):
        parsed = urlparse(str(url))
        prefix = parsed.path.strip("/")
        if not parsed.netloc:
            raise UsageError(f"lake URL {url} names no bucket", hint="use s3://BUCKET/PREFIX")
        return f"{parsed.scheme}://{parsed.netloc}/{prefix}".rstrip("/")
    text = str(url)
    if text.startswith("file://"):
        text = urlparse(text).path
    elif "://" in text:
        raise UsageError(f"lake URL {url}: unsupported scheme", hint="use a local path or s3://BUCKET/PREFIX")
    return str(Path(text).expanduser().resolve())


def _s3_filesystem() -> pafs.FileSystem:
    options: dict = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parsed = urlparse(endpoint)
        options["endpoint_override"] = parsed.netloc or parsed.path
        options["scheme"] = parsed.scheme or "https"
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["region"] = region
    return pafs.S3FileSystem(**options)


@dataclass(frozen=True)
class Storage:
    """Files below one lake root, on the filesystem the root's URL names."""

    url: str  # normalized: an absolute local path or scheme://bucket/prefix
    fs: pafs.FileSystem = field(compare=False, repr=False)
    base: str = field(compare=False, repr=False)  # the root as the filesystem names it

    @classmethod
    def from_url(cls, url: str | os.PathLike[str]) -> Storage:
        url = normalize_url(url)
        if not is_remote(url):
            return cls(url, pafs.LocalFileSystem(), url)
        parsed = urlparse(url)
        base = f"{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")
        try:
            if parsed.scheme == "s3":
                fs = _s3_filesystem()
            else:
                fs, _ = pafs.FileSystem.from_uri(url)
        except (pa.ArrowException, ValueError, OSError) as exc:
            raise ConfigError(f"cannot open lake {url}: {exc}", hint="check the URL and the store's credentials") from exc
        return cls(url, fs, base)

    def __reduce__(self):  # worker processes resolve the store again, with their own credentials
        return (Storage.from_url, (self.url,))

    # -- names ----------------------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        return not is_remote(self.url)

    def path(self, rel: str = "") -> str:
        """The filesystem's name for a relative path (what pyarrow readers take with `fs`)."""
        return posixpath.join(self.base, rel) if rel else self.base

    def local_path(self, rel: str = "") -> Path:
        if not self.is_local:
            raise ValueError(f"{self.url} is not a local lake")
        return Path(self.path(rel))

    # -- questions ------------------------------------------------------------------------------
    def _info(self, rel: str) -> pafs.FileInfo:
        return self.fs.get_file_info(self.path(rel))

    def exists(self, rel: str) -> bool:
        return self._info(rel).type == pafs.FileType.File

    def size(self, rel: str) -> int:
        return self._info(rel).size

    def list_files(self, rel: str = "", suffix: str = "", *, limit_one: bool = False) -> list[tuple[str, int]]:
        """(relative path, size) of every file below `rel`, from one recursive listing (a few requests)."""
        selector = pafs.FileSelector(self.path(rel), recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except (FileNotFoundError, NotADirectoryError):
            return []
        prefix = len(self.base) + 1
        out = []
        for info in infos:
            if info.type == pafs.FileType.File and info.path.endswith(suffix):
                out.append((info.path[prefix:], info.size))
                if limit_one:
                    break
        return sorted(out)

    def total_size(self, rel: str, suffix: str = "") -> int:
        return sum(size for _, size in self.list_files(rel, suffix))

    def sha256(self, rel: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open_input_stream(self.path(rel), compression=None) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()

    # -- reading and writing --------------------------------------------------------------------
    def open_input(self, rel: str) -> pa.NativeFile:
        return self.fs.open_input_file(self.path(rel))

    def open_output(self, rel: str) -> pa.NativeFile:
        """A new file, visible whole when the stream closes on an object store (locally: as written)."""
        self.make_dirs(posixpath.dirname(rel))
        return self.fs.open_output_stream(self.path(rel), compression=None)

    def read_bytes(self, rel: str) -> bytes:
        with self.fs.open_input_stream(self.path(rel), compression=None) as stream:
            return stream.read()

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Replace a small file whole: readers see the old content or the new, never a mix."""
        if not self.is_local:
            with self.fs.open_output_stream(self.path(rel), compression=None) as out:
                out.write(data)
            return
        tmp = f"{rel}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.make_dirs(posixpath.dirname(rel))
        try:
            with self.fs.open_output_stream(self.path(tmp), compression=None) as out:
                out.write(data)
            self.fs.move(self.path(tmp), self.path(rel))
        finally:
            self.delete(tmp)

    def create_exclusive(self, rel: str, data: bytes) -> bool:
        """Create a file only if nothing is there (a conditional write); False when it exists already."""
        if self.is_local:
            self.make_dirs(posixpath.dirname(rel))
            try:
                fd = os.open(self.path(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return True
        if urlparse(self.url).scheme == "s3":
            return _s3_create_exclusive(self.path(rel), data)
        if self.exists(rel):  # stores without conditional writes here: check, then write
            return False
        self.write_bytes(rel, data)
        return True

    def make_dirs(self, rel: str) -> None:
        if self.is_local:  # object stores have no folders (and empty "folder" objects confuse readers)
            self.fs.create_dir(self.path(rel), recursive=True)

    def move(self, src: str, dst: str) -> None:
        """A rename on a local lake; callers on object stores write final names instead."""
        if not self.is_local:
            raise ValueError("object stores have no rename: write the final name directly")
        self.make_dirs(posixpath.dirname(dst))
        self.fs.move(self.path(src), self.path(dst))

    # -- deleting -------------------------------------------------------------------------------
    def delete(self, rel: str) -> None:
        """Remove a file if it is there."""
        if self._is_s3():
            self.delete_many([rel])
            return
        try:
            self.fs.delete_file(self.path(rel))
        except FileNotFoundError:
            pass
        except OSError:
            if self.exists(rel):
                raise

    def delete_tree(self, rel: str) -> None:
        if self.is_local:
            if self._info(rel).type == pafs.FileType.Directory:
                self.fs.delete_dir(self.path(rel))
            return
        self.delete_many([child for child, _ in self.list_files(rel)])

    def delete_many(self, rels: list[str]) -> None:
        """Remove files; on S3 in bulk requests (up to 1,000 keys each)."""
        if not self._is_s3():
            for rel in rels:
                self.delete(rel)
            return
        if rels:
            # Not pyarrow's delete: it leaves an empty "folder" object behind to keep the parent, and
            # such objects make pandas' and fsspec's readers of the partitioned folders fail.
            with _as_os_error():
                s3_client().rm([self.path(rel) for rel in rels])

    def _is_s3(self) -> bool:
        return self.url.startswith("s3://")


def s3_client():
    """The s3fs client of this process for the store the AWS_* environment names (one per store settings)."""
    from ..extras import require

    s3fs = require("s3fs", "s3", "lakes on S3")
    # Endpoint and credentials from the standard AWS environment variables, as for pyarrow's filesystem.
    # Named explicitly so that s3fs's instance cache (per process, keyed by these arguments) hands back an
    # instance only for the same store: a new instance costs about half a second of session set-up.
    env = os.environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    return s3fs.S3FileSystem(
        endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
        key=env.get("AWS_ACCESS_KEY_ID"),
        secret=env.get("AWS_SECRET_ACCESS_KEY"),
        token=env.get("AWS_SESSION_TOKEN"),
        config_kwargs={"region_name": region} if region else {},
    )


def _s3_create_exclusive(path: str, data: bytes) -> bool:
    """S3's create-if-absent (If-None-Match: *) through s3fs, which pyarrow's S3 filesystem lacks."""
    fs = s3_client()
    try:
        with _as_os_error():
            fs.pipe_file(path, data, mode="create")
    except OSError as exc:
        if isinstance(exc, FileExistsError) or "PreconditionFailed" in str(exc) or "412" in str(exc):
            return False
        raise
    return True


@contextlib.contextmanager
def _as_os_error() -> Iterator[None]:
    """botocore's errors (an unreachable endpoint, refused credentials) as OSError, as pyarrow raises them."""
    try:
        yield
    except OSError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in ("botocore", "aiobotocore", "s3fs", "aiohttp"):
            raise
        raise OSError(" ".join(str(exc).split()) or type(exc).__name__) from exc
