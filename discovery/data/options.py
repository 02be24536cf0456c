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
    those columns (``None``: found by name, or no trajectory column); ``source`` labels the result; ``inputs``
    and ``parameters`` name the columns loaded as input signals and per-trajectory parameters (no equation of
    their own).
    """

    variables: tuple[str, ...] | None
    time_column: str | None
    trajectory_column: str | None
    min_points: int
    source: str | None
    inputs: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()

    @property
    def external(self) -> tuple[str, ...]:
        """The input names, then the parameter names."""
        return self.inputs + self.parameters

    @classmethod
    def checked(
        cls,
        variables: Sequence[str] | None,
        time_column: str | None,
        trajectory_column: str | None,
        min_points: int,
        source: str | None,
        inputs: Sequence[str] | None = None,
        parameters: Sequence[str] | None = None,
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
        given = {label: _names(value, label) for label, value in (("inputs", inputs), ("parameters", parameters))}
        both = sorted(set(given["inputs"]) & set(given["parameters"]))
        if both:
            raise DataError(f"column {both[0]!r} is declared both an input and a parameter; declare it once "
                            "(an input varies in time, a parameter is constant within each trajectory)")
        if names is not None:
            for label, listed in given.items():
                clash = [v for v in listed if v in names]
                if clash:
                    raise DataError(f"column {clash[0]!r} is given both as a state variable and in {label}; "
                                    "a column is one of them")
        return cls(names, time_column, trajectory_column, int(min_points), source, given["inputs"],
                   given["parameters"])


def _names(value: Sequence[str] | str | None, label: str) -> tuple[str, ...]:
    """Column names given as a sequence or a comma-separated string, stripped; ``()`` for ``None``."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not all(isinstance(v, str) for v in value):
        raise DataError(f"{label} must be column names (str); got {list(value)!r}")
    names = tuple(v.strip() for v in value)
    if len(set(names)) != len(names):
        raise DataError(f"{label} must not repeat a name; got {list(names)}")
    return names
