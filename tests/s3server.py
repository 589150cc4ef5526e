"""A loopback S3-compatible object store for tests: moto's server on 127.0.0.1, and the environment that points
every client at it (pyarrow, s3fs, DuckDB through s3fs, the CLI in a subprocess, Dask workers).

Clients find the store through the standard AWS variables only, as users' machines do. Notes measured here:
- `pyarrow.fs.FileSystem.from_uri("s3://...")` honours AWS_ENDPOINT_URL; `pyarrow.fs.S3FileSystem()` built with
  no arguments does not (pass `endpoint_override`). Both pickle with the endpoint inside.
- `s3fs.S3FileSystem()` reads AWS_ENDPOINT_URL when it is created, but a pickled instance does not carry it (pass
  `endpoint_url` to carry it), and s3fs caches instances by their arguments, not by the environment: clear the
  cache whenever the environment changes (`use_s3_server` does).
- moto keeps its buckets in process memory shared by every server started in this process: stopping a server and
  starting one on the same port keeps the objects.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept out of the import: worker processes import this module to run `put_from_environment`
    import pytest

REGION = "us-east-1"

# Any key is accepted by moto; the files point away from the user's ~/.aws.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


class S3Server:
    """moto's ThreadedMotoServer on 127.0.0.1, on a port the system picks (kept across `restart`)."""

    def __init__(self) -> None:
        self.port = 0
        self._server = None
        self._fs = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> S3Server:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO, even with verbose=False: keep test output readable.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self.port = server.get_host_and_port()[1]
        self._server = server
        return self

    def stop(self) -> None:
        """Close the port: clients now get "connection refused" (the store is unreachable)."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def restart(self) -> None:
        """Serve again on the same port, with the objects that were there."""
        self.stop()
        self.start()

    def env(self) -> dict[str, str]:
        """The environment a client (or a process started later) needs to reach this store."""
        return {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def filesystem(self):
        """An s3fs filesystem on this store that carries its endpoint (also when pickled). One per server:
        building an S3 client takes about half a second."""
        import s3fs

        if self._fs is None:
            self._fs = s3fs.S3FileSystem(
                endpoint_url=self.endpoint,
                key=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                secret=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                # Not client_kwargs: s3fs would send it as the new bucket's location, which us-east-1 must not have.
                config_kwargs={"region_name": REGION},
                skip_instance_cache=True,
                # Other clients (pyarrow, workers, the CLI) write too: never answer a listing from memory.
                use_listings_cache=False,
            )
        return self._fs

    def create_bucket(self, prefix: str = "lake") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.filesystem().mkdir(name)
        return name


def use_s3_server(monkeypatch: pytest.MonkeyPatch, server: S3Server) -> None:
    """Point this process's environment (and so every process started after it) at `server`."""
    import s3fs

    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    # s3fs hands back a cached instance for the same arguments, which would still hold the old endpoint.
    s3fs.S3FileSystem.clear_instance_cache()


def put_from_environment(url: str, payload: bytes) -> dict:
    """Write `payload` to `url` finding the store through this process's environment alone, and say which process
    did it. Dask tests run it on workers; it lives here, not in a test module, because a worker imports the
    module of every task it runs, and a test module's imports (DuckDB, pandas, ...) cost seconds per worker."""
    import pyarrow.fs

    import larun_lake

    fs, path = pyarrow.fs.FileSystem.from_uri(url)
    with fs.open_output_stream(path) as out:
        out.write(payload)
    return {
        "pid": os.getpid(),
        "larun_lake": larun_lake.__file__,
        "home": os.environ["HOME"],
        "aws_config": os.environ["AWS_CONFIG_FILE"],
    }
