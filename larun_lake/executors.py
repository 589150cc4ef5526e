"""Where per-file work runs: this machine's process pool, or a Dask cluster.

The work handed out (FITS -> Parquet for a chunk of files, say) is a pure function of its
inputs that writes straight to lake storage under deterministic names and returns
metadata; only the calling process writes the catalog. Dask may run a task twice (when a
worker dies holding finished results, they are computed again), which is harmless for
such tasks: the second run writes the same names, and the caller registers each once.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from . import quality
from .errors import ConfigError, UsageError
from .extras import require


class TaskRunner:
    """Submits tasks and hands back futures with `.result(timeout=...)`."""

    def submit(self, fn: Callable, *args: Any) -> Future:
        raise NotImplementedError

    def share(self, value: Any) -> Any:
        """A value every task takes: sent to the workers once where that helps."""
        return value

    def check_inputs(self, paths: Iterable[Path]) -> None:
        """Refuse, before any work starts, input files the workers cannot read."""

    def close(self, *, cancel: bool = False) -> None:
        pass

    @property
    def workers(self) -> int:
        return 1

    def __enter__(self) -> TaskRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close(cancel=exc[0] is not None)


class LocalRunner(TaskRunner):
    """A process pool on this machine (the default), started on first use."""

    def __init__(self, workers: int) -> None:
        self._workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, fn: Callable, *args: Any) -> Future:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=_worker_context(),
                initializer=_init_worker,
                initargs=(quality.mask_rows(), os.getpid()),
            )
        return self._pool.submit(fn, *args)

    def close(self, *, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=True)
            self._pool = None


class ExecutorRunner(TaskRunner):
    """Any `concurrent.futures.Executor` a caller passes in (the caller owns and shuts it down)."""

    def __init__(self, executor: Executor, workers: int | None = None) -> None:
        self._executor = executor
        self._workers = workers or getattr(executor, "_max_workers", None) or os.cpu_count() or 1

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, fn: Callable, *args: Any) -> Future:
        return self._executor.submit(fn, *args)


class DaskRunner(TaskRunner):
    """Tasks on a Dask cluster: a caller's `distributed.Client`, a scheduler address, or a LocalCluster
    sized to this machine when no address is given (closed again with the runner)."""

    def __init__(self, client: Any = None, *, scheduler: str | None = None) -> None:
        distributed = require("distributed", "dask", "the dask executor")
        self._owned: list[Any] = []
        if client is None:
            if scheduler:
                try:
                    client = distributed.Client(scheduler, timeout="10s")
                except OSError as exc:  # a configuration problem, as an unreachable lake is
                    raise ConfigError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})",
                                      hint="check the address (tcp://HOST:8786) and that the scheduler runs") from None
            else:
                cluster = distributed.LocalCluster(
                    n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=None
                )
                client = distributed.Client(cluster)
                self._owned.append(cluster)
            self._owned.insert(0, client)
        self.client = client

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def submit(self, fn: Callable, *args: Any) -> Future:
        # pure=False: every submission is its own task; a re-run after a lost worker keeps its key and inputs.
        return self.client.submit(fn, *args, pure=False)

    def share(self, value: Any) -> Any:
        return self.client.scatter([value], broadcast=True, hash=False)[0]  # a list: one value, not its items

    def check_inputs(self, paths: Iterable[Path]) -> None:
        """Every worker must see the input files (a shared filesystem); a local-only path is refused."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        sample = sorted({paths[0], paths[-1], paths[len(paths) // 2]})
        seen = self.client.run(_all_readable, sample)
        blind = sorted(worker for worker, ok in seen.items() if not ok)
        if blind:
            raise UsageError(
                f"the Dask workers at {', '.join(blind)} cannot read {sample[0]}",
                hint="put the files on a filesystem the workers share, or use --executor local",
            )

    def close(self, *, cancel: bool = False) -> None:
        for owned in self._owned:
            owned.close()
        self._owned = []


def task_runner(choice: str | Any, scheduler: str | None = None, *, workers: int = 0) -> TaskRunner:
    """The runner for --executor/--scheduler, or for an executor object a caller passes in."""
    if isinstance(choice, TaskRunner):
        return choice
    if choice is None or choice == "local":
        return LocalRunner(workers or default_workers())
    if choice == "dask":
        return DaskRunner(scheduler=scheduler)
    if isinstance(choice, Executor):
        return ExecutorRunner(choice, workers or None)
    if type(choice).__module__.startswith("distributed"):
        return DaskRunner(choice)
    raise UsageError(f"executor {choice!r} is not 'local', 'dask', a distributed.Client or an Executor")


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _all_readable(paths: list[str]) -> bool:
    return all(os.access(p, os.R_OK) for p in paths)


def _worker_context() -> mp.context.BaseContext:
    # fork: workers start at once and never re-run the caller's main module (spawn would,
    # breaking scripts without a __main__ guard); they only do pure file -> Parquet work.
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def _init_worker(masks: tuple, parent: int) -> None:
    _die_with_parent(parent)
    quality.preload_mask_rows(masks)


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive a command killed with SIGKILL (it would idle forever)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
