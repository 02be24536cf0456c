"""How far ahead the ``prose`` method's operator prediction holds, against the true continuation of zoo trajectories.

Usage::

    python benchmarks/prose_forecast.py            # prints a table, writes benchmarks/results/prose_forecast.json

For each system, one trajectory over the zoo's span at ``--noise`` (default 1%) is given to the method's forecast
(:meth:`discovery.methods.prose.ProseMethod._forecast`: read length picked by backtest, forecast to twice the read
length beyond the data) and, for comparison, to a read of the whole span predicting half a span beyond (what the
method did before). Both are scored by relative L2 against the clean simulation continued past the data.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from discovery.data import Trajectory
from discovery.io import atomic_write_text
from discovery.methods.prose import ProseMethod, load_predictor
from discovery.prediction import relative_l2
from discovery.simulation import simulate
from grammar.zoo import get_system

HERE = Path(__file__).resolve().parent
SYSTEMS = ("lotka_volterra", "damped_pendulum", "lorenz", "van_der_pol", "duffing", "sir", "fitzhugh_nagumo")


def measure(name: str, noise: float, seed: int, method: ProseMethod) -> dict:
    system = get_system(name)
    t = np.arange(system.t_span[0], system.t_span[1] + 0.5 * system.dt, system.dt)
    longer = np.arange(system.t_span[0], 1.5 * system.t_span[1] + 0.5 * system.dt, system.dt)
    clean = simulate(system, t=longer)[0]
    n = t.size
    rng = np.random.default_rng(seed)
    x = clean.x[:n] + noise * clean.x[:n].std(axis=0) * rng.standard_normal((n, clean.x.shape[1]))
    predictor = load_predictor(method.options.checkpoint, "cpu")

    started = time.perf_counter()
    pred = method._forecast(predictor, Trajectory(t, x), 0, list(system.variables), None, "prose-small")
    seconds = time.perf_counter() - started
    ahead = pred.t > t[-1]
    truth = np.stack([np.interp(pred.t[ahead], longer, clean.x[:, j]) for j in range(clean.x.shape[1])], axis=1)
    whole_t = longer[longer > t[-1]]
    batch = predictor.make_batch([(t, x)])
    whole = predictor.predict_states(batch, [whole_t])[0]
    return {
        "system": name,
        "read_fraction": pred.info["read_fraction"],
        "forecast_rel_l2": relative_l2(pred.x[ahead], truth),
        "backtest_rel_l2": pred.info["backtest_rel_l2"],
        "whole_read_rel_l2": relative_l2(whole, clean.x[longer > t[-1]]),
        "seconds": round(seconds, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noise", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "prose_forecast.json")
    args = parser.parse_args(argv)
    method = ProseMethod()
    rows = [measure(name.strip(), args.noise, args.seed, method) for name in args.systems.split(",") if name.strip()]
    print("| system | whole-file read, half a span ahead | backtest-picked read | its backtest error "
          "| read (share of span) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        share = "whole" if r["read_fraction"] is None else f"1/{round(1 / r['read_fraction'])}"
        backtest = "-" if r["backtest_rel_l2"] is None else f"{r['backtest_rel_l2']:.3f}"
        print(f"| {r['system']} | {r['whole_read_rel_l2']:.3f} | {r['forecast_rel_l2']:.3f} | {backtest} | {share} |")
    atomic_write_text(args.out, json.dumps({"noise": args.noise, "seed": args.seed, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
