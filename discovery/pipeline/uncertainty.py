"""How sure a result is: intervals on the constants, inclusion probabilities of the terms, prediction bands, and
identifiability warnings.

Constants
    The selected model's constants are the unknowns of a multiple-shooting least-squares problem (the one
    :func:`~discovery.pipeline.refine.polish_candidate` solves: constants and every window's start state fitted
    to the observations). At its optimum the Gauss-Newton (Laplace) approximation gives their covariance,
    ``s^2 (J^T J)^-1`` restricted to the constants (the start states are nuisance parameters, marginalized by the
    inverse), with ``s^2`` the residual variance. Windows overlap, so an observation can enter the residuals more
    than once; the covariance is inflated by the ratio of observations read to distinct observations, which keeps
    the intervals honest. Intervals are ``value +- z * std`` (``z = 1.96`` for 95%).

Terms
    The selection rule is re-applied to bootstrap resamples of the scoring windows (each candidate's per-window
    errors are computed once, so a resample costs no integration): the share of resamples whose selected model has
    a term (its skeleton, :func:`discovery.terms.term_skeletons`: constants replaced by placeholders, so the same
    law with other constants is the same term). The pool holds every scored candidate and, for each term of the
    selected model, the model without it (refined and scored), so every term is put to the test; when the resampled
    selection replaces the model, it is resampled once more with the new model's drop-one variants
    (:func:`discovery.pipeline.stages.stabilize`). That resampling
    only chooses among the candidates found; whether the search would propose the term again from other data is
    measured by bagging the sparse regression (E-SINDy, :mod:`discovery.pipeline.bagging`, the model's terms
    competing with the other candidates' terms and the monomials). A term's *inclusion probability* is the product
    of the two shares: a term that only makes up for a law the candidates miss fits every window better than the
    model without it, but the bags drop it for another stand-in. Both resamplings choose among the terms a search
    could name; when even the selected model leaves much more of the window error than the noise explains
    (:func:`fit_support`), the law has terms none of them has, and no term of the model is better supported than the
    model as a whole: the inclusion probabilities are then scaled by its :func:`fit_support`. Likewise when the model,
    re-simulated from the data's start, leaves the record while its simulations from nearby starts stay together
    (not chaos: the record contradicts it), by its :func:`record_support`.

Identifiability
    Structures other than the selected one that the resamples pick at least :data:`ALTERNATIVE_SHARE` of the time
    fit equally well within the noise: they are named in a warning. A constant whose interval spans zero, or whose
    standard deviation exceeds its size, is named as not determined by the data, and a term included in fewer than
    :data:`UNSURE_INCLUSION` of the resamples as not chosen reliably.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import sympy

from discovery.methods.base import Candidate
from discovery.pipeline.refine import (
    POLISH,
    RefineConfig,
    _fit,
    parameterize,
    refine_candidate,
    shooting_fit,
)
from discovery.pipeline.scoring import (
    ScoringConfig,
    Support,
    n_constants,
    rule_pick,
    score_candidate,
    trajectory_error,
    window_errors_of,
)
from discovery.terms import term_skeletons

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories

LEVEL = 0.95
"""Confidence level of the reported intervals."""
N_BOOTSTRAP = 200
"""Resamples of the scoring windows for the inclusion probabilities."""
UNSURE_INCLUSION = 0.5
"""A term included in fewer resamples than this is named in a warning."""
ALTERNATIVE_SHARE = 0.2
"""A structure the resamples select at least this often is reported as an alternative to the selected model."""
MISFIT = 2.5
"""A model fits within the noise when its window error is at most this many times the noise floor
(:func:`discovery.pipeline.scoring.noise_floor`) ... On the 38 textbook systems (``sindy``, seed 0) the models with
the law's terms left at most 1.55 times the floor at 1% noise and 1.64 times at 5%; models of laws outside the
search space left up to 13 times (calcium 13 and 6.7, the mitotic oscillator 9.6, the Oregonator 2.9 and 4.7)."""
MISFIT_ABS = 1e-4
"""... plus this (on clean data the floor is 0; a window R^2 of 0.9999 is still a fit)."""
REFIT = RefineConfig(max_nfev=12, time_budget_s=2.0)
"""Budget of each refit (drop-one variants, the constants' final Gauss-Newton step)."""
COVARIANCE_FIT = replace(POLISH, max_nfev=8, time_budget_s=3.0)
"""The polishing problem, solved again briefly to find the window starts at which the Jacobian is taken."""


@dataclass
class ConstantsFit:
    """The constants' estimate and covariance (in :func:`~discovery.pipeline.refine.parameterize` order)."""

    values: np.ndarray
    covariance: np.ndarray
    noise_std: float
    """Residual standard deviation, in units of each variable's spread."""
    dof: int

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2.0))


def constants_fit(candidate: Candidate, data: "Trajectories", smoothed: Sequence[np.ndarray]) -> ConstantsFit | None:
    """The Gauss-Newton covariance of ``candidate``'s constants on the multiple-shooting problem (see the module
    docstring); ``None`` when it has no constants or the problem cannot be evaluated."""
    setup = shooting_fit(candidate, data, smoothed, COVARIANCE_FIT, free_starts=True)
    if setup is None:
        return None
    fitted = _fit(setup.problem, setup.z0, COVARIANCE_FIT)
    if fitted is None:
        return None
    z = np.concatenate([setup.z0[: setup.n_params], fitted[0][setup.n_params:]])  # the model's constants, fitted starts
    problem = setup.problem
    try:
        r = problem.residuals(z)
        J = problem.jacobian(z)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    J = J.toarray() if hasattr(J, "toarray") else np.asarray(J)
    if not (np.all(np.isfinite(J)) and np.all(np.isfinite(r))):
        return None
    n, k = J.shape
    dof = max(n - k, 1)
    s2 = float(r @ r) / dof
    uses, distinct = problem.windows.samples_used()
    inflation = max(uses / max(distinct, 1), 1.0)
    P = setup.n_params
    cov = s2 * inflation * np.linalg.pinv(J.T @ J, rcond=1e-12)[:P, :P]
    return ConstantsFit(values=setup.z0[:P].copy(), covariance=cov, noise_std=math.sqrt(s2), dof=dof)


# --- terms -------------------------------------------------------------------------------------------------
def skeletons(term: sympy.Expr) -> frozenset[sympy.Expr]:
    """The skeletons of one additive term (:func:`discovery.terms.term_skeletons`: its constants as placeholders;
    a term such as ``x*log(K/x)`` has two). No coefficient counts as zero: in the user's units a term of the model
    may well be ``1e-13*x*y``."""
    return frozenset(term_skeletons(term, zero_tol=0.0))


def terms_of(expr: sympy.Expr) -> list[sympy.Expr]:
    """The additive terms of ``expr`` (expanded) without their numeric coefficients: ``2*x - 0.5*x*y`` ->
    ``[x, x*y]``."""
    return [t.as_coeff_Mul()[1] for t in sympy.Add.make_args(sympy.expand(expr)) if t != 0]


def structure(candidate: Candidate, variables: Sequence[str]) -> tuple[frozenset[Any], ...]:
    """A candidate's term skeletons per variable (with their counts): equal structures differ only in constants."""
    return tuple(frozenset(term_skeletons(candidate.equations[v], zero_tol=0.0).items()) for v in variables)


def drop_one_variants(best: Candidate, data: "Trajectories", smoothed: Sequence[np.ndarray],
                      scoring: ScoringConfig) -> list[Candidate]:
    """For each term of ``best``, ``best`` without it (constants refined briefly, then scored)."""
    out = []
    for v in data.variables:
        terms = sympy.Add.make_args(sympy.expand(best.equations[v]))
        if len(terms) < 2:
            continue
        for t in terms:
            eqs = dict(best.equations)
            eqs[v] = sympy.Add(*[u for u in terms if u is not t])
            variant = Candidate(best.method, eqs, info={"dropped": f"{v}: {sympy.sstr(t)}"})
            variant = refine_candidate(variant, data, smoothed, REFIT)
            out.append(score_candidate(variant, data, smoothed, scoring))
    return out


@dataclass
class Bootstrap:
    """What the resampled selections say: for each resample the index of the selected candidate in ``pool``."""

    pool: list[Candidate]
    picks: np.ndarray
    structures: list[tuple[frozenset[sympy.Expr], ...]] = field(default_factory=list)

    def share(self, index: int) -> float:
        return float(np.mean(self.structure_picks() == self.structure_index(index)))

    def structure_index(self, index: int) -> int:
        return self._ids[index]

    def structure_picks(self) -> np.ndarray:
        return np.array([self._ids[i] for i in self.picks])

    def __post_init__(self) -> None:
        ids: dict[Any, int] = {}
        self._ids = [ids.setdefault(s, len(ids)) for s in self.structures]


def support_of(candidates: Sequence[Candidate], shares: dict[str, dict[sympy.Expr, float]],
               variables: Sequence[str]) -> Support:
    """The candidates' bagged support (:class:`~discovery.pipeline.scoring.Support`) from the bag shares of
    :func:`discovery.pipeline.bagging.bagged_shares`."""
    share = np.full((len(candidates), len(variables)), np.nan)
    form = np.zeros((len(candidates), len(variables)), dtype=int)
    ids: dict[Any, int] = {}
    for i, c in enumerate(candidates):
        for j, (v, equation) in enumerate(zip(variables, structure(c, variables))):
            form[i, j] = ids.setdefault(equation, len(ids))
            found = [shares.get(v, {}).get(k) for t in terms_of(c.equations[v]) for k in skeletons(t)]
            if v in shares and all(f is not None for f in found):
                share[i, j] = min(found, default=1.0)
    return Support(share, form)


def own_shares(best: Candidate, shares: dict[str, dict[sympy.Expr, float]],
               variables: Sequence[str]) -> dict[str, dict[sympy.Expr, float]] | None:
    """``best``'s terms' bag shares (what :func:`discovery.pipeline.bagging.bagged_inclusion` returns) read off
    ``shares``; ``None`` when one of its terms is not there."""
    out = {}
    for v in variables:
        if v not in shares:
            continue
        keys = set().union(*(skeletons(t) for t in terms_of(best.equations[v])))
        if not keys <= shares[v].keys():
            return None
        out[v] = {k: shares[v][k] for k in keys}
    return out


def bootstrap_selection(pool: Sequence[Candidate], data: "Trajectories", smoothed: Sequence[np.ndarray],
                        scoring: ScoringConfig, floor: float, n: int = N_BOOTSTRAP, seed: int = 0,
                        support: Support | None = None) -> Bootstrap | None:
    """The selection rule re-applied to ``n`` bootstrap resamples of the scoring windows (see the module docstring);
    ``support``: the pool's bagged support, for the rule's last step."""
    rows, kept, index = [], [], []
    for i, c in enumerate(pool):
        errors = c.window_errors if c.window_errors is not None else window_errors_of(c, data, smoothed, scoring)
        if errors is not None:
            rows.append(errors)
            kept.append(c)
            index.append(i)
    support = None if support is None else support.take(index)
    if not kept or len({r.size for r in rows}) != 1:
        return None
    W = np.stack(rows)  # (C, B)
    E = np.array([trajectory_error(c, cap=math.inf) for c in kept], dtype=float)  # as the rule takes it
    stable = np.array([bool(c.metrics.get("stable")) for c in kept])
    cost = np.array([c.selection_cost for c in kept])
    n_const = np.array([n_constants(c) for c in kept])
    rng = np.random.default_rng(seed)
    B = W.shape[1]
    picks = np.empty(n, dtype=int)
    for b in range(n):
        resampled = W[:, rng.integers(0, B, B)]
        picks[b] = rule_pick(resampled.mean(axis=1), E, stable, cost, n_const, scoring, floor, resampled, support)
    return Bootstrap(kept, picks, [structure(c, data.variables) for c in kept])


def most_stable(boot: Bootstrap, best: Candidate, variables: Sequence[str]) -> Candidate:
    """The selection made stable: when a structure other than ``best``'s is picked by more resamples than
    ``best``'s, the candidate of that structure the rule prefers (lowest selection complexity, then window error);
    else ``best``."""
    ids = boot.structure_picks()
    counts = np.bincount(ids, minlength=max(boot._ids) + 1)
    own = structure(best, variables)
    own_id = next((boot.structure_index(i) for i, s in enumerate(boot.structures) if s == own), None)
    top = int(np.argmax(counts))
    if own_id is not None and (top == own_id or counts[top] <= counts[own_id]):
        return best
    members = [c for i, c in enumerate(boot.pool) if boot.structure_index(i) == top]
    from discovery.pipeline.scoring import selection_error

    return min(members, key=lambda c: (c.selection_cost, selection_error(c)))


def inclusion(boot: Bootstrap, variables: Sequence[str],
              bagged: dict[str, dict[sympy.Expr, float]] | None = None,
              support: float = 1.0) -> dict[str, dict[sympy.Expr, float]]:
    """Per variable, each term skeleton's share of resamples whose selected model has it, times its share of the
    regression's bags (``bagged``, :func:`discovery.pipeline.bagging.bagged_inclusion`) where it has one: the two
    resamplings are independent, so the product is the probability that the term survives both the search and the
    selection. Times the model's ``support`` (:func:`fit_support`): no term is surer than the model."""
    counts: dict[str, dict[sympy.Expr, int]] = {v: {} for v in variables}
    for i in boot.picks:
        for v, terms in zip(variables, boot.structures[i]):
            for t, _ in terms:
                counts[v][t] = counts[v].get(t, 0) + 1
    bagged = bagged or {}
    return {v: {t: c / len(boot.picks) * bagged.get(v, {}).get(t, 1.0) * support for t, c in cv.items()}
            for v, cv in counts.items()}


def fit_support(error: float, floor: float) -> float:
    """How far the data support a model whose window error (``1 - r2_window``) is ``error`` where noise alone leaves
    ``floor``: 1 within :data:`MISFIT` times the floor plus :data:`MISFIT_ABS`, else that limit over ``error``
    (a model leaving ten times the error it may is a tenth as credible in each of its terms).

    Examples
    --------
    >>> fit_support(1.1e-4, 1e-4), round(fit_support(1.4e-3, 1e-4), 3)
    (1.0, 0.25)
    """
    if not math.isfinite(error):
        return 0.0
    limit = MISFIT * max(floor, 0.0) + MISFIT_ABS
    return 1.0 if error <= limit else limit / error


def record_support(candidate: Candidate, data: "Trajectories", smoothed: Sequence[np.ndarray],
                   config: ScoringConfig = ScoringConfig(), seed: int = 0) -> float:
    """How far the whole record supports a model that, re-simulated from the data's start, does not follow it.

    1 when its trajectory error ``E`` is at most ``config.chaotic_error`` (0.5: half the record's variance
    explained, the scoring's test of a model that follows the record). Else it depends on why it drifts off. The
    model is simulated from :data:`~discovery.pipeline.scoring.SPREAD_STARTS` starts within the start's uncertainty
    (:func:`~discovery.pipeline.scoring.perturbed_runs`) and each simulation is compared with the first: their
    median ``1 - R^2``, ``E_self``, is the error the model's own sensitivity to its start makes. A chaotic model
    parts from itself as fast as from the data (``E_self`` near ``E``: support 1, the drift says nothing); a model
    that stays together from nearby starts but not with the record is contradicted by it, and no term of it is
    better supported than ``(chaotic_error + E_self) / E`` (the mitotic oscillator at 1% noise: a model with
    ``X*log(M)`` that follows the windows, R^2 0.999, and leaves the record, R^2 -18). 1 on data with inputs, whose
    simulation this does not take.
    """
    from discovery.pipeline.scoring import perturbed_runs, trajectory_r2

    E, follows = trajectory_error(candidate), config.chaotic_error
    if E <= follows or data.external or not math.isfinite(E):
        return 1.0
    selves = [float(np.median([min(1.0 - trajectory_r2(r, runs[0]), 2.0) for r in runs[1:]]))
              for _, runs in perturbed_runs(candidate, data, smoothed, config, seed) if len(runs) >= 3]
    if not selves:
        return 1.0
    return min(1.0, (follows + max(selves)) / E)


def rivals(pool: Sequence[Candidate], best: Candidate, variables: Sequence[str], min_r2: float = 0.9,
           most: int = 8) -> list[Candidate]:
    """The ``most`` candidates of ``pool`` with a structure other than ``best``'s that are stable and fit the windows
    (R^2 at least ``min_r2``), lowest selection error first."""
    from discovery.pipeline.scoring import selection_error

    own = structure(best, variables)
    fits = [c for c in pool if c.metrics.get("stable") and (c.metrics.get("r2_window") or -math.inf) >= min_r2
            and structure(c, variables) != own]
    return sorted(fits, key=selection_error)[:most]


# --- the report --------------------------------------------------------------------------------------------
def term_table(best: Candidate, variables: Sequence[str], fit: ConstantsFit | None,
               included: dict[str, dict[sympy.Expr, float]] | None, level: float = LEVEL) -> dict[str, list[dict]]:
    """The result contract's ``uncertainty``: per variable, per term, its coefficient, interval and inclusion
    probability; constants inside a term (``k`` in ``x/(k + x)``) get entries of their own (``"inner": true``)."""
    z = _z(level)
    index: dict[float, int] = {}
    if fit is not None:
        _, params, p0 = parameterize(best.equations)
        index = {float(v): i for i, v in enumerate(p0)}

    def interval(value: float) -> list[float] | None:
        i = index.get(float(value))
        if fit is None or i is None:
            return None
        half = z * float(fit.std[i])
        return [float(value) - half, float(value) + half]

    table: dict[str, list[dict]] = {}
    for v in variables:
        rows = []
        for term in sympy.Add.make_args(sympy.expand(best.equations[v])):
            coeff, rest = term.as_coeff_Mul()
            p = None if included is None else min(
                (float(included.get(v, {}).get(k, 0.0)) for k in skeletons(term)), default=0.0)
            rows.append({"term": sympy.sstr(rest), "coefficient": float(coeff),
                         "interval": interval(float(coeff)) if isinstance(coeff, sympy.Float) else None,
                         "inclusion": p})
            for inner in sorted(rest.atoms(sympy.Float), key=float):
                rows.append({"term": sympy.sstr(rest), "inner": True, "coefficient": float(inner),
                             "interval": interval(float(inner)), "inclusion": p})
        table[v] = rows
    return table


def undetermined(table: dict[str, list[dict]]) -> list[str]:
    """Constants the data does not pin down: their interval spans zero or is wider than twice their size."""
    out = []
    for v, rows in table.items():
        for row in rows:
            lo_hi = row.get("interval")
            if lo_hi is None:
                continue
            lo, hi = lo_hi
            value = row["coefficient"]
            if lo <= 0.0 <= hi or (hi - lo) > 2.0 * 1.96 * abs(value):
                what = "constant inside" if row.get("inner") else "coefficient of"
                out.append(f"d{v}/dt: the {what} {row['term']} ({value:.4g}, {LEVEL:.0%} interval "
                           f"[{lo:.3g}, {hi:.3g}])")
    return out


def unsure_terms(table: dict[str, list[dict]], below: float = UNSURE_INCLUSION) -> list[str]:
    """Terms whose inclusion probability is under ``below``: the resampled data does not choose them reliably."""
    return [f"d{v}/dt: {row['term']} ({row['inclusion']:.2f})" for v, rows in table.items() for row in rows
            if not row.get("inner") and row.get("inclusion") is not None and row["inclusion"] < below]


def alternatives(boot: Bootstrap, best: Candidate, variables: Sequence[str]) -> list[Candidate]:
    """Structures other than ``best``'s that the resamples select at least :data:`ALTERNATIVE_SHARE` of the time."""
    own = structure(best, variables)
    seen, out = set(), []
    ids = boot.structure_picks()
    for i, c in enumerate(boot.pool):
        s = boot.structures[i]
        if s == own or s in seen:
            continue
        if np.mean(ids == boot.structure_index(i)) >= ALTERNATIVE_SHARE:
            seen.add(s)
            out.append(c)
    return out


def prediction_band(equations: dict[str, sympy.Expr], variables: Sequence[str], covariance: np.ndarray,
                    x0: np.ndarray, t: np.ndarray, *, n: int = 40, level: float = LEVEL, seed: int = 0,
                    scale: np.ndarray | None = None, inputs: Sequence[str] = (),
                    u: Any = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Lower and upper ``level`` bands ``(N, D)`` of the model simulated from ``x0`` over ``t`` with constants drawn
    from their uncertainty (``covariance`` in :func:`parameterize` order); ``None`` when too few draws finish.
    A driven model gets its ``inputs``' values from ``u(t)`` (:func:`discovery.simulation.lambdify_system`)."""
    from discovery.errors import SimulationError
    from discovery.simulation import integrate, lambdify_system

    param_eqs, params, p0 = parameterize(equations)
    if len(params) != covariance.shape[0]:
        return None
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(p0, covariance, size=n, method="svd")
    runs = []
    for p in draws:
        eqs = [param_eqs[v].xreplace(dict(zip(params, map(float, p)))) for v in variables]
        try:
            x = integrate(lambdify_system(eqs, list(variables), inputs, u), np.asarray(x0, float), np.asarray(t, float),
                          time_limit=2.0, **({"scale": scale} if scale is not None else {}))
        except (SimulationError, ValueError, TypeError, ZeroDivisionError, OverflowError):
            continue
        if np.all(np.isfinite(x)):
            runs.append(x)
    if len(runs) < max(5, n // 4):
        return None
    stack = np.stack(runs)
    tail = (1.0 - level) / 2.0
    return np.quantile(stack, tail, axis=0), np.quantile(stack, 1.0 - tail, axis=0)
