"""``eqdisco bench driven``: driven systems (inputs, an explicit periodic drive, per-experiment parameters).

Cases come from a folder written by ``benchmarks/driven.py``: ``NAME.csv`` (clean fitting trajectories with their
inputs and parameters), ``NAME.heldout.csv`` (one trajectory under a new input signal or parameter value) and
``NAME.truth.json`` (the true equations and the columns' roles). Noise ``p`` is added to the fitting states
(standard deviation ``p * std`` per variable and trajectory); the inputs are measured signals and stay clean.
Contenders:

``auto``
    ``discover(method="auto", inputs=..., parameters=...)``: the explicit drive is *not* announced; ``auto`` must
    notice it in the residual of its best autonomous model.
``sindy``
    ``discover(method="sindy", ...)`` with ``time_dependent`` as the truth file says (a user who knows the system
    is driven says so).
``pysindy``
    pysindy with its control support, default settings: ``ps.SINDy().fit(x, t=t, u=u)`` with the inputs and
    parameters as ``u`` (pysindy's own recipe for parametrized systems); it has no explicit time dependence, so
    on the time-dependent system it fits the states alone.
``pysindy3``
    The same with a degree-3 polynomial library (``ps.SINDy(feature_library=ps.PolynomialLibrary(degree=3))``):
    the default library has degree 2, while the Duffing, Van der Pol and pitchfork laws have cubic terms.

Scores: *exact terms* (:func:`discovery.terms.same_terms`: the found equations have exactly the true terms, by
their skeletons), *held-out R^2* (each model simulated from the held-out trajectory's first state under the
held-out inputs, against the clean held-out states; for chaotic data over the predictability horizon: until the
true model from a start moved by 0.1% of the spread leaves the true trajectory by 10% of the spread), seconds.
Each run goes to a fresh process. The table is printed and the JSON written atomically after every run.
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

CONTENDERS = ("auto", "sindy", "pysindy", "pysindy3")
DEFAULT_NOISE = (0.0, 0.01, 0.05)
DEFAULT_FOLDER = "benchmarks/driven"


@dataclass
class DrivenCase:
    name: str
    variables: list[str]
    inputs: list[str]
    parameters: list[str]
    time_dependent: bool
    truth: dict[str, str]
    fit_t: list[list[float]]
    fit_x: list[list[list[float]]]
    fit_u: list[list[list[float]]]
    held_t: list[float]
    held_x: list[list[float]]
    held_u: list[list[float]]
    noise: float
    held_horizon: int | None = None


@dataclass
class DrivenOutcome:
    system: str
    noise: float
    contender: str
    exact_terms: bool
    r2_heldout: float | None
    seconds: float
    equations: dict[str, str]
    error: str | None = None


def _parse_truth(case: DrivenCase) -> dict[str, Any]:
    from grammar import parse

    return {v: parse(e, variables=case.variables, params=[*case.inputs, *case.parameters, "t"], hidden=False)
            for v, e in case.truth.items()}


def _simulate(equations: dict[str, Any], case: DrivenCase, t: np.ndarray, x0: np.ndarray, u: np.ndarray) -> np.ndarray:
    from discovery.inputs import InputSignal
    from discovery.pipeline.scoring import simulate_candidate

    return simulate_candidate(equations, case.variables, x0, t, max_abs=1e6, time_limit=30.0,
                              inputs=[*case.inputs, *case.parameters], u=InputSignal(t, u))


def heldout_horizon(case: DrivenCase, perturbation: float = 1e-3, tolerance: float = 0.1) -> int:
    """Samples of the held-out trajectory that the true model itself follows from a start moved by
    ``perturbation`` of each variable's spread (within ``tolerance`` of the spread): the predictability horizon."""
    from discovery.errors import SimulationError

    t, x, u = np.asarray(case.held_t), np.asarray(case.held_x), np.asarray(case.held_u)
    spread = np.maximum(x.std(axis=0), 1e-12)
    try:
        other = _simulate(_parse_truth(case), case, t, x[0] + perturbation * spread, u)
    except (SimulationError, ValueError, TypeError, ZeroDivisionError, OverflowError):
        return len(t)
    off = (np.abs(other - x) / spread).max(axis=1) > tolerance
    return int(np.argmax(off)) if off.any() else len(t)


def folder_cases(folder: str | Path, noise: float, seed: int) -> list[DrivenCase]:
    """The cases of ``folder`` (``NAME.truth.json`` beside ``NAME.csv`` and its held-out file) at noise ``noise``."""
    from discovery.data import load_trajectories

    cases = []
    for i, truth_file in enumerate(sorted(Path(folder).glob("*.truth.json"))):
        spec = json.loads(truth_file.read_text())
        name = truth_file.name.removesuffix(".truth.json")
        roles = {"inputs": spec.get("inputs") or None, "parameters": spec.get("parameters") or None}
        data = load_trajectories(truth_file.with_name(f"{name}.csv"), **roles)
        held = load_trajectories(truth_file.with_name(spec["heldout"]), **roles)[0]
        rng = np.random.default_rng(seed + 1000 * i)
        noisy = [tr.x + noise * tr.x.std(axis=0) * rng.standard_normal(tr.x.shape) for tr in data]
        case = DrivenCase(
            name=name, variables=list(data.variables), inputs=list(data.inputs), parameters=list(data.parameters),
            time_dependent=bool(spec.get("time_dependent")), truth=dict(spec["equations"]),
            fit_t=[tr.t.tolist() for tr in data], fit_x=[x.tolist() for x in noisy],
            fit_u=[tr.u.tolist() for tr in data], held_t=held.t.tolist(), held_x=held.x.tolist(),
            held_u=held.u.tolist(), noise=noise,
        )
        case.held_horizon = heldout_horizon(case)
        cases.append(case)
    return cases


def _pysindy_control(case: DrivenCase, degree: int | None = None) -> dict[str, Any]:
    """pysindy's default model (or with a polynomial library of ``degree``), with the inputs and parameters as its
    control ``u``."""
    import pysindy as ps
    import sympy

    external = [*case.inputs, *case.parameters]
    ts = [np.asarray(t) for t in case.fit_t]
    xs = [np.asarray(x) for x in case.fit_x]
    model = ps.SINDy() if degree is None else ps.SINDy(feature_library=ps.PolynomialLibrary(degree=degree))
    several = len(xs) > 1
    if external:
        us = [np.asarray(u) for u in case.fit_u]
        model.fit(xs if several else xs[0], t=ts if several else ts[0], u=us if several else us[0],
                  feature_names=[*case.variables, *external])
    else:
        model.fit(xs if several else xs[0], t=ts if several else ts[0], feature_names=list(case.variables))
    syms = {v: sympy.Symbol(v) for v in [*case.variables, *external]}
    out = {}
    for i, v in enumerate(case.variables):
        expr = sympy.Integer(0)
        for c, name in zip(model.coefficients()[i], model.get_feature_names()):
            if c != 0:
                text = name.replace(" ", "*").replace("^", "**")  # pysindy's feature names
                term = sympy.Integer(1) if name == "1" else sympy.sympify(text, locals=syms)
                expr += sympy.Float(float(c), 6) * term
        out[v] = expr
    return out


def _run_one(case: DrivenCase, contender: str, seed: int) -> DrivenOutcome:
    """Runs in a fresh worker process."""
    import sympy

    from discovery.data import Trajectories, Trajectory
    from discovery.errors import SimulationError
    from discovery.pipeline.scoring import trajectory_r2
    from discovery.terms import same_terms

    import discovery.api  # noqa: F401 -- imports are not part of the timed work
    import pysindy  # noqa: F401

    started = time.monotonic()
    equations: dict[str, Any] = {}
    error = None
    try:
        if contender in ("auto", "sindy"):
            from discovery.api import discover

            trajectories = [Trajectory(np.asarray(t), np.asarray(x), np.asarray(u))
                            for t, x, u in zip(case.fit_t, case.fit_x, case.fit_u)]
            data = Trajectories(case.variables, trajectories, source=case.name, inputs=case.inputs,
                                parameters=case.parameters)
            timed = case.time_dependent and contender == "sindy"
            equations = discover(data, method=contender, seed=seed, time_dependent=timed).equations
        elif contender in ("pysindy", "pysindy3"):
            equations = _pysindy_control(case, None if contender == "pysindy" else 3)
        else:
            raise ValueError(f"unknown contender {contender!r}; valid: {', '.join(CONTENDERS)}")
    except Exception as exc:  # noqa: BLE001 -- a failed run is a data point, not a crash
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    seconds = time.monotonic() - started
    r2 = None
    if equations:
        n = max(int(case.held_horizon or len(case.held_t)), 10)
        t, x, u = np.asarray(case.held_t)[:n], np.asarray(case.held_x)[:n], np.asarray(case.held_u)[:n]
        try:
            r2 = trajectory_r2(_simulate(equations, case, t, x[0], u), x)
        except (SimulationError, ValueError, TypeError, ZeroDivisionError, OverflowError):
            r2 = -math.inf
    exact = bool(equations) and same_terms(equations, _parse_truth(case))
    return DrivenOutcome(system=case.name, noise=case.noise, contender=contender, exact_terms=exact,
                         r2_heldout=r2, seconds=round(seconds, 3),
                         equations={v: sympy.sstr(e) for v, e in equations.items()}, error=error)


def summarize(outcomes: Sequence[DrivenOutcome]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted({(o.noise, o.contender) for o in outcomes}, key=lambda k: (k[0], CONTENDERS.index(k[1])))
    for noise, contender in keys:
        group = [o for o in outcomes if o.noise == noise and o.contender == contender]
        rows.append({
            "noise": noise, "contender": contender, "systems": len(group),
            "exact_terms": float(np.mean([o.exact_terms for o in group])),
            "r2_heldout_ge_0.9": float(np.mean([o.r2_heldout is not None and o.r2_heldout >= 0.9 for o in group])),
            "median_s": statistics.median(o.seconds for o in group),
            "errors": sum(1 for o in group if o.error),
        })
    return rows


def format_table(rows: Sequence[dict[str, Any]], outcomes: Sequence[DrivenOutcome]) -> str:
    lines = ["| noise | contender | systems | exact terms | held-out R2>=0.9 | median s |",
             "|---:|---|---:|---:|---:|---:|"]
    lines += [f"| {r['noise']:.0%} | {r['contender']} | {r['systems']} | {r['exact_terms']:.0%} | "
              f"{r['r2_heldout_ge_0.9']:.0%} | {r['median_s']:.1f} |" for r in rows]
    lines += ["", "| system | noise | contender | exact | held-out R2 | s |", "|---|---:|---|:---:|---:|---:|"]
    for o in sorted(outcomes, key=lambda o: (o.system, o.noise, CONTENDERS.index(o.contender))):
        shown = "error" if o.error else ("n/a" if o.r2_heldout is None else f"{o.r2_heldout:.3f}")
        lines.append(f"| {o.system} | {o.noise:.0%} | {o.contender} | {'yes' if o.exact_terms else 'no'} | "
                     f"{shown} | {o.seconds:.1f} |")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--data-dir", default=DEFAULT_FOLDER,
                        help=f"folder written by benchmarks/driven.py (default {DEFAULT_FOLDER})")
    parser.add_argument("--systems", help="comma-separated case names (default: every case in the folder)")
    parser.add_argument("--noise", default=",".join(str(n) for n in DEFAULT_NOISE),
                        help="comma-separated relative noise levels (default 0,0.01,0.05)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"comma-separated, from {', '.join(CONTENDERS)}")
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel (each in its own process)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/driven.json", help="JSON output file")


def run(args: argparse.Namespace) -> int:
    from discovery.io import atomic_write_text
    from discovery.result import json_safe

    folder = Path(args.data_dir)
    if not any(folder.glob("*.truth.json")):
        print(f"eqdisco bench driven: error: --data-dir {folder}: no NAME.truth.json found (python "
              "benchmarks/driven.py writes the set)", file=sys.stderr)
        return 2
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    bad = [c for c in contenders if c not in CONTENDERS]
    if bad:
        print(f"eqdisco bench driven: error: unknown contender(s) {', '.join(bad)}; valid: {', '.join(CONTENDERS)}",
              file=sys.stderr)
        return 2
    try:
        noises = [float(n) for n in args.noise.split(",")]
    except ValueError:
        print(f"eqdisco bench driven: error: --noise must be numbers separated by commas, got {args.noise!r}",
              file=sys.stderr)
        return 2
    wanted = {s.strip() for s in args.systems.split(",")} if args.systems else None
    cases = [c for noise in noises for c in folder_cases(folder, noise, args.seed)
             if wanted is None or c.name in wanted]
    if not cases:
        print(f"eqdisco bench driven: error: no case named {sorted(wanted or [])} in {folder}", file=sys.stderr)
        return 2
    jobs = [(c, k) for c in cases for k in contenders]
    outcomes: list[DrivenOutcome] = []
    started = time.monotonic()

    def save() -> list[dict[str, Any]]:
        rows = summarize(outcomes)
        payload = {"summary": rows, "runs": [asdict(o) for o in outcomes], "complete": len(outcomes) == len(jobs),
                   "systems": sorted({c.name for c in cases}), "noise": noises, "seed": args.seed,
                   "wall_s": round(time.monotonic() - started, 1)}
        atomic_write_text(args.out, json.dumps(json_safe(payload), indent=2) + "\n")
        return rows

    from tqdm.auto import tqdm

    from discovery.workers import one_thread_each

    with mp.get_context("spawn").Pool(processes=max(1, args.workers), maxtasksperchild=1,
                                      initializer=one_thread_each if args.workers > 1 else None) as pool:
        pending = [pool.apply_async(_run_one, (c, k, args.seed)) for c, k in jobs]
        for res in tqdm(pending, desc="bench driven", unit="run"):
            outcomes.append(res.get())
            save()
    print(format_table(save(), outcomes))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
