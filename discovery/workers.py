"""Where the files of a batch run: a local process pool that survives dead workers, or a Dask cluster.

A worker process can die without a word (the out-of-memory killer sends SIGKILL); :class:`ProcessPoolExecutor`
then fails every file in flight with ``BrokenProcessPool`` and refuses new ones. :func:`run_in_pool` keeps at most
``workers`` files in flight, so when a worker dies it knows which files were running: it starts a new pool, runs
those files again one at a time (alone, so a file that kills its worker is known, and has the machine's memory to
itself), and fails a file only when it has killed a worker ``retries + 1`` times, the last time alone. The other
files go on as before.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Sequence

from discovery.errors import DiscoveryError, one_line

__all__ = ["DEFAULT_SCHEDULER_TIMEOUT", "connect_dask", "run_in_pool", "worker_died"]

DEFAULT_SCHEDULER_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler to answer before giving up."""

Job = tuple[Any, ...]


def worker_died(name: str, times: int) -> str:
    """The one line of a file whose discovery killed its worker process ``times`` times."""
    again = "" if times < 2 else f", {times} times (the last time alone)"
    return (f"worker process died (killed by the system, possibly out of memory) while discovering {name}{again}; "
            "run it with fewer workers or on a machine with more memory")


_IN_JOB = False
"""In a worker process: whether it is running a job (set by :func:`_run_job`)."""


def _on_interrupt(signum: int, frame: Any) -> None:
    """A worker's SIGINT (Ctrl-C reaches the whole process group): inside a job, ``KeyboardInterrupt`` as usual (the
    job's own cleanup runs, the parent stops the batch); between jobs, while the pool waits for or unpickles the next
    one, a quiet exit: there is nothing of ours to clean up, and the pool's machinery would print a traceback."""
    if _IN_JOB:
        raise KeyboardInterrupt
    os._exit(130)


def _init_worker() -> None:
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, _on_interrupt)


def _run_job(fn: Callable[..., Any], *args: Any) -> Any:
    global _IN_JOB
    _IN_JOB = True
    try:
        return fn(*args)
    finally:
        _IN_JOB = False


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker)


def run_in_pool(
    fn: Callable[..., Any],
    jobs: Sequence[Job],
    workers: int,
    *,
    on_result: Callable[[Job, Any], None],
    on_error: Callable[[Job, Exception], None],
    on_death: Callable[[Job, int], None],
    on_suspects: Callable[[list[Job]], None] | None = None,
    retries: int = 1,
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
    retries:
        How many times a job that killed its worker is run again (alone) before it is given up on.
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
                        running[pool.submit(_run_job, fn, *jobs[i])] = i
                        suspects.popleft()
                else:
                    while waiting and len(running) < workers:
                        i = waiting[0]
                        running[pool.submit(_run_job, fn, *jobs[i])] = i
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
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
