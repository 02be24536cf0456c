"""What a user should be told about the data and the selected model, one line each.

:func:`data_warnings` names state variables that do not change (their equation is ``dv/dt = 0``, and a constant
column only dilutes the scores); :func:`fit_warnings` flags a selected model that follows the data on short
windows but drifts away over the whole record (chaotic dynamics, or a small error in a constant that accumulates).
The pipeline's last stage (:func:`discovery.pipeline.stages.warn`) adds both to the result's warnings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories
    from discovery.methods.base import Candidate

GOOD_WINDOW_R2 = 0.9
"""A window R^2 at or above this "looks fine" (below it the poor-fit warning speaks instead)."""
CONSTANT_RTOL = 1e-12
"""A variable is constant when its range is at most this fraction of its magnitude (rounding, not change)."""


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


def _constant(values: np.ndarray) -> bool:
    top = float(np.max(np.abs(values))) if values.size else 0.0
    return bool(np.ptp(values) <= CONSTANT_RTOL * top) if values.size else True
