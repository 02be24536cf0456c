"""Where the files of a batch run: a local process pool that survives dead workers, or a Dask cluster.

A worker process can die without a word (the out-of-memory killer sends SIGKILL); :class:`ProcessPoolExecutor`
then fails every file in flight with ``BrokenProcessPool`` and refuses new ones. :func:`run_in_pool` keeps at most
``workers`` files in flight, so when a worker dies it knows which files were running: it starts a new pool, runs
those files again one at a time (alone, so a file that kills its worker is known, and has the machine's memory to
itself), and fails a file only when it has killed a worker ``retries + 1`` times, the last time alone. The other
files go on as before.

Ctrl-C reaches the whole process group. A worker turns it into ``KeyboardInterrupt`` only inside a job (the job's own
clean-up runs, its result file is whole or absent); between jobs it lets it pass: a worker that exits there may hold
the pool's queue lock (it waits for the next job holding it) and leave the other worker, and with it the pool's
shut-down, waiting forever. The parent stops the pool itself: the jobs in flight get ``grace`` seconds to end, then
their processes are ended, so the batch never waits on a job that does not answer.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import signal
import time
from collections import Counter, deque
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from discovery.errors import DiscoveryError, one_line

__all__ = ["DEFAULT_SCHEDULER_TIMEOUT", "connect_dask", "one_thread_each", "run_in_pool", "worker_died"]

DEFAULT_SCHEDULER_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler to answer before giving up."""

Job = tuple[Any, ...]


def worker_died(name: str, times: int) -> str:
    """The one line of a file whose discovery killed its worker process ``times`` times."""
    again = "" if times < 2 else f", {times} times (the last time alone)"
    return (f"worker process died (killed by the system, possibly out of memory) while discovering {name}{again}; "
            "run it with fewer workers or on a machine with more memory")


STOP_GRACE = 10.0
"""Seconds the jobs in flight get to end after Ctrl-C before their worker processes are ended."""

_IN_JOB = False
"""In a worker process: whether it is running a job (set by :func:`_run_job`)."""


def _on_interrupt(signum: int, frame: Any) -> None:
    """A worker's SIGINT: inside a job, ``KeyboardInterrupt`` as usual (the job's own clean-up runs and the parent
    stops the batch); between jobs, nothing: the parent is interrupted too and ends the pool, and a worker that left
    here could leave the pool's queue lock held (see the module's docstring)."""
    if _IN_JOB:
        raise KeyboardInterrupt


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Environment variables that set the thread pools of OpenMP (torch), OpenBLAS and MKL when they load."""


def one_thread_each() -> None:
    """Keep this process's numerical libraries on one thread: in a pool of several workers each worker is one of
    them on a core of its own. Each library's default is a thread per core, so two workers on two cores ran four
    BLAS threads that wait on each other; a discovery is made of many small linear algebra calls, and two
    workers each took 15% longer than with one thread each (one alone: no difference). Libraries already loaded are
    limited through :mod:`threadpoolctl`, those loaded later (torch) through the environment."""
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # kept for the process's life


def _init_worker(single_threaded: bool = False) -> None:
    if single_threaded:
        one_thread_each()
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, _on_interrupt)
    if hasattr(signal, "pthread_sigmask"):  # started with SIGINT held (see _sigint_held): what came meanwhile lands here
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold SIGINT in this thread while it may start a worker: a process inherits the starting thread's signal mask,
    so a Ctrl-C while the worker still imports waits for :func:`_init_worker`'s handler instead of printing a
    traceback from the worker. In this process a Ctrl-C meanwhile is only delayed (Python's handler runs in the main
    thread when it is unblocked, or at once when another thread took the signal)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _run_job(fn: Callable[..., Any], *args: Any) -> Any:
    global _IN_JOB
    _IN_JOB = True
    try:
        return fn(*args)
    finally:
        _IN_JOB = False


def _submit(pool: ProcessPoolExecutor, fn: Callable[..., Any], job: Job) -> Future:
    with _sigint_held():  # a spawned pool starts its workers as jobs come
        return pool.submit(_run_job, fn, *job)


def _stop(pool: ProcessPoolExecutor, grace: float) -> bool:
    """End ``pool`` after an interruption: no new job starts, the jobs in flight get ``grace`` seconds (they were
    interrupted too when Ctrl-C reached the process group), then the workers still alive are ended. Returns whether
    any was."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # the executor keeps them by pid
    pool.shutdown(wait=False, cancel_futures=True)
    # a process has ended when its sentinel is ready; not is_alive(): the pool's own thread reaps its workers too,
    # and a process reaped there can still read as alive here for a moment
    left = {process.sentinel: process for process in processes}
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        for ready in mp.connection.wait(list(left), max(0.0, deadline - time.monotonic())):
            left.pop(ready)
    for process in left.values():
        process.kill()
        process.join(5.0)
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:  # with its workers gone it sees them dead and ends
        manager.join(5.0)
    return bool(left)


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                               initargs=(workers > 1,))


def run_in_pool(
    fn: Callable[..., Any],
    jobs: Sequence[Job],
    workers: int,
    *,
    on_result: Callable[[Job, Any], None],
    on_error: Callable[[Job, Exception], None],
    on_death: Callable[[Job, int], None],
    on_suspects: Callable[[list[Job]], None] | None = None,
    on_abandoned: Callable[[list[Job]], None] | None = None,
    retries: int = 1,
    grace: float = STOP_GRACE,
) -> None:
    """Run ``fn(*job)`` for every job on ``workers`` spawned processes, rebuilding the pool when a worker dies.

    Parameters
    ----------
    fn:
        A module-level function (the workers import it by name).
    jobs:
        The argument tuples, run in this order.
    workers:
        Processes at once (``>= 1``).
    on_result, on_error:
        Called in this process with a job and what ``fn`` returned, or the exception it raised.
    on_death:
        Called with a job and the number of times it killed its worker, when it is given up on.
    on_suspects:
        Called with the jobs that were running when a worker died, before they run again one at a time.
    on_abandoned:
        Called with the jobs that were running when this was interrupted, when their workers had to be ended (they
        did not end within ``grace``): what they were writing may be left half-way.
    retries:
        How many times a job that killed its worker is run again (alone) before it is given up on.
    grace:
        Seconds the jobs in flight get to end when this is interrupted, before their processes are ended.
    """
    waiting = deque(range(len(jobs)))
    suspects: deque[int] = deque()
    deaths: Counter[int] = Counter()
    running: dict[Future, int] = {}
    pool = _pool(workers)
    try:
        while waiting or suspects or running:
            broken = False
            try:
                if suspects:  # after a death: the files that were in flight run one at a time
                    if not running:
                        i = suspects[0]
                        running[_submit(pool, fn, jobs[i])] = i
                        suspects.popleft()
                else:
                    while waiting and len(running) < workers:
                        i = waiting[0]
                        running[_submit(pool, fn, jobs[i])] = i
                        waiting.popleft()
            except BrokenProcessPool:  # a worker died while idle: whatever was in flight fails with it
                broken = True
            if running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                if any(isinstance(f.exception(), BrokenProcessPool) for f in finished):
                    finished, _ = wait(running)  # the pool fails every future in flight at once
            else:
                finished = set()
            alone = len(running) == 1
            crashed = []
            for future in finished:
                i = running.pop(future)
                exc = future.exception()
                if isinstance(exc, BrokenProcessPool):
                    crashed.append(i)
                elif exc is None:
                    on_result(jobs[i], future.result())
                elif isinstance(exc, Exception):
                    on_error(jobs[i], exc)
                else:  # KeyboardInterrupt or SystemExit inside a worker: stop here too
                    raise exc
            if crashed or broken:
                pool.shutdown(wait=True)
                pool = _pool(workers)
            if crashed:
                again = []
                for i in sorted(crashed):
                    deaths[i] += 1
                    if alone and deaths[i] > retries:
                        on_death(jobs[i], deaths[i])
                    else:
                        again.append(i)
                if again and on_suspects is not None:
                    on_suspects([jobs[i] for i in again])
                suspects.extend(again)
    except BaseException:  # Ctrl-C (here, or a worker's): stop without waiting on a job that does not answer
        if _stop(pool, grace) and on_abandoned is not None and running:
            on_abandoned([jobs[i] for i in running.values()])
        raise
    pool.shutdown(wait=True)


def connect_dask(address: str, timeout: float = DEFAULT_SCHEDULER_TIMEOUT) -> tuple[Executor, Callable[[], None]]:
    """An executor on the Dask scheduler at ``address`` and the function that closes it.

    Raises
    ------
    ImportError
        When Dask's ``distributed`` is not installed (the message names the extra).
    DiscoveryError
        In one line naming the address, when the scheduler does not answer within ``timeout`` seconds or the
        address is not one.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError("--scheduler needs Dask; install it with pip install 'eqdisco[dask]'") from exc
    try:
        client = Client(address, timeout=timeout)
    except OSError:  # distributed's own connection time-out is an OSError too
        raise DiscoveryError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s; check the "
                             "address and that the scheduler runs (--scheduler, --scheduler-timeout)") from None
    except (ValueError, TypeError) as exc:
        raise DiscoveryError(f"{address!r} is not a Dask scheduler address such as tcp://127.0.0.1:8786 "
                             f"({one_line(exc)})") from None
    return client.get_executor(pure=False), client.close
