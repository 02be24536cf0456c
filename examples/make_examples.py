"""Regenerate the bundled example data: trajectories of zoo systems with 1% noise.

Usage::

    python examples/make_examples.py                 # writes examples/{lorenz,lotka_volterra,pendulum}.csv
    python examples/make_examples.py --out-dir /tmp/x --points 200   # smaller, elsewhere

The files follow the data contract (columns ``t`` and one per state variable).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from discovery.simulation import simulate
from grammar.zoo import get_system

EXAMPLES = {"lorenz.csv": "lorenz", "lotka_volterra.csv": "lotka_volterra", "pendulum.csv": "damped_pendulum"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--noise", type=float, default=0.01, help="relative noise (default 0.01 = 1%%)")
    parser.add_argument("--points", type=int, default=None, help="number of samples (default: the zoo's dt)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i, (filename, name) in enumerate(EXAMPLES.items()):
        system = get_system(name)
        t0, t1 = system.t_span
        if args.points:
            t = np.linspace(t0, t1, args.points)
        else:
            t = np.arange(t0, t1 + 0.5 * system.dt, system.dt)
        data = simulate(system, t=t, noise=args.noise, seed=args.seed + i)
        data.to_csv(out / filename)
        print(f"wrote {out / filename}: {data.summary()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
