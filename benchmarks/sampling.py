"""Write the *sampling* benchmark set: zoo systems sampled the way measured data often is, not on the zoo's grids.

Usage::

    python benchmarks/sampling.py                  # writes benchmarks/sampling/NAME.csv + NAME.truth.json
    eqdisco bench --no-zoo --data-dir benchmarks/sampling --out benchmarks/results/sampling.json

Cases (the fitting trajectory is 0, the held-out one 1; ``eqdisco bench`` adds the noise to trajectory 0):

* ``lorenz_dense``: Lorenz at dt = 0.001 over 10 time units (20 samples span 0.14 of its time scale);
* ``lorenz_coarse``: Lorenz at dt = 0.05 over 20 time units (20 samples span about 7 time scales);
* ``pendulum_gap``: the damped pendulum with t in (5, 12) of its 20 s missing;
* ``lotka_volterra_clock``: Lotka-Volterra on a Unix-timestamp clock (t = 1.7e9 + ...);
* ``van_der_pol_random``: Van der Pol at 750 sorted uniformly random times.

The held-out trajectories are on the zoo's own grids (from another initial state).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from discovery.simulation import sample_initial_condition, simulate
from grammar.zoo import get_system

HERE = Path(__file__).resolve().parent
CLOCK = 1.7e9
"""Start of the timestamped case: 2023-11-14 in Unix seconds."""


def _grid(name: str) -> np.ndarray:
    system = get_system(name)
    return np.arange(system.t_span[0], system.t_span[1] + 0.5 * system.dt, system.dt)


def cases(seed: int = 0) -> list[tuple[str, str, np.ndarray, float]]:
    """``(case name, zoo system, fitting times, clock offset)`` of every case."""
    rng = np.random.default_rng(seed)
    pendulum = _grid("damped_pendulum")
    return [
        ("lorenz_dense", "lorenz", np.linspace(0.0, 10.0, 10_001), 0.0),
        ("lorenz_coarse", "lorenz", np.linspace(0.0, 20.0, 401), 0.0),
        ("pendulum_gap", "damped_pendulum", pendulum[(pendulum <= 5.0) | (pendulum >= 12.0)], 0.0),
        ("lotka_volterra_clock", "lotka_volterra", _grid("lotka_volterra"), CLOCK),
        ("van_der_pol_random", "van_der_pol", np.sort(np.concatenate([[0.0, 30.0], rng.uniform(0, 30, 748)])), 0.0),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=HERE / "sampling")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for k, (case, name, t_fit, offset) in enumerate(cases(args.seed)):
        system = get_system(name)
        held_x0 = sample_initial_condition(system, np.random.default_rng([args.seed, k]))
        fit = simulate(system, t=t_fit)[0]
        held = simulate(system, t=_grid(name), x0=held_x0)[0]
        frames = [
            pd.DataFrame({"trajectory": j, "t": tr.t + offset,
                          **{v: tr.x[:, i] for i, v in enumerate(system.variables)}})
            for j, tr in enumerate((fit, held))
        ]
        pd.concat(frames).to_csv(args.out_dir / f"{case}.csv", index=False, float_format="%.15g")
        truth = {"title": f"{system.title}: {case.split('_', 1)[1].replace('_', ' ')}",
                 "description": system.description,
                 "equations": {v: str(e) for v, e in system.rhs().items()}}
        (args.out_dir / f"{case}.truth.json").write_text(json.dumps(truth, indent=2) + "\n")
        print(f"wrote {args.out_dir / case}.csv ({t_fit.size} fitting points, {held.t.size} held-out)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
