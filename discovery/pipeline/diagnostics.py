"""What a user should be told about the data and the selected model, one line each.

:func:`data_warnings` names state variables that do not change (their equation is ``dv/dt = 0``, and a constant
column only dilutes the scores); :func:`fit_warnings` flags a selected model that follows the data on short
windows but drifts away over the whole record (chaotic dynamics, or a small error in a constant that accumulates).
The pipeline's last stage (:func:`discovery.pipeline.stages.warn`) adds both to the result's warnings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories
    from discovery.methods.base import Candidate

GOOD_WINDOW_R2 = 0.9
"""A window R^2 at or above this "looks fine" (below it the poor-fit warning speaks instead)."""
CONSTANT_RTOL = 1e-12
"""A variable is constant when its range is at most this fraction of its magnitude (rounding, not change)."""
INVARIANT_BLOCK = 10
"""Consecutive samples averaged into one block when a combination is tested for change."""
INVARIANT_Z = 5.0
"""An affine combination of the states is conserved when no block mean of it strays from its overall mean by more
than this many standard errors of the white noise it carries (:func:`discovery.derivatives.estimate_noise`): what
is left of it is measurement noise, not dynamics (a short transient towards a steady state is not hidden by a long
stay there)."""
INVARIANT_RTOL = 1e-6
"""... or by more than this (standardized units): clean data, whose white noise is rounding."""
INVARIANT_DROP = 1e-3
"""Coefficients under this share of the largest are left out of the conservation law shown."""


@dataclass(frozen=True)
class Invariant:
    """An affine conservation law of the data: ``sum_v coefficients[v] * v = total`` on every sample."""

    coefficients: dict[str, float]
    total: float

    @property
    def combination(self) -> str:
        """The conserved combination, ``"S + I + R"`` or ``"0.24*u + v"``."""
        parts = []
        for v, c in self.coefficients.items():
            size = f"{abs(c):.2g}*"
            parts.append(("- " if c < 0 else "+ ") + ("" if size == "1*" else size) + v)
        text = " ".join(parts)
        return text[2:] if text.startswith("+ ") else "-" + text[2:]

    def __str__(self) -> str:
        return f"{self.combination} = {self.total:.3g}"


def data_warnings(data: "Trajectories") -> list[str]:
    """One line for each state variable that is constant, over all trajectories or within each of them.

    Examples
    --------
    >>> from discovery.data import Trajectories, Trajectory
    >>> t = np.linspace(0.0, 1.0, 11)
    >>> data_warnings(Trajectories(["x", "z"], [Trajectory(t, np.c_[np.sin(t), np.full(11, 3.0)])]))  # doctest: +ELLIPSIS
    ["variable 'z' is constant (z = 3 in every sample): its equation is dz/dt = 0; drop the column ..."]
    """
    out = []
    for j, v in enumerate(data.variables):
        columns = [tr.x[:, j] for tr in data]
        values = np.concatenate(columns)
        if _constant(values):
            out.append(f"variable {v!r} is constant ({v} = {values[0]:.6g} in every sample): its equation is "
                       f"d{v}/dt = 0; drop the column (or leave it out of variables=) unless it should change")
        elif all(_constant(c) for c in columns):
            shown = ", ".join(f"{c[0]:.4g}" for c in columns[:4]) + (", ..." if len(columns) > 4 else "")
            out.append(f"variable {v!r} is constant within each trajectory ({shown}): its equation is d{v}/dt = 0; "
                       f"if it is a per-trajectory constant, declare it with parameters=[{v!r}] (--parameters {v})")
    for law in invariants(data):
        out.append(f"the states obey {law} on every sample, within the noise (a conservation law): in any equation "
                   f"the terms {', '.join(['1', *law.coefficients])} can stand in for one another, so those terms "
                   f"and their constants are not determined separately by these data; a trajectory whose "
                   f"{law.combination} starts at another total would tell them apart")
    return out


def invariants(data: "Trajectories") -> list[Invariant]:
    """Affine combinations of the state variables that keep one value on every sample of every trajectory.

    The states (varying ones only) are standardized and pooled; each right singular vector of the centered samples
    (the directions of least spread first) whose combination keeps its overall mean on every block of samples of
    every trajectory, within the white noise it carries (:data:`INVARIANT_Z`) or :data:`INVARIANT_RTOL`, is a
    conservation law. A combination that is conserved within each trajectory but at
    another value in each is not one: a constant term cannot stand in for it.

    Examples
    --------
    >>> from discovery.data import Trajectories, Trajectory
    >>> t = np.linspace(0.0, 10.0, 201)
    >>> s = 1.0 / (1.0 + np.exp(t - 5.0)); i = 0.5 * np.exp(-(t - 5.0) ** 2)
    >>> [str(law) for law in invariants(Trajectories(["S", "I", "R"], [Trajectory(t, np.c_[s, i, 1.0 - s - i])]))]
    ['S + I + R = 1']
    """
    trajectories = [tr for tr in data if len(tr.t) >= 5 and np.all(np.isfinite(tr.x))]
    if len(data.variables) < 2 or not trajectories:
        return []
    pooled = np.concatenate([tr.x for tr in trajectories])
    mean, scale = pooled.mean(axis=0), pooled.std(axis=0)
    varying = np.flatnonzero(scale > CONSTANT_RTOL * np.max(np.abs(pooled), axis=0))
    if varying.size < 2:
        return []
    per_trajectory = [(tr.t, (tr.x[:, varying] - mean[varying]) / scale[varying]) for tr in trajectories]
    names = [data.variables[j] for j in varying]
    _, _, vt = np.linalg.svd(np.concatenate([z for _, z in per_trajectory]), full_matrices=False)
    out = []
    for direction in vt[::-1]:  # least spread first
        if not all(_conserved(t, z @ direction) for t, z in per_trajectory):
            break
        weights = direction / scale[varying]
        weights = weights / weights[np.argmax(np.abs(weights))]  # the largest coefficient is +1
        keep = np.abs(weights) >= INVARIANT_DROP
        out.append(Invariant({names[k]: float(weights[k]) for k in np.flatnonzero(keep)},
                             float(np.dot(weights, mean[varying]))))
    return out


def fit_warnings(best: "Candidate") -> list[str]:
    """One line when the selected model's whole-trajectory R^2 is negative while its window R^2 looks fine.

    A negative R^2 means the re-simulated model explains the record worse than its mean; with a good window
    R^2 the vector field is right locally and the trajectory drifts away: expected for chaotic systems (any model
    does after a few Lyapunov times), otherwise a sign that a constant is slightly off or a slow term is missing.
    """
    r2, r2w = best.metrics.get("r2"), best.metrics.get("r2_window")
    if r2 is None or r2w is None or not (r2 < 0 <= r2w and r2w >= GOOD_WINDOW_R2):
        return []
    return [f"the selected model follows the data on short windows (R^2 {r2w:.3g}) but not over the whole record "
            f"(R^2 {r2:.3g}): expected for chaotic dynamics, where any model drifts away; otherwise a constant may "
            "be slightly off or a slow term missing (compare the re-simulated trajectories with --plots)"]


def _conserved(t: np.ndarray, combination: np.ndarray) -> bool:
    """Whether ``combination`` (centered on its mean over all trajectories, standardized units) stays at 0 within
    its white noise on every block of :data:`INVARIANT_BLOCK` samples (see :data:`INVARIANT_Z`)."""
    from discovery.derivatives import estimate_noise

    white = float(estimate_noise(t, combination)[0])
    blocks = len(combination) // INVARIANT_BLOCK
    if blocks == 0:
        means = np.array([combination.mean()])
        size = len(combination)
    else:
        means = combination[: blocks * INVARIANT_BLOCK].reshape(blocks, INVARIANT_BLOCK).mean(axis=1)
        size = INVARIANT_BLOCK
    return bool(np.max(np.abs(means)) <= INVARIANT_Z * white / math.sqrt(size) + INVARIANT_RTOL)


def _constant(values: np.ndarray) -> bool:
    top = float(np.max(np.abs(values))) if values.size else 0.0
    return bool(np.ptp(values) <= CONSTANT_RTOL * top) if values.size else True
