"""Every domain error LARUN Lake raises, with the exit code the CLI maps it to.

Messages are one line that names the input and says what to do next; `transient`
says whether retrying the same operation later can help.
"""

from __future__ import annotations

import errno
import re

# Exit codes; the README's table says what each means to a user.
EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_LAKE = 3
EXIT_MAST = 4
EXIT_INTERNAL = 70  # a bug in LARUN Lake itself (the EX_SOFTWARE of sysexits.h), never a verdict on the input
EXIT_INTERRUPTED = 130


class LarunLakeError(Exception):
    """Root of every error LARUN Lake raises on purpose."""

    exit_code = EXIT_LAKE
    transient = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        # The hint ends the first line; detail lines (e.g. DuckDB's position marker) follow it.
        head, newline, detail = self.message.partition("\n")
        return (f"{head} ({self.hint})" if self.hint else head) + newline + detail

    def __reduce__(self):  # picklable across worker processes
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type, state: dict) -> LarunLakeError:
    err = Exception.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class UsageError(LarunLakeError):
    """The caller asked for something malformed: bad option, bad id, bad query."""

    exit_code = EXIT_USAGE


class ConfigError(LarunLakeError):
    """A setting from the environment (LARUN_LAKE_*) is malformed or out of range."""


class FileSystemError(LarunLakeError):
    """A path a command must create, read or write is unusable: missing folder, no permission, disk full."""

    @classmethod
    def from_os_error(cls, exc: OSError) -> FileSystemError:
        path = exc.filename
        reason = exc.strerror or re.sub(r"^\[Errno \d+\]\s*", "", str(exc)) or type(exc).__name__
        message = f"{path}: {reason}" if path else reason
        return cls(" ".join(message.split()), hint=_OS_HINTS.get(exc.errno, "check the path"))


_OS_HINTS = {
    errno.ENOSPC: "free some disk space and run the command again",
    errno.EDQUOT: "free some disk space and run the command again",
    errno.EACCES: "check the permissions of the path",
    errno.EPERM: "check the permissions of the path",
    errno.EROFS: "choose a path on a writable file system",
    errno.ENOENT: "check that the path and its folders exist and may be written",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "something else already exists there; is a part of the path a file?",
}


class NotALakeError(LarunLakeError):
    """The path given as a lake does not exist or holds no catalog."""


class NotInLakeError(LarunLakeError):
    """The lake holds nothing that matches what was asked for (import or harvest it first)."""


class LakeDamagedError(LarunLakeError):
    """The catalog refers to data files that are gone or altered."""


class LakeWriteError(LarunLakeError):
    """Writing to the lake's storage failed (disk full, no permission, read-only): no file can go on."""

    def __init__(self, root: str, reason: str) -> None:
        remote = "://" in root and not root.startswith("file://")
        fix = ("check that the store is reachable and the credentials may write" if remote
               else "free space or fix the folder's permissions")
        super().__init__(
            f"cannot write to the lake at {root}: {reason}",
            hint=f"{fix}, then run the command again; what was committed before stays",
        )
        self.root = root
        self.reason = reason


class SchemaVersionError(LarunLakeError):
    """The catalog was written by a newer LARUN Lake."""


class LakeBusyError(LarunLakeError):
    """Another process holds the catalog longer than we were willing to wait."""

    transient = True


class ReadOnlyViolation(UsageError):
    """A statement given to the read-only SQL surface would change the lake."""


class QueryError(UsageError):
    """DuckDB rejected a user's query (syntax, unknown column, ...)."""


class ProductError(LarunLakeError):
    """A single input file or product could not be ingested.

    `state` is the products state it leads to: 'quarantined' (terminal content
    problem), 'skipped' (a recognised file that is not a light curve) or
    'failed' (transient: I/O, network, lock).
    """

    def __init__(self, path: str, reason: str, *, state: str = "quarantined") -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.state = state
        self.transient = state == "failed"


class ApertureError(ProductError):
    """The aperture asked for does not fit one pixel file (another stamp shape, no pipeline aperture).

    The file itself is fine: its product keeps the state it has, and only the run says it failed."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason, state="failed")


class MastUnavailableError(LarunLakeError):
    """MAST (or the configured MAST-compatible server) could not be reached."""

    exit_code = EXIT_MAST
    transient = True


class MastResponseError(LarunLakeError):
    """MAST answered, but not with what was asked for (an error status, rows outside the query)."""

    exit_code = EXIT_MAST
