"""Assembling validated values into :class:`~discovery.data.Trajectories`: split by trajectory id, then check
that time strictly increases and that each trajectory has enough points."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable

import numpy as np

from discovery.data.layout import Layout
from discovery.data.magnitudes import check_magnitudes
from discovery.data.options import LoadOptions
from discovery.data.trajectories import Trajectories, Trajectory
from discovery.errors import DataError

RowFn = Callable[[int], int]
"""Maps a value's index within a trajectory (or table) to the row a message reports."""

Piece = tuple[np.ndarray, np.ndarray, RowFn, str | None]
"""One trajectory to assemble: ``t (N,)``, ``x (N, D)``, its row lookup and its label (``None``: unlabelled)."""


def from_table(
    values: np.ndarray, layout: Layout, row_of: RowFn, file: str | None, opts: LoadOptions
) -> Trajectories:
    """Split validated table values ``(R, U)`` (time, states, [trajectory]) into trajectories."""
    d = len(layout.states)
    t, x = values[:, 0], values[:, 1 : 1 + d]  # (R,), (R, D)
    if layout.trajectory is None:
        pieces: list[Piece] = [(t, x, row_of, None)]
    else:
        ids = values[:, -1].astype(np.int64)  # (R,)
        order = np.argsort(ids, kind="stable")
        uniq, starts = np.unique(ids[order], return_index=True)
        bounds = list(starts[1:]) + [len(order)]
        pieces = []
        for uid, a, b in zip(uniq, starts, bounds):
            idx = order[a:b]
            pieces.append((t[idx], x[idx], (lambda i, idx=idx: row_of(int(idx[i]))), f"trajectory {uid}"))
    traj_name = None if layout.trajectory is None else layout.names[layout.trajectory]
    return assemble(layout.variables, pieces, layout.names[layout.time], traj_name, file, opts)


def assemble(
    variables: Sequence[str],
    pieces: list[Piece],
    time_name: str,
    traj_name: str | None,
    file: str | None,
    opts: LoadOptions,
) -> Trajectories:
    """Check time order and length of each piece ``(t, x, row_of, label)``, then build :class:`Trajectories`."""
    several = len(pieces) > 1 or traj_name is not None
    trajectories = []
    for t, x, row_of, label in pieces:
        check_magnitudes(t, x, variables, time_name, file=file, row_of=row_of)
        steps = np.diff(t)
        if (steps <= 0).any():
            k = int(np.argmax(steps <= 0)) + 1
            where = f" in {label}" if label and several else ""
            if t[k] == t[k - 1]:
                message = (f"time {t[k]:.10g} appears twice{where}; expected strictly increasing times "
                           "(remove the duplicate row)")
            else:
                hint = "" if traj_name else ", or add an integer 'trajectory' column if the file holds several"
                message = (f"time goes back from {t[k - 1]:.10g} to {t[k]:.10g}{where}; expected strictly "
                           f"increasing times (sort the rows by time{hint})")
            raise DataError(message, file=file, row=row_of(k), column=time_name)
        if t.shape[0] < opts.min_points:
            if label and several:
                raise DataError(f"{label} has only {t.shape[0]} points; expected at least {opts.min_points} "
                                "per trajectory (min_points)", file=file, row=row_of(0), column=traj_name)
            raise DataError(f"only {t.shape[0]} data rows; expected at least {opts.min_points} points (min_points)",
                            file=file)
        trajectories.append(Trajectory(t, x))
    return Trajectories(tuple(variables), trajectories, opts.source)
