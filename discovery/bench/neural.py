"""``eqdisco bench pinn`` / ``eqdisco bench node``: the neural discovery methods on sparse, noisy data.

Four systems of the zoo, each with a partly known model for ``pinn`` (``node`` gets no prior knowledge):

========================  ==========================================================================
Lotka-Volterra            unknown interaction terms: ``x' = x - h1(x, y)``, ``y' = -1.5 y + h2(x, y)``
damped pendulum           unknown restoring force: ``omega' = -0.25 omega + h1(theta)``
SIR                       unknown infection term: ``s' = -h1(s, i)``, ``i' = h1(s, i) - 0.1 i``
Van der Pol               unknown damping: ``y' = h1(x, y) - x``
========================  ==========================================================================

For each system and noise level, three trajectories of ``--samples`` points (nominal parameters, fixed initial
conditions spread over the system's range) are simulated with noise; ``discover(data, method=...)`` runs the
method, then refines and scores its candidates. Reported per run:

- ``exact``: the selected equations have exactly the true terms (so the hidden terms' form was recovered);
  ``any_exact``: some candidate has;
- ``coef_err``: largest relative error of a coefficient, when exact;
- ``r2_heldout``: R^2 of the selected equations against the clean true trajectory from a held-out initial
  condition (inside the observed range), over the observed span;
- ``seconds``: wall time of ``discover`` (training, distillation, refinement, scoring);
- ``deeponet_rel_l2``: DeepONet (trained on the data plus the selected model's simulations) against the true
  trajectories from new initial conditions inside the observed range, over the observed span (median over the
  new conditions; ``deeponet_rel_l2_extrap`` over 1.5 times the span).

The table is printed and the JSON written atomically. This is a benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import sympy
from discovery.errors import one_line

DEFAULT_NOISE = (0.0, 0.01, 0.05)


@dataclass(frozen=True)
class NeuralCase:
    """One benchmark system: its partly known model, fitting and held-out initial conditions, and span."""

    system: str
    known: dict[str, str]
    x0: tuple[tuple[float, ...], ...]
    held_out: tuple[float, ...]
    new_x0: tuple[tuple[float, ...], ...]
    t_end: float


CASES: dict[str, NeuralCase] = {
    c.system: c
    for c in (
        NeuralCase(
            "lotka_volterra", {"x": "x - h1(x, y)", "y": "-1.5*y + h2(x, y)"},
            x0=((10.0, 5.0), (6.0, 3.0), (13.0, 7.0)), held_out=(8.0, 4.0),
            new_x0=((9.0, 4.5), (11.0, 6.0), (7.0, 3.5)), t_end=15.0,
        ),
        NeuralCase(
            "damped_pendulum", {"theta": "omega", "omega": "-0.25*omega + h1(theta)"},
            x0=((2.5, 0.0), (-1.5, 1.0), (1.0, -2.0)), held_out=(2.0, 0.5),
            new_x0=((1.8, -0.5), (-1.0, 0.5), (0.5, 1.5)), t_end=10.0,
        ),
        NeuralCase(
            "sir", {"s": "-h1(s, i)", "i": "h1(s, i) - 0.1*i", "r": "0.1*i"},
            x0=((0.99, 0.01, 0.0), (0.95, 0.05, 0.0), (0.8, 0.02, 0.18)), held_out=(0.9, 0.03, 0.07),
            new_x0=((0.97, 0.03, 0.0), (0.9, 0.02, 0.08), (0.85, 0.04, 0.11)), t_end=60.0,
        ),
        NeuralCase(
            "van_der_pol", {"x": "y", "y": "h1(x, y) - x"},
            x0=((2.0, 0.0), (-1.0, 1.0), (0.5, -2.0)), held_out=(-1.5, -1.0),
            new_x0=((1.5, 0.5), (-0.5, 1.5), (1.0, -1.0)), t_end=15.0,
        ),
    )
}


def coefficient_error(found: dict[str, sympy.Expr], truth: dict[str, sympy.Expr]) -> float:
    """Largest relative error of a coefficient of ``found`` against ``truth`` (same terms assumed).

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> round(coefficient_error({"x": -1.1 * x}, {"x": -x}), 3)
    0.1
    """
    from discovery.terms import _normalize_floats

    worst = 0.0
    for v, true_expr in truth.items():
        a = sympy.expand(_normalize_floats(sympy.sympify(found[v]))).as_coefficients_dict()
        b = sympy.expand(_normalize_floats(sympy.sympify(true_expr))).as_coefficients_dict()
        for term, coeff in b.items():
            c = float(a.get(term, 0.0))
            worst = max(worst, abs(c - float(coeff)) / max(abs(float(coeff)), 1e-12))
    return worst


def run_case(which: str, case: NeuralCase, noise: float, samples: int, seed: int, device: str,
             deeponet: bool, options: dict[str, Any]) -> dict[str, Any]:
    """Run one (system, noise) benchmark of method ``which``; returns its row (never raises)."""
    from discovery.api import discover
    from discovery.terms import same_terms
    from discovery.pipeline.scoring import simulate_candidate, trajectory_r2
    from discovery.simulation import simulate
    from grammar.zoo import get_system

    system = get_system(case.system)
    truth = system.rhs()
    t = np.linspace(0.0, case.t_end, samples)
    data = simulate(case.system, x0=np.asarray(case.x0), t=t, noise=noise, seed=seed)
    row: dict[str, Any] = {"system": case.system, "noise": noise, "samples": samples, "method": which}
    started = time.monotonic()
    try:
        result = discover(
            data, method=which, known=case.known if which == "pinn" else None, seed=seed, device=device,
            **({which: options} if options else {}),
        )
    except Exception as exc:  # noqa: BLE001 -- a failed run is a row with its error
        row.update(error=one_line(exc),
                   seconds=round(time.monotonic() - started, 1), exact=False, any_exact=False)
        return row
    seconds = time.monotonic() - started
    best = result.best
    truth_by_name = {v: truth[v] for v in data.variables}
    exact = same_terms(best.equations, truth_by_name)
    row.update(
        equations={v: sympy.sstr(e) for v, e in best.equations.items()},
        hidden=best.info.get("hidden"),
        exact=exact,
        any_exact=any(same_terms(c.equations, truth_by_name) for c in result.candidates),
        coef_err=coefficient_error(best.equations, truth_by_name) if exact else None,
        seconds=round(seconds, 1),
        n_candidates=len(result.candidates),
    )
    grid = np.linspace(0.0, case.t_end, 200)
    variables = list(data.variables)
    clean = simulate_candidate(truth_by_name, variables, np.asarray(case.held_out), grid)
    try:
        found = simulate_candidate(best.equations, variables, np.asarray(case.held_out), grid)
        row["r2_heldout"] = trajectory_r2(found, clean)
    except Exception as exc:  # noqa: BLE001 -- e.g. the selected model blows up from the held-out state
        row["r2_heldout"] = None
        row["heldout_error"] = one_line(exc)
    if deeponet:
        row.update(_deeponet_errors(data, best.equations, case, truth_by_name, seed, device))
    return row


def _deeponet_errors(data: Any, equations: dict[str, sympy.Expr], case: NeuralCase, truth: dict[str, sympy.Expr],
                     seed: int, device: str) -> dict[str, Any]:
    from discovery.deeponet import fit_operator
    from discovery.prediction import relative_l2
    from discovery.pipeline.scoring import simulate_candidate

    started = time.monotonic()
    try:
        op = fit_operator(data, equations, horizon=1.5, device=device, seed=seed)
    except Exception as exc:  # noqa: BLE001
        return {"deeponet_error": one_line(exc)}
    variables = list(data.variables)
    span = np.linspace(0.0, case.t_end, 100)
    longer = np.linspace(0.0, op.horizon, 150)
    x0s = np.asarray(case.new_x0)
    inside, beyond = [], []
    pred_span, pred_long = op.predict(x0s, span), op.predict(x0s, longer)  # (B, M, D)
    for b, x0 in enumerate(x0s):
        inside.append(relative_l2(pred_span[b], simulate_candidate(truth, variables, x0, span)))
        beyond.append(relative_l2(pred_long[b], simulate_candidate(truth, variables, x0, longer)))
    return {
        "deeponet_rel_l2": float(np.median(inside)),
        "deeponet_rel_l2_max": float(np.max(inside)),
        "deeponet_rel_l2_extrap": float(np.median(beyond)),
        "deeponet_s": round(time.monotonic() - started, 1),
    }


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per noise level."""
    out = []
    for noise in sorted({r["noise"] for r in rows}):
        group = [r for r in rows if r["noise"] == noise]
        don = [r["deeponet_rel_l2"] for r in group if r.get("deeponet_rel_l2") is not None]
        out.append({
            "noise": noise,
            "systems": len(group),
            "exact": sum(bool(r.get("exact")) for r in group),
            "any_exact": sum(bool(r.get("any_exact")) for r in group),
            "median_s": statistics.median(r["seconds"] for r in group),
            "max_s": max(r["seconds"] for r in group),
            "deeponet_rel_l2_median": statistics.median(don) if don else None,
            "errors": sum(1 for r in group if r.get("error")),
        })
    return out


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    head = "| system | noise | exact | any exact | coef err | R2 held-out | s | DeepONet rel L2 | DeepONet extrap |"
    lines = [head, "|---|---:|:---:|:---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['system']} | {r['noise']:.0%} | {'yes' if r.get('exact') else 'no'} | "
            f"{'yes' if r.get('any_exact') else 'no'} | {_fmt(r.get('coef_err'), '.2%')} | "
            f"{_fmt(r.get('r2_heldout'), '.4f')} | {r['seconds']:.0f} | {_fmt(r.get('deeponet_rel_l2'), '.2%')} | "
            f"{_fmt(r.get('deeponet_rel_l2_extrap'), '.2%')} |"
            + (f" error: {r['error']}" if r.get("error") else "")
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser, which: str) -> None:
    """Options of ``eqdisco bench pinn`` (``which="pinn"``) or ``eqdisco bench node`` (``which="node"``)."""
    if which not in ("pinn", "node"):
        raise ValueError(f"which must be 'pinn' or 'node', found {which!r}")
    parser.description = f"Benchmark of the {which!r} method: " + __doc__.split("\n\n")[0].split(": ", 1)[1]
    parser.set_defaults(which=which)
    parser.add_argument("--systems", default=",".join(CASES),
                        help=f"comma-separated, from {', '.join(CASES)} (default: all)")
    parser.add_argument("--noise", default=",".join(str(n) for n in DEFAULT_NOISE),
                        help="comma-separated relative noise levels (default 0,0.01,0.05)")
    parser.add_argument("--samples", type=int, default=40, help="samples per trajectory (default 40)")
    parser.add_argument("--no-deeponet", dest="deeponet", action="store_false",
                        help="skip the DeepONet predictions")
    parser.add_argument("--options", default="{}",
                        help=f"JSON of {which!r} method options, e.g. '{{\"training\": {{\"adam_steps\": 1000}}}}'")
    parser.add_argument("--device", default="auto", help="torch device (default auto: CUDA when present)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=f"benchmarks/results/{which}.json", help="JSON output file")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by ``args``; print the table, write the JSON; 0 on success, 2 on bad input."""
    import torch

    from discovery.io import atomic_write_text
    from discovery.result import json_safe

    names = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"eqdisco bench {args.which}: error: unknown system(s) {', '.join(unknown)}; "
              f"valid: {', '.join(CASES)}", file=sys.stderr)
        return 2
    try:
        noises = [float(n) for n in args.noise.split(",")]
        options = json.loads(args.options)
    except ValueError as exc:
        print(f"eqdisco bench {args.which}: error: --noise must be numbers separated by commas and --options "
              f"a JSON object ({exc})", file=sys.stderr)
        return 2
    if args.samples < 4:
        print(f"eqdisco bench {args.which}: error: --samples must be at least 4, got {args.samples}", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, args.threads))
    started = time.monotonic()
    rows = []
    for noise in noises:
        for name in names:
            row = run_case(args.which, CASES[name], noise, args.samples, args.seed, args.device, args.deeponet,
                           options)
            rows.append(row)
            print(format_table([row]).splitlines()[-1], file=sys.stderr, flush=True)
    summary = summarize(rows)
    print(format_table(rows))
    for s in summary:
        print(f"noise {s['noise']:.0%}: exact {s['exact']}/{s['systems']} (any candidate {s['any_exact']}), "
              f"median {s['median_s']:.0f} s, max {s['max_s']:.0f} s, DeepONet median rel L2 "
              f"{_fmt(s['deeponet_rel_l2_median'], '.2%')}")
    payload = {
        "method": args.which,
        "summary": summary,
        "runs": rows,
        "samples": args.samples,
        "seed": args.seed,
        "device": args.device,
        "wall_s": round(time.monotonic() - started, 1),
    }
    atomic_write_text(args.out, json.dumps(json_safe(payload), indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0
