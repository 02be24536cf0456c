"""External signals of a driven system: measured inputs, per-trajectory parameters and time itself.

A right-hand side may use, besides the state variables, the data's inputs and parameters (the columns of
:attr:`discovery.data.Trajectory.u`) and the time ``t`` (a periodic drive ``a*cos(w*t) + b*sin(w*t)``). Everything
that evaluates or integrates a candidate takes its values from here: :class:`InputSignal` interpolates one
trajectory's samples linearly in time (held at the end values outside the sampled span), so that an integrator
can ask for them at any time between samples; :func:`input_function` turns what a user passes to
``simulate(..., inputs=...)`` (a callable ``u(t)`` or an array on the time grid) into such a function.

Examples
--------
>>> s = InputSignal(np.array([0.0, 1.0, 2.0]), np.array([[0.0], [2.0], [0.0]]))
>>> s(0.25).tolist(), s(np.array([1.5, 3.0])).tolist()
([0.5], [[1.0], [0.0]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from discovery.errors import DataError

TIME = sympy.Symbol("t")
"""The symbol of time in a right-hand side (no state, input or parameter may be named ``t``)."""

InputFn = Callable[[Any], np.ndarray]
"""``u(t) -> (M,)`` for a scalar time (``(K, M)`` for an array of ``K`` times): the inputs, then the parameters."""


class InputSignal:
    """One trajectory's inputs and parameters ``u (N, M)`` sampled at times ``t (N,)``, linear in between.

    Calling it with a time gives ``(M,)``; with an array of ``K`` times, ``(K, M)``. Outside ``[t[0], t[-1]]`` the
    end values hold (an integrator's last stage can step just past the last sample).
    """

    def __init__(self, t: np.ndarray, u: np.ndarray) -> None:
        self.t = np.asarray(t, dtype=float)  # (N,)
        self.u = np.asarray(u, dtype=float).reshape(len(self.t), -1)  # (N, M)

    @property
    def n_inputs(self) -> int:
        return int(self.u.shape[1])

    def __call__(self, t: Any) -> np.ndarray:
        times = np.asarray(t, dtype=float)
        if self.u.shape[1] == 0:
            return np.zeros(times.shape + (0,))
        if self.t.size == 1:
            return np.broadcast_to(self.u[0], times.shape + (self.u.shape[1],)).copy()
        cols = [np.interp(times, self.t, self.u[:, j]) for j in range(self.u.shape[1])]
        return np.stack(cols, axis=-1)  # (M,) or (K, M)


def no_inputs(t: Any) -> np.ndarray:
    """The :data:`InputFn` of a system without inputs: ``(0,)`` values."""
    return np.zeros(np.shape(t) + (0,))


def input_function(given: Any, t: np.ndarray, names: Sequence[str]) -> InputFn:
    """A user's input signals as an :data:`InputFn` over the time grid ``t`` (N,).

    Parameters
    ----------
    given:
        ``None`` (only when ``names`` is empty); a callable ``u(t)`` returning the ``M`` values in the order of
        ``names``; an array ``(N, M)`` (or ``(N,)`` for one input) of values on ``t``, interpolated linearly; or a
        mapping ``name -> callable, array (N,) or number`` (a number for a parameter).
    t:
        The time grid of the simulation.
    names:
        The inputs, then the parameters, of the model (``DiscoveryResult.inputs + parameters``).

    Raises
    ------
    DataError
        When inputs are missing, of the wrong shape, not finite, or given to a model without inputs.
    """
    names = tuple(names)
    t = np.asarray(t, dtype=float)
    if given is None:
        if names:
            raise DataError(f"the model needs its inputs ({', '.join(names)}): pass inputs= as a callable u(t), an "
                            f"array of shape (N, {len(names)}) on the time grid, or a dict name -> signal")
        return no_inputs
    if not names:
        raise DataError("the model has no inputs or parameters, but inputs were given; drop inputs=")
    if isinstance(given, dict):
        missing = [n for n in names if n not in given]
        unknown = sorted(str(k) for k in given if k not in names)
        if missing or unknown:
            raise DataError(f"inputs: expected one signal per name ({', '.join(names)}); missing {missing}, unknown "
                            f"{unknown}")
        columns = [_column(given[n], t, n) for n in names]
        return InputSignal(t, np.stack(columns, axis=1))
    if callable(given):
        return _checked_callable(given, t, names)
    values = np.asarray(given, dtype=float)
    if values.ndim == 1 and len(names) == 1:
        values = values[:, None]
    if values.shape != (t.size, len(names)):
        raise DataError(f"inputs: expected an array of shape ({t.size}, {len(names)}) (one column per input: "
                        f"{', '.join(names)}) on the time grid, found shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise DataError("inputs: the input values must be finite (no NaN or infinity)")
    return InputSignal(t, values)


def _column(value: Any, t: np.ndarray, name: str) -> np.ndarray:
    """One named signal on ``t``: a callable of time, an array ``(N,)`` or a number."""
    if callable(value):
        col = np.asarray([float(np.asarray(value(float(s))).reshape(-1)[0]) for s in t])
    else:
        col = np.broadcast_to(np.asarray(value, dtype=float), t.shape).astype(float) if np.ndim(value) == 0 \
            else np.asarray(value, dtype=float)
    if col.shape != t.shape:
        raise DataError(f"inputs: signal {name!r} has shape {col.shape}; expected {t.shape} (one value per time)")
    if not np.all(np.isfinite(col)):
        raise DataError(f"inputs: signal {name!r} must be finite (no NaN or infinity)")
    return col


def _checked_callable(fn: Callable[[float], Any], t: np.ndarray, names: tuple[str, ...]) -> InputFn:
    """A user's ``u(t)`` checked once at ``t[0]``; the wrapper returns ``(M,)`` floats."""
    m = len(names)

    def u(time: Any) -> np.ndarray:
        if np.ndim(time):
            return np.stack([u(float(s)) for s in np.asarray(time).ravel()]).reshape(np.shape(time) + (m,))
        value = np.asarray(fn(float(time)), dtype=float).reshape(-1)
        if value.shape != (m,):
            raise DataError(f"inputs: u(t) returned {value.size} values; expected {m} ({', '.join(names)})")
        return value

    first = u(float(t[0]))
    if not np.all(np.isfinite(first)):
        raise DataError(f"inputs: u(t) is not finite at t={float(t[0]):g}")
    return u


JUMP_FACTOR = 8.0
"""A step of an input between two samples is a jump when it exceeds this many times the input's median step (and
1% of its range): a stepped control, a switched valve."""
JUMP_MARGIN = 5
"""Samples dropped on each side of an input jump by :func:`smooth_pieces` (at least; 1% of the trajectory when
that is more)."""


def input_jumps(u: np.ndarray) -> np.ndarray:
    """Indices ``k`` of the steps ``u[k] -> u[k + 1]`` where some input column ``u (N, M)`` jumps."""
    u = np.asarray(u, dtype=float)
    if u.ndim != 2 or u.shape[0] < 3 or u.shape[1] == 0:
        return np.zeros(0, dtype=int)
    steps = np.abs(np.diff(u, axis=0))  # (N - 1, M)
    limit = np.maximum(JUMP_FACTOR * np.median(steps, axis=0), 0.01 * np.ptp(u, axis=0))  # (M,)
    return np.flatnonzero(np.any((steps > limit) & (limit > 0), axis=1))


def smooth_pieces(u: np.ndarray) -> list[slice]:
    """The stretches of a trajectory between the jumps of its inputs ``u (N, M)``, without :data:`JUMP_MARGIN`
    samples on each side of a jump: there the state's derivative jumps too, and a smoothed derivative estimate is
    off (regressions on derivatives use these stretches only). One slice over everything when nothing jumps."""
    n = len(u)
    jumps = input_jumps(u)
    if jumps.size == 0:
        return [slice(0, n)]
    margin = max(JUMP_MARGIN, n // 100)
    bounds = [0, *(int(k) + 1 for k in jumps), n]
    pieces = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        lo, hi = a + (margin if a > 0 else 0), b - (margin if b < n else 0)
        if hi - lo >= 2 * margin:
            pieces.append(slice(lo, hi))
    return pieces or [slice(0, n)]


def signals(data: Any) -> list[InputSignal]:
    """One :class:`InputSignal` per trajectory of ``data`` (:class:`~discovery.data.Trajectories`)."""
    return [InputSignal(tr.t, tr.u) for tr in data]


def symbols_of(names: Sequence[str]) -> list[sympy.Symbol]:
    """The symbols of external names, then time: the extra arguments of every lambdified right-hand side."""
    return [*(sympy.Symbol(n) for n in names), TIME]
