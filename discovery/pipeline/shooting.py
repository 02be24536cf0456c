"""Short-window re-simulation (multiple shooting) shared by constant refinement and scoring.

Re-simulating a candidate over a whole trajectory is the honest test, but for chaotic systems two correct models
drift apart after a few Lyapunov times, and on noisy data one bad initial point spoils everything. Windows that
restart from the (smoothed) data every few samples measure how well the vector field reproduces the local flow,
and they are cheap: all windows of all trajectories are integrated together as one batch with a fixed-step RK4
scheme on the data's own time grid (irregular grids included: the step varies per window).

A driven system's right-hand side also reads its inputs, parameters and the time (:mod:`discovery.inputs`): each
window carries their values at every RK4 stage time (interpolated linearly between samples), so a batch function
is ``f(x (B, D), u (B, M + 1)) -> (B, D)`` with ``u`` the ``M`` inputs and parameters, then ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np
import sympy

from discovery.data.trajectories import GAP_FACTOR, gap_steps  # noqa: F401 -- part of this module's API

BatchRHS = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``f(x, u) -> dx/dt`` for a batch of states ``x (B, D)`` and their external values ``u (B, M + 1)`` (the
inputs and parameters, then the time)."""

SUBSTEPS = 2
"""RK4 steps per window step."""


@dataclass(frozen=True)
class Windows:
    """Start states and time grids of a set of short windows.

    Attributes
    ----------
    x0:
        Start states, shape ``(B, D)``.
    dt:
        Step sizes along each window, shape ``(B, L)``.
    target:
        Observed states at the ``L`` steps after each start, shape ``(B, L, D)``.
    """

    x0: np.ndarray
    dt: np.ndarray
    target: np.ndarray
    starts: np.ndarray | None = None
    """``(B, 2)``: each window's trajectory and first sample (``None`` for windows not cut from data)."""
    stride: int = 1
    """Samples per step."""
    u: np.ndarray | None = None
    """``(B, 2 * SUBSTEPS * L + 1, M + 1)``: the inputs and parameters, then the time, at every half RK4 step
    (``None``: an autonomous system started at time 0, for windows not cut from data)."""

    @property
    def n_windows(self) -> int:
        return int(self.x0.shape[0])

    def samples_used(self) -> tuple[int, int]:
        """``(uses, distinct)``: how many (trajectory, sample) observations the windows read, counting repeats,
        and how many different ones (windows overlap, so an observation can be read twice)."""
        if self.starts is None:
            return 1, 1
        L = self.dt.shape[1]
        k = np.repeat(self.starts[:, 0], L + 1)
        i = (self.starts[:, 1:2] + self.stride * np.arange(L + 1)[None, :]).ravel()
        return int(k.size), int(np.unique(np.stack([k, i]), axis=1).shape[1])


def make_windows(
    ts: Sequence[np.ndarray],
    xs_start: Sequence[np.ndarray],
    xs_target: Sequence[np.ndarray],
    *,
    length: int = 20,
    max_windows: int = 64,
    rng: np.random.Generator | None = None,
    stride: int = 1,
    us: Sequence[np.ndarray] | None = None,
) -> Windows:
    """Cut trajectories into windows of ``length`` steps of ``stride`` samples each.

    Parameters
    ----------
    ts:
        Time grids, one ``(N,)`` array per trajectory.
    xs_start:
        States to start each window from (usually smoothed data), ``(N, D)`` per trajectory.
    xs_target:
        States to compare against (the observed data), ``(N, D)`` per trajectory.
    length:
        Steps per window (shortened for short trajectories).
    max_windows:
        Upper bound on the number of windows, spread evenly over all trajectories (or drawn by ``rng``).
    stride:
        Samples per step (see :func:`window_plan`); lowered where a trajectory is too short for it.
    us:
        Inputs and parameters, ``(N, M)`` per trajectory (``None``: none); each window gets their values, and the
        time's, at its RK4 stage times (:attr:`Windows.u`).
    """
    starts: list[tuple[int, int]] = []
    length = int(max(1, length))
    min_n = min(len(t) for t in ts)
    length = min(length, max(1, min_n - 1))
    stride = int(max(1, min(stride, (min_n - 1) // length)))
    span = length * stride  # samples covered by one window
    crossing: list[tuple[int, int]] = []  # windows over a gap in the sampling, used only if nothing else is left
    for k, t in enumerate(ts):
        n = len(t)
        gaps = np.concatenate([[0], np.cumsum(gap_steps(t))])  # (N,): gaps among the first j steps
        for i in range(0, n - span, max(1, span // 2)):
            (crossing if gaps[i + span] > gaps[i] else starts).append((k, i))
    starts = starts or crossing
    if not starts:
        raise ValueError("trajectories are too short to cut into windows (need at least 2 points)")
    if len(starts) > max_windows:
        if rng is None:
            pick = np.linspace(0, len(starts) - 1, max_windows).round().astype(int)
        else:
            pick = np.sort(rng.choice(len(starts), size=max_windows, replace=False))
        starts = [starts[j] for j in pick]
    x0 = np.stack([xs_start[k][i] for k, i in starts])
    dt = np.stack([np.diff(ts[k][i : i + span + 1 : stride]) for k, i in starts])
    target = np.stack([xs_target[k][i + stride : i + span + 1 : stride] for k, i in starts])
    where = np.asarray(starts, dtype=int)
    u = stage_inputs(ts, us, where, dt.astype(float))
    return Windows(x0=x0.astype(float), dt=dt.astype(float), target=target.astype(float),
                   starts=where, stride=stride, u=u)


def stage_inputs(ts: Sequence[np.ndarray], us: Sequence[np.ndarray] | None, starts: np.ndarray,
                 dt: np.ndarray) -> np.ndarray:
    """The inputs and parameters, then the time, at every half RK4 step of each window: ``(B, 2 S L + 1, M + 1)``
    for windows starting at ``starts (B, 2)`` (trajectory, sample) with steps ``dt (B, L)`` (``S = SUBSTEPS``);
    inputs are interpolated linearly between samples."""
    half = np.repeat(dt / (2 * SUBSTEPS), 2 * SUBSTEPS, axis=1)  # (B, 2 S L)
    t0 = np.array([ts[k][i] for k, i in starts], dtype=float)  # (B,)
    times = t0[:, None] + np.concatenate([np.zeros((len(t0), 1)), np.cumsum(half, axis=1)], axis=1)  # (B, H)
    m = 0 if us is None else int(np.shape(us[0])[1])
    out = np.empty(times.shape + (m + 1,))
    out[..., m] = times
    for k in (np.unique(starts[:, 0]) if m else ()):
        rows = starts[:, 0] == k
        t_k, u_k = np.asarray(ts[k], dtype=float), np.asarray(us[k], dtype=float)  # type: ignore[index]
        for j in range(m):
            out[rows, :, j] = np.interp(times[rows], t_k, u_k[:, j])
    return out


def window_plan(
    ts: Sequence[np.ndarray],
    xs: Sequence[np.ndarray],
    length: int,
    min_span: float = 0.3,
    max_span: float = 4.0,
) -> tuple[int, int]:
    """Steps per window and samples per step, so that a window spans ``min_span`` to ``max_span`` time scales.

    The time scale is the median over variables and trajectories of ``std(x_v) / rms(dx_v/dt)``, from ``xs``
    (pass smoothed states: finite differences of noisy ones would shrink it), roughly the time the state needs to
    move by its own spread. ``length`` steps of one sample each are kept when they span that range; on dense data a
    step skips samples (the stride), so that a window is long enough to tell the terms apart; on coarse data the
    window is cut short (at least 2 steps), so that a chaotic or stiff flow does not carry it away from the data
    (the measurements behind this are in ``benchmarks/NOTES.md``).

    Returns
    -------
    tuple[int, int]
        ``(length, stride)`` for :func:`make_windows`.
    """
    scales, steps = [], []
    for t, x in zip(ts, xs):
        t, x = np.asarray(t, dtype=float), np.asarray(x, dtype=float)
        if t.size < 3:
            continue
        rate = np.sqrt(np.mean(np.gradient(x, t, axis=0) ** 2, axis=0))  # (D,)
        spread = x.std(axis=0)
        ok = (rate > 0) & (spread > 0) & np.isfinite(rate)
        scales.extend((spread[ok] / rate[ok]).tolist())
        steps.append(float(np.median(np.diff(t))))
    if not scales or not steps:
        return length, 1
    per_sample = float(np.median(steps)) / float(np.median(scales))  # time scales per sample
    if not np.isfinite(per_sample) or per_sample <= 0:
        return length, 1
    if length * per_sample > max_span:
        return max(2, min(length, int(np.floor(max_span / per_sample + 1e-9)))), 1
    return length, max(1, int(np.ceil(min_span / (length * per_sample) - 1e-9)))


class WindowSettings(Protocol):
    """What a window plan is made from (fields of :class:`~discovery.pipeline.scoring.ScoringConfig` and
    :class:`~discovery.pipeline.refine.RefineConfig`)."""

    window_length: int
    max_windows: int
    min_window_span: float
    max_window_span: float


@dataclass(frozen=True)
class WindowPlan:
    """One way of cutting the trajectories into windows: ``length`` steps of ``stride`` samples, at most
    ``max_windows`` windows. Scoring and refinement each make theirs with :func:`plan_windows`."""

    ts: tuple[np.ndarray, ...]
    length: int
    stride: int
    max_windows: int
    us: tuple[np.ndarray, ...] | None = None
    """The inputs and parameters of each trajectory ``(N, M)`` (``None``: none)."""

    def cut(self, starts: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> Windows:
        """Windows starting from ``starts`` (``(N, D)`` per trajectory) compared with ``targets``."""
        return make_windows(self.ts, starts, targets, length=self.length, max_windows=self.max_windows,
                            stride=self.stride, us=self.us)


def plan_windows(ts: Sequence[np.ndarray], smoothed: Sequence[np.ndarray], settings: WindowSettings,
                 us: Sequence[np.ndarray] | None = None) -> WindowPlan:
    """The window plan of ``settings`` on these trajectories (:func:`window_plan` on the smoothed states);
    ``us`` are their inputs and parameters (``(N, M)`` each), carried into every window."""
    length, stride = window_plan(ts, smoothed, settings.window_length, settings.min_window_span,
                                 settings.max_window_span)
    return WindowPlan(tuple(ts), length, stride, settings.max_windows, None if us is None else tuple(us))


def rk4_windows(f: BatchRHS, windows: Windows, *, max_abs: float = 1e6) -> np.ndarray:
    """Integrate every window with fixed-step RK4 (:data:`SUBSTEPS` per window step); returns states of shape
    ``(B, L, D)``. ``f(x, u)`` gets the inputs and the time at each stage (:attr:`Windows.u`).

    Windows whose state leaves ``[-max_abs, max_abs]`` or turns non-finite are frozen at ``nan`` from then on.
    """
    x = windows.x0.copy()  # (B, D)
    B, L = windows.dt.shape
    u = windows.u
    if u is None:  # windows not cut from data: no inputs, time from 0
        u = stage_inputs([np.zeros(1)], None, np.zeros((B, 2), dtype=int), windows.dt)
    out = np.empty((B, L, x.shape[1]))
    alive = np.ones(B, dtype=bool)
    with np.errstate(all="ignore"):
        for j in range(L):
            h = (windows.dt[:, j] / SUBSTEPS)[:, None]  # (B, 1)
            for s in range(SUBSTEPS):
                a = 2 * (j * SUBSTEPS + s)
                u0, u1, u2 = u[:, a], u[:, a + 1], u[:, a + 2]  # (B, M + 1) at t, t + h/2, t + h
                k1 = f(x, u0)
                k2 = f(x + 0.5 * h * k1, u1)
                k3 = f(x + 0.5 * h * k2, u1)
                k4 = f(x + h * k3, u2)
                x = x + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
            bad = ~np.isfinite(x).all(axis=1) | (np.abs(x) > max_abs).any(axis=1)
            if bad.any():
                alive &= ~bad
                x[bad] = 0.0
            out[:, j] = np.where(alive[:, None], x, np.nan)
    return out


def batch_rhs(
    exprs: Sequence[sympy.Expr],
    variables: Sequence[str],
    params: Sequence[sympy.Symbol] = (),
    inputs: Sequence[str] = (),
) -> Callable[..., np.ndarray]:
    """Lambdify a system for batches: returns ``f(x (B, D), u (B, M + 1), *param_values) -> (B, D)``, where ``u``
    holds the values of ``inputs`` (the data's inputs and parameters), then the time."""
    from discovery.inputs import symbols_of
    from grammar.operators import numpy_function

    syms = [sympy.Symbol(v) for v in variables]
    fn = numpy_function([*syms, *symbols_of(inputs), *params], exprs)

    def f(x: np.ndarray, u: np.ndarray, *p: float) -> np.ndarray:
        # Filled column by column: a constant right-hand side broadcasts, and this runs millions of times in a
        # refinement (np.stack of broadcast views costs ten times as much on the small batches of a record fit).
        out = np.empty((x.shape[0], len(exprs)))
        for i, c in enumerate(fn(*x.T, *u.T, *p)):
            out[:, i] = c
        return out

    return f


CONSTANT_SPREAD = 1e-3
"""The spread :func:`data_scale` gives a constant variable, relative to its magnitude."""


def data_scale(xs: Sequence[np.ndarray], blowup_factor: float = 100.0) -> tuple[np.ndarray, float]:
    """Per-variable spread of the observed states ``(D,)`` and the bound beyond which a simulation has blown up.

    The spread is the standard deviation; a constant variable gets :data:`CONSTANT_SPREAD` times its magnitude
    (:func:`discovery.simulation.state_scale`), small so that it does not dilute the other variables' errors in the
    variance-weighted window R^2 while any drift away from its constant value still counts. The bound is
    ``blowup_factor`` times the largest magnitude seen. Both are in the data's own units, never compared with
    absolute numbers, so that scores do not depend on units.
    """
    from discovery.simulation import state_scale

    allx = np.concatenate(list(xs), axis=0)
    sd = allx.std(axis=0)
    sizes = state_scale(allx)  # (D,)
    scale = np.where(sd > 1e-12 * sizes, sd, CONSTANT_SPREAD * sizes)
    return scale, min(blowup_factor * float(sizes.max()), 1e300)


def window_errors(pred: np.ndarray, target: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Each window's share of the window error, shape ``(B,)``: its squared misses over the variance they would
    have if the prediction knew nothing (``scale**2`` per variable), per step. Their mean is ``1 - r2_window``;
    blown-up window points count as misses of two standard deviations."""
    var = np.asarray(scale, dtype=float) ** 2  # (D,), positive (see data_scale)
    err = np.where(np.isfinite(pred), (pred - target) ** 2, 4.0 * var)  # (B, L, D)
    return err.sum(axis=(1, 2)) / (err.shape[1] * var.sum())


def window_r2(pred: np.ndarray, target: np.ndarray, scale: np.ndarray) -> float:
    """Variance-weighted R^2 of window predictions ``(B, L, D)`` (one minus the mean of :func:`window_errors`)."""
    return float(1.0 - window_errors(pred, target, scale).mean())