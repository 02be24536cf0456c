"""Constant refinement: fit each candidate's numeric constants to the trajectories themselves.

Methods fit their constants to estimated derivatives, which noise and differentiation bias. Here every ``Float``
in a candidate becomes a free parameter, and the parameters are fitted by nonlinear least squares
(``scipy.optimize.least_squares``) so that the candidate, integrated over short windows that restart from the
smoothed data (multiple shooting, :mod:`discovery.pipeline.shooting`), reproduces the observed states. A candidate whose
windows blow up gets large residuals rather than hanging the run; a time budget bounds each fit, and the refined
constants are kept only when they lower the window error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
import sympy

from discovery.data import Trajectories
from discovery.methods.base import Candidate
from discovery.options import Options
from discovery.pipeline.shooting import Windows, batch_rhs, data_scale, plan_windows, rk4_windows


@dataclass(frozen=True)
class RefineConfig(Options):
    """Settings of the constant refinement (checked when a config is made).

    ``max_nfev`` (residual evaluations of the least-squares fit) is the budget that should end a fit, so that results
    do not depend on the machine; ``time_budget_s`` (wall-clock seconds) is a guard against a fit whose evaluations
    are slow, and ends it with the best point so far."""

    owner = "refinement.windows"

    window_length: int = 20
    max_windows: int = 128
    min_window_span: float = 0.3
    max_window_span: float = 4.0
    max_nfev: int = 40
    time_budget_s: float = 8.0
    max_params: int = 40
    significant_digits: int = 6


POLISH = RefineConfig(window_length=40, max_windows=96, max_window_span=8.0, max_nfev=40, time_budget_s=6.0)
"""Settings of :func:`polish_candidate`: longer windows (their starts are fitted too) and a larger budget."""
RECORD = RefineConfig(window_length=1_000_000, max_windows=16, max_window_span=1e9, max_nfev=60, time_budget_s=30.0)
"""Settings of :func:`fit_record`: one window per trajectory, as long as the shortest trajectory. The fit ends on its
evaluation budget (``max_nfev``), so that where it stops does not depend on the machine's speed; the time budget is
a guard for very long records (on the textbook set at 5% noise, 2-core machine: median 1 s, longest 20 s)."""


class _OutOfTime(Exception):
    pass


def parameterize(equations: dict[str, sympy.Expr]) -> tuple[dict[str, sympy.Expr], list[sympy.Symbol], np.ndarray]:
    """Replace each distinct ``Float`` by a parameter symbol ``_c0, _c1, ...``.

    Returns the parameterized equations, the parameter symbols and their starting values.
    """
    floats = sorted({f for e in equations.values() for f in e.atoms(sympy.Float)}, key=lambda f: float(f))
    symbols = [sympy.Symbol(f"_c{i}") for i in range(len(floats))]
    mapping = dict(zip(floats, symbols))
    param_eqs = {v: e.xreplace(mapping) for v, e in equations.items()}
    return param_eqs, symbols, np.array([float(f) for f in floats], dtype=float)


def _round(value: float, digits: int) -> sympy.Float:
    if value == 0.0:
        return sympy.Float(0.0)
    return sympy.Float(float(f"{value:.{digits}g}"))


class _Shooting:
    """Window predictions and residuals of a parameterized system, with a batched finite-difference Jacobian.

    Residuals are ``(prediction - observation) / scale`` over every window step; with ``first_obs`` the window
    start states are unknowns too (``z = [constants, starts]``) and each start adds a residual against the
    observation at that time. The Jacobian perturbs every constant (and, with free starts, each state component
    of all windows at once, since a window depends on its own start only) and integrates all the perturbed
    copies in *one* batched RK4 call, so its cost is one integration of ``(n_constants + D + 1)`` times as many
    windows rather than that many separate calls.
    """

    miss = 10.0  # residual, in standard deviations, of a blown-up window point

    def __init__(self, f: Callable[..., np.ndarray], windows: Windows, scale: np.ndarray, bound: float,
                 n_params: int, first_obs: np.ndarray | None = None) -> None:
        self.f, self.windows, self.scale, self.bound = f, windows, scale, bound
        self.P = n_params
        self.first_obs = first_obs
        self.p_floor = np.full(n_params, np.nan)  # smallest finite-difference step of each constant, set by _fit
        self.B, self.L, self.D = windows.target.shape

    def _split(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.first_obs is None:
            return z, self.windows.x0
        return z[: self.P], z[self.P :].reshape(self.B, self.D)

    def _residuals(self, p: np.ndarray, x0: np.ndarray) -> np.ndarray:
        """Residuals ``(K, n)`` of ``K`` parameter sets ``p (K, P)`` and start sets ``x0 (K, B, D)``."""
        K, B = p.shape[0], self.B
        cols = [np.repeat(p[:, j], B) for j in range(self.P)]  # (K*B,) each
        u = self.windows.u
        stacked = Windows(x0=x0.reshape(K * B, self.D), dt=np.tile(self.windows.dt, (K, 1)), target=self.windows.target,
                          u=None if u is None else np.tile(u, (K, 1, 1)))
        pred = rk4_windows(lambda x, v: self.f(x, v, *cols), stacked, max_abs=self.bound).reshape(K, B, self.L, self.D)
        r = np.where(np.isfinite(pred), (pred - self.windows.target[None]) / self.scale, self.miss)
        if self.first_obs is not None:
            r_start = (x0 - self.first_obs[None]) / self.scale  # (K, B, D)
            r = np.concatenate([r_start[:, :, None, :], r], axis=2)
        return r.reshape(K, -1)

    def residuals(self, z: np.ndarray) -> np.ndarray:
        p, x0 = self._split(z)
        return self._residuals(p[None], x0[None])[0]

    def jacobian(self, z: np.ndarray) -> Any:
        from scipy.sparse import coo_matrix, csr_matrix, hstack

        p, x0 = self._split(z)
        hp = 1e-7 * np.maximum(np.abs(p), self.p_floor)  # (P,): relative to each constant's own size
        ps = np.repeat(p[None], self.P + 1, axis=0)
        ps[np.arange(1, self.P + 1), np.arange(self.P)] += hp
        x0s = np.repeat(x0[None], self.P + 1, axis=0)
        hx = None
        if self.first_obs is not None:
            hx = 1e-7 * np.maximum(np.abs(x0), 1e-2 * self.scale)  # (B, D)
            ps = np.concatenate([ps, np.repeat(p[None], self.D, axis=0)])
            extra = np.repeat(x0[None], self.D, axis=0)  # (D, B, D): copy d moves component d of every start
            for d in range(self.D):
                extra[d, :, d] += hx[:, d]
            x0s = np.concatenate([x0s, extra])
        r = self._residuals(ps, x0s)  # (1 + P [+ D], n)
        dense = ((r[1 : self.P + 1] - r[0]) / hp[:, None]).T  # (n, P)
        if hx is None:
            return dense
        rows_per_window = (self.L + 1) * self.D
        diff = (r[self.P + 1 :] - r[0]).reshape(self.D, self.B, rows_per_window) / hx.T[:, :, None]  # (D, B, R)
        rows = np.arange(self.B)[:, None] * rows_per_window + np.arange(rows_per_window)[None, :]  # (B, R)
        cols = np.arange(self.B)[:, None] * self.D  # (B, 1)
        data = np.concatenate([diff[d].ravel() for d in range(self.D)])
        ri = np.concatenate([rows.ravel()] * self.D)
        ci = np.concatenate([np.broadcast_to(cols + d, rows.shape).ravel() for d in range(self.D)])
        starts = coo_matrix((data, (ri, ci)), shape=(r.shape[1], self.B * self.D))
        return hstack([csr_matrix(dense), starts], format="csr")


class FitOutcome(NamedTuple):
    """What :func:`_fit` found: the best point, the cost at the start and at the best point, the seconds taken, and
    why the search ended: ``"converged"`` (``least_squares``' tolerances), ``"evaluations"`` (``max_nfev``),
    ``"time"`` (the ``time_budget_s`` guard: then where it stopped depends on the machine's speed) or ``"failed"``
    (a numerical failure)."""

    z: np.ndarray
    cost_start: float
    cost: float
    seconds: float
    ended: str


def _fit(problem: _Shooting, z0: np.ndarray, config: RefineConfig) -> FitOutcome | None:
    """Least squares on ``problem`` from ``z0`` within ``config``'s budget, keeping the best point ever seen.

    Returns ``None`` when the residuals cannot be evaluated at ``z0``. Running out of time or a numerical failure
    ends the search with the best point so far.
    """
    from scipy.optimize import least_squares

    deadline = time.monotonic() + config.time_budget_s
    # A constant's finite-difference step is relative to its size, and does not shrink below 1% of its starting
    # size when it moves towards 0: unit-free (an absolute floor swamps constants of 1e-12-sized data).
    p0 = np.abs(z0[: problem.P])
    problem.p_floor = np.where(p0 > 0, 1e-2 * p0, 1e-2)

    def timed(fn: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], Any]:
        def call(z: np.ndarray) -> Any:
            if time.monotonic() > deadline:
                raise _OutOfTime
            return fn(z)

        return call

    try:
        r0 = timed(problem.residuals)(z0)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, _OutOfTime):
        return None
    cost0 = float(r0 @ r0)
    best = {"z": z0, "cost": cost0}
    residuals = timed(problem.residuals)

    def tracked(z: np.ndarray) -> np.ndarray:
        r = residuals(z)
        c = float(r @ r)
        if c < best["cost"]:
            best.update(z=z.copy(), cost=c)
        return r

    started = time.monotonic()
    try:
        result = least_squares(tracked, z0, jac=timed(problem.jacobian), method="trf", x_scale="jac",
                               max_nfev=config.max_nfev)
        ended = "evaluations" if result.status == 0 else "converged"
    except _OutOfTime:
        ended = "time"
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        ended = "failed"
    return FitOutcome(best["z"], cost0, best["cost"], time.monotonic() - started, ended)


def _with_constants(
    candidate: Candidate, param_eqs: dict[str, sympy.Expr], params: list[sympy.Symbol], values: np.ndarray,
    digits: int, info: dict[str, Any],
) -> Candidate:
    mapping = {s: _round(float(v), digits) for s, v in zip(params, values)}
    equations = {v: sympy.expand(e.xreplace(mapping)) for v, e in param_eqs.items()}
    return replace(candidate, equations=equations, info={**candidate.info, **info}, metrics={}, window_errors=None)


@dataclass
class ShootingFit:
    """A candidate's constants as a multiple-shooting least-squares problem (see :class:`_Shooting`).

    ``z0`` starts the unknowns: the constants (``params``, first ``len(params)`` entries), then with free starts
    every window's start state.
    """

    param_eqs: dict[str, sympy.Expr]
    params: list[sympy.Symbol]
    problem: "_Shooting"
    z0: np.ndarray

    @property
    def n_params(self) -> int:
        return len(self.params)


def shooting_fit(
    candidate: Candidate,
    data: Trajectories,
    smoothed: Sequence[np.ndarray] | None,
    config: RefineConfig,
    free_starts: bool,
) -> ShootingFit | None:
    """The multiple-shooting problem of ``candidate``'s constants on ``data`` under ``config``'s window plan.

    With ``free_starts`` each window's start state is an unknown too, tied to the observation at that time
    (:func:`polish_candidate`); without, windows start from the smoothed data (:func:`refine_candidate`). ``None``
    when the candidate has no constants, too many, or cannot be evaluated.
    """
    variables = list(data.variables)
    param_eqs, params, p0 = parameterize(candidate.equations)
    if len(params) == 0 or len(params) > config.max_params:
        return None
    smoothed = list(smoothed) if smoothed is not None else [tr.x for tr in data]
    observed = [tr.x for tr in data]
    ts = [tr.t for tr in data]
    try:
        plan = plan_windows(ts, smoothed, config, [tr.u for tr in data])
        windows = plan.cut(smoothed, observed)
        first_obs = plan.cut(observed, observed).x0 if free_starts else None  # the observation at each start
        f = batch_rhs([param_eqs[v] for v in variables], variables, params, inputs=data.external)
    except (TypeError, ValueError, SyntaxError):
        return None
    scale, bound = data_scale(observed)
    problem = _Shooting(f, windows, scale, bound, len(params), first_obs=first_obs)
    z0 = np.concatenate([p0, windows.x0.ravel()]) if free_starts else p0
    return ShootingFit(param_eqs, params, problem, z0)


def refine_candidate(
    candidate: Candidate,
    data: Trajectories,
    smoothed: Sequence[np.ndarray] | None = None,
    config: RefineConfig = RefineConfig(),
) -> Candidate:
    """Return a copy of ``candidate`` with its constants fitted to ``data`` (or the candidate itself if nothing
    improved, it has no constants, or it cannot be evaluated)."""
    setup = shooting_fit(candidate, data, smoothed, config, free_starts=False)
    fitted = None if setup is None else _fit(setup.problem, setup.z0, config)
    if fitted is None:
        return candidate
    if fitted.cost >= fitted.cost_start * (1.0 - 1e-9):
        candidate.info.setdefault("refined", False)
        return candidate
    info = {"refined": True, "refine_cost_before": fitted.cost_start, "refine_cost_after": fitted.cost,
            "refine_seconds": round(fitted.seconds, 3), "refine_ended": fitted.ended}
    return _with_constants(candidate, setup.param_eqs, setup.params, fitted.z, config.significant_digits, info)


def polish_candidate(
    candidate: Candidate,
    data: Trajectories,
    smoothed: Sequence[np.ndarray] | None = None,
    config: RefineConfig = POLISH,
) -> Candidate:
    """Full multiple shooting: fit the constants *and* every window's start state to the observed data.

    :func:`refine_candidate` restarts each window from the smoothed data, so whatever error smoothing leaves in the
    start states (noticeable at a few percent of noise) biases the constants. Here each window's start state is a
    free parameter too, tied to the observation at that time by one more residual, so the windows can be longer
    and the constants come out unbiased (measured in ``benchmarks/NOTES.md``). The Jacobian is sparse (a window
    depends on the constants and its own start only), and its finite differences come from one batched
    integration. Returns ``candidate`` itself when nothing improved.
    """
    return _free_start_fit(candidate, data, smoothed, config, ("polished", "polish"))


def fit_record(candidate: Candidate, data: Trajectories, smoothed: Sequence[np.ndarray] | None = None,
               config: RefineConfig = RECORD) -> Candidate:
    """The constants fitted to whole trajectories: :func:`polish_candidate` with one window per trajectory (its start
    state fitted too), the least-squares fit of a deterministic model to the whole record.

    Windows of a few time scales use only what the flow does locally; over a whole record a small error in a rate
    adds up (a cycle's period drifts by a phase per cycle), so the whole record pins the constants down much more
    tightly. Only worth it where the record can be followed at all (not on chaotic data, where any model drifts off
    and this cost is rough with local minima): :func:`discovery.pipeline.stages.fit_whole_record` decides. Returns
    ``candidate`` itself when nothing improved.
    """
    return _free_start_fit(candidate, data, smoothed, config, ("record_fit", "record"))


def _free_start_fit(candidate: Candidate, data: Trajectories, smoothed: Sequence[np.ndarray] | None,
                    config: RefineConfig, labels: tuple[str, str]) -> Candidate:
    """The fit of :func:`polish_candidate` under ``config``; ``labels``: the flag and the prefix of its ``info``."""
    setup = shooting_fit(candidate, data, smoothed, config, free_starts=True)
    fitted = None if setup is None else _fit(setup.problem, setup.z0, config)
    if fitted is None:
        return candidate
    if fitted.cost >= fitted.cost_start * (1.0 - 1e-9):
        return candidate
    flag, prefix = labels
    info = {flag: True, f"{prefix}_cost_before": fitted.cost_start, f"{prefix}_cost_after": fitted.cost,
            f"{prefix}_seconds": round(fitted.seconds, 3), f"{prefix}_ended": fitted.ended}
    return _with_constants(candidate, setup.param_eqs, setup.params, fitted.z[: setup.n_params],
                           config.significant_digits, info)
