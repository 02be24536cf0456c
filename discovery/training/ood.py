"""``eqdisco bench prose --ood``: a PROSE checkpoint on systems whose skeleton it never saw in training.

Test sets (all held out of the ``broad`` training distribution by skeleton, :mod:`discovery.training.heldout`):

* ``unseen``: the six systems of ``benchmarks/unseen``; ``textbook``: the laws of ``benchmarks/textbook`` (the
  first, fitting, trajectory of each CSV);
* ``random``: the first ``samples`` of :func:`discovery.training.heldout.heldout_random_systems`, each simulated
  from a random initial state over 1 to 10 characteristic times (128 points; draws that blow up, stall or cross a
  pole are redrawn, systems with no usable draw in 20 are left out and counted).

Each trajectory gets noise ``p * std(x_v)`` (seeded) and is read whole by the model (subsampled to its input
length, in the coordinates its training data used); the symbol decoder runs a beam search. Per case:

* ``valid``: the top hypothesis decodes to a system over the right variables;
* ``exact top`` / ``exact beam``: the top valid hypothesis / any valid hypothesis of the beam has exactly the true
  term skeletons (:func:`discovery.terms.same_terms`), also split by 1-2 and 3-4 variables;
* ``R2>=0.9 refined``: the valid hypotheses' constants are refined against the noisy data
  (:func:`discovery.pipeline.refine.refine_candidate`), the one that best re-simulates the noisy data is kept
  (selection by the data, as ``discover`` does), and it is scored by R^2 against the clean trajectory;
* ``rel L2``: the data decoder reads the first half of the (noisy) window and predicts the second half, scored by
  relative L2 against the clean trajectory (the issue's "prediction window as long as the observed one").
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import sympy

if TYPE_CHECKING:  # pragma: no cover
    from models.prose.inference import ProsePredictor

SETS = ("unseen", "textbook", "random")
OOD_SEED = 40_000


@dataclass(frozen=True)
class OodConfig:
    """What ``eqdisco bench prose --ood`` measures.

    Attributes
    ----------
    samples:
        Random held-out systems (the benchmark folders are read whole).
    noises:
        Noise levels of the observed states.
    beam_size:
        Beam width of the symbol decoder.
    sets:
        Test sets among ``"unseen"``, ``"textbook"``, ``"random"``.
    refine_hypotheses:
        Valid hypotheses refined per case (best beam scores first).
    refine_seconds:
        Time budget of one refinement.
    seed:
        Seed of the random systems' trajectories and of the noise.
    """

    samples: int = 24
    noises: tuple[float, ...] = (0.0, 0.01, 0.05)
    beam_size: int = 5
    sets: tuple[str, ...] = SETS
    refine_hypotheses: int = 3
    refine_seconds: float = 2.0
    seed: int = OOD_SEED


@dataclass
class Case:
    """One test trajectory: canonical truth over ``x_0 .. x_{D-1}``, clean states on ``t``."""

    set: str
    name: str
    truth: list[sympy.Expr]
    t: np.ndarray
    x: np.ndarray


def _names(n: int) -> list[str]:
    return [f"x_{i}" for i in range(n)]


def benchmark_cases(folder: str) -> list[Case]:
    """The first trajectory of every ``NAME.csv`` with its ``NAME.truth.json`` in ``benchmarks/<folder>``."""
    from discovery.data import load_trajectories
    from discovery.training.heldout import BENCHMARKS, benchmark_systems

    truths = benchmark_systems([folder])
    cases = []
    for key, truth in truths.items():
        name = key.split("/", 1)[1]
        data = load_trajectories(BENCHMARKS / folder / f"{name}.csv", time_column="t")  # a state may be T
        first = data[0]
        cases.append(Case(folder, name, truth, np.asarray(first.t, float), np.asarray(first.x, float)))
    return cases


def random_cases(count: int, seed: int = OOD_SEED, tries: int = 20) -> tuple[list[Case], int]:
    """Trajectories of the first ``count`` random held-out systems; also the number left out (no usable draw)."""
    from discovery.errors import SimulationError
    from discovery.simulation import integrate, lambdify_system
    from discovery.training.data import degenerate, near_a_pole
    from discovery.training.heldout import heldout_random_systems

    cases, skipped = [], 0
    for key, exprs in heldout_random_systems(count).items():
        k = int(key.split("/")[1])
        rng = np.random.default_rng([seed, k])
        names = _names(len(exprs))
        f = lambdify_system(exprs, names)
        for _ in range(tries):
            sign = np.where(rng.random(len(exprs)) < 0.7, 1.0, -1.0)
            x0 = sign * 10.0 ** rng.uniform(-1.0, 1.0, len(exprs))
            with np.errstate(all="ignore"):
                rate = float(np.sqrt(np.mean(np.asarray(f(0.0, x0), float) ** 2)) / np.sqrt(np.mean(x0**2)))
            if not np.isfinite(rate) or not 0 < rate < 1e4:
                continue
            t = np.linspace(0.0, float(np.exp(rng.uniform(0.0, np.log(10.0)))) / rate, 128)
            try:
                x = integrate(f, x0, t, rtol=1e-8, atol=1e-10, time_limit=1.0, max_abs=1e6)
            except (SimulationError, ValueError, ArithmeticError):
                continue
            if degenerate(t, x, x, 1e3 * max(1.0, float(np.max(np.abs(x0))))) is None and not near_a_pole(exprs, x):
                cases.append(Case("random", key, list(exprs), t, x))
                break
        else:
            skipped += 1
    return cases, skipped


def _noisy(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return x + noise * x.std(axis=0) * rng.standard_normal(x.shape) if noise else x.copy()


def _simulate(exprs: Sequence[sympy.Expr], x0: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    from discovery.errors import SimulationError
    from discovery.simulation import integrate, lambdify_system

    try:
        return integrate(lambdify_system(list(exprs), _names(len(exprs))), x0, t, rtol=1e-6, atol=1e-8,
                         time_limit=1.0, max_abs=1e6)
    except (SimulationError, ValueError, ArithmeticError, TypeError):
        return None


def _refined_r2(hyps: list[Any], case: Case, x_noisy: np.ndarray, config: OodConfig) -> float:
    """Clean R^2 of the refined valid hypothesis that best re-simulates the noisy data (-inf if none can)."""
    from discovery.data import Trajectories, Trajectory
    from discovery.methods.base import Candidate
    from discovery.pipeline.refine import RefineConfig, refine_candidate
    from discovery.pipeline.scoring import trajectory_r2

    names = _names(len(case.truth))
    data = Trajectories(tuple(names), [Trajectory(case.t, x_noisy)], source=case.name)
    refine = RefineConfig(time_budget_s=config.refine_seconds)
    best, best_fit = None, -math.inf
    for h in hyps[: config.refine_hypotheses]:
        symbols = dict(zip(names, h.equations))
        try:
            fitted = refine_candidate(Candidate("prose", symbols), data, config=refine)
        except (ValueError, ArithmeticError, TypeError):
            continue
        exprs = [fitted.equations[v] for v in names]
        sim = _simulate(exprs, x_noisy[0], case.t)
        fit = -math.inf if sim is None else trajectory_r2(sim, x_noisy)
        if fit > best_fit:
            best, best_fit = exprs, fit
    if best is None:
        return -math.inf
    sim = _simulate(best, case.x[0], case.t)
    return -math.inf if sim is None else float(trajectory_r2(sim, case.x))


def evaluate_case(predictor: "ProsePredictor", case: Case, noise: float, config: OodConfig,
                  rng: np.random.Generator) -> dict[str, Any]:
    """The metrics of one case at one noise level (see the module docstring)."""
    from discovery.prediction import relative_l2
    from discovery.terms import same_terms

    x_noisy = _noisy(case.x, noise, rng)
    names = _names(len(case.truth))
    truth = dict(zip(names, case.truth))
    started = time.perf_counter()
    hyps = predictor.decode(predictor.make_batch([(case.t, x_noisy)]), beam_size=config.beam_size)[0]
    seconds = time.perf_counter() - started
    good = [h for h in hyps if h.valid]
    exact = [same_terms(dict(zip(names, h.equations)), truth) for h in good]
    half = case.t <= case.t[0] + 0.5 * (case.t[-1] - case.t[0])
    rel = math.inf
    if half.sum() >= 4 and (~half).sum() >= 2:
        read = predictor.make_batch([(case.t[half], x_noisy[half])])
        rel = relative_l2(predictor.predict_states(read, [case.t[~half]])[0], case.x[~half])
    return {
        "set": case.set, "system": case.name, "noise": noise, "n_vars": len(names),
        "valid": bool(hyps) and hyps[0].valid,
        "exact_top": bool(exact) and exact[0],
        "exact_beam": any(exact),
        "r2_refined": _refined_r2(good, case, x_noisy, config) if good else -math.inf,
        "rel_l2": float(rel),
        "top": None if not good else [str(e) for e in good[0].equations],
        "seconds": seconds,
    }


def _share(rows: list[dict], key: str) -> float | None:
    return float(np.mean([bool(r[key]) for r in rows])) if rows else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Shares and means of one (set, noise) group of rows."""
    rel = np.minimum(np.asarray([r["rel_l2"] for r in rows], dtype=float), 10.0)
    small = [r for r in rows if r["n_vars"] <= 2]
    large = [r for r in rows if r["n_vars"] >= 3]
    return {
        "n": len(rows),
        "valid": _share(rows, "valid"),
        "exact_top": _share(rows, "exact_top"),
        "exact_beam": _share(rows, "exact_beam"),
        "exact_beam_1_2_vars": _share(small, "exact_beam"),
        "exact_beam_3_4_vars": _share(large, "exact_beam"),
        "r2_refined_ge_0.9": float(np.mean([r["r2_refined"] >= 0.9 for r in rows])) if rows else None,
        "rel_l2_mean": float(np.mean(rel)) if rows else None,
        "rel_l2_median": float(np.median(rel)) if rows else None,
        "seconds_per_system": float(np.mean([r["seconds"] for r in rows])) if rows else None,
    }


def run_ood(predictor: "ProsePredictor", config: OodConfig = OodConfig(), log=None) -> dict[str, Any]:
    """Every set and noise level of ``config``; returns the JSON-ready report.

    Examples
    --------
    >>> report = run_ood(ProsePredictor.from_pretrained(DEFAULT_CHECKPOINT), OodConfig(samples=8))  # doctest: +SKIP
    >>> print(ood_markdown(report))  # doctest: +SKIP
    """
    unknown = sorted(set(config.sets) - set(SETS))
    if unknown:
        raise ValueError(f"unknown OOD test sets {unknown}; valid: {', '.join(SETS)}")
    started = time.time()
    cases, skipped = [], 0
    for name in config.sets:
        if name == "random":
            found, skipped = random_cases(config.samples, config.seed)
            cases += found
        else:
            cases += benchmark_cases(name)
    rows, summary = [], []
    for noise in config.noises:
        rng = np.random.default_rng([config.seed, int(round(noise * 1e4))])
        for name in config.sets:
            group = [evaluate_case(predictor, c, noise, config, rng) for c in cases if c.set == name]
            rows += group
            entry = {"set": name, "noise": noise, **summarize(group)}
            summary.append(entry)
            if log is not None:
                log(ood_row(entry))
    return {"config": {**asdict(config), "normalization": predictor.normalization}, "summary": summary,
            "cases": rows, "random_left_out": skipped, "elapsed_s": time.time() - started,
            "targets": {"valid (1% noise)": ">= 0.95", "exact beam, 1-2 variables (1%)": ">= 0.40",
                        "exact beam, 3-4 variables (1%)": ">= 0.25", "R2>=0.9 refined (1%)": ">= 0.70",
                        "rel L2 (second half from the first)": "<= 0.2"}}


OOD_COLUMNS = [("set", "set"), ("noise", "noise"), ("n", "n"), ("valid", "valid"), ("exact_top", "exact top"),
               ("exact_beam", "exact beam"), ("exact_beam_1_2_vars", "exact beam 1-2 vars"),
               ("exact_beam_3_4_vars", "exact beam 3-4 vars"), ("r2_refined_ge_0.9", "R2>=0.9 refined"),
               ("rel_l2_mean", "rel L2 mean"), ("rel_l2_median", "rel L2 median"),
               ("seconds_per_system", "s/system (decode)")]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if math.isfinite(value) else str(value)
    return str(value)


def ood_row(entry: dict[str, Any]) -> str:
    return "| " + " | ".join(_fmt(entry.get(k)) for k, _ in OOD_COLUMNS) + " |"


def ood_markdown(report: dict[str, Any]) -> str:
    """The summary as a markdown table."""
    lines = ["| " + " | ".join(title for _, title in OOD_COLUMNS) + " |", "|" + "---|" * len(OOD_COLUMNS)]
    lines += [ood_row(e) for e in report["summary"]]
    if report.get("random_left_out"):
        lines += ["", f"Random held-out systems left out (no bounded, active draw): {report['random_left_out']}"]
    return "\n".join(lines)


def write_report(report: dict[str, Any], out: Path, title: str) -> None:
    """``out`` (JSON) and the same name ``.md``, atomically."""
    import json

    from discovery.io import atomic_write_text

    atomic_write_text(out, json.dumps(report, indent=2, default=float) + "\n")
    atomic_write_text(out.with_suffix(".md"), f"# {title}\n\n{ood_markdown(report)}\n")
