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
    """Split validated table values ``(R, U)`` (time, states, inputs, parameters, [trajectory]) into trajectories."""
    d, m = len(layout.states), len(layout.inputs) + len(layout.parameters)
    t, x = values[:, 0], values[:, 1 : 1 + d]  # (R,), (R, D)
    u = values[:, 1 + d : 1 + d + m]  # (R, M)
    us: list[np.ndarray] = []
    if layout.trajectory is None:
        pieces: list[Piece] = [(t, x, row_of, None)]
        us.append(u)
    else:
        ids = values[:, -1].astype(np.int64)  # (R,)
        order = np.argsort(ids, kind="stable")
        uniq, starts = np.unique(ids[order], return_index=True)
        bounds = list(starts[1:]) + [len(order)]
        pieces = []
        for uid, a, b in zip(uniq, starts, bounds):
            idx = order[a:b]
            pieces.append((t[idx], x[idx], (lambda i, idx=idx: row_of(int(idx[i]))), f"trajectory {uid}"))
            us.append(u[idx])
    traj_name = None if layout.trajectory is None else layout.names[layout.trajectory]
    return assemble(layout.variables, pieces, layout.names[layout.time], traj_name, file, opts,
                    us=us, inputs=layout.input_names, parameters=layout.parameter_names)


def assemble(
    variables: Sequence[str],
    pieces: list[Piece],
    time_name: str,
    traj_name: str | None,
    file: str | None,
    opts: LoadOptions,
    *,
    us: Sequence[np.ndarray] | None = None,
    inputs: Sequence[str] = (),
    parameters: Sequence[str] = (),
) -> Trajectories:
    """Check time order and length of each piece ``(t, x, row_of, label)``, then build :class:`Trajectories`.

    ``us`` holds each piece's input and parameter columns ``(N, M)`` (``inputs`` then ``parameters``); a
    parameter must be constant within a piece.
    """
    several = len(pieces) > 1 or traj_name is not None
    trajectories = []
    for p, (t, x, row_of, label) in enumerate(pieces):
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
        u = None if us is None else us[p]
        if u is not None:
            _check_parameters(u[:, len(inputs):], parameters, row_of, label if several else None, file)
        trajectories.append(Trajectory(t, x, u))
    return Trajectories(tuple(variables), trajectories, opts.source, inputs=tuple(inputs),
                        parameters=tuple(parameters))


def _check_parameters(values: np.ndarray, names: Sequence[str], row_of: RowFn, label: str | None,
                      file: str | None) -> None:
    """Raise a DataError at the first row where a parameter column ``values (N, P)`` leaves its first value."""
    for j, name in enumerate(names):
        changed = np.flatnonzero(values[:, j] != values[0, j])
        if changed.size:
            i = int(changed[0])
            where = f" within {label}" if label else ""
            hint = ("declare it an input instead, or give each setting its own trajectory id" if label else
                    "declare it an input instead, or add an integer 'trajectory' column with one id per setting")
            raise DataError(f"parameter {name!r} changes{where} (from {values[0, j]:.10g} to {values[i, j]:.10g}); "
                            f"a parameter must be constant within each trajectory: {hint}",
                            file=file, row=row_of(i), column=name)
