"""``eqdisco bench pde``: PDE discovery over the PDE zoo, beside plain pysindy PDE-FIND and its weak form.

For every zoo PDE and noise level, the field is simulated from one random initial condition (seed ``--seed``)
with nominal parameters, Gaussian noise of ``p * std(u)`` is added, and each contender discovers a PDE:

- ``eqdisco``: :func:`discovery.fields.discover_field` with its defaults;
- ``pysindy``: PDE-FIND (``PDELibrary`` + ``STLSQ``) and ``pysindy_weak``: ``WeakPDELibrary`` + ``STLSQ``, both
  as described in :mod:`discovery.bench.pde_baselines`.

Reported per run:

- ``exact``: the discovered right-hand sides have exactly the true terms (expanded, e.g. ``u*u_x``, ``u_xx``);
- ``coef_err``: the largest relative error of a true term's coefficient (when exact);
- ``rel_l2``: the discovered PDE simulated from a *held-out* initial condition (seed ``--seed + 1``) over the
  same span, against the true solution from it: ``||sim - true|| / ||true||`` (``inf`` when it cannot be
  simulated). Kuramoto-Sivashinsky is chaotic, so any model drifts there over the span;
- ``seconds`` and ``peak_mb``: wall time of the discovery call, and its peak memory (the largest resident set of
  the forked process that runs it, sampled every 10 ms, less the resident set at its start);
- ``forecast_rel_l2`` (``eqdisco`` on 1-D PDEs, unless ``--no-forecast``): the neural-operator forecast. The
  last quarter of the simulated span is held out: ``discover_field(first 3/4, operators="fno")`` discovers the
  PDE and trains the FNO on the first three quarters only (noisy as given, plus fields simulated from the PDE it
  discovered there, see :mod:`discovery.fields.operator`), forecasts the last quarter, and the forecast is
  compared with the clean simulation there: ``||forecast - truth|| / ||truth||``. ``forecast_persistence`` is
  the same error for repeating the last clean frame of the first three quarters, and ``forecast_seconds`` the
  wall time of that call (discovery on the shorter field plus FNO training).

The table is printed and the JSON written atomically. This is a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable, Iterator

import numpy as np
import sympy

DEFAULT_NOISE = (0.0, 0.01, 0.05)
CONTENDERS = ("eqdisco", "pysindy", "pysindy_weak")
FORECAST_HOLDOUT = 0.25
"""Fraction of the simulated span held out for the neural-operator forecast column."""
GRIDS_1D = (128, 128)
GRID_2D = (48, 48, 48)


def coefficient_error(found: dict[str, sympy.Expr], truth: dict[str, sympy.Expr],
                      values: dict[str, np.ndarray] | None = None) -> float:
    """Largest relative error over the true terms' coefficients (``inf`` for a missing term).

    A term with constants inside it (``a*u/(K + u)``) has no coefficient of its own to compare: it is matched with
    the found term of the same skeleton (:func:`discovery.terms.term_skeletons`), and its error is the relative L2
    distance of the two terms evaluated on the field's ``values`` (for a polynomial term that is the coefficient's
    relative error, so both kinds read alike)."""
    from discovery.terms import term_skeletons

    worst = 0.0
    for f, expr in truth.items():
        found_f = sympy.expand(found.get(f, sympy.Integer(0)))
        got = found_f.as_coefficients_dict()
        for term, c in sympy.expand(expr).as_coefficients_dict().items():
            if term in got or values is None or term.is_polynomial():
                worst = max(worst, abs(float(got.get(term, 0.0)) / float(c) - 1.0))
                continue
            true_term = c * term
            skeleton = term_skeletons(true_term)
            match = [t for t in sympy.Add.make_args(found_f) if term_skeletons(t) == skeleton]
            if len(match) != 1 or not set(map(str, true_term.free_symbols)) <= set(values):
                worst = float("inf")
                continue
            symbols = sorted(true_term.free_symbols | match[0].free_symbols, key=str)
            args = [values[str(x)] for x in symbols]
            a = np.asarray(sympy.lambdify(symbols, true_term, "numpy")(*args), dtype=float)
            b = np.asarray(sympy.lambdify(symbols, match[0], "numpy")(*args), dtype=float)
            worst = max(worst, float(np.linalg.norm(b - a) / max(np.linalg.norm(a), 1e-300)))
    return worst


def same_law(found: dict[str, sympy.Expr], truth: dict[str, sympy.Expr]) -> bool:
    """Every field's right-hand side has exactly the true terms: the same expanded terms, or, where the law has
    constants inside a term (``u/(K + u)``), the same term skeletons (:func:`discovery.terms.term_skeletons`)."""
    from discovery.terms import term_set, term_skeletons

    for f, e in truth.items():
        got = found.get(f, sympy.Integer(0))
        if term_set(got) != term_set(e) and term_skeletons(got) != term_skeletons(e):
            return False
    return True


def _rss_kb() -> float:
    """This process's resident set size now (Linux ``/proc``), in kB; 0 where unavailable."""
    import os

    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    except (OSError, ValueError, IndexError):
        return 0.0


def _child(fn: Callable[[], Any], conn: Any) -> None:
    """Run ``fn`` while a thread samples the resident set every 10 ms; send back result, time, peak, error."""
    import ctypes
    import threading

    from discovery.errors import one_line

    try:  # hand the heap the parent freed back to the system, so the baseline is what is really in use
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    base = _rss_kb()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], _rss_kb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tic = time.perf_counter()
    try:
        out, err = fn(), None
    except Exception as exc:  # a contender that fails is recorded, not fatal to the benchmark
        out, err = None, one_line(exc)
    seconds = time.perf_counter() - tic
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _rss_kb())
    conn.send((out, seconds, (peak[0] - base) / 1024, err))
    conn.close()


def _measure(fn: Callable[[], Any]) -> tuple[Any, float, float, str | None]:
    """Run ``fn`` in a forked process: its result, wall seconds, peak memory (MB) above its start, error line.

    The peak is the largest resident set sampled every 10 ms during the run, less the resident set at its start
    (after the inherited free heap is trimmed); no allocation tracing slows the run down.
    """
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, child))
    proc.start()
    child.close()
    try:
        out, seconds, peak, err = parent.recv()
    except EOFError:
        out, seconds, peak, err = None, float("nan"), float("nan"), f"the run died (exit code {proc.exitcode})"
    proc.join()
    return out, seconds, peak, err


def held_out_error(equations: dict[str, sympy.Expr], truth_field: Any) -> float:
    """Relative L2 of ``equations`` simulated from the held-out field's first sample against it."""
    from discovery.errors import DiscoveryError, SimulationError
    from discovery.fields import simulate_pde

    boundary = {a: ("periodic" if p else "dirichlet") for a, p in truth_field.periodic.items()}
    try:
        sim = simulate_pde(equations, {n: v[0] for n, v in truth_field.values.items()}, truth_field.t,
                           truth_field.coords, boundary=boundary, rtol=1e-6, time_limit=60.0,
                           boundary_data=None if all(truth_field.periodic.values()) else truth_field.stack())
    except (SimulationError, DiscoveryError):
        return float("inf")
    a, b = sim.stack(), truth_field.stack()
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def forecast_error(clean: Any, observed: Any, seed: int) -> Callable[[], dict[str, float]]:
    """The forecast column's measurement (see the module docstring) as a function to run in :func:`_measure`."""

    def run() -> dict[str, float]:
        from discovery.fields import discover_field

        nt = clean.shape[0]
        cut = nt - round(FORECAST_HOLDOUT * (nt - 1))
        truth = clean.stack()[:, cut:]
        result = discover_field(observed.time_slice(0, cut), operators="fno", seed=seed,
                                fno={"holdout": 0.0, "horizon": (nt - cut) / (cut - 1)})
        if result.forecast is None:
            raise RuntimeError("; ".join(result.warnings) or "no forecast")
        pred = result.forecast.array
        last = np.repeat(clean.stack()[:, cut - 1:cut], nt - cut, axis=1)
        norm = float(np.linalg.norm(truth))
        return {"forecast_rel_l2": float(np.linalg.norm(pred - truth)) / norm,
                "forecast_persistence": float(np.linalg.norm(last - truth)) / norm}

    return run


def run_case(name: str, noise: float, contenders: list[str], seed: int,
             grid: tuple[int, ...] | None, forecast: bool = True) -> Iterator[dict]:
    """Every contender on one zoo PDE at one noise level: one row each, as it finishes."""
    from discovery.bench.pde_baselines import fit_pysindy
    from discovery.fields import discover_field, simulate_zoo
    from grammar.pde_zoo import get_pde

    system = get_pde(name)
    grid = grid or (GRIDS_1D if system.dim == 1 else GRID_2D)
    truth = system.rhs()
    clean = simulate_zoo(system, grid=grid, seed=seed)
    field = clean.with_noise(noise, seed=seed + 100) if noise else clean  # as simulate_zoo(noise=, noise_seed=)
    held_out = simulate_zoo(system, grid=grid, seed=seed + 1)
    runners = {
        "eqdisco": lambda: discover_field(field).equations,
        "pysindy": lambda: fit_pysindy(field, weak=False),
        "pysindy_weak": lambda: fit_pysindy(field, weak=True),
    }
    for who in contenders:
        found, seconds, peak, err = _measure(runners[who])
        row: dict[str, Any] = {"system": name, "noise": noise, "contender": who, "grid": list(grid),
                               "seconds": round(seconds, 2), "peak_mb": round(peak, 1)}
        if found is None:
            row.update(exact=False, coef_err=None, rel_l2=None, error=err)
        else:
            exact = same_law(found, truth)
            row.update(
                equations={f: sympy.sstr(sympy.sympify(e).evalf(5)) for f, e in found.items()},
                exact=exact,
                coef_err=coefficient_error(found, truth, clean.values) if exact else None,
                rel_l2=held_out_error(found, held_out),
            )
        if who == "eqdisco" and forecast and system.dim == 1:
            out, seconds, _, err = _measure(forecast_error(clean, field, seed))
            row.update(out or {"forecast_rel_l2": None, "forecast_persistence": None, "forecast_error": err},
                       forecast_seconds=round(seconds, 2))
        yield row


def _fmt(v: Any, spec: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not np.isfinite(v):
        return "inf"
    return format(v, spec)


def summarize(rows: list[dict]) -> dict[str, dict[str, Any]]:
    """Per contender and noise level: share exact, median coefficient error, median rel_l2, mean seconds, and
    (where measured) the median forecast error and the share of systems whose forecast is within 5%."""
    out: dict[str, dict[str, Any]] = {}
    for who in sorted({r["contender"] for r in rows}, key=CONTENDERS.index):
        for noise in sorted({r["noise"] for r in rows}):
            sel = [r for r in rows if r["contender"] == who and r["noise"] == noise]
            errs = [r["coef_err"] for r in sel if r["coef_err"] is not None]
            l2 = [r["rel_l2"] if r["rel_l2"] is not None else np.inf for r in sel]
            out[f"{who}@{noise:g}"] = {
                "exact": sum(r["exact"] for r in sel) / len(sel),
                "coef_err_max": max(errs) if errs else None,
                "rel_l2_median": float(np.median(l2)),
                "seconds_mean": float(np.mean([r["seconds"] for r in sel])),
            }
            fc = [r["forecast_rel_l2"] if r["forecast_rel_l2"] is not None else np.inf
                  for r in sel if "forecast_rel_l2" in r]
            if fc:
                out[f"{who}@{noise:g}"].update(forecast_rel_l2_median=float(np.median(fc)),
                                               forecast_within_5pct=float(np.mean([v <= 0.05 for v in fc])))
    return out


def print_table(rows: list[dict], file=sys.stdout) -> None:
    head = (f"{'system':<22}{'noise':>6}  {'contender':<13}{'exact':>6}{'coef err':>10}{'rel L2':>10}{'sec':>8}"
            f"{'MB':>8}{'fcst L2':>10}{'persist':>10}{'fcst s':>8}")
    print(head, file=file)
    print("-" * len(head), file=file)
    for r in rows:
        print(f"{r['system']:<22}{r['noise']:>6g}  {r['contender']:<13}{'yes' if r['exact'] else 'no':>6}"
              f"{_fmt(r['coef_err'], '.2%'):>10}{_fmt(r['rel_l2'], '.2e'):>10}{r['seconds']:>8.1f}"
              f"{r['peak_mb']:>8.0f}{_fmt(r.get('forecast_rel_l2'), '.2e'):>10}"
              f"{_fmt(r.get('forecast_persistence'), '.2e'):>10}{_fmt(r.get('forecast_seconds'), '.1f'):>8}", file=file)
    print(file=file)
    for key, s in summarize(rows).items():
        print(f"{key:<20} exact {s['exact']:.0%}  worst coef err {_fmt(s['coef_err_max'], '.2%')}  "
              f"median rel L2 {_fmt(s['rel_l2_median'], '.2e')}  mean {s['seconds_mean']:.1f} s"
              + (f"  median forecast rel L2 {_fmt(s['forecast_rel_l2_median'], '.2e')}"
                 f" ({s['forecast_within_5pct']:.0%} within 5%)" if "forecast_rel_l2_median" in s else ""),
              file=file)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--systems", help="comma-separated PDE zoo names (default: the whole PDE zoo)")
    parser.add_argument("--noise", default=",".join(str(n) for n in DEFAULT_NOISE),
                        help="comma-separated relative noise levels (default 0,0.01,0.05)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS), help=f"from {', '.join(CONTENDERS)}")
    parser.add_argument("--grid", help="grid Nt,Nx (1-D systems; default 128,128)")
    parser.add_argument("--seed", type=int, default=1, help="initial-condition seed (held-out: seed + 1)")
    parser.add_argument("--no-forecast", action="store_true",
                        help="skip the neural-operator (FNO) forecast column of the 1-D PDEs")
    parser.add_argument("--out", default="benchmarks/results/pde.json", help="JSON output file")


def run(args: argparse.Namespace) -> int:
    from discovery.io import atomic_write_text
    from discovery.result import json_safe
    from grammar.pde_zoo import PDE_ZOO

    names = [s.strip() for s in args.systems.split(",")] if args.systems else list(PDE_ZOO)
    unknown = [n for n in names if n not in PDE_ZOO]
    contenders = [c.strip() for c in args.contenders.split(",")]
    bad = [c for c in contenders if c not in CONTENDERS]
    if unknown or bad:
        print(f"eqdisco bench pde: error: unknown {'systems ' + str(unknown) if unknown else ''}"
              f"{'contenders ' + str(bad) if bad else ''}; PDEs: {', '.join(PDE_ZOO)}; "
              f"contenders: {', '.join(CONTENDERS)}", file=sys.stderr)
        return 2
    noises = [float(v) for v in args.noise.split(",")]
    grid = tuple(int(v) for v in args.grid.split(",")) if args.grid else None
    rows = []
    for name in names:
        for noise in noises:
            case_grid = grid if (grid and PDE_ZOO[name].dim == 1) else None
            for row in run_case(name, noise, contenders, args.seed, case_grid,
                                forecast=not getattr(args, "no_forecast", False)):
                rows.append(row)
                fc = row.get("forecast_rel_l2")
                print(f"{row['system']} noise={row['noise']:g} {row['contender']}: "
                      f"{'exact' if row['exact'] else 'not exact'}, {row['seconds']:.1f} s"
                      + (f", forecast rel L2 {fc:.3g}" if fc is not None else ""), flush=True)
    print_table(rows)
    payload = {"rows": rows, "summary": summarize(rows), "seed": args.seed,
               "grid_1d": list(grid or GRIDS_1D), "grid_2d": list(GRID_2D)}
    atomic_write_text(args.out, json.dumps(json_safe(payload), indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0
