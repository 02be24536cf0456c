"""Write the *unseen* benchmark set: systems that are not in the zoo, so neither the tuned defaults nor PROSE's
training data have met them.

Usage::

    python benchmarks/unseen.py                    # writes benchmarks/unseen/NAME.csv + NAME.truth.json
    eqdisco bench --no-zoo --data-dir benchmarks/unseen --out benchmarks/results/unseen.json

Each CSV holds two clean trajectories (column ``trajectory``): 0 is the fitting one (``eqdisco bench`` adds the
noise), 1 starts from a held-out initial condition. ``NAME.truth.json`` holds the true right-hand sides.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import sympy

from discovery.simulation import simulate
from grammar.zoo import ODESystem

HERE = Path(__file__).resolve().parent


def _system(name: str, title: str, variables: str, equations: list[str], x0: list[float],
            held_x0: list[float], t_end: float, dt: float, description: str) -> tuple[ODESystem, list[float]]:
    syms = sympy.symbols(variables)
    local = {str(s): s for s in syms}
    exprs = tuple(sympy.sympify(e, locals=local) for e in equations)  # our own constant strings
    system = ODESystem(
        name=name, title=title, variables=tuple(str(s) for s in syms), equations=exprs, params={},
        param_ranges={}, x0=tuple(x0), x0_range=tuple((v - 1.0, v + 1.0) for v in x0), t_span=(0.0, t_end),
        dt=dt, family="classic", description=description,
    )
    return system, held_x0


UNSEEN = [
    _system("selkov", "Sel'kov glycolysis", "x y", ["-x + 0.08*y + x**2*y", "0.6 - 0.08*y - x**2*y"],
            [1.0, 1.0], [0.5, 2.0], 60.0, 0.05, "glycolytic oscillator: a limit cycle"),
    _system("hopf", "Stuart-Landau (Hopf normal form)", "x y",
            ["0.5*x - y - x**3 - x*y**2", "x + 0.5*y - x**2*y - y**3"],
            [0.1, 0.0], [1.5, -1.0], 20.0, 0.02, "supercritical Hopf bifurcation: a circular limit cycle"),
    _system("rikitake", "Rikitake dynamo", "x y z", ["-2*x + y*z", "-2*y + x*z - 5*x", "1 - x*y"],
            [1.0, 0.0, 0.5], [0.5, 1.0, 2.0], 30.0, 0.01, "two coupled disk dynamos: chaotic field reversals"),
    _system("genesio_tesi", "Genesio-Tesi jerk", "x y z", ["y", "z", "-x - 1.1*y - 0.44*z + x**2"],
            [0.1, 0.1, 0.1], [0.2, -0.1, 0.0], 60.0, 0.02, "a quadratic jerk system: chaotic"),
    _system("rosenzweig_macarthur", "Rosenzweig-MacArthur predator-prey", "x y",
            ["x*(1 - x/3) - x*y/(1 + x)", "0.5*x*y/(1 + x) - 0.2*y"],
            [1.0, 0.5], [2.0, 1.0], 100.0, 0.1, "logistic prey, saturating (Holling II) predation: rational terms"),
    _system("coupled_oscillators", "Damped coupled oscillators", "x v y w",
            ["v", "-x - 0.1*v + 0.5*(y - x)", "w", "-2*y - 0.05*w + 0.5*(x - y)"],
            [1.0, 0.0, 0.0, 0.5], [-0.5, 0.3, 1.0, 0.0], 30.0, 0.02, "two linearly coupled damped oscillators"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=HERE / "unseen")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for system, held_x0 in UNSEEN:
        t = np.arange(system.t_span[0], system.t_span[1] + 0.5 * system.dt, system.dt)
        trajectories = simulate(system, t=t, x0=np.array([system.x0, held_x0]))
        frames = [pd.DataFrame({"trajectory": k, "t": tr.t, **{v: tr.x[:, j] for j, v in enumerate(system.variables)}})
                  for k, tr in enumerate(trajectories)]
        pd.concat(frames).to_csv(args.out_dir / f"{system.name}.csv", index=False, float_format="%.10g")
        truth = {"title": system.title, "description": system.description,
                 "equations": {v: str(e) for v, e in zip(system.variables, system.equations)}}
        (args.out_dir / f"{system.name}.truth.json").write_text(json.dumps(truth, indent=2) + "\n")
        print(f"wrote {args.out_dir / system.name}.csv ({len(trajectories)} trajectories of {t.size} points)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
