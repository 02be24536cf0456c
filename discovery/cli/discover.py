"""``eqdisco discover``: one result JSON (and optionally a figure) per data file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from discovery.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CLIError,
    expand_folders,
    output_folder,
    positive_float,
    positive_int,
)


def _parse_set(items: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """``--set METHOD.OPTION=VALUE`` items as ``{method: {option: value}}`` (values read as JSON when they parse);
    a dotted option reaches into a nested group: ``fno.training.steps=50`` is ``{"fno": {"training": {"steps":
    50}}}``, merged with the other items of that group."""
    options: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key = item.split("=", 1)[0]
        path = [part.strip() for part in key.split(".")]
        if "=" not in item or len(path) < 2 or not all(path):
            raise CLIError(f"--set must look like 'METHOD.OPTION=VALUE' (e.g. sindy.ensemble=true or "
                           f"fno.training.steps=50), got {item[:80]!r}")
        value = item.split("=", 1)[1]
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        group: dict[str, Any] = options.setdefault(path[0], {})
        for i, part in enumerate(path[1:-1], 1):
            inner = group.setdefault(part, {})
            if not isinstance(inner, dict):
                raise CLIError(f"--set {key}: {'.'.join(path[:i + 1])} was given a value ({str(inner)[:40]!r}), so "
                               "it has no option to set; give one or the other")
            group = inner
        group[path[-1]] = parsed
    return options


def settings_from_args(args: argparse.Namespace) -> Any:
    """The checked request for trajectory and field files (:func:`discovery.request.build_request`, which decides
    which option goes to which kind of file) that the options of ``discover`` make.

    Raises :class:`CLIError` (exit 2, nothing written) for any bad option, before a file is read.
    """
    from discovery.errors import DiscoveryError, one_line
    from discovery.request import build_request
    from grammar.errors import GrammarError

    operators = [o.strip() for o in (args.operators or "").split(",") if o.strip()]
    try:
        return build_request(
            args.method, known=args.known or None, guess=args.guess or None, derivative=args.derivative,
            operators=operators, refine=not args.no_refine, uncertainty=not args.no_uncertainty, seed=args.seed,
            device=args.device, inputs=args.inputs, parameters=args.parameters,
            time_dependent=args.time_dependent, **_parse_set(args.set),
        )
    except (DiscoveryError, GrammarError) as exc:
        raise CLIError(one_line(exc)) from None


def cmd_discover(args: argparse.Namespace) -> int:
    from discovery.batch import run_batch

    settings = settings_from_args(args)
    if args.plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CLIError("--plots needs matplotlib; install it with: python3 -m pip install matplotlib "
                           "(or pip install 'eqdisco[app]')") from None
    given, empty = expand_folders(args.files)
    missing = [f for f in given if not Path(f).exists()]
    unusable = empty + [f"error: {f}: file not found" for f in missing]  # one line each, counted as failed
    for line in unusable:
        print(line, file=sys.stderr)
    files = [f for f in given if Path(f).exists()]
    report = run_batch(
        files, args.out, settings=settings, workers=args.workers,
        scheduler=args.scheduler, scheduler_timeout=args.scheduler_timeout, overwrite=args.overwrite,
        show_progress=not args.quiet, plot=args.plots,
    )
    for item in report.items:
        if item.status == "ok" and not args.quiet:
            shown = item.shown_equations or item.equations or {}  # with (c +- h) where the result has them
            eqs = "; ".join(f"d{v}/dt = {e}" for v, e in shown.items())
            print(f"{item.source}: {eqs}")
    n_fail = len(report.failed) + len(unusable)
    retried = f"; {len(report.retried)} retried (failed in an earlier run)" if report.retried else ""
    print(
        f"{len(report.ok)} discovered, {n_fail} failed, {len(report.skipped)} skipped (output exists; "
        f"--overwrite to redo){retried} -> {args.out}",
        file=sys.stderr,
    )
    return EXIT_FAILED if n_fail else EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``discover``."""
    p = sub.add_parser("discover", help="discover equations for one or many data files")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="CSV, Parquet or NPZ files (see the data contract), field files (NPZ, NetCDF, HDF5 or a "
                        "long CSV on a grid: the PDE path), or folders of them")
    p.add_argument("--out", required=True, metavar="DIR", type=output_folder,
                   help="folder for one result JSON per input (created if missing)")
    p.add_argument("--method", default="auto",
                   help="auto (default), or a method name / comma-separated names: sindy, sr, prose, pinn, node for "
                        "trajectories; sparse or pinn (one name) for fields")
    p.add_argument("--workers", type=positive_int, default=1, metavar="N",
                   help="local worker processes (default 1); a worker that dies is replaced")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--scheduler-timeout", type=positive_float, default=10.0, metavar="SECONDS",
                   help="how long to wait for the Dask scheduler to answer (default 10)")
    p.add_argument("--overwrite", action="store_true", help="recompute files whose result already exists")
    p.add_argument("--plots", action="store_true",
                   help="also write NAME.png: the data, the model re-simulated and extrapolated by half the window, "
                        "and the operator predictions (needs matplotlib)")
    p.add_argument("--known", action="append", metavar="VAR=FORMULA",
                   help="partly known model for pinn, e.g. --known 'x=0.5*x - h1(x, y)' (repeat per variable); a "
                        "PDE for fields when a left side is u_t or a formula uses a derivative of its field (u_x, "
                        "u_xx, ...): --known 'u=h1(u, u_x) + 0.1*u_xx'. A file of the other kind fails with one line")
    p.add_argument("--guess", action="append", metavar="VAR=FORMULA", help="guessed equations for prose")
    p.add_argument("--inputs", metavar="NAMES",
                   help="columns that are measured input signals (a drive, a control), e.g. --inputs u1,u2: symbols "
                        "of the equations, interpolated between samples, with no equation of their own")
    p.add_argument("--parameters", metavar="NAMES",
                   help="columns constant within each trajectory, e.g. --parameters mu: symbols of the equations, "
                        "so one model across experiments says how the dynamics depend on them")
    p.add_argument("--time-dependent", action="store_true",
                   help="also search terms in the time t: a periodic drive a*cos(w*t) + b*sin(w*t) with w found "
                        "from the data (auto tries it by itself when the best model's residual is periodic)")
    p.add_argument("--derivative", default="auto", help="derivative estimator (default: auto)")
    p.add_argument("--operators", metavar="NAMES",
                   help="neural operators fitted after selection: deeponet (trajectories), fno (fields: a forecast "
                        "past the observed window); a file for which none of them fits fails with one line, "
                        "so a batch of both kinds takes deeponet,fno")
    p.add_argument("--set", action="append", metavar="METHOD.OPTION=VALUE",
                   help="a method option, e.g. --set sindy.ensemble=true --set sr.backend=pyoperon; fields: --set "
                        "fno.horizon=0.5 --set fno.training.steps=200, --set pinn.sr_time_budget_s=0 (pinn options "
                        "go with the known model's kind). Options a file's kind does not read are noted as warnings")
    p.add_argument("--no-refine", action="store_true", help="skip constant refinement against trajectories")
    p.add_argument("--no-uncertainty", action="store_true",
                   help="skip quantifying the selected model's uncertainty (intervals of the constants, inclusion "
                        "probabilities of the terms, identifiability warnings): faster, equations without +-")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto",
                   help="torch device for neural methods and field operators (auto, cpu, cuda)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-file equations")
    p.set_defaults(func=cmd_discover)
