"""Scoring and selection: every candidate is re-simulated before it is ranked.

Scores (``Candidate.metrics``)
------------------------------
``r2``
    Variance-weighted R^2 of the candidate simulated from each trajectory's first observed state over the whole
    observed window, averaged over trajectories (``None`` when the simulation blew up or timed out).
``r2_window``
    The same on short windows restarted from the smoothed data (see :mod:`discovery.pipeline.shooting`): the vector
    field's local accuracy, meaningful for chaotic systems too, where every model drifts after a few Lyapunov times.
``complexity``
    Node count of the right-hand sides.
``stable``
    Whether the full re-simulation stayed bounded (within ``blowup_factor`` times the data's range) and finished.

Selection rule (the one place it is defined; the README quotes it)
--------------------------------------------------------------------
Among stable candidates (all candidates if none is stable), let ``e = 1 - r2_window`` with ``e*`` the smallest, and
``E = 1 - r2`` with ``E*`` the smallest. The *noise floor* ``f`` is the share of the data's variance that the
estimated measurement noise makes up (:func:`noise_floor`), capped at ``floor_cap * e*``. A candidate is
*acceptable* when

- ``e - f <= (e* - f) (1 + rel_tol) + a`` (the tolerance is a share of the error a model can still remove,
  not of the noise) with the slack ``a = min(abs_tol, max(abs_tol_ratio e*, exact_tol))``: on clean data, where
  the best candidate follows the windows to ``e* = 1e-12``, a model a million times less accurate is not within
  the tolerance (a cubic standing in for ``2*N/(1 + N)`` at ``e = 1e-6``), and errors under ``exact_tol`` (the
  re-simulation's own numerical error) count as equal, and
- unless the data cannot be followed over its whole window, ``E <= E* (1 + rel_tol) + full_abs_tol +
  full_noise_factor * f``. The data counts as followable when one of the ``follow_check`` candidates with the
  smallest ``e`` has ``E <= chaotic_error`` (judged by the locally most accurate candidates, so one candidate that
  tracks a chaotic trajectory by luck does not set the limit); where it cannot, ``E <= drift_error`` (4: a
  simulation with the data's own mean and variance has ``E <= 4``, 4 when it is anti-correlated with the data, 2
  when unrelated, so beyond 4 the model has left the data's range: a cycle of another amplitude, a slow blow-up.
  Schnakenberg's cycle at 5% noise, another noise draw: the law drifts in phase, ``E`` = 2.9, and its look-alike
  without the `0.1` inflow runs a far larger cycle, ``E`` = 61, but was one node cheaper). On noisy data
  ``full_abs_tol`` is widened, for the run, by ``E``'s own resolution (:func:`trajectory_error_spread`: how far
  ``E`` of the most accurate model moves when its start moves within the smoothed start's uncertainty): on a
  chaotic trajectory followable over its window the start's noise alone moves ``E`` from 0.01 to 0.21 (Rossler at
  1%), so a model with a tiny extra term that happens to track the data (``E`` = 0.04) set ``E*`` and the law, at
  0.21, failed; on transients and cycles the resolution is ``E``'s noise, a few 1e-4 or less, and nothing changes.

The acceptable candidates are ranked simplest first, by node count with each elementary function counting
:data:`~discovery.methods.base.FUNCTION_WEIGHT` (:func:`discovery.methods.base.selection_complexity`); ties go to
fewer elementary functions (a rational term before an exponential of the same size:
:attr:`~discovery.methods.base.Candidate.selection_cost`), then to fewer distinct constants, then to the lower ``e``.
The simplest is selected unless a costlier acceptable one follows the windows *significantly* better: going up that
ranking, a candidate replaces the current choice when its per-window errors beat the choice's by more than
``better_t`` standard errors of their paired differences (:func:`significantly_better`; a difference under
``exact_tol`` is none). The tolerance above is a share of the error; this test asks whether a difference is larger
than chance, window by window: on noisy data a stand-in of fewer terms (``N*log(C)`` for ``2*C*N/(1 + C) - N``) can
be within the tolerance and still be worse on nearly every window. ``better_t = 3`` because a term that only fits
noise does not win that consistently, while a model with a term or two more than the law does reach 2-2.5 standard
errors on the windows it was refined on. An extra term must buy a real improvement to be kept, and a term
needed over the long run (a small damping) is not dropped for looking negligible on short windows.

Corroboration (with ``uncertainty=True``, the default): the sparse regression is then bagged (E-SINDy: blocks of
weak-form rows drawn with replacement, :func:`discovery.pipeline.bagging.bagged_shares`) over a library of the
selected model's terms, its rivals' terms and the monomials, and each term gets the share of bags that choose it.
When an equation of the selected model has a term fewer than ``doubt_share`` of the bags choose, the simplest
acceptable candidate whose equations are either the selected model's (up to constants) or have every term in at
least ``trust_share`` of the bags, one of them a doubted equation, is selected instead (:func:`corroborated`). The
window test cannot tell a stand-in from the law when both fit within the noise (``N*log(C)`` for
``2*C*N/(1 + C) - N`` at 1% noise: 1.02e-4 and 0.96e-4); the bags can, because on most resamples of the rows the
law's terms explain the data with fewer of them (the stand-in was chosen by 3% of the bags, the law's terms by 88%).

Stability (with ``uncertainty=True``): the rule, corroboration included, is then re-applied to bootstrap resamples
of the scoring windows, over every candidate and the selected model without each of its terms in turn
(:func:`discovery.pipeline.uncertainty.most_stable`). When a structure other than the selected one is picked by
more resamples, the candidate of that structure the rule prefers is selected instead: a term that the rule keeps
only on some resamples of the data does not survive. The measurements that set these knobs are in
``benchmarks/NOTES.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import sympy

from discovery import parsimony
from discovery.options import Options
from discovery.data import Trajectories
from discovery.errors import SimulationError
from discovery.inputs import InputSignal
from discovery.methods.base import Candidate
from discovery.pipeline.shooting import batch_rhs, data_scale, plan_windows, rk4_windows, window_errors
from discovery.simulation import state_scale


@dataclass(frozen=True)
class ScoringConfig(Options):
    """How candidates are re-simulated and selected (the selection rule's knobs are named in this module's
    docstring); every field is checked when a config is made."""

    owner = "scoring"

    window_length: int = 20
    max_windows: int = 256
    min_window_span: float = 0.3
    max_window_span: float = 4.0
    time_limit_s: float = 10.0
    blowup_factor: float = 100.0
    rel_tol: float = 0.5
    abs_tol: float = 3e-6
    abs_tol_ratio: float = 100.0
    exact_tol: float = 1e-9
    full_abs_tol: float = 0.02
    chaotic_error: float = 0.5
    follow_check: int = 3
    drift_error: float = 4.0
    noise_aware: bool = True
    floor_cap: float = 0.9
    full_noise_factor: float = 10.0
    better_t: float = 3.0
    doubt_share: float = 0.2
    trust_share: float = 0.5
    rtol: float = 1e-6
    atol: float = 1e-8  # in units of each variable's largest magnitude in the data


def trajectory_r2(pred: np.ndarray, true: np.ndarray) -> float:
    """Variance-weighted R^2 over variables: ``1 - sum(SSE_v) / sum(SST_v)`` for arrays ``(N, D)``."""
    pred = np.asarray(pred, dtype=float)
    true = np.asarray(true, dtype=float)
    sse = float(((pred - true) ** 2).sum())
    sst = float(((true - true.mean(axis=0)) ** 2).sum())
    if sst <= 0.0:
        return 1.0 if sse <= 1e-24 else -math.inf
    return 1.0 - sse / sst


def simulate_candidate(
    equations: dict[str, sympy.Expr],
    variables: Sequence[str],
    x0: np.ndarray,
    t: np.ndarray,
    *,
    max_abs: float | None = None,
    time_limit: float = 10.0,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    scale: np.ndarray | float | None = None,
    inputs: Sequence[str] = (),
    u: Callable[[float], np.ndarray] | None = None,
) -> np.ndarray:
    """Simulate ``equations`` from ``x0`` over ``t``; returns ``(N, D)`` or raises :class:`SimulationError`.

    ``inputs`` names the inputs and parameters the equations may use and ``u(t)`` gives their values
    (:class:`discovery.inputs.InputSignal` of the data); the equations may also use the time ``t``.

    ``atol`` is in units of ``scale``, the typical size of each variable (default: that of ``x0``; pass
    :func:`discovery.simulation.state_scale` of the data when there is data), and ``max_abs`` defaults to a bound
    relative to it (see :func:`discovery.simulation.integrate`): results do not depend on units.
    """
    from discovery.simulation import integrate, lambdify_system

    f = lambdify_system([equations[v] for v in variables], list(variables), inputs, u)
    return integrate(f, np.asarray(x0, dtype=float), np.asarray(t, dtype=float), rtol=rtol, atol=atol,
                     max_abs=max_abs, time_limit=time_limit, scale=scale)


def window_errors_of(
    candidate: Candidate, data: Trajectories, smoothed: Sequence[np.ndarray], config: ScoringConfig = ScoringConfig()
) -> np.ndarray | None:
    """Each scoring window's share of the candidate's window error ``(B,)`` (their mean is ``1 - r2_window``;
    :func:`discovery.pipeline.shooting.window_errors`), or ``None`` when the candidate cannot be evaluated."""
    variables = list(data.variables)
    scale, bound = data_scale([tr.x for tr in data], config.blowup_factor)
    try:
        windows = plan_windows([tr.t for tr in data], smoothed, config, [tr.u for tr in data]).cut(
            smoothed, [tr.x for tr in data])
        f = batch_rhs([candidate.equations[v] for v in variables], variables, inputs=data.external)
        errors = window_errors(rk4_windows(f, windows, max_abs=bound), windows.target, scale)
    except (ValueError, TypeError, ZeroDivisionError, OverflowError):
        return None
    return errors if np.all(np.isfinite(errors)) else None


def score_candidate(
    candidate: Candidate,
    data: Trajectories,
    smoothed: Sequence[np.ndarray] | None = None,
    config: ScoringConfig = ScoringConfig(),
) -> Candidate:
    """Fill ``candidate.metrics`` by re-simulating it against ``data``; returns the same candidate."""
    variables = list(data.variables)
    _, bound = data_scale([tr.x for tr in data], config.blowup_factor)
    sizes = state_scale([tr.x for tr in data])  # (D,): tolerances relative to the data's own magnitude
    smoothed = list(smoothed) if smoothed is not None else [tr.x for tr in data]

    r2s: list[float] = []
    stable = True
    reason = ""
    for k, tr in enumerate(data):
        try:
            pred = simulate_candidate(
                candidate.equations, variables, smoothed[k][0], tr.t, max_abs=bound, time_limit=config.time_limit_s,
                rtol=config.rtol, atol=config.atol, scale=sizes, inputs=data.external, u=InputSignal(tr.t, tr.u),
            )
            r2s.append(trajectory_r2(pred, tr.x))
        except SimulationError as exc:
            stable = False
            reason = str(exc)
            break
        except (ValueError, TypeError, ZeroDivisionError, OverflowError) as exc:  # e.g. log of a negative state
            stable = False
            reason = f"cannot evaluate: {exc}"
            break

    per_window = window_errors_of(candidate, data, smoothed, config)
    r2w = -math.inf if per_window is None else float(1.0 - per_window.mean())
    candidate.window_errors = per_window

    candidate.metrics.update(
        {
            "r2": float(np.mean(r2s)) if stable and r2s else None,
            "r2_window": r2w if math.isfinite(r2w) else None,
            "complexity": candidate.complexity,
            "stable": stable,
        }
    )
    if not stable:
        candidate.metrics["failure"] = reason.splitlines()[0] if reason else "simulation failed"
    return candidate


SPREAD_STARTS = 10
"""Perturbed starts of :func:`trajectory_error_spread`."""
START_AVERAGING = 10.0
"""The smoothed start's standard error is taken as the residual noise over the square root of this: about the number
of samples the smoothing averages at a trajectory's start (a judgement, not a measurement)."""


def trajectory_error_spread(
    candidate: Candidate,
    data: Trajectories,
    smoothed: Sequence[np.ndarray],
    config: ScoringConfig = ScoringConfig(),
    seed: int = 0,
) -> float:
    """How finely the trajectory error ``E`` resolves models on ``data``: ``candidate`` re-simulated from
    :data:`SPREAD_STARTS` starts drawn around each trajectory's smoothed start (:func:`perturbed_runs`); the
    interdecile range of the ``E`` values, the largest over trajectories (0 when fewer than three simulations
    finish). Two models whose ``E`` differ by less cannot be told apart by ``E``. For data without inputs.
    """
    spreads = []
    for tr, runs in perturbed_runs(candidate, data, smoothed, config, seed):
        errors = [min(1.0 - trajectory_r2(pred, tr.x), 2.0) for pred in runs]
        if len(errors) >= 3:
            spreads.append(float(np.quantile(errors, 0.9) - np.quantile(errors, 0.1)))
    return max(spreads, default=0.0)


def perturbed_runs(candidate: Candidate, data: Trajectories, smoothed: Sequence[np.ndarray],
                   config: ScoringConfig = ScoringConfig(), seed: int = 0):
    """Per trajectory, ``(trajectory, simulations)``: ``candidate`` simulated from :data:`SPREAD_STARTS` starts drawn
    around the trajectory's smoothed start, within its uncertainty (the residual noise, ``x - smoothed``, per
    variable, over ``sqrt(START_AVERAGING)``), with ``config``'s integrator settings and blow-up bound, as ``E``
    itself is (:func:`score_candidate`); a start the model cannot be simulated from is left out. For data without
    inputs."""
    variables = list(data.variables)
    rng = np.random.default_rng(seed)
    _, bound = data_scale([tr.x for tr in data], config.blowup_factor)
    sizes = state_scale([tr.x for tr in data])
    for k, tr in enumerate(data):
        start_sd = (tr.x - smoothed[k]).std(axis=0) / math.sqrt(START_AVERAGING)  # (D,)
        runs = []
        for _ in range(SPREAD_STARTS):
            x0 = smoothed[k][0] + start_sd * rng.standard_normal(start_sd.shape)
            try:
                runs.append(simulate_candidate(candidate.equations, variables, x0, tr.t, max_abs=bound,
                                               time_limit=config.time_limit_s, rtol=config.rtol, atol=config.atol,
                                               scale=sizes))
            except Exception:  # a start the model cannot be simulated from says nothing of the resolution
                continue
        yield tr, runs


def selection_error(candidate: Candidate) -> float:
    """``1 - r2_window`` (``inf`` when unknown)."""
    r2w = candidate.metrics.get("r2_window")
    return math.inf if r2w is None else 1.0 - r2w


def trajectory_error(candidate: Candidate, cap: float = 2.0) -> float:
    """``1 - r2`` over whole trajectories, capped at ``cap`` (``inf`` when the simulation failed). The selection rule
    takes it uncapped (``cap=inf``), for its ``drift_error`` bound."""
    r2 = candidate.metrics.get("r2")
    return math.inf if r2 is None else min(1.0 - r2, cap)


def pareto_front(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Candidates not beaten in both complexity and selection error, sorted by complexity
    (:func:`discovery.parsimony.pareto_front`)."""
    return parsimony.pareto_front(candidates, cost=lambda c: c.complexity, error=selection_error)


def noise_floor(data: Trajectories) -> float:
    """The window error ``1 - r2_window`` that measurement noise alone leaves to a perfect model.

    Per variable, the noise variance (:func:`discovery.derivatives.estimate_noise`, pooled over trajectories) over
    the variance of the data (the scale of :func:`discovery.pipeline.shooting.data_scale`); summed over variables, as
    ``r2_window`` weighs them. 0 for clean data.
    """
    from discovery.derivatives import estimate_noise

    scale, _ = data_scale([tr.x for tr in data])
    counts = np.array([len(tr.t) for tr in data], dtype=float)
    if counts.sum() <= 0:
        return 0.0
    variances = np.stack([estimate_noise(tr.t, tr.x) ** 2 for tr in data])  # (K, D)
    noise_var = (variances * counts[:, None]).sum(axis=0) / counts.sum()  # (D,)
    return float(noise_var.sum() / (scale**2).sum())


def n_constants(candidate: Candidate) -> int:
    """Number of distinct numeric constants (free parameters) in the candidate's equations."""
    return len({f for e in candidate.equations.values() for f in e.atoms(sympy.Float)})


def rule_limits(
    e: np.ndarray, E: np.ndarray, stable: np.ndarray, config: ScoringConfig = ScoringConfig(), floor: float = 0.0
) -> tuple[np.ndarray, float, float | None]:
    """The selection rule on arrays (one entry per candidate): the pool's indices (stable candidates, or all if none
    is) and the rule's limits on the window error ``e`` and the trajectory error ``E``.

    The ``E`` limit is ``config.drift_error`` when the data cannot be followed over its whole window (chaotic data,
    or a cycle whose phase drifts): none of the ``config.follow_check`` candidates with the smallest window error
    has ``E <= config.chaotic_error``.
    """
    e, E = np.asarray(e, dtype=float), np.asarray(E, dtype=float)
    pool = np.flatnonzero(stable)
    if pool.size == 0:
        pool = np.arange(e.size)
    e_best = float(np.min(e[pool]))
    if not math.isfinite(e_best):
        return pool, math.inf, None
    f = min(max(floor, 0.0), config.floor_cap * e_best) if config.noise_aware else 0.0
    slack = min(config.abs_tol, max(config.abs_tol_ratio * e_best, config.exact_tol))
    e_limit = f + (e_best - f) * (1.0 + config.rel_tol) + slack
    full_best = float(np.min(E[pool]))
    full_tol = config.full_abs_tol + config.full_noise_factor * f
    most_accurate = pool[np.argsort(e[pool], kind="stable")[: max(config.follow_check, 1)]]
    followed = float(np.min(E[most_accurate])) <= config.chaotic_error
    return pool, e_limit, (full_best * (1.0 + config.rel_tol) + full_tol if followed else config.drift_error)


def significantly_better(windows: np.ndarray, current: int, other: int, config: ScoringConfig = ScoringConfig()) -> bool:
    """Whether candidate ``other`` follows the scoring windows better than ``current`` beyond chance: the paired
    difference of their per-window errors (rows of ``windows``, ``(C, B)``) has a mean above ``config.exact_tol``
    and more than ``config.better_t`` standard errors."""
    d = windows[current] - windows[other]
    m = float(d.mean())
    if d.size < 3 or not math.isfinite(m) or m <= config.exact_tol:
        return False
    se = float(d.std(ddof=1)) / math.sqrt(d.size)
    return m > config.better_t * se


def rule_pick(
    e: np.ndarray, E: np.ndarray, stable: np.ndarray, cost: np.ndarray, n_const: np.ndarray,
    config: ScoringConfig = ScoringConfig(), floor: float = 0.0, windows: np.ndarray | None = None,
    support: "Support | None" = None,
) -> int:
    """Index of the candidate the selection rule picks, from arrays of window errors, trajectory errors, stability,
    selection complexities and constant counts (what :func:`select_best` reads off the candidates), and the
    per-window errors ``(C, B)`` (:func:`window_matrix`: a row of ``nan`` never wins the window test), or ``None``
    to rank by the tolerance alone; with ``support``, the pick is then :func:`corroborated`."""
    order = acceptable(e, E, stable, cost, n_const, config, floor)
    pick = order[0]
    if windows is not None:
        for i in order[1:]:
            if significantly_better(windows, pick, i, config):
                pick = i
    if support is not None:
        pick = corroborated(pick, order, support, config)
    return int(pick)


def acceptable(
    e: np.ndarray, E: np.ndarray, stable: np.ndarray, cost: np.ndarray, n_const: np.ndarray,
    config: ScoringConfig = ScoringConfig(), floor: float = 0.0,
) -> list[int]:
    """The indices of the candidates the rule's tolerances accept, simplest first (by selection complexity, then
    number of constants, then window error); when no candidate has a finite window error, the simplest alone."""
    pool, e_limit, E_limit = rule_limits(e, E, stable, config, floor)
    if not math.isfinite(e_limit):
        return [int(pool[np.argmin(np.asarray(cost)[pool])])]
    ok = pool[np.asarray(e)[pool] <= e_limit]
    if E_limit is not None:
        within = ok[np.asarray(E)[ok] <= E_limit]
        ok = within if within.size else ok
    return [int(i) for i in sorted(ok, key=lambda i: (cost[i], n_const[i], e[i]))]


def corroborate(candidates: Sequence[Candidate], chosen: Candidate, support: Support,
                config: ScoringConfig = ScoringConfig(), floor: float = 0.0) -> Candidate:
    """The rule's last step (:func:`corroborated`) applied to ``chosen``, one of ``candidates`` (``support`` has a
    row per candidate)."""
    order = acceptable(*_rule_arrays(candidates), *_ranking_arrays(candidates), config, floor)
    index = next(i for i, c in enumerate(candidates) if c is chosen)
    return candidates[corroborated(index, order, support, config)]


@dataclass(frozen=True)
class Support:
    """How well the bagged regression supports each candidate's equations (:mod:`discovery.pipeline.bagging`), one
    row per candidate, one column per variable: ``share``, the smallest bag share of the equation's terms (``nan``
    when one of them was not in the bags' library), and ``form``, an id per distinct set of term skeletons (equal ids,
    equal equations up to constants)."""

    share: np.ndarray
    form: np.ndarray

    def take(self, index: Sequence[int]) -> "Support":
        return Support(self.share[np.asarray(index, dtype=int)], self.form[np.asarray(index, dtype=int)])


def corroborated(pick: int, order: Sequence[int], support: Support, config: ScoringConfig = ScoringConfig()) -> int:
    """The last step of the selection rule (see this module's docstring): when an equation of ``pick`` has a term
    that fewer than ``doubt_share`` of the bags choose, the first candidate of ``order`` (the acceptable ones,
    simplest first) whose equations either are ``pick``'s (up to constants) or have every term in at least
    ``trust_share`` of the bags, one of them a doubted equation of ``pick``; ``pick`` when there is none."""
    own = support.share[pick]
    doubted = own < config.doubt_share  # nan: a term the bags never saw is not doubted
    if not doubted.any():
        return pick
    for i in order:
        trusted = support.share[i] >= config.trust_share
        if ((support.form[i] == support.form[pick]) | trusted).all() and (doubted & trusted).any():
            return int(i)
    return pick


def _rule_arrays(candidates: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = np.array([selection_error(c) for c in candidates], dtype=float)
    E = np.array([trajectory_error(c, cap=math.inf) for c in candidates], dtype=float)
    stable = np.array([bool(c.metrics.get("stable")) for c in candidates])
    return e, E, stable


def _ranking_arrays(candidates: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray]:
    """What the rule ranks acceptable candidates by: selection complexity and number of constants."""
    return np.array([c.selection_cost for c in candidates]), np.array([n_constants(c) for c in candidates])


def window_matrix(candidates: Sequence[Candidate]) -> np.ndarray | None:
    """The candidates' per-window errors stacked ``(C, B)`` (a row of ``nan`` for a candidate that could not be
    evaluated), or ``None`` unless those that have them share the same windows."""
    rows = [c.window_errors for c in candidates]
    sizes = {r.size for r in rows if r is not None}
    if len(sizes) != 1:
        return None
    width = sizes.pop()
    return np.stack([np.full(width, np.nan) if r is None else r for r in rows])


def error_limits(
    candidates: Sequence[Candidate], config: ScoringConfig = ScoringConfig(), floor: float = 0.0
) -> tuple[list[Candidate], float, float | None]:
    """The selection rule's pool (stable candidates, or all if none is) and its limits on ``e`` and ``E``
    (:func:`rule_limits`)."""
    pool, e_limit, E_limit = rule_limits(*_rule_arrays(candidates), config, floor)
    return [candidates[i] for i in pool], e_limit, E_limit


def select_best(
    candidates: Sequence[Candidate], config: ScoringConfig = ScoringConfig(), floor: float = 0.0,
    paired: bool = True, support: Support | None = None,
) -> Candidate:
    """Apply the selection rule of this module's docstring; ``floor`` is :func:`noise_floor` of the data.
    ``paired=False`` leaves out the window-by-window test: the simplest acceptable candidate (what the drive search
    inspects, :func:`discovery.pipeline.stages.drive`). ``support``: the candidates' bagged support, for the rule's
    last step (:func:`corroborated`); without it the step is left out."""
    if not candidates:
        raise ValueError("no candidates to select from")
    windows = window_matrix(candidates) if paired else None
    return candidates[rule_pick(*_rule_arrays(candidates), *_ranking_arrays(candidates), config, floor, windows,
                                support)]


def rank(candidates: Sequence[Candidate], best: Candidate) -> list[Candidate]:
    """``best`` first, then the rest by selection error and complexity."""
    rest = sorted((c for c in candidates if c is not best), key=lambda c: (selection_error(c), c.complexity))
    return [best, *rest]
