"""A static figure of a result (matplotlib): what the command line writes beside each JSON, and ``result.plot``.

One panel per state variable and trajectory (up to ``max_trajectories``), and one per input signal below them: the
observed data, the selected model re-simulated from the first observed state (with the measured inputs) over the
observed window and ``horizon`` times its length beyond, and
each neural-operator prediction of that trajectory, with the prediction band of the selected model (its constants drawn
from their uncertainty, when the result has it) shaded. A dotted line marks the end of the observed window; the
equations and the fit are in the title. The Streamlit app draws the same things interactively (plotly).

Examples
--------
>>> from discovery import discover, simulate  # doctest: +SKIP
>>> data = simulate("lotka_volterra", noise=0.01, seed=0)  # doctest: +SKIP
>>> result = discover(data, method="sindy")  # doctest: +SKIP
>>> result.plot(data, "lotka_volterra.png")  # doctest: +SKIP
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from discovery.errors import DiscoveryError, one_line
from discovery.quiet import quietly

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories
    from discovery.methods.base import Candidate
    from discovery.result import DiscoveryResult

__all__ = [
    "extended_time", "model_times", "png_bytes", "result_figure", "save_figure", "simulate_extended",
    "simulate_over", "simulation_bounds",
]

DATA_COLOR = "#4a4a4a"
MODEL_COLOR = "#d62728"
INPUT_COLOR = "#1f77b4"
OPERATOR_COLORS = {"prose": "#2ca02c", "deeponet": "#9467bd"}
MAX_MARKERS = 2500
"""Data markers per panel; longer trajectories are thinned for the figure (never for the fit)."""


def extended_time(t: np.ndarray, horizon: float, max_points: int = 20_000) -> np.ndarray:
    """The observed times ``t`` (N,) followed by steps of the median spacing up to ``horizon`` times the window.

    Returns shape ``(N + K,)``; ``K = 0`` when ``horizon <= 0``.

    Examples
    --------
    >>> extended_time(np.array([0.0, 1.0, 2.0]), 0.5)
    array([0., 1., 2., 3.])
    """
    t = np.asarray(t, dtype=float)
    if horizon <= 0 or t.size < 2:
        return t
    span = float(t[-1] - t[0])
    dt = float(np.median(np.diff(t)))
    k = int(min(np.ceil(horizon * span / dt), max(max_points - t.size, 0)))
    if k <= 0:
        return t
    step = horizon * span / k
    return np.concatenate([t, t[-1] + step * np.arange(1, k + 1)])


def model_times(t: np.ndarray, horizon: float) -> np.ndarray:
    """Times to draw a model at: the observed ``t`` (N,), each gap in the sampling filled with steps of the median
    spacing (else the model would be drawn as a straight line across it), then :func:`extended_time`.

    Examples
    --------
    >>> model_times(np.array([0.0, 1.0, 2.0, 30.0, 31.0]), 0.0).size  # 27 steps fill the gap from 2 to 30
    32
    """
    from discovery.data.trajectories import gap_steps

    observed = np.asarray(t, dtype=float)
    gaps = np.nonzero(gap_steps(observed))[0]
    if gaps.size:
        step = float(np.median(np.diff(observed)))
        fill = [np.arange(observed[i] + step, observed[i + 1], step)[:20_000] for i in gaps]
        observed = np.union1d(observed, np.concatenate(fill))
    return extended_time(observed, horizon)


def simulate_over(
    result: "DiscoveryResult",
    data: "Trajectories",
    trajectory: int,
    horizon: float,
    candidate: "Candidate | None" = None,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The candidate (default: the selected one) simulated from trajectory ``trajectory``'s first observed state
    over :func:`model_times` (the observed window, gaps filled, and ``horizon`` times its length beyond).

    Returns ``(t (M,), x (M, D) or None, problem)``: ``x`` is ``None`` and ``problem`` one line when the model
    cannot be integrated or leaves the finite numbers. The blow-up bound and the tolerances come from the data's
    own scale (:func:`simulation_bounds`, the bound scoring uses), whatever its units. A driven model gets the
    trajectory's measured inputs (linear between samples, held at their last value beyond the window).
    """
    tr = data[trajectory]
    scale, bound = simulation_bounds(data)
    t = model_times(tr.t, horizon)
    try:
        x = np.asarray(result.simulate(tr.x[0], t, candidate, scale=scale, max_abs=bound,
                                       inputs=measured_inputs(result, tr)), dtype=float)
    except Exception as exc:  # noqa: BLE001 -- a model that cannot be integrated is drawn as such
        return t, None, one_line(exc)
    if x.shape != (t.size, len(result.variables)) or not np.all(np.isfinite(x)):
        return t, None, "the simulation did not stay finite"
    return t, x, ""


def measured_inputs(result: "DiscoveryResult", trajectory: Any) -> Any:
    """The inputs and parameters a trajectory was measured with, as ``result.simulate`` takes them (``None`` for
    an autonomous result)."""
    from discovery.inputs import InputSignal

    return InputSignal(trajectory.t, trajectory.u) if result.external else None


def simulate_extended(
    result: "DiscoveryResult",
    data: "Trajectories",
    trajectory: int,
    horizon: float,
    candidate: "Candidate | None" = None,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """:func:`simulate_over` ``horizon``, and when the extrapolation blows up, over the observed window alone.

    Returns ``(t (M,), x (M, D) or None, problem)``; when even the observed window fails, ``t`` is the observed
    times, ``x`` is ``None`` and ``problem`` one line.
    """
    problem = ""
    for h in ((horizon, 0.0) if horizon > 0 else (0.0,)):
        t, x, problem = simulate_over(result, data, trajectory, h, candidate)
        if x is not None:
            return t, x, ""
    return np.asarray(data[trajectory].t, dtype=float), None, problem


def simulation_bounds(data: "Trajectories") -> tuple[np.ndarray, float]:
    """``(scale (D,), max_abs)`` for drawing a model over ``data``: each variable's largest magnitude
    (:func:`discovery.simulation.state_scale`) and the bound past which scoring calls a simulation blown up."""
    from discovery.pipeline.scoring import ScoringConfig
    from discovery.pipeline.shooting import data_scale
    from discovery.simulation import state_scale

    xs = [tr.x for tr in data]
    return state_scale(xs), data_scale(xs, ScoringConfig().blowup_factor)[1]


def _thin(n: int, limit: int) -> np.ndarray:
    return np.arange(n) if n <= limit else np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def _title(result: "DiscoveryResult", candidate: "Candidate") -> str:
    import sympy

    lines = [f"d{v}/dt = {result.equation_text(v) if candidate is result.best else sympy.sstr(candidate.equations[v])}"
             for v in result.variables]
    r2, r2w = candidate.metrics.get("r2"), candidate.metrics.get("r2_window")
    fit = ", ".join(
        f"{name} {value:.4f}" for name, value in (("R^2 whole", r2), ("R^2 windows", r2w)) if isinstance(value, float)
    )
    head = " | ".join(part for part in (result.source, f"method {candidate.method}", fit) if part)
    return "\n".join([head, *lines])


@quietly
def result_figure(
    result: "DiscoveryResult",
    data: "Trajectories",
    *,
    horizon: float = 0.5,
    max_trajectories: int = 3,
    candidate: "Candidate | None" = None,
) -> Any:
    """A matplotlib ``Figure`` of the data, the model and the operator predictions (see the module docstring).

    Parameters
    ----------
    result:
        A discovery result.
    data:
        The trajectories it was discovered from (the same variables).
    horizon:
        Extrapolation beyond the observed window, as a multiple of its length (0: none).
    max_trajectories:
        Columns of the figure: the first trajectories only.
    candidate:
        The model to draw (default: the selected one).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise DiscoveryError(
            "plotting needs matplotlib; install it with: python3 -m pip install matplotlib (or 'eqdisco[app]')"
        ) from None
    if tuple(data.variables) != tuple(result.variables):
        raise DiscoveryError(f"plot: the data's variables {list(data.variables)} are not the result's "
                             f"{list(result.variables)}; pass the trajectories the result was discovered from")
    cand = candidate or result.best
    band_level = float(((result.uncertainty or {}).get("constants") or {}).get("level", 0.95))
    n_traj = max(1, min(int(max_trajectories), len(data)))
    n_var = len(result.variables)
    n_in = len(data.inputs)  # the input signals get panels of their own, below the states
    rows = n_var + n_in
    fig = Figure(figsize=(4.8 * n_traj + 1.2, 2.1 * n_var + 1.4 * n_in + 1.4 + 0.22 * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, n_traj, sharex="col", squeeze=False))  # (D + M_in, K)
    title = _title(result, cand)
    if len(data) > n_traj:
        head, _, rest = title.partition("\n")
        title = f"{head} | first {n_traj} of {len(data)} trajectories\n{rest}"
    fig.suptitle(title, fontsize=9, family="monospace", ha="left", x=0.01)
    for k in range(n_traj):
        tr = data[k]
        t_sim, x_sim, problem = simulate_extended(result, data, k, horizon, cand)
        band = None
        if x_sim is not None and cand is result.best:
            band = result.prediction_band(tr.x[0], t_sim, scale=simulation_bounds(data)[0],
                                          inputs=measured_inputs(result, tr))
        keep = _thin(len(tr.t), MAX_MARKERS)
        for d, v in enumerate(result.variables):
            ax = axes[d, k]
            ax.plot(tr.t[keep], tr.x[keep, d], "o", ms=2.2, color=DATA_COLOR, alpha=0.55, label="data")
            if band is not None:
                ax.fill_between(t_sim, band[0][:, d], band[1][:, d], color=MODEL_COLOR, alpha=0.18, lw=0,
                                label=f"{band_level:.0%} prediction band")
            if x_sim is not None:
                ax.plot(t_sim, x_sim[:, d], "-", lw=1.4, color=MODEL_COLOR, label="model")
            for p in result.operator_predictions:
                if p.trajectory == k and v in p.variables:
                    ax.plot(p.t, p.x[:, list(p.variables).index(v)], "--", lw=1.1,
                            color=OPERATOR_COLORS.get(p.model, "#17becf"), label=f"{p.model} operator")
            ax.axvline(float(tr.t[-1]), color="#888888", lw=0.8, ls=":")
            ax.set_ylabel(v)
            ax.grid(alpha=0.25)
            if d == 0:
                notes = [f"trajectory {k}"] if len(data) > 1 else []
                notes += [f"{p} = {tr.u[0, len(data.inputs) + j]:.4g}" for j, p in enumerate(data.parameters)]
                notes += [f"{p.model} forecast, backtest error {p.info['backtest_rel_l2']:.2g}"
                          for p in result.operator_predictions
                          if p.trajectory == k and p.info.get("backtest_rel_l2") is not None]
                ax.set_title(" | ".join(notes), fontsize=9)
                if problem:
                    ax.text(0.01, 0.97, f"model not drawn: {problem}", transform=ax.transAxes, fontsize=7,
                            va="top", color=MODEL_COLOR)
            if d == rows - 1:
                ax.set_xlabel("t")
        for j, name in enumerate(data.inputs):
            ax = axes[n_var + j, k]
            ax.plot(tr.t, tr.u[:, j], "-", lw=1.1, color=INPUT_COLOR, label="input")
            ax.axvline(float(tr.t[-1]), color="#888888", lw=0.8, ls=":")
            ax.set_ylabel(f"{name} (input)")
            ax.grid(alpha=0.25)
            if n_var + j == rows - 1:
                ax.set_xlabel("t")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axes[0, -1].legend(unique.values(), unique.keys(), fontsize=7, loc="upper right")
    return fig


@quietly
def png_bytes(fig: Any, dpi: int = 110) -> bytes:
    """``fig`` rendered as PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically (no half-written file if anything fails)."""
    from discovery.io import atomic_write_bytes

    return atomic_write_bytes(path, png_bytes(fig, dpi))
