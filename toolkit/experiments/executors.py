"""Where a batch's runs execute: this process, a local process pool, or Dask.

Every executor yields ``(spec, row or exception)`` as runs finish, and every executor stops
its workers when the batch stops: an exception in the batch (Ctrl-C, SIGTERM turned into
``KeyboardInterrupt`` by the command line, or the caller closing the generator) terminates the
pool's processes or cancels the cluster's tasks before it propagates, so no worker keeps
writing into the batch directory after the batch has ended. A caller in another thread (the
plan designer) stops a batch by setting its ``cancel`` event: the executor then raises
:class:`BatchCancelledError`, which stops the workers the same way, within
:data:`POLL_SECONDS` on the local pool and Dask, and before the next run in this process.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager

Task = Callable[[object, str], dict]
Outcomes = Iterator[tuple[object, object]]
EXECUTORS = ("local", "dask")
STOP_SECONDS = 10
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
POLL_SECONDS = 0.2  # how often a waiting batch looks at its cancel event


class BatchCancelledError(Exception):
    """The batch was cancelled by its ``cancel`` event; its workers have been stopped."""


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise BatchCancelledError("the batch was cancelled")


def _worker_started() -> None:
    """Leave stopping to the batch: a pool worker ignores Ctrl-C and dies on SIGTERM.

    A terminal sends Ctrl-C to every process of the group; the batch then terminates its
    workers itself, so they must not print tracebacks of their own. A worker forked from a
    command that turned SIGTERM into an exception gets the default (ending) action back.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM in the block: a second Ctrl-C must not cut the stopping short."""
    if threading.current_thread() is not threading.main_thread():  # only it handles signals
        yield
        return
    saved = {number: signal.signal(number, signal.SIG_IGN) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in saved.items():
            if handler is not None:
                signal.signal(number, handler)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """End a pool's worker processes now (SIGTERM, then SIGKILL) and drop its pending runs."""
    with _uninterrupted():
        processes = list((pool._processes or {}).values())  # the pool offers no public way
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()
        # Its workers gone, the pool's manager thread ends at once; waiting for it keeps the
        # interpreter's exit from waking a thread whose pipe is already closed.
        pool.shutdown(wait=True, cancel_futures=True)


def _in_process(
    task: Task, specs: Sequence, out: str, cancel: threading.Event | None = None
) -> Outcomes:
    for spec in specs:
        _check(cancel)
        try:
            yield spec, task(spec, out)
        except Exception as exc:  # noqa: BLE001 - one failing run must not stop the batch
            yield spec, exc


def _finished(futures: dict[Future, object], cancel: threading.Event | None) -> Iterator[Future]:
    """Yield futures as they finish; raise :class:`BatchCancelledError` once ``cancel`` is set."""
    pending = set(futures)
    while pending:
        _check(cancel)
        done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
        yield from done


def _local_pool(
    task: Task, specs: Sequence, out: str, workers: int, cancel: threading.Event | None = None
) -> Outcomes:
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_started)
    try:
        futures = {pool.submit(task, spec, out): spec for spec in specs}
        for future in _finished(futures, cancel):
            _check(cancel)
            error = future.exception()
            yield futures[future], error if error is not None else future.result()
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown()


def _dask(
    task: Task,
    specs: Sequence,
    out: str,
    workers: int,
    scheduler: str | None,
    cancel: threading.Event | None = None,
) -> Outcomes:
    """Run on an existing Dask scheduler, or on a LocalCluster of ``workers`` processes."""
    import dask
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    cluster = None
    if scheduler is None:
        # Start workers the way the local pool does (fork on Linux): they inherit the imported
        # toolkit instead of importing it again, so a short batch is not spent starting up.
        # No dashboard shows the workers' statistical profile, and sampling their stacks every
        # few milliseconds slows the runs by about a tenth: switch it off.
        settings = {
            "distributed.worker.multiprocessing-method": multiprocessing.get_start_method(),
            "distributed.worker.profile.enabled": False,
        }
        with dask.config.set(settings):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
    client = Client(scheduler or cluster)
    futures = {}
    try:
        futures = {client.submit(task, spec, out, pure=False): spec for spec in specs}
        finished = dask_completed(futures)
        while not finished.is_empty():
            _check(cancel)
            batch = finished.next_batch(block=False)
            if not batch:
                time.sleep(POLL_SECONDS)
                continue
            for future in batch:
                error = future.exception()
                yield futures[future], error if error is not None else future.result()
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def outcomes(
    task: Task,
    specs: Sequence,
    out: str,
    executor: str,
    workers: int,
    scheduler: str | None = None,
    cancel: threading.Event | None = None,
) -> Outcomes:
    """Yield ``(spec, row or exception)`` as runs finish, on the chosen executor.

    Parameters
    ----------
    task : callable
        ``task(spec, out)`` runs one spec and returns its row; it must be importable by name
        (it travels to worker processes).
    specs : sequence
        The runs.
    out : str
        The batch directory.
    executor : str
        ``"local"`` (a process pool, or this process when ``workers`` is 1) or ``"dask"``.
    workers : int
        Worker processes.
    scheduler : str, optional
        Address of an existing Dask scheduler.
    cancel : threading.Event, optional
        Set from another thread to stop the batch: the iterator stops the workers and raises
        :class:`BatchCancelledError`.

    Returns
    -------
    iterator
        Close it (or let an exception pass through it) to stop the workers.
    """
    if executor == "dask":
        return _dask(task, specs, out, workers, scheduler, cancel)
    if workers == 1:
        return _in_process(task, specs, out, cancel)
    return _local_pool(task, specs, out, workers, cancel)
