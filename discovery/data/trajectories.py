"""The data types eqdisco learns from: one :class:`Trajectory` and a set of :class:`Trajectories`."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union, overload

import numpy as np

from discovery.errors import DataError
from discovery.io import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

UNIFORM_RTOL = 1e-3
"""A time grid is uniform when every step is within this relative tolerance of the median step."""

PathLike = Union[str, os.PathLike]


GAP_FACTOR = 10.0
"""A time step longer than this many times the trajectory's median step is a gap in the sampling."""


def gap_steps(t: np.ndarray, factor: float = GAP_FACTOR) -> np.ndarray:
    """Mask ``(N - 1,)`` of the steps of ``t`` that are gaps: longer than ``factor`` times the median step.

    Shooting windows skip gaps (:mod:`discovery.pipeline.shooting`): a window across one would integrate the whole gap in one
    RK4 step and swamp the other windows' errors (a damped pendulum with 7 of its 20 seconds missing got spurious
    ``sin(omega)`` and ``omega^2 theta`` terms). :meth:`Trajectories.summary` counts them.

    Examples
    --------
    >>> gap_steps(np.array([0.0, 0.1, 0.2, 2.0, 2.1])).tolist()
    [False, False, True, False]
    """
    steps = np.diff(np.asarray(t, dtype=float))
    if steps.size == 0:
        return np.zeros(0, dtype=bool)
    return steps > factor * float(np.median(steps))


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One sampled trajectory: times ``t`` of shape ``(N,)`` and states ``x`` of shape ``(N, D)``, float64.

    ``u`` of shape ``(N, M)`` holds the trajectory's external columns, measured at the same times: the declared
    inputs, then the parameters (constant within a trajectory); ``(N, 0)`` when there are none (the default).
    The constructor converts the arrays to contiguous float64 and checks their shapes. Trajectories made by
    :func:`load_trajectories` also have finite values and strictly increasing times.

    Examples
    --------
    >>> import numpy as np
    >>> tr = Trajectory(np.linspace(0, 1, 11), np.zeros((11, 2)))
    >>> tr.n_points, tr.duration
    (11, 1.0)
    """

    t: np.ndarray  # (N,)
    x: np.ndarray  # (N, D)
    u: np.ndarray | None = None  # (N, M): inputs, then parameters

    def __post_init__(self) -> None:
        try:
            t = np.ascontiguousarray(self.t, dtype=np.float64)
            x = np.ascontiguousarray(self.x, dtype=np.float64)
            u = np.ascontiguousarray(np.zeros((t.shape[0] if t.ndim else 0, 0)) if self.u is None else self.u,
                                     dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"Trajectory expects numeric arrays t (N,), x (N, D) and u (N, M); conversion failed: {exc}"
            ) from None
        if t.ndim != 1 or t.shape[0] == 0:
            raise DataError(f"Trajectory.t must have shape (N,) with N >= 1; got shape {t.shape}")
        if x.ndim != 2 or x.shape[0] != t.shape[0] or x.shape[1] == 0:
            hint = " (use x[:, None] for a single variable)" if x.shape == t.shape else ""
            raise DataError(
                f"Trajectory.x must have shape (N, D) = ({t.shape[0]}, D) with D >= 1 to match t; "
                f"got shape {x.shape}{hint}"
            )
        if u.ndim != 2 or u.shape[0] != t.shape[0]:
            raise DataError(f"Trajectory.u must have shape (N, M) = ({t.shape[0]}, M) to match t; got shape {u.shape}")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "u", u)

    @property
    def n_points(self) -> int:
        """Number of time points ``N``."""
        return int(self.t.shape[0])

    @property
    def duration(self) -> float:
        """``t[-1] - t[0]``."""
        return float(self.t[-1] - self.t[0])

    def __repr__(self) -> str:
        return f"Trajectory(n_points={self.n_points}, n_vars={self.x.shape[1]}, t=[{self.t[0]:g}, {self.t[-1]:g}])"


def _step(t: np.ndarray) -> float | None:
    """The time step of an evenly spaced grid, or ``None`` when the grid is irregular or has one point."""
    if t.shape[0] < 2:
        return None
    diffs = np.diff(t)
    median = float(np.median(diffs))
    if median <= 0 or np.max(np.abs(diffs - median)) > UNIFORM_RTOL * median:
        return None
    return float((t[-1] - t[0]) / (t.shape[0] - 1))


class Trajectories(Sequence[Trajectory]):
    """One or more trajectories of the same state variables; behaves as a sequence of :class:`Trajectory`.

    Parameters
    ----------
    variables:
        State variable names, in the column order of every ``x``.
    trajectories:
        At least one trajectory, each with ``x.shape[1] == len(variables)``.
    source:
        Where the data came from (a file name), for messages and results.
    inputs:
        Names of the measured input signals (drive, control) that enter the equations without an equation of
        their own; the first columns of every trajectory's ``u``, interpolated linearly between samples.
    parameters:
        Names of the per-trajectory parameters (``mu``, a dilution rate): the next columns of ``u``, constant
        within each trajectory.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 101)
    >>> data = Trajectories(["x", "y"], [Trajectory(t, np.c_[np.cos(t), np.sin(t)])], source="circle.csv")
    >>> data.summary()
    'circle.csv: 2 variables (x, y), 1 trajectory, 101 points, t in [0, 1], uniform dt=0.01'
    """

    __slots__ = ("_variables", "_trajectories", "_source", "_inputs", "_parameters")

    def __init__(
        self,
        variables: Sequence[str],
        trajectories: Sequence[Trajectory],
        source: str | None = None,
        *,
        inputs: Sequence[str] = (),
        parameters: Sequence[str] = (),
    ) -> None:
        if isinstance(variables, str) or not all(isinstance(v, str) for v in variables):
            raise DataError(f"Trajectories expects variables as a sequence of names (str); got {variables!r}")
        names = tuple(variables)
        if not names:
            raise DataError("Trajectories expects at least one variable name; got none")
        if len(set(names)) != len(names):
            raise DataError(f"Trajectories expects unique variable names; got {list(names)}")
        external = _external_names(names, inputs, parameters)
        items = tuple(trajectories)
        if not items:
            raise DataError("Trajectories expects at least one trajectory; got none")
        for k, tr in enumerate(items):
            if not isinstance(tr, Trajectory):
                raise DataError(f"Trajectories expects Trajectory objects; item {k} is a {type(tr).__name__}")
            if tr.x.shape[1] != len(names):
                raise DataError(
                    f"trajectory {k} has {tr.x.shape[1]} state columns; expected {len(names)}, "
                    f"one per variable ({', '.join(names)})"
                )
            if tr.u.shape[1] != len(external):
                raise DataError(
                    f"trajectory {k} has {tr.u.shape[1]} input/parameter columns in u; expected {len(external)} "
                    f"({', '.join(external) or 'none'})"
                )
            for j, name in enumerate(external[len(tuple(inputs)):], start=len(tuple(inputs))):
                changed = np.flatnonzero(tr.u[:, j] != tr.u[0, j])
                if changed.size:
                    i = int(changed[0])
                    raise DataError(f"parameter {name!r} changes within trajectory {k} (from {tr.u[0, j]:g} to "
                                    f"{tr.u[i, j]:g} at sample {i}); a parameter is constant within each trajectory: "
                                    "declare it an input instead", file=source, column=name)
        from discovery.data.magnitudes import check_magnitudes

        for tr in items:  # the loaders check with rows; this covers trajectories built in Python
            check_magnitudes(tr.t, tr.x, names, "t", file=source)
        self._variables = names
        self._trajectories = items
        self._source = source
        self._inputs = tuple(inputs)
        self._parameters = tuple(parameters)

    # -- sequence protocol
    def __len__(self) -> int:
        return len(self._trajectories)

    @overload
    def __getitem__(self, index: int) -> Trajectory: ...

    @overload
    def __getitem__(self, index: slice) -> "Trajectories": ...

    def __getitem__(self, index: int | slice) -> Trajectory | "Trajectories":
        """One trajectory, or a :class:`Trajectories` for a slice (which must keep at least one trajectory)."""
        if isinstance(index, slice):
            return self._like(self._trajectories[index])
        return self._trajectories[index]

    def __iter__(self) -> Iterator[Trajectory]:
        return iter(self._trajectories)

    def __repr__(self) -> str:
        return f"Trajectories({self.summary()})"

    # -- description
    @property
    def variables(self) -> tuple[str, ...]:
        """State variable names, in column order."""
        return self._variables

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names of the measured input signals, the first columns of every trajectory's ``u``."""
        return self._inputs

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the per-trajectory parameters, the last columns of every trajectory's ``u``."""
        return self._parameters

    @property
    def external(self) -> tuple[str, ...]:
        """The names of the columns of every ``u``: :attr:`inputs`, then :attr:`parameters`."""
        return self._inputs + self._parameters

    @property
    def n_vars(self) -> int:
        """Number of state variables ``D``."""
        return len(self._variables)

    @property
    def n_points(self) -> int:
        """Total number of time points over all trajectories."""
        return sum(tr.n_points for tr in self._trajectories)

    @property
    def source(self) -> str | None:
        """Where the data came from (usually the file name), or ``None``."""
        return self._source

    @property
    def is_uniform(self) -> bool:
        """Whether every trajectory's time grid is evenly spaced (within :data:`UNIFORM_RTOL`)."""
        return all(tr.n_points < 2 or _step(tr.t) is not None for tr in self._trajectories)

    @property
    def dt(self) -> float | None:
        """The time step shared by all trajectories, or ``None`` when grids are irregular or steps differ."""
        if not self.is_uniform:
            return None
        steps = [_step(tr.t) for tr in self._trajectories if tr.n_points >= 2]
        if not steps or max(steps) - min(steps) > UNIFORM_RTOL * max(steps):
            return None
        return float(np.mean(steps))

    @property
    def t_range(self) -> tuple[float, float]:
        """Earliest and latest time over all trajectories."""
        return (min(float(tr.t[0]) for tr in self), max(float(tr.t[-1]) for tr in self))

    @property
    def x_range(self) -> dict[str, tuple[float, float]]:
        """``{variable: (min, max)}`` over all trajectories."""
        lo = np.min([tr.x.min(axis=0) for tr in self], axis=0)  # (D,)
        hi = np.max([tr.x.max(axis=0) for tr in self], axis=0)  # (D,)
        return {v: (float(a), float(b)) for v, a, b in zip(self._variables, lo, hi)}

    def summary(self) -> str:
        """One line: source, variables, trajectories, points, time span and grid."""
        d, m = self.n_vars, len(self)
        t0, t1 = self.t_range
        steps = [d_t for d_t in (_step(tr.t) for tr in self) if d_t is not None]
        diffs = [np.diff(tr.t) for tr in self if tr.n_points >= 2]
        if not diffs:
            grid = "one time point per trajectory"
        elif self.dt is not None:
            grid = f"uniform dt={self.dt:.6g}"
        elif self.is_uniform:
            grid = f"uniform per trajectory, dt from {min(steps):.6g} to {max(steps):.6g}"
        else:
            lo, hi = min(float(x.min()) for x in diffs), max(float(x.max()) for x in diffs)
            grid = f"irregular dt from {lo:.6g} to {hi:.6g}"
        gaps = sum(int(gap_steps(tr.t).sum()) for tr in self if tr.n_points >= 2)
        if gaps:
            grid += f", {gaps} gap{'s' * (gaps != 1)} (a step over {GAP_FACTOR:g}x the median)"
        given = "".join(f", {len(names)} {label}{'s' * (len(names) != 1)} ({', '.join(names)})"
                        for label, names in (("input", self._inputs), ("parameter", self._parameters)) if names)
        return (
            f"{self._source or 'data'}: {d} variable{'s' * (d != 1)} ({', '.join(self._variables)}){given}, "
            f"{m} {'trajectory' if m == 1 else 'trajectories'}, {self.n_points} points, "
            f"t in [{t0:.6g}, {t1:.6g}], {grid}"
        )

    # -- conversion
    def to_frame(self) -> "pd.DataFrame":
        """A pandas DataFrame: columns ``t``, the variables, the inputs and parameters, and ``trajectory`` (0, 1,
        ...) when there are several."""
        import pandas as pd

        values = np.concatenate([np.hstack([tr.x, tr.u]) for tr in self])  # (sum N, D + M)
        frame = pd.DataFrame(values, columns=[*self._variables, *self.external])
        frame.insert(0, "t", np.concatenate([tr.t for tr in self]))
        if len(self) > 1:
            frame["trajectory"] = np.repeat(np.arange(len(self)), [tr.n_points for tr in self])
        return frame

    def to_csv(self, path: PathLike) -> Path:
        """Write :meth:`to_frame` to ``path`` as CSV, atomically; floats round-trip exactly. Returns the path."""
        with atomic_path(path) as tmp:
            self.to_frame().to_csv(tmp, index=False, lineterminator="\n")
        return Path(path)

    def subset(self, indices: Sequence[int]) -> "Trajectories":
        """The trajectories at ``indices`` (in that order), as a new :class:`Trajectories`."""
        picked = []
        for i in indices:
            if not -len(self) <= int(i) < len(self):
                raise IndexError(f"trajectory index {i} is out of range: there are {len(self)} trajectories")
            picked.append(self._trajectories[int(i)])
        return self._like(picked)

    def _like(self, trajectories: Sequence[Trajectory]) -> "Trajectories":
        """Other trajectories with this object's names and source."""
        return Trajectories(self._variables, trajectories, self._source, inputs=self._inputs,
                            parameters=self._parameters)

    def with_noise(self, p: float, seed: int | None = 0) -> "Trajectories":
        """A copy with Gaussian noise of standard deviation ``p * std(x_v)`` added to each variable of each trajectory.

        Examples
        --------
        >>> import numpy as np
        >>> t = np.linspace(0, 1, 50)
        >>> clean = Trajectories(["x"], [Trajectory(t, np.sin(t)[:, None])])
        >>> noisy = clean.with_noise(0.01, seed=1)
        >>> bool(np.allclose(noisy[0].x, clean[0].x, atol=0.01))
        True
        """
        if not (isinstance(p, (int, float)) and math.isfinite(p) and p >= 0):
            raise ValueError(f"noise level p must be a finite number >= 0 (e.g. 0.01 for 1%); got {p!r}")
        rng = np.random.default_rng(seed)
        noisy = []
        for tr in self._trajectories:
            scale = p * tr.x.std(axis=0)  # (D,)
            noisy.append(Trajectory(tr.t, tr.x + rng.standard_normal(tr.x.shape) * scale, tr.u))
        return self._like(noisy)


def _external_names(states: tuple[str, ...], inputs: Sequence[str], parameters: Sequence[str]) -> tuple[str, ...]:
    """Inputs then parameters, checked: names (str), none twice, none a state variable."""
    for label, given in (("inputs", inputs), ("parameters", parameters)):
        if isinstance(given, str) or not all(isinstance(v, str) for v in given):
            raise DataError(f"Trajectories expects {label} as a sequence of names (str); got {given!r}")
    external = (*inputs, *parameters)
    both = sorted(set(inputs) & set(parameters))
    if both:
        raise DataError(f"{both[0]!r} is declared both an input and a parameter; declare it once")
    if len(set(external)) != len(external):
        raise DataError(f"Trajectories expects unique input and parameter names; got {list(external)}")
    clash = [v for v in external if v in states]
    if clash:
        raise DataError(f"{clash[0]!r} is both a state variable and an input or parameter; a column is one of them")
    return tuple(external)
