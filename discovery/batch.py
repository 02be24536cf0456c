"""Batch discovery over many files, on a local process pool or a Dask cluster (the same code path).

Each input gets one JSON file in the output folder, written atomically: the result contract of DESIGN.md, or
``{"source": ..., "error": "<one line>"}`` when the file fails (paths in it relative to the working folder, or
the file's name alone: never the user's absolute folders). Existing results are skipped unless
``overwrite=True``, so an interrupted batch resumes where it stopped; a file whose output records an error (or
cannot be read) is run again. Output names are chosen by :func:`discovery.outputs.output_paths`; a worker
process that dies is replaced (:func:`discovery.workers.run_in_pool`).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from discovery.errors import DiscoveryError, one_line
from discovery.outputs import (
    check_output_folder,
    output_paths,
    plot_path,
    prepare_output_folder,
    without_absolute_paths,
)
from discovery.workers import DEFAULT_SCHEDULER_TIMEOUT, connect_dask, run_in_pool, worker_died

if TYPE_CHECKING:  # pragma: no cover
    from discovery.pipeline.settings import DiscoverySettings
    from discovery.request import Request
    from models.progress import ProgressFn

__all__ = ["BatchItem", "BatchReport", "discover_file", "output_paths", "plot_path", "run_batch"]


@dataclass
class BatchItem:
    """What happened to one input file."""

    source: str
    output: str
    status: str  # "ok", "error" or "skipped"
    error: str | None = None
    equations: dict[str, str] | None = None
    shown_equations: dict[str, str] | None = None
    """The equations as the command line prints them: each coefficient ``(c +- h)`` where the result has its
    uncertainty (:meth:`~discovery.result.DiscoveryResult.equation_text`); ``None`` without it."""
    elapsed_s: float = 0.0
    plot: str | None = None
    warning: str | None = None
    retried: bool = False
    """Whether an earlier run had failed on this file (its output recorded an error)."""


@dataclass
class BatchReport:
    items: list[BatchItem] = field(default_factory=list)

    @property
    def failed(self) -> list[BatchItem]:
        return [i for i in self.items if i.status == "error"]

    @property
    def ok(self) -> list[BatchItem]:
        return [i for i in self.items if i.status == "ok"]

    @property
    def skipped(self) -> list[BatchItem]:
        return [i for i in self.items if i.status == "skipped"]

    @property
    def retried(self) -> list[BatchItem]:
        """Files run again because an earlier run had failed on them."""
        return [i for i in self.items if i.retried]


def discover_file(
    path: str,
    output: str,
    settings: "Request | DiscoverySettings",
    plot: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Run discovery on one file and write its JSON atomically (and, with ``plot``, its figure as PNG beside
    it, see :mod:`discovery.plotting`); never raises for a bad file.

    Runs inside a worker process (or a Dask worker), so it takes the checked request (``settings``: a
    :class:`~discovery.request.Request`, or a :class:`~discovery.pipeline.settings.DiscoverySettings` read by
    :func:`~discovery.request.request_from_settings`; both pickle) and returns plain values. The file's kind picks
    its part of the request: a field file the PDE path, others trajectories; a kind the request cannot serve fails
    with the request's one line, and the options that kind does not read are noted in ``warning``. ``progress``
    (the stage of the run, see :func:`discovery.discover`) is only for runs in this process.
    """
    from discovery.api import discover
    from discovery.data import load_trajectories
    from discovery.errors import DataError, DiscoveryError, SimulationError
    from discovery.fields import is_field
    from discovery.io import atomic_write_text
    from discovery.request import as_request
    from grammar.errors import GrammarError

    source = Path(path).name
    started = time.monotonic()
    request = as_request(settings)
    kind = None
    try:
        kind = "field" if is_field(path) else "trajectories"  # a field: the PDE path, as discover() takes it
        asked = request.for_kind(kind)  # a kind this request cannot serve: its one line
        if kind == "field":
            data = None
            result = asked.run(path, progress=progress)
        else:
            data = load_trajectories(path, inputs=asked.inputs or None,  # read once: discovery, figure
                                     parameters=asked.parameters or None)
            result = discover(data, progress=progress, settings=asked)
        payload = result.to_dict()
        payload["source"] = source
        status, error = "ok", None
    except (DataError, DiscoveryError, GrammarError, SimulationError, OSError) as exc:
        status, error = "error", one_line(exc)
    except Exception as exc:  # noqa: BLE001 -- a batch goes on past any one file
        status, error = "error", f"internal error: {one_line(exc)}"  # one_line names the exception's type
    if status == "error":
        error = without_absolute_paths(error, path, Path(output).parent)
        from discovery import __version__

        payload = {"source": source, "error": error, "eqdisco_version": __version__}
    figure = None
    notes = list(result.warnings) if status == "ok" else []
    if status == "ok" and request.note(kind):
        notes.append(request.note(kind))
    if plot and status == "ok" and data is None:
        notes.append("no figure for a field here: the app (eqdisco app) draws the field, its re-simulation and "
                     "their residual")
    elif plot and status == "ok":
        try:
            figure = str(plot_path(output))
            result.plot(data, figure, horizon=0.5)
        except Exception as exc:  # noqa: BLE001 -- the equations stand without their figure
            figure = None
            notes.append(f"figure not written: {one_line(exc)}")
    try:
        atomic_write_text(output, json.dumps(payload, indent=2) + "\n")
    except OSError as exc:  # this file fails, the batch goes on
        status, error = "error", _unwritable(output, exc)
    return {
        "source": source,
        "output": output,
        "status": status,
        "error": error,
        "equations": payload.get("equations"),
        "shown_equations": _shown_equations(result) if status == "ok" else None,
        "elapsed_s": round(time.monotonic() - started, 3),
        "plot": figure,
        "warning": "; ".join(notes) or None,
    }


def _shown_equations(result: Any) -> dict[str, str] | None:
    """Each right-hand side written ``(c +- h)*term + ...`` when the result has its uncertainty, else ``None``."""
    if not getattr(result, "uncertainty", None):  # a field's result has none
        return None
    return {v: result.equation_text(v) for v in result.variables}


def _unwritable(output: str | Path, exc: OSError) -> str:
    return f"cannot write its result {Path(output).name}: {exc.strerror or one_line(exc)}"


def _write_error(output: str, source: str, error: str) -> None:
    """Record a file that failed outside :func:`discover_file` (best effort: the line was said already)."""
    from discovery import __version__
    from discovery.io import atomic_write_text

    payload = {"source": source, "error": error, "eqdisco_version": __version__}
    try:
        atomic_write_text(output, json.dumps(payload, indent=2) + "\n")
    except OSError:
        pass


def _state(output: Path, plot: bool) -> str:
    """``"done"``, ``"failed"`` (an earlier run recorded an error, or left something unreadable) or ``"new"``."""
    if not output.exists():
        return "new"
    try:
        failed = "error" in json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "failed"
    if failed:
        return "failed"
    return "done" if not plot or plot_path(output).exists() else "new"


def run_batch(
    files: Sequence[str | Path],
    out_dir: str | Path,
    *,
    settings: "Request | DiscoverySettings | None" = None,
    method: str = "auto",
    options: dict[str, Any] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    scheduler_timeout: float = DEFAULT_SCHEDULER_TIMEOUT,
    overwrite: bool = False,
    show_progress: bool = True,
    echo: Callable[[str], None] | None = None,
    plot: bool = False,
) -> BatchReport:
    """Discover equations for every file, writing ``out_dir/<name>.json`` for each.

    Before any work, the request, ``workers``, the output folder and the cluster (with ``scheduler``) are
    checked; a problem with any of them raises :class:`~discovery.errors.DiscoveryError` in one line and nothing
    is written. After that nothing raises for one file: a bad file, a file whose output cannot be written or one
    whose discovery kills its worker process gets its one line (and an error JSON where it can be written).

    Parameters
    ----------
    files:
        Input files (CSV, Parquet, NPZ).
    out_dir:
        Output folder (created if missing).
    settings:
        The checked request for trajectory and field files (:func:`discovery.request.build_request`, as the
        command line passes it), or one for trajectories (:func:`discovery.pipeline.settings.build_settings`; a
        field file then gets its method, seed and device, see :func:`discovery.request.request_from_settings`).
    method, options:
        Without ``settings``: the request as :func:`discovery.discover`'s ``method`` and keyword arguments (field
        options included: ``operators=["fno"]``, ``fno={...}``, a known PDE), checked here before any file is read
        (:func:`discovery.request.build_request`).
    workers:
        Local worker processes (1 runs in this process). A worker that dies is replaced; the files that were
        running in it run again, one at a time, and a file that kills its worker twice fails with a clear line
        (see :mod:`discovery.workers`).
    scheduler:
        Address of a Dask scheduler (``tcp://host:8786``); when given, the files run on that cluster.
    scheduler_timeout:
        Seconds to wait for the scheduler to answer.
    overwrite:
        Recompute files whose output exists. Otherwise files with a result are skipped, so a batch resumes, and
        files whose output records an error are run again (``report.retried``).
    plot:
        Also write each result's figure as ``out_dir/<stem>.png`` (a file is skipped only when both exist).
    echo:
        Where one-line messages about failed files and the warnings of discovered ones go (default: above the
        progress bar, on stderr).

    Examples
    --------
    >>> report = run_batch(["examples/lotka_volterra.csv"], "results", method="sindy")  # doctest: +SKIP
    >>> [item.status for item in report.items]  # doctest: +SKIP
    ['ok']
    """
    from tqdm.auto import tqdm

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise DiscoveryError(f"workers must be a whole number of at least 1, got {workers!r}")
    from discovery.request import as_request, build_request

    settings = build_request(method, **dict(options or {})) if settings is None else as_request(settings)
    out = check_output_folder(out_dir)
    outputs = output_paths(files, out)
    report = BatchReport()
    todo: list[tuple[str, str]] = []
    blocked: list[tuple[str, str]] = []
    retried: set[str] = set()
    seen: set[Path] = set()
    for f, o in zip(files, outputs):
        if o in seen:  # the same file given twice runs once
            continue
        seen.add(o)
        state = "new" if overwrite else _state(o, plot)
        if o.exists() and not o.is_file():
            blocked.append((str(f), str(o)))
        elif state == "done":
            report.items.append(BatchItem(source=Path(f).name, output=str(o), status="skipped"))
        else:
            todo.append((str(f), str(o)))
            if state == "failed":
                retried.add(str(o))
    executor, close = connect_dask(scheduler, scheduler_timeout) if scheduler else (None, lambda: None)
    try:
        prepare_output_folder(out)
    except DiscoveryError:
        close()
        raise

    bar = tqdm(total=len(todo) + len(blocked), desc="discover", unit="file", disable=not show_progress,
               dynamic_ncols=True)
    say = echo or (lambda line: tqdm.write(line, file=__import__("sys").stderr))

    def record(d: dict[str, Any]) -> None:
        item = BatchItem(**d, retried=d["output"] in retried)
        report.items.append(item)
        if item.status == "error":
            error = item.error or "failed"
            named = item.source in error.split(": ", 1)[0]  # a DataError already starts with the file (and row)
            say(f"error: {error}" if named else f"error: {item.source}: {error}")
        if item.warning:
            say(f"warning: {item.source}: {item.warning}")
        bar.update(1)

    def fail(job: tuple[Any, ...], error: str, write: bool = True) -> None:
        f, o = job[0], job[1]
        error = without_absolute_paths(error, f, out)
        if write:
            _write_error(o, Path(f).name, error)
        record({"source": Path(f).name, "output": o, "status": "error", "error": error})

    def rerun(jobs: list[tuple[Any, ...]]) -> None:
        for job in jobs:
            _remove_temporaries(job[1])
        names = ", ".join(Path(job[0]).name for job in jobs)
        say(f"warning: a worker process died (killed by the system, possibly out of memory) while {names} ran; "
            f"running {'it' if len(jobs) == 1 else 'them'} again, one at a time")

    for f, o in blocked:
        fail((f, o), f"cannot write its result {Path(o).name}: a folder of that name is in the way", write=False)
    try:
        if executor is not None:
            futures: dict[Future, tuple[str, str]] = {
                executor.submit(discover_file, f, o, settings, plot): (f, o) for f, o in todo
            }
            for fut in as_completed(futures):
                try:
                    record(fut.result())
                except Exception as exc:  # noqa: BLE001 -- the cluster lost the file: report it, go on
                    fail(futures[fut], _cluster_failure(exc, Path(futures[fut][0]).name))
        elif workers > 1:
            run_in_pool(
                discover_file, [(f, o, settings, plot) for f, o in todo], workers,
                on_result=lambda job, done: record(done),
                on_error=lambda job, exc: fail(job, f"worker failed: {one_line(exc)}"),
                on_death=lambda job, times: (_remove_temporaries(job[1]),
                                             fail(job, worker_died(Path(job[0]).name, times))),
                on_suspects=rerun,
                on_abandoned=lambda jobs: [_remove_temporaries(job[1]) for job in jobs],
            )
        else:
            for f, o in todo:
                name = Path(f).name
                bar.set_postfix_str(name)
                stage = (lambda message, fraction, name=name: bar.set_postfix_str(f"{name}: {message}"))
                record(discover_file(f, o, settings, plot, stage if show_progress else None))
    finally:
        bar.close()
        close()
    return report


def _remove_temporaries(output: str) -> None:
    """What a killed worker may have left half-written beside a result: its JSON's and its figure's temporaries."""
    from discovery.io import remove_temporaries

    remove_temporaries(output)
    remove_temporaries(plot_path(output))


def _cluster_failure(exc: Exception, name: str) -> str:
    if type(exc).__name__ == "KilledWorker":  # distributed gave up after its own retries
        return worker_died(name, 1)
    return f"worker failed: {one_line(exc)}"
