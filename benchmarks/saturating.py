"""A small check of rational, saturating, exponential and logarithmic laws (issue 15, items 1 and 2).

Usage::

    python benchmarks/saturating.py --label after                  # every system, 0 and 1% noise, sindy and auto
    python benchmarks/saturating.py --systems gompertz --methods sindy --noise 0
    python benchmarks/saturating.py --label baseline --baseline   # the generators off: the code before them

For each system (a few textbook laws that are not polynomial, and two zoo systems to check for regressions) one
trajectory is fitted with ``discover(..., method=...)`` and the selected equations are compared with the truth by
*skeleton* (the terms with every number replaced by 1, so ``0.49*x*y/(1.02*x + 1)`` matches ``x*y/(1 + x)``) and
by R^2 from a held-out initial condition. Writes ``benchmarks/results/saturating_LABEL.json`` and prints a table.
This is a probe for one change, not the textbook benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sympy

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Probe:
    name: str
    variables: tuple[str, ...]
    equations: tuple[str, ...]
    x0: tuple[float, ...]
    held_x0: tuple[float, ...]
    t_end: float
    dt: float


PROBES = [
    Probe("rosenzweig_macarthur", ("x", "y"), ("x*(1 - x/3) - x*y/(1 + x)", "0.5*x*y/(1 + x) - 0.2*y"),
          (1.0, 0.5), (2.0, 1.0), 100.0, 0.1),
    Probe("toggle_hill2", ("x", "y"), ("3/(1 + y**2) - x", "3/(1 + x**2) - y"), (0.1, 0.3), (0.4, 0.2), 10.0, 0.02),
    Probe("toggle_hill3", ("x", "y"), ("3/(1 + y**3) - x", "3/(1 + x**3) - y"), (0.1, 0.3), (0.4, 0.2), 10.0, 0.02),
    Probe("gompertz", ("x",), ("0.5*x*log(10/x)",), (0.5,), (2.0,), 15.0, 0.05),
    Probe("ivlev", ("x", "y"), ("x*(1 - x/4) - y*(1 - exp(-0.8*x))", "0.6*y*(1 - exp(-0.8*x)) - 0.25*y"),
          (1.0, 0.5), (2.5, 1.0), 100.0, 0.1),
    Probe("michaelis_menten", ("s",), ("0.6 - 1.5*s/(0.8 + s)",), (4.0,), (0.05,), 15.0, 0.05),
    Probe("lotka_volterra", ("x", "y"), ("x - 0.1*x*y", "0.075*x*y - 1.5*y"), (10.0, 5.0), (8.0, 8.0), 30.0, 0.05),
    Probe("lorenz", ("x", "y", "z"), ("10*(y - x)", "x*(28 - z) - y", "x*y - 8/3*z"), (-8.0, 7.0, 27.0),
          (1.0, 1.0, 20.0), 20.0, 0.01),
]


def _parse(text: str, variables: tuple[str, ...]) -> sympy.Expr:
    from grammar import parse

    return parse(text, variables=list(variables))


def skeleton(expr: sympy.Expr) -> frozenset[sympy.Expr]:
    """Terms of ``expr`` (logs of products split) with every non-integer number replaced by 1."""
    expanded = sympy.expand(sympy.expand_log(sympy.sympify(expr), force=True), force=True)
    out = set()
    for term in sympy.Add.make_args(expanded):
        coeff, rest = term.as_independent(*term.free_symbols, as_Add=False)
        if coeff == 0:
            continue
        numbers = {a: sympy.Integer(1) for a in rest.atoms(sympy.Number)
                   if not (a.is_Integer and abs(int(a)) <= 4)}  # keep integer powers; inner constants -> 1
        out.add(rest.xreplace(numbers))
    return frozenset(out)


def run_probe(probe: Probe, noise: float, method: str, seed: int = 0, baseline: bool = False) -> dict:
    from discovery import discover
    from discovery.data import Trajectories, Trajectory
    from discovery.errors import SimulationError
    from discovery.pipeline.scoring import simulate_candidate, trajectory_r2
    from discovery.simulation import integrate, lambdify_system

    truth = [_parse(e, probe.variables) for e in probe.equations]
    f = lambdify_system(truth, list(probe.variables))
    t = np.arange(0.0, probe.t_end + 0.5 * probe.dt, probe.dt)
    clean = integrate(f, np.asarray(probe.x0, float), t)
    held = integrate(f, np.asarray(probe.held_x0, float), t)
    rng = np.random.default_rng(seed)
    noisy = clean + noise * clean.std(axis=0) * rng.standard_normal(clean.shape)
    data = Trajectories(list(probe.variables), [Trajectory(t, noisy)], source=probe.name)
    started = time.monotonic()
    options = {"sindy": {"rational": False, "saturating": False}} if baseline else {}
    result = discover(data, method=method, seed=seed, **options)
    seconds = time.monotonic() - started
    eqs = result.equations
    try:
        pred = simulate_candidate(eqs, list(probe.variables), held[0], t, max_abs=1e6, time_limit=20.0)
        r2_held = trajectory_r2(pred, held)
    except (SimulationError, ValueError, TypeError, ZeroDivisionError, OverflowError):
        r2_held = -math.inf
    exact = all(skeleton(eqs[v]) == skeleton(e) for v, e in zip(probe.variables, truth))
    best = result.best
    return {
        "system": probe.name, "noise": noise, "method": method, "seconds": round(seconds, 2),
        "exact_skeleton": exact, "r2_heldout": round(r2_held, 4) if math.isfinite(r2_held) else None,
        "selected_by": best.method, "label": best.info.get("label"),
        "equations": {v: sympy.sstr(e) for v, e in eqs.items()},
        "r2_window": best.metrics.get("r2_window"), "n_candidates": len(result.candidates),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", default="run")
    parser.add_argument("--systems", default=",".join(p.name for p in PROBES))
    parser.add_argument("--methods", default="sindy,auto")
    parser.add_argument("--noise", default="0,0.01")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--baseline", action="store_true",
                        help="turn the sindy method's rational and saturating generators off (the code before them)")
    args = parser.parse_args(argv)
    chosen = [p for p in PROBES if p.name in args.systems.split(",")]
    rows = []
    out = args.out or HERE / "results" / f"saturating_{args.label}.json"
    for noise in [float(n) for n in args.noise.split(",")]:
        for probe in chosen:
            for method in args.methods.split(","):
                row = run_probe(probe, noise, method, baseline=args.baseline)
                rows.append(row)
                print(f"{row['system']:22s} {noise:4.0%} {method:5s} {row['seconds']:6.1f}s "
                      f"exact={row['exact_skeleton']!s:5s} R2_held={row['r2_heldout']} "
                      f"{row['label']}: {row['equations']}", flush=True)
                tmp = out.with_suffix(".tmp")
                tmp.write_text(json.dumps(rows, indent=1) + "\n")
                tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
