"""Where batch tasks run: in this process, in local worker processes, or on a Dask cluster.

All three take the same task functions (``extractor.batch.work``) and plain-data
arguments, so a laptop run, a run on 16 local cores and a run on a SLURM or Kubernetes
Dask cluster execute the same code. A worker that dies (killed, out of memory, crashed
in native code) surfaces as ``WorkerLost`` from ``result()``; the runner then retries
the notes it held one at a time to find the one that kills.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Protocol


class WorkerLost(RuntimeError):
    """The worker running a task died before returning its result."""


class Executor(Protocol):
    """Runs task functions somewhere; ``workers`` is how many tasks can run at once."""

    name: str
    workers: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def wait(self, handles: Sequence[Any], timeout: float | None) -> list[Any]:
        """The handles among ``handles`` that completed, waiting up to ``timeout`` for one."""

    def result(self, handle: Any) -> Any:
        """The task's return value; its exception; ``WorkerLost`` if its worker died."""

    def share(self, value: Any) -> Any:
        """``value`` in the form to pass to many tasks (sent once to each Dask worker)."""

    def refresh(self) -> None:
        """Between the phases of a run: start fresh workers where that is cheap."""


class InlineExecutor:
    """Runs each task at once in this process: no parallelism, for debugging and tests."""

    name = "inline"
    workers = 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future[Any]:
        future: cf.Future[Any] = cf.Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def wait(self, handles: Sequence[Any], timeout: float | None) -> list[Any]:
        return list(handles)

    def result(self, handle: cf.Future[Any]) -> Any:
        return handle.result()

    def share(self, value: Any) -> Any:
        return value

    def refresh(self) -> None:
        """Nothing: the tasks run in this process."""


def _watch_parent(parent: int) -> None:
    """End this worker when the main process is gone (killed with SIGKILL, say)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _exit_now() -> None:
    """A worker's last act, once its pool has let it go: leave without the interpreter's
    teardown, which frees a loaded pipeline's objects one by one (measured: about 1 s of CPU
    per worker, taken from the cores the next phase's workers are starting on). Nothing is
    left to save: results went back with their tasks, files were moved into place."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


def _start_worker(parent: int, warm: bool = False) -> None:
    """Worker-process initialiser: never outlive the main process; no pandas (see
    ``hide_pandas_from_pyarrow``); exit without a teardown. ``warm``: load the pipeline now,
    while the main process is still setting the run up (reading the trial, planning the
    shards), rather than on the first task, after it."""
    from extractor.batch.work import mark_worker_process, pipeline
    from extractor.imports import hide_pandas_from_pyarrow

    mark_worker_process()
    hide_pandas_from_pyarrow()
    atexit.register(_exit_now)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if warm:
        pipeline()


class WorkersUnavailable(RuntimeError):
    """Worker processes cannot start, or keep dying: the run stops (and resumes later)."""


# A spaCy vocabulary keeps every new word form it meets (spaCy 3.7 has no way to forget
# them), so a worker grows with the archive; and while it runs a task it holds the task's
# notes and results on top (a shard of 8 MB: about 90 MB at its peak, measured). A worker
# is renewed once its next task is likely to peak past this: its size after a task plus
# what that task added at its peak (``WorkerStats.next_peak_mb``).
WORKER_MEMORY_MB = 400.0
# What a screening task adds to a worker at its peak (58-85 MB in a probe of a worker through
# both phases), with a margin: a screening worker is forked only from a main process of at
# most ``memory_mb`` minus this
FORK_HEADROOM_MB = 120.0
# How long the nanny of a Dask worker may take to restart it: seconds on an idle machine; the
# bound is for a loaded one (past it the worker is kept as it is, and the run goes on)
RESTART_SECONDS = 300


class ProcessExecutor:
    """Local worker processes (spawned: nothing of the main process is inherited), each
    loading the pipeline once, on its first task; after ``refresh()``, on Linux, forked.

    A task's result carries its worker's resident memory (``WorkerStats``). Once a worker
    of the current pool comes back likely to pass ``memory_mb`` in its next task, the pool
    is renewed: new tasks go to fresh processes while the old ones finish the tasks they
    hold, then exit. Workers of one run grow alike, so all are renewed together (a process
    pool cannot retire just one). ``refresh()`` renews them between the phases of a run.
    """

    name = "processes"

    def __init__(self, workers: int, memory_mb: float = WORKER_MEMORY_MB, warm: bool = False) -> None:
        self.workers = workers
        self.memory_mb = memory_mb
        self.warm = warm  # extraction workers load the pipeline as they start (``_start_worker``)
        self.renewals = 0
        self._kept: set[str] = set()  # workers that cannot be renewed (no nanny)
        self._retired: list[cf.ProcessPoolExecutor] = []
        self._pool_of: dict[cf.Future[Any], cf.ProcessPoolExecutor] = {}
        self._may_fork = False  # set between the phases of a sharded run (``refresh``)
        self._pool, self._first_starts = self._new_pool()

    def _new_pool(self) -> tuple[cf.ProcessPoolExecutor, list[cf.Future[Any]]]:
        """A pool whose workers all start now (a pool spawns one per task otherwise): they
        start while the main process opens the store and reads the first notes. Returns
        the pool and its start-up tasks, which run before any other."""
        from extractor.batch.work import worker_stats

        pool = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(self._start_method()),
            initializer=_start_worker,
            initargs=(os.getpid(), self.warm and not self._may_fork),
        )
        return pool, [pool.submit(worker_stats) for _ in range(self.workers)]

    def _start_method(self) -> str:
        """``fork`` for screening workers when this process is small enough that a child of it
        stays under ``memory_mb`` (a forked worker starts as large as its parent: a host
        program of 1.4 GB calling ``run_sharded`` would have it renewed after every task);
        ``spawn`` otherwise."""
        if not self._may_fork:
            return "spawn"
        from extractor.batch.work import worker_stats

        return "fork" if worker_stats().rss_mb + FORK_HEADROOM_MB <= self.memory_mb else "spawn"

    def _lost(self, exc: BrokenProcessPool) -> Exception:
        """What a broken pool means: no worker of the first pool ever started (a script
        without a ``__main__`` guard, a broken install), or a worker died."""
        if all(start.done() and start.exception() is not None for start in self._first_starts):
            return WorkersUnavailable(
                "worker processes could not start (a script calling run_batch needs an "
                "`if __name__ == '__main__':` guard); --workers 0 runs in this process"
            )
        return WorkerLost(str(exc))

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future[Any]:
        try:
            future = self._pool.submit(fn, *args)
        except BrokenProcessPool:  # a worker died earlier: start afresh
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool, _ = self._new_pool()
            future = self._pool.submit(fn, *args)
        self._pool_of[future] = self._pool
        return future

    def wait(self, handles: Sequence[Any], timeout: float | None) -> list[Any]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def result(self, handle: cf.Future[Any]) -> Any:
        pool = self._pool_of.pop(handle, None)
        try:
            value = handle.result()
        except BrokenProcessPool as exc:
            raise self._lost(exc) from exc
        stats = getattr(value, "stats", None)
        if pool is self._pool and stats is not None and stats.next_peak_mb > self.memory_mb:
            self._renew()
        return value

    def _renew(self) -> None:
        """New tasks to fresh processes; the old ones exit once their queued tasks are done."""
        self._pool.shutdown(wait=False)
        self._retired = [pool for pool in self._retired if any(p is pool for p in self._pool_of.values())]
        self._retired.append(self._pool)
        self._pool, _ = self._new_pool()
        self.renewals += 1

    def share(self, value: Any) -> Any:
        return value

    def refresh(self) -> None:
        """Fresh processes for the next phase: extraction workers hold a pipeline and a
        vocabulary that screening never uses (measured: a worker that screens after
        extracting 8,000 notes peaked about 130 MB above a fresh one). They start while the
        main process finds duplicates; the pipeline loads only where a task needs it.

        On Linux they are forked from the main process, which never loaded the pipeline but
        holds what screening needs ready (its modules, the trial, the vocabulary and unit
        registry it checked the trial against): a spawned worker imports and builds all that
        again before its first patient (measured: 0.7 s of CPU importing, and its first task
        about 0.8 s longer than the next), once per worker, at the start of the phase, where
        it delays every worker alike and so does not shrink with more workers. The main
        process's other threads at that moment (the retired pool's, fsspec's) hold nothing
        a worker uses; a forked worker leaves without the interpreter's teardown
        (``os._exit``, as ``multiprocessing`` ends forked processes). Elsewhere (macOS: system
        libraries that do not survive a fork), and from a main process too large to fork
        (``_start_method``), they are spawned."""
        self._may_fork = sys.platform == "linux"
        self._renew()
        self.renewals -= 1  # not for memory: ``renewals`` counts those

    def close(self) -> None:
        for pool in (*self._retired, self._pool):
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Tasks on a Dask distributed cluster; each worker thread loads the pipeline on its
    first task. Run workers with one thread each (``--nthreads 1``) and as many worker
    processes as cores: spaCy pipelines are not shared between threads."""

    name = "dask"

    def __init__(self, client: Any, owned: Sequence[Any] = (), memory_mb: float = WORKER_MEMORY_MB) -> None:
        self.client = client
        self._owned = owned  # what this executor started, and closes: its client, its cluster
        threads = client.nthreads()
        self.workers = sum(threads.values()) or 1
        self.memory_mb = memory_mb
        self.renewals = 0
        self._kept: set[str] = set()  # workers that cannot be renewed (no nanny)

    @classmethod
    def connect(cls, address: str, workers: int, memory_mb: float = WORKER_MEMORY_MB) -> DaskExecutor:
        """``local`` starts a LocalCluster of ``workers`` single-threaded processes; anything
        else is a scheduler address (``tcp://scheduler:8786``)."""
        from distributed import Client, LocalCluster

        if address == "local":
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
            return cls(client, (client, cluster), memory_mb)
        try:
            client = Client(address, timeout=30)
            client.wait_for_workers(1, timeout=300)
        except (OSError, TimeoutError) as exc:
            raise WorkersUnavailable(
                f"cannot reach the Dask scheduler at {address}, or it has no worker ({type(exc).__name__})"
            ) from exc
        return cls(client, (client,), memory_mb)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.client.submit(fn, *args, pure=False)

    def wait(self, handles: Sequence[Any], timeout: float | None) -> list[Any]:
        from distributed import wait

        try:
            done, _ = wait(list(handles), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        except cf.CancelledError:
            # the scheduler dropped a task ("already forgotten" after a worker was killed with
            # its nanny): it is done for us, and ``result`` reports it lost, to be run again
            return [handle for handle in handles if handle.done() or handle.cancelled()]
        return list(done)

    def result(self, handle: Any) -> Any:
        from distributed import KilledWorker

        try:
            value = handle.result()
        except (KilledWorker, cf.CancelledError) as exc:
            raise WorkerLost(str(exc)) from exc
        stats = getattr(value, "stats", None)
        if (
            stats is not None and stats.address and stats.next_peak_mb > self.memory_mb
            and stats.address not in self._kept
        ):
            handle.release()  # the result is in: the scheduler must not recompute it when its worker goes
            self._renew(stats.address)
        return value

    def _renew(self, address: str) -> None:
        """Restart the worker at ``address`` through its nanny (a fresh process; the task it
        may have started meanwhile is run again elsewhere). Without a nanny it stays."""
        try:
            self.client.restart_workers([address], timeout=RESTART_SECONDS)
        except (ValueError, TimeoutError, OSError) as exc:  # no nanny, or gone: the run goes on with it
            logging.getLogger(__name__).warning("cannot renew Dask worker %s (%s)", address, type(exc).__name__)
            self._kept.add(address)
            return
        self.renewals += 1

    def share(self, value: Any) -> Any:
        """``value`` itself: each task carries its own copy. Scattered data lives on workers, and
        when a worker is killed (or renewed) the scheduler can forget it with every task that
        needs it; what is shared here is small (a trial, the dataset's table paths)."""
        return value

    def refresh(self) -> None:
        """Nothing: a Dask worker is restarted (by its nanny) only when its next task is
        likely to pass the memory limit (``result``); a restart costs seconds on a cluster."""

    def close(self) -> None:
        for resource in self._owned:
            resource.close()


@contextmanager
def open_executor(
    workers: int, dask: str | Any | None = None, memory_mb: float = WORKER_MEMORY_MB, warm: bool = False
) -> Iterator[Executor]:
    """The executor a run asks for: a Dask client or address, else ``workers`` local
    processes, else (``workers == 0``) this process. Workers, local or Dask (with a
    nanny), past ``memory_mb`` of resident memory after a task are renewed. ``warm``: local
    workers load the pipeline as they start, until ``refresh()`` (the extraction phase)."""
    if dask is not None:
        executor: Any = (
            DaskExecutor.connect(dask, max(workers, 1), memory_mb)
            if isinstance(dask, str)
            else DaskExecutor(dask, memory_mb=memory_mb)
        )
    elif workers == 0:
        executor = InlineExecutor()
    else:
        executor = ProcessExecutor(workers, memory_mb, warm)
    try:
        yield executor
    finally:
        close = getattr(executor, "close", None)
        if close is not None:
            close()
