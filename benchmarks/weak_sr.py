"""A small before/after probe for issue 15, items 3 (SR without spurious trig) and 4 (weak-form SINDy).

Usage::

    python benchmarks/weak_sr.py --label before --set noisy       # Lorenz, Chen-Lee, LV, VdP, Duffing at 5% and 0%
    python benchmarks/weak_sr.py --label after --set trig         # systems without trig (and pendulums) at 0 and 1%
    python benchmarks/weak_sr.py --label x --systems lorenz --noise 0.05 --seeds 0,1

Each run is one ``eqdisco bench`` case (:func:`discovery.bench.core.zoo_cases` / ``folder_cases`` and
``_run_one``: same trajectories, same exact-terms rule, same timing), run one after the other in this process.
``--options old`` runs ``discover`` with ``sindy.form="strong"`` and ``sr.operator_choice="given"`` (no weak form,
every SR operator: the behaviour before these items, but for the SR knee's function cost), so that before and
after run on the same code and under the same load; ``--options both`` runs each case both ways, back to back
(in alternating order, so that neither always pays the process's first-run costs).
Writes ``benchmarks/results/weak_sr_LABEL.json`` and prints one line per run. A probe for one change, not a
benchmark of record.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNSEEN = HERE / "unseen"

SETS = {
    # (zoo or unseen system, noise levels)
    "noisy": [(s, (0.05, 0.0)) for s in ("lorenz", "chen_lee", "lotka_volterra", "van_der_pol", "duffing")],
    "trig": [(s, (0.0, 0.01)) for s in ("rosenzweig_macarthur", "selkov", "hopf", "lotka_volterra", "brusselator",
                                         "damped_pendulum", "thomas", "sir")],
}
"""Named groups of runs."""


def _random_case(name: str, noise: float, seed: int):
    """A zoo case with parameters and both initial states drawn from the system's ranges (seeded), not nominal."""
    import numpy as np

    from discovery.bench.core import Case, predictability_horizon
    from discovery.simulation import sample_initial_condition, sample_params, simulate
    from grammar.zoo import get_system

    system = get_system(name)
    rng = np.random.default_rng(10_000 + seed)
    params = sample_params(system, rng)
    x0, held_x0 = sample_initial_condition(system, rng), sample_initial_condition(system, rng)
    t = np.arange(system.t_span[0], system.t_span[1] + 0.5 * system.dt, system.dt)
    clean = simulate(system, params=params, x0=x0, t=t)[0]
    noisy = simulate(system, params=params, x0=x0, t=t, noise=noise, seed=seed)[0]
    held = simulate(system, params=params, x0=held_x0, t=t)[0]
    rhs = system.rhs(params)
    return Case(name=f"{name}~{seed}", variables=list(system.variables), truth={v: str(e) for v, e in rhs.items()},
                fit_t=t.tolist(), fit_x=noisy.x.tolist(), fit_clean=clean.x.tolist(), held_t=held.t.tolist(),
                held_x=held.x.tolist(), noise=noise,
                fit_horizon=predictability_horizon(rhs, system.variables, t, clean.x),
                held_horizon=predictability_horizon(rhs, system.variables, t, held.x))


def _cases(name: str, noise: float, seed: int, folders: list[Path], random: bool = False) -> list:
    import shutil
    import tempfile

    from discovery.bench.core import folder_cases, zoo_cases
    from grammar.zoo import ZOO

    if name in ZOO:
        return [_random_case(name, noise, seed)] if random else zoo_cases([name], noise, seed)
    for folder in folders:
        if (folder / f"{name}.csv").is_file():
            with tempfile.TemporaryDirectory() as tmp:  # folder_cases reads a whole folder: give it one system
                for suffix in (".csv", ".truth.json"):
                    shutil.copy(folder / f"{name}{suffix}", tmp)
                return folder_cases(tmp, noise, seed)
    raise SystemExit(f"weak_sr.py: no system {name!r} in the zoo or in {', '.join(map(str, folders))}")


def has_trig(equations: dict[str, str]) -> bool:
    """Whether any right-hand side calls ``sin`` or ``cos``."""
    return any(re.search(r"\b(sin|cos|tan)\(", e) for e in equations.values())


OLD_OPTIONS = {"sindy": {"form": "strong"}, "sr": {"operator_choice": "given"}}
"""Method options that turn the weak form and the SR operator choice off."""


@contextmanager
def _options(variant: str, method: str = "auto") -> Iterator[None]:
    """Within the block, ``discover`` runs with :data:`OLD_OPTIONS` (those of the methods it runs) when
    ``variant == "old"``."""
    from discovery import api

    original = api.discover
    if variant == "old":
        chosen = OLD_OPTIONS if method == "auto" else {k: v for k, v in OLD_OPTIONS.items() if k == method}
        api.discover = functools.partial(original, **chosen)
    try:
        yield
    finally:
        api.discover = original


def main() -> None:
    from discovery.bench.core import _run_one
    from discovery.io import atomic_write_text

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True)
    parser.add_argument("--set", choices=tuple(SETS), help="a named group of runs")
    parser.add_argument("--systems", help="comma-separated systems (zoo or benchmarks/unseen)")
    parser.add_argument("--noise", default="0.05", help="comma-separated noise levels (with --systems)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--method", default="auto", help="contender: auto, sindy, ...")
    parser.add_argument("--random", action="store_true",
                        help="zoo systems with parameters and initial states drawn from their ranges (per seed)")
    parser.add_argument("--options", choices=("new", "old", "both"), default="new",
                        help="new: the defaults; old: no weak form, every SR operator; both: one after the other")
    parser.add_argument("--data-dir", action="append", default=[],
                        help="also look for NAME.csv + NAME.truth.json here (benchmarks/unseen always)")
    args = parser.parse_args()
    runs = list(SETS[args.set]) if args.set else []
    if args.systems:
        runs += [(s, tuple(float(n) for n in args.noise.split(","))) for s in args.systems.split(",")]
    out = HERE / "results" / f"weak_sr_{args.label}.json"
    rows = []
    for name, noises in runs:
        for noise in noises:
            for seed in (int(s) for s in args.seeds.split(",")):
                try:
                    cases = _cases(name, noise, seed, [UNSEEN, *map(Path, args.data_dir)], args.random)
                except Exception as exc:  # noqa: BLE001 -- a file the loader refuses: say so, go on
                    print(f"{name:22s} {noise:5.2f} s{seed} skipped: {exc}", flush=True)
                    continue
                for case in cases:
                    order = ("new", "old") if len(rows) % 4 == 0 else ("old", "new")  # alternate: same warm-up
                    for variant in order if args.options == "both" else (args.options,):
                        with _options(variant, args.method):
                            o = _run_one(case, args.method, seed)
                        row = dict(asdict(o), seed=seed, trig=has_trig(o.equations), options=variant)
                        rows.append(row)
                        print(f"{o.system:22s} {noise:5.2f} s{seed} {variant} exact={o.exact_terms!s:5s} "
                              f"trig={row['trig']!s:5s} {o.seconds:6.1f}s r2={o.r2_heldout} {o.equations} "
                              f"{o.error or ''}", flush=True)
                        atomic_write_text(out, json.dumps(rows, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
