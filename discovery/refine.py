"""Constant refinement: fit each candidate's numeric constants to the trajectories themselves.

Methods fit their constants to estimated derivatives, which noise and differentiation bias. Here every ``Float``
in a candidate becomes a free parameter, and the parameters are fitted by nonlinear least squares
(``scipy.optimize.least_squares``) so that the candidate, integrated over short windows that restart from the
smoothed data (multiple shooting, :mod:`discovery.shooting`), reproduces the observed states. A candidate whose
windows blow up gets large residuals rather than hanging the run; a time budget bounds each fit, and the refined
constants are kept only when they lower the window error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import sympy

from discovery.data import Trajectories
from discovery.methods.base import Candidate
from discovery.shooting import batch_rhs, data_scale, make_windows, rk4_windows


@dataclass(frozen=True)
class RefineConfig:
    """Settings of the constant refinement."""

    window_length: int = 20
    max_windows: int = 128
    max_nfev: int = 40
    time_budget_s: float = 8.0
    max_params: int = 40
    significant_digits: int = 6


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


def refine_candidate(
    candidate: Candidate,
    data: Trajectories,
    smoothed: Sequence[np.ndarray] | None = None,
    config: RefineConfig = RefineConfig(),
) -> Candidate:
    """Return a copy of ``candidate`` with its constants fitted to ``data`` (or the candidate itself if nothing
    improved, it has no constants, or it cannot be evaluated)."""
    from scipy.optimize import least_squares

    variables = list(data.variables)
    param_eqs, params, p0 = parameterize(candidate.equations)
    if len(params) == 0 or len(params) > config.max_params:
        return candidate
    smoothed = list(smoothed) if smoothed is not None else [tr.x for tr in data]
    windows = make_windows(
        [tr.t for tr in data], smoothed, [tr.x for tr in data],
        length=config.window_length, max_windows=config.max_windows,
    )
    scale, bound = data_scale([tr.x for tr in data])
    try:
        f = batch_rhs([param_eqs[v] for v in variables], variables, params)
    except (TypeError, ValueError, SyntaxError):
        return candidate
    deadline = time.monotonic() + config.time_budget_s
    miss = 10.0  # residual, in standard deviations, of a blown-up window point

    def residuals(p: np.ndarray) -> np.ndarray:
        if time.monotonic() > deadline:
            raise _OutOfTime
        pred = rk4_windows(lambda x: f(x, *p), windows, max_abs=bound)
        r = (pred - windows.target) / scale
        return np.where(np.isfinite(r), r, miss).ravel()

    try:
        r0 = residuals(p0)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return candidate
    cost0 = float(r0 @ r0)
    best = {"p": p0, "cost": cost0}

    def tracked(p: np.ndarray) -> np.ndarray:
        r = residuals(p)
        c = float(r @ r)
        if c < best["cost"]:
            best.update(p=p.copy(), cost=c)
        return r

    started = time.monotonic()
    try:
        least_squares(tracked, p0, method="trf", x_scale="jac", max_nfev=config.max_nfev)
    except _OutOfTime:
        pass
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        pass
    if best["cost"] >= cost0 * (1.0 - 1e-9):
        candidate.info.setdefault("refined", False)
        return candidate
    values = {s: _round(float(v), config.significant_digits) for s, v in zip(params, best["p"])}
    refined_eqs = {v: sympy.expand(e.xreplace(values)) for v, e in param_eqs.items()}
    info = {
        **candidate.info,
        "refined": True,
        "refine_cost_before": cost0,
        "refine_cost_after": best["cost"],
        "refine_seconds": round(time.monotonic() - started, 3),
    }
    return replace(candidate, equations=refined_eqs, info=info, metrics={})
