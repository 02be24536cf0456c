"""Re-simulation of candidate PDEs against the observed field.

A candidate is integrated (same solvers as the zoo, :mod:`discovery.fields.solvers`) from the observed field at
the start of each of a few time windows, and compared with the field over the window; the windows keep the
error meaningful for chaotic equations (Kuramoto-Sivashinsky), where any model drifts from the data over a
long span. Starts are taken from the denoised field; on non-periodic axes the boundary nodes follow the denoised
field over time (Dirichlet data), so no boundary condition has to be guessed.

The score is a relative L2 error pooled over the windows (see :func:`window_error`); a candidate that blows
up, cannot be resolved or runs past its time limit scores ``inf``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import sympy

from discovery.errors import SimulationError
from discovery.fields.field import Field
from discovery.fields.solvers import solve

SCORE_RTOL = 1e-5
"""Relative accuracy of scoring simulations (finer than any error the scores distinguish)."""


@dataclass(frozen=True)
class WindowPlan:
    """Start index and length (samples) of each scoring window."""

    starts: tuple[int, ...]
    length: int

    @classmethod
    def for_length(cls, nt: int, n_windows: int = 3, fraction: float = 0.4) -> "WindowPlan":
        """``n_windows`` windows of ``fraction`` of the span each, spread evenly (the first at ``t[0]``)."""
        length = max(4, int(round(fraction * nt)))
        if length >= nt:
            return cls((0,), nt)
        starts = np.linspace(0, nt - length, n_windows).round().astype(int)
        return cls(tuple(sorted(set(int(s) for s in starts))), length)


def simulate_window(equations: Mapping[str, sympy.Expr], reference: Field, start: int, length: int, *,
                    time_limit: float | None = None) -> np.ndarray:
    """Integrate from ``reference`` at sample ``start`` for ``length`` samples; returns ``(F, length, *N)``."""
    ref = reference.stack()[:, start:start + length]
    t = reference.t[start:start + length]
    boundary = ["periodic" if reference.periodic[a] else "dirichlet" for a in reference.axes]
    return solve(equations, reference.names, reference.axes, ref[:, 0],
                 [reference.spacing(a) for a in reference.axes], t, boundary,
                 boundary_data=None if all(reference.periodic.values()) else ref, rtol=SCORE_RTOL,
                 time_limit=time_limit)


def window_error(equations: Mapping[str, sympy.Expr], reference: Field, target: Field, plan: WindowPlan, *,
                 time_limit: float | None = None) -> float:
    """Error of ``equations`` re-simulated from ``reference`` against ``target`` over ``plan``.

    Per field, the squared error summed over the windows is divided by the field's variance there (so an offset
    such as a temperature in kelvin does not hide the error); the result is the root of the mean over fields.
    """
    F = len(reference.names)
    num, den = np.zeros(F), np.zeros(F)
    for start in plan.starts:
        try:
            sim = simulate_window(equations, reference, start, plan.length, time_limit=time_limit)
        except SimulationError:
            return float("inf")
        obs = target.stack()[:, start:start + plan.length]
        axes = tuple(range(1, obs.ndim))
        num += np.sum((sim - obs) ** 2, axis=axes)
        den += np.sum((obs - obs.mean(axis=axes, keepdims=True)) ** 2, axis=axes)
    return float(np.sqrt(np.mean(num / np.maximum(den, 1e-300))))


def resimulate_field(equations: Mapping[str, sympy.Expr], observed: Field, *,
                     time_limit: float | None = None) -> Field:
    """``equations`` re-simulated over the whole observed span: what a result's ``rel_l2`` measures.

    The simulation starts from the first frame of the denoised observed field
    (:func:`~discovery.fields.noise.denoised_field`), and on non-periodic axes its boundary nodes follow the
    denoised field over time, as in scoring.

    Parameters
    ----------
    equations:
        Field name -> right-hand side of its time derivative (a candidate's ``equations``).
    observed:
        The measured field, on the grid the candidate was discovered on.
    time_limit:
        Seconds before :class:`~discovery.errors.SimulationError`.

    Returns
    -------
    Field
        The re-simulated fields on ``observed``'s grid (same names, periodicity and source).

    Raises
    ------
    SimulationError
        When the equations blow up, cannot be resolved, or run past ``time_limit``.

    Examples
    --------
    >>> from discovery.fields import simulate_zoo
    >>> from grammar.pde_zoo import get_pde
    >>> observed = simulate_zoo("heat", grid=(32, 32))
    >>> sim = resimulate_field(get_pde("heat").rhs(), observed)
    >>> bool(abs(sim.values["u"] - observed.values["u"]).max() < 1e-3)
    True
    """
    from discovery.fields.noise import denoised_field

    reference, _ = denoised_field(observed)
    sim = simulate_window(equations, reference, 0, reference.shape[0], time_limit=time_limit)
    return observed.replace(values=dict(zip(observed.names, sim)))
