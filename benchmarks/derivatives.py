"""Benchmark of the derivative estimators in :mod:`discovery.derivatives`.

Measures the relative RMS error of ``dxdt`` (per variable ``RMS(est - true) / RMS(true)``, averaged over the
variables) of every method on analytic signals and on Lorenz, Van der Pol and Lotka-Volterra trajectories
(integrated here with ``scipy.integrate.solve_ivp``, the true derivative being the vector field on the exact
trajectory), at noise 0, 1% and 5% (Gaussian, std ``p * std(x_v)``), on uniform, jittered and random grids.
Errors are reported on the whole signal and on the interior (5% of the samples dropped at each end).

Usage::

    python benchmarks/derivatives.py --out benchmarks/results/derivatives.json [--seeds 3] [--methods a,b]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from a source checkout

from discovery.derivatives import DERIVATIVE_METHODS, differentiate  # noqa: E402
from discovery.io import atomic_write_text  # noqa: E402

NOISE_LEVELS = (0.0, 0.01, 0.05)
GRIDS = ("uniform", "jittered", "random")
EDGE_FRACTION = 0.05


@dataclass(frozen=True)
class Signal:
    """A test signal: ``truth(t) -> (x (N, D), dxdt (N, D))`` on ``[t0, t1]`` sampled at ``n`` points."""

    name: str
    t0: float
    t1: float
    n: int
    truth: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _analytic_sin(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.sin(t)[:, None], np.cos(t)[:, None]


def _analytic_damped(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    decay, omega = 0.2, 2.0
    env = np.exp(-decay * t)
    x = np.stack([env * np.cos(omega * t), env * np.sin(omega * t)], axis=1)
    dx = np.stack(
        [env * (-decay * np.cos(omega * t) - omega * np.sin(omega * t)),
         env * (-decay * np.sin(omega * t) + omega * np.cos(omega * t))],
        axis=1,
    )
    return x, dx


def _ode(rhs: Callable[[float, np.ndarray], np.ndarray], x0: list[float], t1: float):
    """Truth function of an ODE trajectory: dense solution from t=0, derivative = vector field on it."""
    sol = solve_ivp(rhs, (0.0, t1), x0, method="DOP853", rtol=1e-11, atol=1e-12, dense_output=True)

    def truth(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = sol.sol(t).T  # (N, D)
        dx = np.stack([rhs(0.0, row) for row in x])  # (N, D)
        return x, dx

    return truth


def _lorenz(_t: float, s: np.ndarray) -> np.ndarray:
    x, y, z = s
    return np.array([10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z])


def _van_der_pol(_t: float, s: np.ndarray) -> np.ndarray:
    x, y = s
    return np.array([y, 2.0 * (1.0 - x**2) * y - x])


def _lotka_volterra(_t: float, s: np.ndarray) -> np.ndarray:
    x, y = s
    return np.array([1.0 * x - 0.5 * x * y, 0.5 * x * y - 1.0 * y])


def signals() -> list[Signal]:
    return [
        Signal("sin", 0.0, 10.0, 200, _analytic_sin),
        Signal("sin_sparse", 0.0, 20.0, 50, _analytic_sin),
        Signal("damped", 0.0, 15.0, 300, _analytic_damped),
        Signal("lorenz", 0.0, 10.0, 1000, _ode(_lorenz, [-8.0, 8.0, 27.0], 10.0)),
        Signal("lorenz_dense", 0.0, 25.0, 5000, _ode(_lorenz, [1.0, 1.0, 1.0], 25.0)),
        Signal("van_der_pol", 0.0, 20.0, 500, _ode(_van_der_pol, [2.0, 0.0], 20.0)),
        Signal("lotka_volterra", 0.0, 20.0, 300, _ode(_lotka_volterra, [2.0, 1.0], 20.0)),
    ]


def make_grid(kind: str, t0: float, t1: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``uniform``: equal steps; ``jittered``: each inner sample moved by up to 40% of a step;
    ``random``: sorted uniform draws (some gaps tiny) with the end points kept."""
    base = np.linspace(t0, t1, n)
    if kind == "uniform":
        return base
    if kind == "jittered":
        step = (t1 - t0) / (n - 1)
        t = base.copy()
        t[1:-1] += rng.uniform(-0.4, 0.4, n - 2) * step
        return t
    if kind == "random":
        inner = np.sort(rng.uniform(t0, t1, n - 2))
        return np.concatenate([[t0], inner, [t1]])
    raise ValueError(f"unknown grid kind {kind!r}; expected one of {GRIDS}")


def relative_rms(est: np.ndarray, true: np.ndarray) -> float:
    """Mean over variables of ``RMS(est_v - true_v) / RMS(true_v)``."""
    err = np.sqrt(np.mean((est - true) ** 2, axis=0))
    ref = np.sqrt(np.mean(true**2, axis=0))
    return float(np.mean(err / ref))


def run(methods: list[str], seeds: int) -> list[dict]:
    records = []
    for signal in signals():
        for grid in GRIDS:
            for noise in NOISE_LEVELS:
                for seed in range(seeds if (noise > 0 or grid != "uniform") else 1):
                    rng = np.random.default_rng(1000 * seed + 17)
                    t = make_grid(grid, signal.t0, signal.t1, signal.n, rng)
                    x, dx = signal.truth(t)
                    x_noisy = x + noise * np.std(x, axis=0) * rng.standard_normal(x.shape)
                    cut = max(1, int(round(EDGE_FRACTION * t.size)))
                    for method in methods:
                        start = time.perf_counter()
                        _, est = differentiate(t, x_noisy, method=method)
                        elapsed = time.perf_counter() - start
                        records.append({
                            "signal": signal.name, "grid": grid, "noise": noise, "seed": seed, "n": signal.n,
                            "method": method, "seconds": elapsed,
                            "rel_rmse": relative_rms(est, dx),
                            "rel_rmse_interior": relative_rms(est[cut:-cut], dx[cut:-cut]),
                        })
    return records


def _geomean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(np.maximum(values, 1e-12)))))


def summarise(records: list[dict], methods: list[str]) -> dict:
    """Geometric-mean error per method, noise level and grid (over signals and seeds), and win counts."""
    summary: dict = {"geomean": {}, "wins": {}, "geomean_all": {}}
    for key in ("rel_rmse", "rel_rmse_interior"):
        table = {}
        for method in methods:
            row = {}
            for noise in NOISE_LEVELS:
                for grid in GRIDS:
                    vals = [r[key] for r in records
                            if r["method"] == method and r["noise"] == noise and r["grid"] == grid]
                    row[f"{noise:g}/{grid}"] = _geomean(vals)
            table[method] = row
            summary["geomean_all"].setdefault(key, {})[method] = _geomean(
                [r[key] for r in records if r["method"] == method])
        summary["geomean"][key] = table
    # wins: on each (signal, grid, noise, seed) case, which method of those compared has the lowest interior error
    cases: dict = {}
    for r in records:
        if r["method"] == "auto":
            continue
        cases.setdefault((r["signal"], r["grid"], r["noise"], r["seed"]), []).append(r)
    wins = {m: 0 for m in methods if m != "auto"}
    for rows in cases.values():
        wins[min(rows, key=lambda r: r["rel_rmse_interior"])["method"]] += 1
    summary["wins"] = wins
    summary["seconds_mean"] = {m: float(np.mean([r["seconds"] for r in records if r["method"] == m]))
                               for m in methods}
    return summary


def print_tables(records: list[dict], summary: dict, methods: list[str]) -> None:
    cols = [f"{noise:g}/{grid}" for noise in NOISE_LEVELS for grid in GRIDS]
    for key, title in (("rel_rmse_interior", "interior (5% dropped at each end)"), ("rel_rmse", "whole signal")):
        print(f"\nRelative RMS error of dxdt, {title}: geometric mean over signals and seeds (noise/grid)")
        print(f"{'method':18s}" + "".join(f"{c:>16s}" for c in cols) + f"{'all':>10s}")
        for method in methods:
            row = summary["geomean"][key][method]
            print(f"{method:18s}" + "".join(f"{row[c]:16.3g}" for c in cols)
                  + f"{summary['geomean_all'][key][method]:10.3g}")
    print("\nInterior error per signal (uniform / jittered / random grid, mean over seeds)")
    names = sorted({r["signal"] for r in records}, key=[s.name for s in signals()].index)
    for noise in NOISE_LEVELS:
        print(f"noise {noise:g}")
        print(f"  {'method':16s}" + "".join(f"{n:>24s}" for n in names))
        for method in methods:
            cells = []
            for name in names:
                parts = []
                for grid in GRIDS:
                    vals = [r["rel_rmse_interior"] for r in records if r["method"] == method
                            and r["signal"] == name and r["noise"] == noise and r["grid"] == grid]
                    parts.append(f"{np.mean(vals):.2g}")
                cells.append("/".join(parts))
            print(f"  {method:16s}" + "".join(f"{c:>24s}" for c in cells))
    print("\nCases won (lowest interior error):", summary["wins"])
    print("Mean seconds per call:", {m: round(s, 4) for m, s in summary["seconds_mean"].items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/derivatives.json", help="JSON file to write")
    parser.add_argument("--seeds", type=int, default=3, help="noise / grid draws per case")
    parser.add_argument("--methods", default=",".join([*DERIVATIVE_METHODS, "auto"]),
                        help="comma-separated method names (default: all, and auto)")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    start = time.perf_counter()
    records = run(methods, args.seeds)
    summary = summarise(records, methods)
    print_tables(records, summary, methods)
    payload = {"noise_levels": list(NOISE_LEVELS), "grids": list(GRIDS), "edge_fraction": EDGE_FRACTION,
               "seeds": args.seeds, "methods": methods, "summary": summary, "records": records,
               "elapsed_s": time.perf_counter() - start}
    atomic_write_text(args.out, json.dumps(payload, indent=1) + "\n")
    print(f"\nwrote {args.out} ({len(records)} records, {payload['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
