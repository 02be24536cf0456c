"""Batch discovery over many files, on a local process pool or a Dask cluster (the same code path).

Each input gets one JSON file in the output folder, written atomically: the result contract of DESIGN.md, or
``{"source": ..., "error": "<one line>"}`` when the file fails. Existing outputs are skipped unless
``overwrite=True``, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from discovery.pipeline.settings import DiscoverySettings
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
    elapsed_s: float = 0.0
    plot: str | None = None
    warning: str | None = None


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


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def output_paths(files: Sequence[str | Path], out_dir: str | Path) -> list[Path]:
    """``out_dir/<stem>.json`` per input; inputs sharing a stem get their parent folder's name prefixed."""
    out = Path(out_dir)
    paths = [Path(f) for f in files]
    stems = [p.stem for p in paths]
    result = []
    for p in paths:
        name = p.stem if stems.count(p.stem) == 1 else f"{p.parent.name or 'root'}_{p.stem}"
        result.append(out / f"{name}.json")
    if len(set(result)) != len(result):  # still colliding: number them
        result = [out / f"{i:04d}_{p.name}" for i, p in enumerate(result)]
    return result


def plot_path(output: str | Path) -> Path:
    """Where the figure of a result JSON goes: beside it, as ``<stem>.png``."""
    return Path(output).with_suffix(".png")


def discover_file(
    path: str,
    output: str,
    settings: "DiscoverySettings",
    plot: bool = False,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Run discovery on one file and write its JSON atomically (and, with ``plot``, its figure as PNG beside
    it, see :mod:`discovery.plotting`); never raises for a bad file.

    Runs inside a worker process (or a Dask worker), so it takes the checked request (``settings``, which pickles)
    and returns plain values; ``progress`` (the stage of the run, see :func:`discovery.discover`) is only for runs
    in this process.
    """
    from discovery.api import discover
    from discovery.data import load_trajectories
    from discovery.errors import DataError, DiscoveryError, SimulationError
    from discovery.io import atomic_write_text
    from grammar.errors import GrammarError

    source = Path(path).name
    started = time.monotonic()
    try:
        data = load_trajectories(path)  # read once: discovery, figure
        result = discover(data, progress=progress, settings=settings)
        payload = result.to_dict()
        payload["source"] = source
        status, error = "ok", None
    except (DataError, DiscoveryError, GrammarError, SimulationError, OSError) as exc:
        status, error = "error", one_line(exc)
    except Exception as exc:  # noqa: BLE001 -- a batch goes on past any one file
        status, error = "error", f"internal error ({type(exc).__name__}): {one_line(exc)}"
    if status == "error":
        from discovery import __version__

        payload = {"source": source, "error": error, "eqdisco_version": __version__}
    figure = None
    notes = list(result.warnings) if status == "ok" else []
    if plot and status == "ok":
        try:
            figure = str(plot_path(output))
            result.plot(data, figure, horizon=0.5)
        except Exception as exc:  # noqa: BLE001 -- the equations stand without their figure
            figure = None
            notes.append(f"figure not written: {one_line(exc)}")
    atomic_write_text(output, json.dumps(payload, indent=2) + "\n")
    return {
        "source": source,
        "output": output,
        "status": status,
        "error": error,
        "equations": payload.get("equations"),
        "elapsed_s": round(time.monotonic() - started, 3),
        "plot": figure,
        "warning": "; ".join(notes) or None,
    }


def _failed(output: Path) -> bool:
    """Whether ``output`` records a failed file (it has no figure to wait for)."""
    try:
        return "error" in json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def _executor(workers: int, scheduler: str | None) -> tuple[Executor | None, Callable[[], None]]:
    if scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ImportError("--scheduler needs Dask; install it with pip install 'eqdisco[dask]'") from exc
        client = Client(scheduler)
        return client.get_executor(pure=False), client.close
    if workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
        return pool, lambda: pool.shutdown(wait=True, cancel_futures=True)
    return None, lambda: None


def run_batch(
    files: Sequence[str | Path],
    out_dir: str | Path,
    *,
    settings: "DiscoverySettings | None" = None,
    method: str = "auto",
    options: dict[str, Any] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    show_progress: bool = True,
    echo: Callable[[str], None] | None = None,
    plot: bool = False,
) -> BatchReport:
    """Discover equations for every file, writing ``out_dir/<stem>.json`` for each.

    Parameters
    ----------
    files:
        Input files (CSV, Parquet, NPZ).
    out_dir:
        Output folder (created if missing).
    settings:
        The checked request (:func:`discovery.pipeline.settings.build_settings`), as the command line passes it.
    method, options:
        Without ``settings``: the request as :func:`discovery.discover`'s ``method`` and keyword arguments, checked
        here before any file is read.
    workers:
        Local worker processes (1 runs in this process).
    scheduler:
        Address of a Dask scheduler (``tcp://host:8786``); when given, the files run on that cluster.
    overwrite:
        Recompute files whose output exists (otherwise they are skipped, so a batch resumes).
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

    if settings is None:
        from discovery.pipeline.settings import build_settings

        settings = build_settings(method, **dict(options or {}))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outputs = output_paths(files, out)
    report = BatchReport()
    todo: list[tuple[str, str]] = []
    for f, o in zip(files, outputs):
        if o.exists() and not overwrite and (not plot or plot_path(o).exists() or _failed(o)):
            report.items.append(BatchItem(source=Path(f).name, output=str(o), status="skipped"))
        else:
            todo.append((str(f), str(o)))

    bar = tqdm(total=len(todo), desc="discover", unit="file", disable=not show_progress, dynamic_ncols=True)
    say = echo or (lambda line: tqdm.write(line, file=__import__("sys").stderr))

    def record(d: dict[str, Any]) -> None:
        item = BatchItem(**d)
        report.items.append(item)
        if item.status == "error":
            error = item.error or "failed"
            named = item.source in error.split(": ", 1)[0]  # a DataError already starts with the file (and row)
            say(f"error: {error}" if named else f"error: {item.source}: {error}")
        if item.warning:
            say(f"warning: {item.source}: {item.warning}")
        bar.update(1)

    executor, close = _executor(workers, scheduler)
    try:
        if executor is None:
            for f, o in todo:
                name = Path(f).name
                bar.set_postfix_str(name)
                stage = (lambda message, fraction, name=name: bar.set_postfix_str(f"{name}: {message}"))
                record(discover_file(f, o, settings, plot, stage if show_progress else None))
        else:
            futures: dict[Future, tuple[str, str]] = {
                executor.submit(discover_file, f, o, settings, plot): (f, o) for f, o in todo
            }
            for fut in as_completed(futures):
                f, o = futures[fut]
                try:
                    record(fut.result())
                except Exception as exc:  # noqa: BLE001 -- a worker died: report the file, go on
                    from discovery.io import atomic_write_text

                    error = f"worker failed ({type(exc).__name__}): {one_line(exc)}"
                    atomic_write_text(o, json.dumps({"source": Path(f).name, "error": error}, indent=2) + "\n")
                    record({"source": Path(f).name, "output": o, "status": "error", "error": error})
    finally:
        bar.close()
        close()
    return report
