"""The options of :func:`~discovery.data.load_trajectories`, checked once and handed to every reader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from discovery.errors import DataError


@dataclass(frozen=True)
class LoadOptions:
    """What to load from a table or arrays, and how much of it a trajectory needs.

    ``variables`` are the state columns to load (``None``: all); ``time_column`` and ``trajectory_column`` name
    those columns (``None``: found by name, or no trajectory column); ``source`` labels the result.
    """

    variables: tuple[str, ...] | None
    time_column: str | None
    trajectory_column: str | None
    min_points: int
    source: str | None

    @classmethod
    def checked(
        cls,
        variables: Sequence[str] | None,
        time_column: str | None,
        trajectory_column: str | None,
        min_points: int,
        source: str | None,
    ) -> "LoadOptions":
        """Validate the arguments of :func:`~discovery.data.load_trajectories`; strip the variable names."""
        if isinstance(min_points, bool) or not isinstance(min_points, (int, np.integer)) or min_points < 1:
            raise ValueError(f"min_points must be an integer >= 1; got {min_points!r}")
        names = None
        if variables is not None:
            if isinstance(variables, str) or not all(isinstance(v, str) for v in variables):
                raise DataError(f"variables must be a sequence of column names (str); got {variables!r}")
            names = tuple(v.strip() for v in variables)
            if len(set(names)) != len(names):
                raise DataError(f"variables must not repeat a name; got {list(names)}")
        return cls(names, time_column, trajectory_column, int(min_points), source)
