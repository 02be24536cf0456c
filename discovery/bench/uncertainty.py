"""``eqdisco bench uncertainty``: are the reported intervals and inclusion probabilities calibrated?

For each system, noise level and noise seed, a noisy fitting trajectory is made (the zoo's nominal one, or the first
trajectory of each ``NAME.csv`` of ``--data-dir``, as in ``eqdisco bench``) and discovered with uncertainty on. Then:

``coverage``
    Among selected models with exactly the true terms, the share of true coefficients inside their reported 95%
    intervals (target: between 85% and 99%).
``true inclusion``
    The median inclusion probability of the selected model's terms that are in the law (target >= 0.9).
``spurious inclusion``
    The median inclusion probability of the selected model's terms that are not in the law (target <= 0.3).
``overhead``
    With ``--overhead``, each run is repeated with ``uncertainty=False`` and the ratio of the times is reported
    (target <= 1.5).

The table is printed and the JSON written atomically.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

DEFAULT_SYSTEMS = ("lotka_volterra", "lorenz", "van_der_pol", "duffing", "sir", "rossler", "brusselator",
                   "fitzhugh_nagumo")


def _terms(expr: Any) -> dict[Any, float]:
    """An expression's additive terms by skeleton (:func:`discovery.pipeline.uncertainty.skeletons`), with their
    coefficients."""
    import sympy

    from discovery.pipeline.uncertainty import skeletons

    out = {}
    for t in sympy.Add.make_args(sympy.expand(expr)):
        coeff, _ = t.as_coeff_Mul()
        out[skeletons(t)] = float(coeff)
    return out


def run_case(case: Any, method: str, seed: int, overhead: bool) -> dict[str, Any]:
    """One discovery with uncertainty, compared with the truth (runs in a worker process)."""
    import sympy

    from discovery.api import discover
    from discovery.terms import same_terms
    from discovery.data import Trajectories, Trajectory
    from discovery.errors import one_line
    from discovery.pipeline.uncertainty import skeletons
    from grammar import parse

    data = Trajectories(case.variables, [Trajectory(np.asarray(case.fit_t), np.asarray(case.fit_x))],
                        source=case.name)
    truth = {v: parse(e, variables=case.variables) for v, e in case.truth.items()}
    row: dict[str, Any] = {"system": case.name, "noise": case.noise, "seed": seed}
    try:
        started = time.monotonic()
        result = discover(data, method=method, seed=seed)
        row["seconds"] = round(time.monotonic() - started, 3)
        if overhead:
            started = time.monotonic()
            discover(data, method=method, seed=seed, uncertainty=False)
            row["seconds_without"] = round(time.monotonic() - started, 3)
    except Exception as exc:  # noqa: BLE001 -- a failed run is a data point
        row["error"] = one_line(exc)
        return row
    row["equations"] = {v: sympy.sstr(e) for v, e in result.equations.items()}
    row["exact_terms"] = bool(same_terms(result.equations, truth))
    inside, true_incl, spurious_incl = [], [], []
    for v, rows in result.term_uncertainty().items():
        true_terms = _terms(truth[v])
        for r in rows:
            if r.get("inner"):
                continue
            key = skeletons(sympy.sympify(r["coefficient"]) * parse(r["term"], case.variables))
            incl = r.get("inclusion")
            if key in true_terms:
                if incl is not None:
                    true_incl.append(incl)
                if row["exact_terms"] and r.get("interval") is not None:
                    lo, hi = r["interval"]
                    inside.append(bool(lo <= true_terms[key] <= hi))
            elif incl is not None:
                spurious_incl.append(incl)
    row.update(inside=inside, true_inclusion=true_incl, spurious_inclusion=spurious_incl,
               warnings=list(result.warnings))
    return row


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One line per noise level: coverage, inclusion of true and spurious terms, exact terms, time overhead."""
    out = []
    for noise in sorted({r["noise"] for r in rows}):
        here = [r for r in rows if r["noise"] == noise and "error" not in r]
        inside = [b for r in here for b in r["inside"]]
        true_incl = [p for r in here for p in r["true_inclusion"]]
        spurious = [p for r in here for p in r["spurious_inclusion"]]
        ratios = [r["seconds"] / r["seconds_without"] for r in here if r.get("seconds_without")]
        out.append({
            "noise": noise, "runs": len(here), "failed": sum(1 for r in rows if r["noise"] == noise and "error" in r),
            "exact_terms": float(np.mean([r["exact_terms"] for r in here])) if here else None,
            "coverage": float(np.mean(inside)) if inside else None, "constants_checked": len(inside),
            "true_inclusion_median": statistics.median(true_incl) if true_incl else None,
            "spurious_terms": len(spurious),
            "spurious_inclusion_median": statistics.median(spurious) if spurious else None,
            "overhead_median": statistics.median(ratios) if ratios else None,
        })
    return out


def format_table(summary: Sequence[dict[str, Any]]) -> str:
    def f(v: Any, fmt: str) -> str:
        return "n/a" if v is None else format(v, fmt)

    lines = ["noise  runs  exact  coverage(95%)  n_const  true incl (median)  spurious (n, median)  overhead",
             "-----  ----  -----  -------------  -------  ------------------  --------------------  --------"]
    for s in summary:
        lines.append(f"{s['noise']:<5g}  {s['runs']:>4}  {f(s['exact_terms'], '.0%'):>5}  "
                     f"{f(s['coverage'], '.1%'):>13}  {s['constants_checked']:>7}  "
                     f"{f(s['true_inclusion_median'], '.2f'):>18}  "
                     f"{s['spurious_terms']:>3}, {f(s['spurious_inclusion_median'], '.2f'):>14}  "
                     f"{f(s['overhead_median'], '.2f'):>8}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.split("\n\n")[0]
    parser.add_argument("--systems", default=",".join(DEFAULT_SYSTEMS), help="comma-separated zoo names")
    parser.add_argument("--no-zoo", action="store_true", help="leave the zoo out (with --data-dir)")
    parser.add_argument("--data-dir", help="also NAME.csv files with NAME.truth.json beside them")
    parser.add_argument("--noise", default="0.01,0.05", help="comma-separated noise levels")
    parser.add_argument("--seeds", type=int, default=3, help="noise seeds per system and level")
    parser.add_argument("--method", default="auto", help="method(s) to discover with (default auto)")
    parser.add_argument("--overhead", action="store_true", help="also time each run without uncertainty")
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel")
    parser.add_argument("--out", default="benchmarks/results/uncertainty.json", help="JSON output file")


def run(args: argparse.Namespace) -> int:
    from discovery.bench.core import folder_cases, zoo_cases
    from discovery.io import atomic_write_text

    noises = [float(n) for n in args.noise.split(",") if n.strip()]
    cases = []
    for noise in noises:
        for seed in range(args.seeds):
            if not args.no_zoo:
                names = [n.strip() for n in args.systems.split(",") if n.strip()]
                cases += [(c, seed) for c in zoo_cases(names, noise, seed)]
            if args.data_dir:
                cases += [(c, seed) for c in folder_cases(args.data_dir, noise, seed)]

    def report(i: int, row: dict[str, Any]) -> None:
        case, seed = cases[i]
        print(f"[{i + 1}/{len(cases)}] {case.name} noise={case.noise} seed={seed}: "
              f"{row.get('error') or ('exact' if row['exact_terms'] else 'not exact')}", flush=True)

    rows: list[dict[str, Any]] = []
    if args.workers > 1:
        from discovery.workers import one_thread_each

        with ProcessPoolExecutor(args.workers, initializer=one_thread_each) as pool:  # results in order, as reached
            for i, row in enumerate(pool.map(run_case, [c for c, _ in cases], [args.method] * len(cases),
                                             [s for _, s in cases], [args.overhead] * len(cases))):
                rows.append(row)
                report(i, row)
    else:
        for i, (case, seed) in enumerate(cases):
            rows.append(run_case(case, args.method, seed, args.overhead))
            report(i, rows[-1])
    summary = summarize(rows)
    print(format_table(summary))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps({"method": args.method, "summary": summary, "runs": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0
