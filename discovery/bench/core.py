"""``eqdisco bench``: accuracy and speed of discovery over the zoo, side by side with the baselines.

For each system and noise level, a fitting trajectory (nominal parameters and initial condition, noisy) and a
held-out initial condition (drawn from the system's range, clean) are simulated. Each contender discovers
equations from the fitting trajectory; its equations are then re-simulated from both initial conditions and
compared with the clean true trajectories. Contenders:

``auto``
    ``discover(method="auto")``: every suitable method, refinement, scoring and selection.
``sindy``
    ``discover(method="sindy")``: our sparse regression alone, with the same refinement, scoring and selection
    (the fast path; its time is the one the ``sindy`` speed target is about).
``sr``
    ``discover(method="sr")``: symbolic regression alone (pyoperon backend; operators chosen from the data), with
    the same refinement, scoring and selection.
``prose``
    ``discover(method="prose")``: the shipped PROSE checkpoint's decoded equations, refined, scored and selected
    (its training saw every zoo family except ``rossler`` and ``brusselator``, with parameters within +-10%).
``pysindy``
    Plain pysindy with its default settings (``ps.SINDy()``: degree-2 polynomials, STLSQ threshold 0.1,
    finite differences).
``pyoperon``
    The default SR engine alone: pyoperon per variable on finite-difference derivatives, its most accurate model.

Chaotic systems are predictable only for a while: a perturbation of the initial condition by 0.1% of each
variable's spread makes even the true model leave the data after a few Lyapunov times. The R^2 columns are
therefore computed over each trajectory's *predictability horizon*: the time until the true model started from
that perturbed initial condition departs from the true trajectory by more than 10% of the spread (the whole span
for systems that are not chaotic). The horizon is recorded per system in the JSON.

Each run goes to a fresh worker process, which reports its own peak memory. The table is printed and the JSON
written atomically. A folder of CSVs with known equations can be added with ``--data-dir`` (each ``NAME.csv``
beside a ``NAME.truth.json`` holding ``{"equations": {"x": "..."}}``; when the CSV holds several trajectories,
the last one is the held-out one).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

CONTENDERS = ("auto", "sindy", "sr", "prose", "pysindy", "pyoperon")
DEFAULT_NOISE = (0.0, 0.01, 0.05)


@dataclass
class Case:
    name: str
    variables: list[str]
    truth: dict[str, str]
    fit_t: list[float]
    fit_x: list[list[float]]
    fit_clean: list[list[float]]
    held_t: list[float] | None
    held_x: list[list[float]] | None
    noise: float
    fit_horizon: int | None = None
    held_horizon: int | None = None


@dataclass
class Outcome:
    system: str
    noise: float
    contender: str
    r2_fit: float | None
    r2_heldout: float | None
    exact_terms: bool
    seconds: float
    peak_mb: float
    equations: dict[str, str]
    error: str | None = None
    spurious_trig: bool = False
    """The equations hold ``sin``/``cos``/``tan`` where the true law has none."""


def predictability_horizon(equations: dict[str, Any], variables: Sequence[str], t: np.ndarray,
                           reference: np.ndarray, perturbation: float = 1e-3, tolerance: float = 0.1) -> int:
    """Number of samples for which the true model (sympy ``equations``), started from ``reference[0]`` moved by
    ``perturbation`` of each variable's spread, stays within ``tolerance`` of the spread of ``reference``."""
    from discovery.errors import SimulationError
    from discovery.pipeline.scoring import simulate_candidate

    spread = np.maximum(reference.std(axis=0), 1e-12)
    try:
        other = simulate_candidate(equations, list(variables), reference[0] + perturbation * spread, t,
                                   time_limit=20.0)
    except (SimulationError, ValueError, TypeError, ZeroDivisionError, OverflowError):
        return len(t)
    off = (np.abs(other - reference) / spread).max(axis=1) > tolerance
    return int(np.argmax(off)) if off.any() else len(t)


def zoo_cases(names: Sequence[str], noise: float, seed: int) -> list[Case]:
    from discovery.simulation import sample_initial_condition, simulate
    from grammar.zoo import get_system

    cases = []
    for i, name in enumerate(names):
        system = get_system(name)
        rng = np.random.default_rng(seed + 1000 * i)
        t = np.arange(system.t_span[0], system.t_span[1] + 0.5 * system.dt, system.dt)
        clean = simulate(system, t=t)[0]
        noisy = simulate(system, t=t, noise=noise, seed=seed + i)[0]
        held = simulate(system, t=t, x0=sample_initial_condition(system, rng))[0]
        cases.append(
            Case(
                name=name,
                variables=list(system.variables),
                truth={v: str(e) for v, e in system.rhs().items()},
                fit_t=t.tolist(),
                fit_x=noisy.x.tolist(),
                fit_clean=clean.x.tolist(),
                held_t=held.t.tolist(),
                held_x=held.x.tolist(),
                noise=noise,
                fit_horizon=predictability_horizon(system.rhs(), system.variables, t, clean.x),
                held_horizon=predictability_horizon(system.rhs(), system.variables, t, held.x),
            )
        )
    return cases


def folder_cases(folder: str | Path, noise: float, seed: int) -> list[Case]:
    """Cases from ``NAME.csv`` + ``NAME.truth.json`` pairs (see the module docstring)."""
    from discovery.data import load_trajectories
    from grammar import parse

    cases = []
    for i, csv in enumerate(sorted(Path(folder).glob("*.csv"))):
        truth_file = csv.with_suffix(".truth.json")
        if not truth_file.exists():
            continue
        truth = json.loads(truth_file.read_text())["equations"]
        data = load_trajectories(csv)
        variables = list(data.variables)
        equations = {v: parse(e, variables=variables) for v, e in truth.items()}
        fit = data[0]
        held = data[len(data) - 1] if len(data) > 1 else None
        rng = np.random.default_rng(seed + 1000 * i)
        sd = fit.x.std(axis=0)
        noisy = fit.x + noise * sd * rng.standard_normal(fit.x.shape)
        cases.append(
            Case(
                name=csv.stem, variables=variables, truth=truth, fit_t=fit.t.tolist(),
                fit_x=noisy.tolist(), fit_clean=fit.x.tolist(),
                held_t=None if held is None else held.t.tolist(), held_x=None if held is None else held.x.tolist(),
                noise=noise,
                fit_horizon=predictability_horizon(equations, variables, fit.t, fit.x),
                held_horizon=None if held is None else predictability_horizon(equations, variables, held.t, held.x),
            )
        )
    return cases


def _pysindy_baseline(t: np.ndarray, x: np.ndarray, variables: list[str]) -> dict[str, Any]:
    import pysindy as ps
    import sympy

    model = ps.SINDy()
    model.fit(x, t=t, feature_names=variables)
    names = model.get_feature_names()
    coef = model.coefficients()
    syms = {v: sympy.Symbol(v) for v in variables}
    out = {}
    for i, v in enumerate(variables):
        expr = sympy.Integer(0)
        for c, name in zip(coef[i], names):
            if c != 0:
                text = name.replace(" ", "*").replace("^", "**")  # pysindy's feature names
                term = sympy.Integer(1) if name == "1" else sympy.sympify(text, locals=syms)
                expr += sympy.Float(float(c), 6) * term
        out[v] = expr
    return out


def _pyoperon_baseline(t: np.ndarray, x: np.ndarray, variables: list[str], seed: int) -> dict[str, Any]:
    from discovery.derivatives import differentiate
    from discovery.methods.sr import fit_symbolic

    _, dx = differentiate(t, x, method="finite_difference")
    out = {}
    for i, v in enumerate(variables):
        front = fit_symbolic(x, dx[:, i], variables, backend="pyoperon", seed=seed)
        out[v] = min(front, key=lambda s: s.mse).expr
    return out


def _run_one(case: Case, contender: str, seed: int) -> Outcome:
    """Runs in a fresh worker process."""
    import resource

    import sympy

    from discovery.terms import same_terms
    from discovery.data import Trajectories, Trajectory
    from discovery.errors import SimulationError
    from discovery.pipeline.scoring import simulate_candidate, trajectory_r2
    from grammar import parse

    t = np.asarray(case.fit_t)
    x = np.asarray(case.fit_x)
    import pyoperon.sklearn  # noqa: F401 -- imports are not part of the timed work
    import pysindy  # noqa: F401

    import discovery.api  # noqa: F401

    if contender in ("auto", "prose"):
        import models.prose.inference  # noqa: F401 -- torch and transformers: about 3 s a process

    started = time.monotonic()
    equations: dict[str, Any] = {}
    error = None
    try:
        if contender in ("auto", "sindy", "sr", "prose"):
            from discovery.api import discover

            data = Trajectories(case.variables, [Trajectory(t, x)], source=case.name)
            equations = discover(data, method=contender, seed=seed).equations
        elif contender == "pysindy":
            equations = _pysindy_baseline(t, x, case.variables)
        elif contender == "pyoperon":
            equations = _pyoperon_baseline(t, x, case.variables, seed)
        else:
            raise ValueError(f"unknown contender {contender!r}; valid: {', '.join(CONTENDERS)}")
    except Exception as exc:  # noqa: BLE001 -- a failed run is a data point, not a crash
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    seconds = time.monotonic() - started

    def r2_on(tt: Sequence[float] | None, xx: Sequence[Sequence[float]] | None, horizon: int | None) -> float | None:
        if tt is None or xx is None or not equations:
            return None
        n = max(int(horizon or len(tt)), 10)
        tt, xx = np.asarray(tt)[:n], np.asarray(xx)[:n]
        try:
            pred = simulate_candidate(equations, case.variables, xx[0], np.asarray(tt), max_abs=1e6, time_limit=20.0)
        except (SimulationError, ValueError, TypeError, ZeroDivisionError, OverflowError):
            return -math.inf
        return trajectory_r2(pred, xx)

    truth = {v: parse(e, variables=case.variables) for v, e in case.truth.items()}
    exact = bool(equations) and same_terms(equations, truth)
    spurious_trig = _has_trig(equations.values()) and not _has_trig(truth.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return Outcome(
        system=case.name, noise=case.noise, contender=contender,
        r2_fit=r2_on(case.fit_t, case.fit_clean, case.fit_horizon),
        r2_heldout=r2_on(case.held_t, case.held_x, case.held_horizon),
        exact_terms=exact, seconds=round(seconds, 3), peak_mb=round(peak_mb, 1),
        equations={v: sympy.sstr(e) for v, e in equations.items()}, error=error, spurious_trig=spurious_trig,
    )


def _has_trig(expressions: Any) -> bool:
    """Whether any of the sympy ``expressions`` holds a trigonometric function."""
    import sympy

    return any(sympy.sympify(e).atoms(sympy.sin, sympy.cos, sympy.tan) for e in expressions)


def _ok(r2: float | None) -> bool:
    return r2 is not None and r2 >= 0.9


def _fraction(values: list[bool]) -> float:
    return float(np.mean(values)) if values else float("nan")


def summarize(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted({(o.noise, o.contender) for o in outcomes}, key=lambda k: (k[0], CONTENDERS.index(k[1])))
    for noise, contender in keys:
        group = [o for o in outcomes if o.noise == noise and o.contender == contender]
        held = [o for o in group if o.r2_heldout is not None or o.error]
        rows.append(
            {
                "noise": noise,
                "contender": contender,
                "systems": len(group),
                "r2_fit_ge_0.9": _fraction([_ok(o.r2_fit) for o in group]),
                "r2_heldout_ge_0.9": _fraction([_ok(o.r2_heldout) for o in held]),
                "exact_terms": _fraction([o.exact_terms for o in group]),
                "median_s": statistics.median(o.seconds for o in group),
                "peak_mb": max(o.peak_mb for o in group),
                "errors": sum(1 for o in group if o.error),
                "spurious_trig": sum(1 for o in group if o.spurious_trig),
            }
        )
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    head = ("| noise | contender | systems | R2>=0.9 fit | R2>=0.9 held-out | exact terms | spurious trig | median s "
            "| peak MB |")
    lines = [head, "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['noise']:.0%} | {r['contender']} | {r['systems']} | {r['r2_fit_ge_0.9']:.0%} | "
            f"{r['r2_heldout_ge_0.9']:.0%} | {r['exact_terms']:.0%} | {r.get('spurious_trig', 0)} | {r['median_s']:.2f} | "
            f"{r['peak_mb']:.0f} |"
        )
    return "\n".join(lines)


def _previous_outcomes(path: str, seed: int) -> list[Outcome]:
    """The runs of an earlier ``--out`` file made with ``seed`` (none when the file is missing or unreadable)."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return []
    if payload.get("seed") != seed:
        return []
    fields = set(Outcome.__dataclass_fields__)
    return [Outcome(**{k: v for k, v in run.items() if k in fields}) for run in payload.get("runs", [])]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--systems", help="comma-separated zoo names (default: the whole zoo)")
    parser.add_argument("--noise", default=",".join(str(n) for n in DEFAULT_NOISE),
                        help="comma-separated relative noise levels (default 0,0.01,0.05)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"comma-separated, from {', '.join(CONTENDERS)}")
    parser.add_argument("--data-dir", help="also benchmark NAME.csv files with NAME.truth.json beside them")
    parser.add_argument("--no-zoo", action="store_true", help="leave the zoo out (with --data-dir)")
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel (each in its own process)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/discovery.json", help="JSON output file")
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs already in --out (same seed) and do only the missing ones")


def run(args: argparse.Namespace) -> int:
    from grammar.zoo import ZOO

    from discovery.io import atomic_write_text

    names = [s.strip() for s in args.systems.split(",")] if args.systems else list(ZOO)
    if args.data_dir:
        folder = Path(args.data_dir)
        if not folder.is_dir():
            print(f"eqdisco bench: error: --data-dir {folder}: no such folder", file=sys.stderr)
            return 2
        if not any(csv.with_suffix(".truth.json").is_file() for csv in folder.glob("*.csv")):
            print(f"eqdisco bench: error: --data-dir {folder}: no NAME.csv with a NAME.truth.json beside it "
                  "(python benchmarks/unseen.py writes such a folder)", file=sys.stderr)
            return 2
    if args.no_zoo:
        if not args.data_dir:
            print("eqdisco bench: error: --no-zoo leaves nothing to benchmark without --data-dir FOLDER",
                  file=sys.stderr)
            return 2
        names = []
    unknown = [n for n in names if n not in ZOO]
    if unknown:
        print(f"eqdisco bench: error: unknown system(s) {', '.join(unknown)}; see 'eqdisco systems'", file=sys.stderr)
        return 2
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    bad = [c for c in contenders if c not in CONTENDERS]
    if bad:
        print(f"eqdisco bench: error: unknown contender(s) {', '.join(bad)}; valid: {', '.join(CONTENDERS)}",
              file=sys.stderr)
        return 2
    try:
        noises = [float(n) for n in args.noise.split(",")]
    except ValueError:
        print(f"eqdisco bench: error: --noise must be numbers separated by commas, got {args.noise!r}",
              file=sys.stderr)
        return 2
    cases: list[Case] = []
    for noise in noises:
        cases += zoo_cases(names, noise, args.seed)
        if args.data_dir:
            cases += folder_cases(args.data_dir, noise, args.seed)
    jobs = [(c, k) for c in cases for k in contenders]
    from tqdm.auto import tqdm

    from discovery.result import json_safe

    outcomes: list[Outcome] = _previous_outcomes(args.out, args.seed) if args.resume else []
    done = {(o.system, o.noise, o.contender) for o in outcomes}
    outcomes = [o for o in outcomes if any((c.name, c.noise, k) == (o.system, o.noise, o.contender) for c, k in jobs)]
    jobs = [(c, k) for c, k in jobs if (c.name, c.noise, k) not in done]
    total = len(outcomes) + len(jobs)
    ctx = mp.get_context("spawn")
    started = time.monotonic()

    def save() -> list[dict[str, Any]]:
        """Write what has been measured so far, so an interrupted benchmark still leaves its numbers."""
        rows = summarize(outcomes)
        payload = {
            "summary": rows,
            "runs": [asdict(o) for o in outcomes],
            "complete": len(outcomes) == total,
            "systems": names,
            "noise": noises,
            "seed": args.seed,
            "wall_s": round(time.monotonic() - started, 1),
        }
        atomic_write_text(args.out, json.dumps(json_safe(payload), indent=2) + "\n")
        return rows

    from discovery.workers import one_thread_each

    several = args.workers > 1  # like a batch's workers: one thread each, or they wait on each other's BLAS threads
    with ctx.Pool(processes=max(1, args.workers), maxtasksperchild=1,
                  initializer=one_thread_each if several else None) as pool:
        pending = [pool.apply_async(_run_one, (c, k, args.seed)) for c, k in jobs]
        for res in tqdm(pending, desc="bench", unit="run"):
            outcomes.append(res.get())
            save()
    print(format_table(save()))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
