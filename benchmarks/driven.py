"""Write the *driven* benchmark set: systems with measured inputs, an explicit periodic drive, or a parameter
that changes between experiments (issue 18).

Usage::

    python benchmarks/driven.py              # writes benchmarks/driven/NAME.csv, NAME.heldout.csv, NAME.truth.json
    eqdisco bench driven --out benchmarks/results/driven.json

``NAME.csv`` holds the clean fitting trajectories (the benchmark adds the noise to the states; the inputs are
measured signals, kept clean), with columns ``t``, the states, the inputs and parameters, and ``trajectory`` when
there are several. ``NAME.heldout.csv`` holds one clean trajectory under a *new* input signal or parameter value
(a new initial condition for the explicitly time-dependent system, whose drive is part of the law).
``NAME.truth.json`` holds the true right-hand sides and the columns' roles:
``{"equations": {...}, "inputs": [...], "parameters": [...], "time_dependent": bool, "heldout": "NAME.heldout.csv",
"description": "..."}``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import sympy

from discovery.inputs import InputSignal
from discovery.simulation import integrate, lambdify_system

HERE = Path(__file__).resolve().parent

Signal = Callable[[np.ndarray], np.ndarray]
"""Input values ``(N, M)`` at times ``(N,)``."""


@dataclass(frozen=True)
class Run:
    """One trajectory: start state, time grid, and the inputs/parameters over it."""

    x0: tuple[float, ...]
    t_end: float
    dt: float
    signal: Signal | None = None


@dataclass(frozen=True)
class DrivenSystem:
    name: str
    description: str
    variables: tuple[str, ...]
    equations: tuple[str, ...]
    fit: tuple[Run, ...]
    heldout: Run
    inputs: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    time_dependent: bool = False
    notes: dict = field(default_factory=dict)


def _steps(levels: list[float], every: float) -> Signal:
    """A piecewise-constant input: ``levels`` in turn, each held for ``every`` time units."""
    def u(t: np.ndarray) -> np.ndarray:
        k = np.minimum((np.asarray(t) // every).astype(int), len(levels) - 1)
        return np.asarray(levels, dtype=float)[k][:, None]
    return u


def _const(*values: float) -> Signal:
    return lambda t: np.tile(np.asarray(values, dtype=float), (len(t), 1))


DRIVEN = [
    DrivenSystem(
        "forced_duffing", "hardening Duffing oscillator driven by 0.8*cos(1.3*t); the drive is not measured: its "
        "frequency must be found from the data", ("x", "v"), ("v", "-0.2*v - x - x**3 + 0.8*cos(1.3*t)"),
        fit=(Run((0.5, 0.0), 40.0, 0.02),), heldout=Run((-1.0, 0.5), 40.0, 0.02), time_dependent=True,
    ),
    DrivenSystem(
        "forced_van_der_pol", "Van der Pol oscillator (mu = 1) with a measured force u", ("x", "y"),
        ("y", "(1 - x**2)*y - x + u"),
        fit=(Run((1.0, 0.0), 30.0, 0.02, lambda t: (1.2 * np.cos(0.9 * t))[:, None]),),
        heldout=Run((-0.5, 1.0), 30.0, 0.02, lambda t: (0.8 * np.sin(1.7 * t) + 0.3)[:, None]),
        inputs=("u",),
    ),
    DrivenSystem(
        "lorenz_control", "Lorenz system with an additive control signal in dx/dt (as in SINDYc): u(t) a sum of "
        "sines", ("x", "y", "z"), ("10*(y - x) + u", "x*(28 - z) - y", "x*y - 8/3*z"),
        fit=(Run((-8.0, 8.0, 27.0), 10.0, 0.005,
                 lambda t: (20 * np.sin(2.0 * t) + 10 * np.cos(5.3 * t))[:, None]),),
        heldout=Run((5.0, -5.0, 20.0), 5.0, 0.005, lambda t: (15 * np.sin(1.3 * t) + 12 * np.cos(4.1 * t))[:, None]),
        inputs=("u",),
    ),
    DrivenSystem(
        "chemostat", "chemostat with Monod growth (mu_max = 1, K = 2, yield 0.5, feed S_in = 10) and a stepped "
        "dilution rate D (a measured input)", ("S", "X"), ("D*(10 - S) - 2*S*X/(2 + S)", "S*X/(2 + S) - D*X"),
        fit=(Run((5.0, 1.0), 80.0, 0.05, _steps([0.2, 0.45, 0.1, 0.3], 20.0)),),
        heldout=Run((2.0, 3.0), 60.0, 0.05, _steps([0.35, 0.15, 0.25], 20.0)),
        inputs=("D",),
    ),
    DrivenSystem(
        "pitchfork", "pitchfork normal form over several values of the parameter mu (one experiment each)", ("x",),
        ("mu*x - x**3",),
        fit=tuple(Run((x0,), 8.0, 0.02, _const(mu)) for mu, x0 in
                  ((-1.0, 1.5), (-0.5, -1.2), (0.3, 0.1), (1.0, -0.2), (1.5, 2.0), (0.6, 1.8))),
        heldout=Run((0.3,), 8.0, 0.02, _const(0.8)), parameters=("mu",),
    ),
]
"""The benchmark's systems."""


def simulate_run(system: DrivenSystem, run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t (N,), x (N, D), u (N, M))`` of ``run``, clean."""
    names = [*system.variables, *system.inputs, *system.parameters, "t"]
    local = {n: sympy.Symbol(n) for n in names}
    exprs = [sympy.sympify(e, locals=local) for e in system.equations]  # our own constant strings
    t = np.arange(0.0, run.t_end + 0.5 * run.dt, run.dt)
    m = len(system.inputs) + len(system.parameters)
    u = run.signal(t) if run.signal is not None else np.zeros((len(t), 0))
    if u.shape != (len(t), m):
        raise ValueError(f"{system.name}: the signal gives shape {u.shape}, expected {(len(t), m)}")
    # The truth is simulated with the inputs linear between their samples, as eqdisco reads them (a step of the
    # dilution rate is a ramp over one sample step): the data and the model see the same signal.
    f = lambdify_system(exprs, system.variables, (*system.inputs, *system.parameters), InputSignal(t, u))
    x = integrate(f, np.asarray(run.x0, dtype=float), t, rtol=1e-10, atol=1e-12, time_limit=120.0)
    return t, x, u


def frame(system: DrivenSystem, runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> pd.DataFrame:
    columns = [*system.variables, *system.inputs, *system.parameters]
    parts = []
    for k, (t, x, u) in enumerate(runs):
        part = pd.DataFrame(np.hstack([x, u]), columns=columns)
        part.insert(0, "t", t)
        if len(runs) > 1:
            part["trajectory"] = k
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def write(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for system in DRIVEN:
        fit = [simulate_run(system, run) for run in system.fit]
        held = simulate_run(system, system.heldout)
        frame(system, fit).to_csv(folder / f"{system.name}.csv", index=False, float_format="%.10g")
        frame(system, [held]).to_csv(folder / f"{system.name}.heldout.csv", index=False, float_format="%.10g")
        truth = {
            "equations": dict(zip(system.variables, system.equations)),
            "inputs": list(system.inputs),
            "parameters": list(system.parameters),
            "time_dependent": system.time_dependent,
            "heldout": f"{system.name}.heldout.csv",
            "description": system.description,
        }
        path = folder / f"{system.name}.truth.json"
        path.write_text(json.dumps(truth, indent=2) + "\n")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(HERE / "driven"), help="folder to write (default benchmarks/driven)")
    args = parser.parse_args()
    for path in write(Path(args.out)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
