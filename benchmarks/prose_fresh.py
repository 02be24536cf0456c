"""`--method prose` on fresh data shaped unlike PROSE's training windows (issue 16's "fresh in-family data").

Usage::

    python benchmarks/prose_fresh.py --label before     # prints a table, writes benchmarks/results/prose_fresh_before.json
    python benchmarks/prose_fresh.py --label forced_scale --normalization scale

Lorenz, Rossler and Duffing with every parameter drawn within 10% of nominal, the initial state off the attractor
(each variable 1.2 to 2 half-widths of the zoo's initial-condition box away from its centre), 64 uniform points on
t in [0, 2], 2% noise (``p * std`` per variable), seeded. Each file goes through ``discover(method="prose")``
(refinement and scoring included) and is scored by the pipeline's whole-trajectory R^2 on the data, by R^2 of the
selected model re-simulated from the true initial state against the clean trajectory on [0, 2] and on [0, 4] (a
held-out continuation), and by exact terms. Rossler is one of the two families the shipped checkpoint never saw.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from discovery.io import atomic_write_text
from discovery.terms import same_terms
from grammar.zoo import get_system

HERE = Path(__file__).resolve().parent
SYSTEMS = ("lorenz", "rossler", "duffing")


def fresh_case(name: str, seed: int, noise: float = 0.02, n: int = 64, t_end: float = 2.0) -> dict:
    """One fresh trajectory: parameters within 10% of nominal, initial state off the attractor, noisy samples."""
    from discovery.errors import SimulationError
    from discovery.simulation import integrate, lambdify_system

    system = get_system(name)
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    t_long = np.linspace(0.0, 2.0 * t_end, 2 * n - 1)
    box = np.asarray(system.x0_range, dtype=float)  # (D, 2)
    centre, half = box.mean(axis=1), 0.5 * (box[:, 1] - box[:, 0])
    for _ in range(100):  # draws whose continuation to 2 * t_end blows up are drawn again
        params = {k: float(v * (1.0 + rng.uniform(-0.1, 0.1))) for k, v in system.params.items()}
        x0 = centre + half * rng.uniform(1.2, 2.0, len(centre)) * rng.choice([-1.0, 1.0], len(centre))
        exprs = system.rhs(params)
        try:
            clean = integrate(lambdify_system(exprs, list(system.variables)), x0, t_long, rtol=1e-9, atol=1e-11,
                              max_abs=1e4)
            break
        except SimulationError:
            continue
    else:
        raise SimulationError(f"{name}: no bounded draw in 100 tries")
    t, x = t_long[:n], clean[:n]
    noisy = x + noise * x.std(axis=0) * rng.standard_normal(x.shape)
    return {"name": name, "variables": list(system.variables), "params": params, "x0": x0, "truth": exprs,
            "t": t, "x": noisy, "t_long": t_long, "clean": clean}


def r2_against(exprs: dict, variables: list[str], x0: np.ndarray, t: np.ndarray, clean: np.ndarray) -> float:
    from discovery.errors import SimulationError
    from discovery.pipeline.scoring import trajectory_r2
    from discovery.simulation import integrate, lambdify_system

    try:
        f = lambdify_system([exprs[v] for v in variables], variables)
        sim = integrate(f, x0, t, rtol=1e-8, atol=1e-10, time_limit=5.0, max_abs=1e8)
    except (SimulationError, ValueError, ArithmeticError, TypeError):
        return float("-inf")
    return float(trajectory_r2(sim, clean))


def measure(case: dict, checkpoint: str | None) -> dict:
    from discovery import discover
    from discovery.data import Trajectories, Trajectory

    data = Trajectories(tuple(case["variables"]), [Trajectory(case["t"], case["x"])], source=case["name"])
    options = {} if checkpoint is None else {"checkpoint": Path(checkpoint)}
    from discovery.errors import DiscoveryError

    variables, n = case["variables"], case["t"].size
    truth = dict(case["truth"])
    started = time.perf_counter()
    try:
        result = discover(data, method="prose", uncertainty=False, **options)
    except DiscoveryError as exc:  # prose proposed nothing usable: a miss
        return {"system": case["name"], "equations": None, "truth": {v: str(e) for v, e in truth.items()},
                "error": str(exc), "r2_data": float("-inf"), "r2_clean_0_2": float("-inf"),
                "r2_clean_0_4": float("-inf"), "exact_terms": False,
                "seconds": round(time.perf_counter() - started, 2)}
    seconds = time.perf_counter() - started
    found = result.equations
    return {
        "system": case["name"],
        "equations": {v: str(e) for v, e in found.items()},
        "truth": {v: str(e) for v, e in truth.items()},
        "r2_data": result.best.metrics.get("r2"),
        "r2_clean_0_2": r2_against(found, variables, case["x0"], case["t_long"][:n], case["clean"][:n]),
        "r2_clean_0_4": r2_against(found, variables, case["x0"], case["t_long"], case["clean"]),
        "exact_terms": bool(same_terms(found, truth)),
        "seconds": round(seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="current", help="suffix of the JSON file")
    parser.add_argument("--checkpoint", default=None, help="PROSE checkpoint folder (default: the shipped one)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--normalization", choices=("none", "scale"), default=None,
                        help="read the data in these coordinates instead of the ones the checkpoint was trained in "
                             "(an experiment: a checkpoint trained in the zoo's units does not know normalized ones)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from discovery.methods.prose import load_predictor

    predictor = load_predictor(args.checkpoint, "auto")
    if args.normalization is not None:
        predictor.normalization = args.normalization
    rows = [{"seed": seed, **measure(fresh_case(name, seed), args.checkpoint)} for seed in args.seeds
            for name in SYSTEMS]
    out = args.out or HERE / "results" / f"prose_fresh_{args.label}.json"
    atomic_write_text(out, json.dumps({"checkpoint": args.checkpoint or "prose-small", "seeds": args.seeds,
                                       "normalization": predictor.normalization, "rows": rows},
                                      indent=2, default=float) + "\n")

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    print(f"checkpoint {args.checkpoint or 'prose-small'}, normalization {predictor.normalization}")
    print("| seed | system | R^2 data | R^2 clean [0,2] | R^2 clean [0,4] | exact terms | s | equations |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        eqs = r.get("error") or "; ".join(f"d{v}/dt = {e}" for v, e in r["equations"].items())
        print(f"| {r['seed']} | {r['system']} | {fmt(r['r2_data'])} | {fmt(r['r2_clean_0_2'])} | "
              f"{fmt(r['r2_clean_0_4'])} | {'yes' if r['exact_terms'] else 'no'} | {r['seconds']} | `{eqs}` |")
    share = np.mean([r["r2_data"] is not None and r["r2_data"] >= 0.9 for r in rows])
    print(f"\nR^2 (data) >= 0.9: {share:.0%} of {len(rows)}; exact terms: "
          f"{np.mean([r['exact_terms'] for r in rows]):.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
