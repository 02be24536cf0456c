"""Write the *textbook* benchmark set: laws from textbooks of nonlinear dynamics and of mathematical biology,
chemistry and ecology that are neither in the zoo nor in ``benchmarks/unseen``; most of them rational, saturating
(Michaelis-Menten, Hill, Holling, Monod), exponential (Ivlev, Arrhenius, Ricker) or logarithmic (Gompertz).

Usage::

    python benchmarks/textbook.py                  # writes benchmarks/textbook/NAME.csv + NAME.truth.json
    python benchmarks/textbook.py --check          # simulates and checks only, writes nothing
    eqdisco bench --no-zoo --data-dir benchmarks/textbook --out benchmarks/results/textbook.json

The catalogue (laws, parameters, initial states, sampling and sources) is ``benchmarks/textbook_systems.py``.
Each ``NAME.csv`` holds two clean trajectories (column ``trajectory``) on the same grid: 0 is the fitting one
(``eqdisco bench`` adds the noise to it), 1 starts from a held-out initial state in the same basin of attraction.
Columns are named as the literature names the variables (``S, I, R`` for epidemics, ``N, P`` for populations,
``lacI, tetR, cI`` for the repressilator). ``NAME.truth.json`` holds ``equations`` (the right-hand sides with the
numbers written in, in those names: text that ``grammar.parse`` reads, and ``sympy.parse_expr`` with the names as
local symbols) besides ``title``, ``description``, ``source`` (textbook and section), ``kind`` (``rational``,
``saturating``, ``exponential``, ``logarithmic``, ``polynomial``, ``trigonometric`` or ``power``), ``dynamics``,
``parameters``, ``template`` (the equations in the parameter names), the initial states, ``t_end`` and ``dt``.

Every system is integrated and checked before anything is written, and a summary line is printed per system:
finite and bounded; 200 to 1000 samples; not flat after the first 10% of the window (the spread after it is at
least 10% of the whole spread, on both trajectories); for ``cycle`` systems the second half as lively as the first
(std ratio at least 0.3) and the held-out trajectory on the same attractor (late std within a factor 2); for
``transient`` systems the transient lasting at least 10% of the window and both trajectories ending in the same
state; the truth parsing to the same expression both ways; no law the same as a zoo or unseen system's (exact-term
comparison, for every ordering of the variables). A failed check stops the script with a one-line reason.

``--vary SEED`` writes another set of the same laws, as a hidden test set would be: each parameter scaled by a
factor drawn log-uniformly in [0.8, 1.25] (three significant digits; exponents such as a Hill coefficient ``n`` are
kept, since another exponent is another law), each initial state by one in [0.85, 1.15]; a draw that fails the
checks is drawn again (up to 20 times), and a system none of whose draws passes is left out with a line.
The draws follow the catalogue's order from one generator, so ``--systems`` gives other draws than the whole
set does; ``--out-dir`` is required (a variant set never replaces ``benchmarks/textbook``).
Benchmark such a set with another noise seed (``--seed``), so that neither the numbers nor the noise are the
ones the defaults were tuned on::

    python benchmarks/textbook.py --vary 1 --out-dir /tmp/textbook_vary1
    eqdisco bench --no-zoo --data-dir /tmp/textbook_vary1 --seed 1 --out benchmarks/results/textbook_varied.json

``eqdisco bench`` has no option to pick files from a folder: to try a few systems, copy their two files into a
folder of their own; ``--resume`` keeps the runs an interrupted benchmark already wrote.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import sympy
from textbook_systems import NON_POLYNOMIAL, TEXTBOOK, Textbook

from discovery.io import atomic_write_text
from discovery.simulation import integrate, lambdify_system
from grammar import parse

HERE = Path(__file__).resolve().parent
MIN_SAMPLES, MAX_SAMPLES = 200, 1000


def time_grid(system: Textbook) -> np.ndarray:
    """The sampling times of both trajectories, ``0, dt, ..., t_end``."""
    return np.arange(0.0, system.t_end + 0.5 * system.dt, system.dt)


def truth(system: Textbook) -> dict[str, sympy.Expr]:
    """The right-hand sides as sympy expressions in ``Symbol(v)`` for each variable name ``v``."""
    return {v: parse(e, list(system.variables)) for v, e in system.equations().items()}


def simulate_system(system: Textbook, x0: tuple[float, ...] | np.ndarray, t: np.ndarray) -> np.ndarray:
    """States ``(len(t), D)`` from ``x0`` (tight tolerances, the stiff fallback where needed)."""
    f = lambdify_system(truth(system), list(system.variables))
    return integrate(f, np.asarray(x0, dtype=float), t, rtol=1e-10, atol=1e-12, time_limit=120.0)


def activity(x: np.ndarray) -> dict[str, float]:
    """Measures of how much a trajectory ``(N, D)`` moves, taken over its variables."""
    n = len(x)
    spread = np.maximum(np.ptp(x, axis=0), 1e-300)
    after = np.ptp(x[n // 10:], axis=0) / spread
    early, late = x[: n // 2].std(axis=0), x[n // 2:].std(axis=0)
    off = np.abs(x - x[-1]) > 0.02 * spread  # (N, D): not yet within 2% of the final state
    moving = np.flatnonzero(off.any(axis=1))
    return {
        "after_10pct": float(after.max()),
        "late_over_early": float((late / np.maximum(early, 1e-300)).max()),
        "settle": (int(moving[-1]) + 1) / n if moving.size else 0.0,
    }


def check(system: Textbook, t: np.ndarray, fit: np.ndarray, held: np.ndarray) -> list[str]:
    """The reasons ``system``'s trajectories fail the checks of the module docstring (empty when they pass)."""
    problems = []
    if not MIN_SAMPLES <= t.size <= MAX_SAMPLES:
        problems.append(f"{t.size} samples, expected {MIN_SAMPLES} to {MAX_SAMPLES}")
    for label, x in (("fitting", fit), ("held-out", held)):
        if not np.all(np.isfinite(x)) or np.abs(x).max() > 1e5:
            problems.append(f"the {label} trajectory is not finite or exceeds 1e5")
            continue
        a = activity(x)
        if a["after_10pct"] < 0.1:
            problems.append(f"the {label} trajectory is flat after 10% of the window ({a['after_10pct']:.3f})")
        if system.dynamics == "cycle" and a["late_over_early"] < 0.3:
            problems.append(f"the {label} trajectory dies out (late/early std {a['late_over_early']:.2f})")
        if system.dynamics == "transient" and a["settle"] < 0.1:
            problems.append(f"the {label} trajectory settles within {a['settle']:.0%} of the window")
    spread = np.maximum(np.ptp(np.vstack([fit, held]), axis=0), 1e-300)
    if system.dynamics == "transient" and (np.abs(fit[-1] - held[-1]) / spread).max() > 0.05:
        problems.append(f"the two trajectories end in different states {fit[-1].round(3)} and {held[-1].round(3)}")
    if system.dynamics == "cycle":
        n = len(t)
        ratio = held[n // 2:].std(axis=0) / np.maximum(fit[n // 2:].std(axis=0), 1e-300)
        if ratio.min() < 0.5 or ratio.max() > 2.0:
            problems.append(f"the held-out trajectory is on another attractor (late std ratios {ratio.round(2)})")
    return problems


def check_truth_text(system: Textbook) -> list[str]:
    """The truth text must mean the same to ``grammar.parse`` and to ``sympy.parse_expr`` with the names."""
    from sympy.parsing.sympy_parser import parse_expr

    local = {v: sympy.Symbol(v) for v in system.variables}
    ours = truth(system)
    problems = []
    for v, text in system.equations().items():
        theirs = parse_expr(text, local_dict=local)
        if sympy.simplify(theirs - ours[v]) != 0:
            problems.append(f"d{v}/dt: sympy reads {text!r} as {theirs}, grammar.parse as {ours[v]}")
    return problems


def known_laws() -> dict[str, dict[str, sympy.Expr]]:
    """The laws of the zoo and of ``benchmarks/unseen`` (whose names the textbook set must not repeat)."""
    from grammar.zoo import ZOO

    laws = {f"zoo/{name}": system.rhs() for name, system in ZOO.items()}
    for path in sorted((HERE / "unseen").glob("*.truth.json")):
        equations = json.loads(path.read_text())["equations"]
        laws[f"unseen/{path.stem}"] = {v: parse(e, list(equations)) for v, e in equations.items()}
    return laws


def duplicate_of(system: Textbook, laws: dict[str, dict[str, sympy.Expr]]) -> str | None:
    """The name of a known law with exactly the terms of ``system`` under some renaming of variables, if any."""
    from discovery.terms import same_terms

    mine = truth(system)
    for name, law in laws.items():
        if len(law) != len(mine):
            continue
        for order in itertools.permutations(system.variables):
            rename = {sympy.Symbol(old): sympy.Symbol(new) for old, new in zip(law, order)}
            renamed = {new: law[old].xreplace(rename) for old, new in zip(law, order)}
            if same_terms(renamed, mine):
                return name
    return None


VARY_PARAMETERS = (0.8, 1.25)
VARY_STATES = (0.85, 1.15)
VARY_TRIES = 20


def exponents(system: Textbook) -> set[str]:
    """The parameters that appear as exponents in the law (``y**n``): varying them would change the law's form."""
    return {name for name in system.params
            if any(re.search(r"\*\*\s*\(?\s*" + re.escape(name) + r"\b", e) for e in system.template)}


def _three_digits(value: float) -> float:
    return float(f"{value:.3g}")


def varied(system: Textbook, rng: np.random.Generator) -> Textbook:
    """``system`` with its parameters and initial states scaled by random factors (see the module docstring)."""
    fixed = exponents(system)
    lo, hi = np.log(VARY_PARAMETERS)
    params = {k: v if k in fixed or v == 0 else _three_digits(v * np.exp(rng.uniform(lo, hi)))
              for k, v in system.params.items()}
    a, b = VARY_STATES
    x0 = tuple(_three_digits(v * rng.uniform(a, b)) for v in system.x0)
    held = tuple(_three_digits(v * rng.uniform(a, b)) for v in system.held_x0)
    return dataclasses.replace(system, params=params, x0=x0, held_x0=held)


def vary_all(systems: list[Textbook], seed: int) -> tuple[list[tuple[Textbook, np.ndarray, np.ndarray, np.ndarray]],
                                                           list[str]]:
    """A passing variant of each system (see :func:`varied`), and a line for each system left out."""
    rng = np.random.default_rng(seed)
    out, left = [], []
    for system in systems:
        for _ in range(VARY_TRIES):
            candidate = varied(system, rng)
            t = time_grid(candidate)
            try:
                fit, held = simulate_system(candidate, candidate.x0, t), simulate_system(candidate, candidate.held_x0, t)
            except Exception as exc:  # noqa: BLE001 -- a draw that cannot be integrated is drawn again
                problems = [f"cannot integrate: {exc}"]
            else:
                problems = check(candidate, t, fit, held)
            if not problems:
                out.append((candidate, t, fit, held))
                break
        else:
            left.append(f"{system.name}: no passing variant in {VARY_TRIES} draws (last: {problems[0]})")
    return out, left


def write(system: Textbook, t: np.ndarray, fit: np.ndarray, held: np.ndarray, out_dir: Path) -> None:
    frames = [pd.DataFrame({"trajectory": k, "t": t, **{v: x[:, j] for j, v in enumerate(system.variables)}})
              for k, x in enumerate((fit, held))]
    atomic_write_text(out_dir / f"{system.name}.csv", pd.concat(frames).to_csv(index=False, float_format="%.10g"))
    payload = {
        "title": system.title, "description": system.description, "source": system.source, "kind": system.kind,
        "dynamics": system.dynamics, "variables": list(system.variables), "equations": system.equations(),
        "parameters": system.params, "template": dict(zip(system.variables, system.template)),
        "x0": list(system.x0), "held_x0": list(system.held_x0), "t_end": system.t_end, "dt": system.dt,
    }
    atomic_write_text(out_dir / f"{system.name}.truth.json", json.dumps(payload, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, help="where to write (default: benchmarks/textbook; with --vary, "
                        "required: a variant set must not replace the benchmark's own)")
    parser.add_argument("--check", action="store_true", help="simulate and check only; write nothing")
    parser.add_argument("--systems", help="comma-separated names (default: all)")
    parser.add_argument("--vary", type=int, metavar="SEED",
                        help="write a variant set: other parameters and initial states, drawn with this seed")
    args = parser.parse_args(argv)
    chosen = TEXTBOOK
    if args.systems:
        wanted = {s.strip() for s in args.systems.split(",")}
        unknown = wanted - {s.name for s in TEXTBOOK}
        if unknown:
            print(f"textbook.py: error: unknown system(s) {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        chosen = [s for s in TEXTBOOK if s.name in wanted]
    if args.vary is not None:
        if args.out_dir is None and not args.check:
            print("textbook.py: error: --vary needs --out-dir (a folder of its own, not benchmarks/textbook)",
                  file=sys.stderr)
            return 2
        return write_variants(chosen, args.vary, args.out_dir, args.check)
    args.out_dir = args.out_dir or HERE / "textbook"
    laws = known_laws()
    results, failures = [], []
    print(f"{'system':22} {'variables':16} {'kind':13} {'dynamics':9} {'N':>5} {'after10%':>8} {'late/early':>10} "
          f"{'settle':>6}")
    for system in chosen:
        t = time_grid(system)
        fit, held = simulate_system(system, system.x0, t), simulate_system(system, system.held_x0, t)
        problems = check(system, t, fit, held) + check_truth_text(system)
        twin = duplicate_of(system, laws)
        if twin:
            problems.append(f"has the terms of {twin}")
        a, b = activity(fit), activity(held)
        print(f"{system.name:22} {','.join(system.variables):16} {system.kind:13} {system.dynamics:9} {t.size:5d} "
              f"{min(a['after_10pct'], b['after_10pct']):8.2f} {min(a['late_over_early'], b['late_over_early']):10.2f} "
              f"{min(a['settle'], b['settle']):6.2f}" + ("  FAIL: " + "; ".join(problems) if problems else ""))
        failures += [f"{system.name}: {p}" for p in problems]
        results.append((system, t, fit, held))
    non_poly = sum(s.kind in NON_POLYNOMIAL for s in chosen)
    print(f"{len(chosen)} systems, {non_poly} rational, saturating, exponential or logarithmic")
    if failures:
        print(f"textbook.py: error: {len(failures)} check(s) failed, nothing written; first: {failures[0]}",
              file=sys.stderr)
        return 1
    if not args.check:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        for system, t, fit, held in results:
            write(system, t, fit, held, args.out_dir)
        print(f"wrote {len(results)} systems to {args.out_dir}")
    return 0


def write_variants(systems: list[Textbook], seed: int, out_dir: Path, dry: bool) -> int:
    results, left = vary_all(systems, seed)
    for system, t, fit, held in results:
        print(f"{system.name:22} {t.size:5d}  " + ", ".join(f"{k}={v:g}" for k, v in system.params.items()))
    for line in left:
        print(f"left out: {line}")
    print(f"{len(results)} of {len(systems)} systems varied with seed {seed}")
    if not dry:
        out_dir.mkdir(parents=True, exist_ok=True)
        for system, t, fit, held in results:
            write(system, t, fit, held, out_dir)
        print(f"wrote {len(results)} systems to {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
