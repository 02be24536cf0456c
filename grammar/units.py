"""Units, offsets and time windows: map a trajectory to normalized coordinates and equations back, exactly.

A model that reads trajectories in normalized coordinates serves any unit system, time origin, span and sampling
rate, provided the equations it writes are mapped back to the user's units. With

    x_i = offset_i + scale_i * X_i          t = t0 + span * tau

a system ``dx_i/dt = f_i(x)`` reads, in the normalized coordinates,

    dX_i/dtau = (span / scale_i) * f_i(offset + scale * X)                          (:meth:`Scaling.to_normalized`)

and an equation ``G_i(X)`` written in them means, in the user's units,

    dx_i/dt = (scale_i / span) * G_i((x - offset) / scale)                           (:meth:`Scaling.to_user`)

Both are substitutions of symbols by affine expressions (``xreplace``, simultaneous), so constants are rescaled
symbolically and the forms stay those of the law: a pure rescaling (``offset = 0``, what :meth:`Scaling.of_data`
picks) keeps every term's skeleton (``x*y`` stays one term, ``x/(k + x)`` stays a saturating term with another
``k``, ``sin(a*x)`` another ``a``). A state offset would not: ``x*y`` in ``x - m`` is four terms. That is why the
data's normalization rescales each state by its root mean square and leaves it uncentred; the time origin drops
out of autonomous equations whatever it is.

Examples
--------
>>> import numpy as np, sympy
>>> x0, x1 = sympy.symbols("x_0 x_1")
>>> s = Scaling(t0=5.0, span=10.0, offset=(0.0, 0.0), scale=(2.0, 100.0))
>>> s.to_user([3.0 * x0 * x1, -x1])
[0.003*x_0*x_1, -0.1*x_1]
>>> system = [1.5 * x0 - 0.5 * x0 * x1, 2.0 * x1]
>>> [sympy.expand(e) for e in s.to_user(s.to_normalized(system))] == system
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy

from grammar.errors import GrammarError
from grammar.tokenizer import canonical_symbols

NORMALIZATIONS = ("none", "scale")
"""How a PROSE checkpoint's training data were expressed: ``"none"`` (the user's units, the first checkpoints) or
``"scale"`` (each sample's time window mapped to [0, 1] and each state divided by its root mean square)."""


@dataclass(frozen=True)
class Scaling:
    """The affine change of coordinates ``x = offset + scale * X``, ``t = t0 + span * tau`` of one trajectory.

    Attributes
    ----------
    t0, span:
        Time origin and unit: ``tau = (t - t0) / span``.
    offset, scale:
        Per state variable: ``X_i = (x_i - offset_i) / scale_i``; every ``scale_i > 0``.
    """

    t0: float
    span: float
    offset: tuple[float, ...]
    scale: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.offset) != len(self.scale):
            raise GrammarError(f"Scaling: expected one offset per scale, found {len(self.offset)} and "
                               f"{len(self.scale)}")
        values = [self.t0, self.span, *self.offset, *self.scale]
        if not all(np.isfinite(values)) or self.span <= 0 or min(self.scale, default=1.0) <= 0:
            raise GrammarError(f"Scaling: expected finite numbers, span > 0 and scales > 0, found {self}")

    @classmethod
    def identity(cls, n_vars: int) -> "Scaling":
        """No change of coordinates."""
        return cls(0.0, 1.0, (0.0,) * n_vars, (1.0,) * n_vars)

    @classmethod
    def of_data(cls, t: np.ndarray, x: np.ndarray) -> "Scaling":
        """The normalization of a trajectory ``t (N,)``, ``x (N, D)``: its window maps to ``tau`` in [0, 1] and
        each state is divided by its root mean square (1 for a state that is zero throughout); no state offset
        (see the module docstring)."""
        t = np.asarray(t, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64).reshape(t.size, -1)
        span = float(t[-1] - t[0]) if t.size > 1 else 1.0
        with np.errstate(over="ignore"):
            rms = np.sqrt(np.mean(np.square(x / np.maximum(np.max(np.abs(x), axis=0), 1e-300)), axis=0))
            rms = rms * np.max(np.abs(x), axis=0)  # overflow-safe root mean square
        scale = np.where(np.isfinite(rms) & (rms > 0), rms, 1.0)
        return cls(float(t[0]), span if span > 0 else 1.0, (0.0,) * x.shape[1], tuple(float(v) for v in scale))

    @property
    def n_vars(self) -> int:
        return len(self.scale)

    @property
    def keeps_equations(self) -> bool:
        """Whether equations read the same in both coordinates (unit span and scales, no offset; ``t0`` never
        enters autonomous equations)."""
        return self.span == 1.0 and all(c == 1.0 for c in self.scale) and not any(self.offset)

    # -------------------------------------------------------------------- arrays
    def times(self, t: np.ndarray) -> np.ndarray:
        """``tau = (t - t0) / span``."""
        return (np.asarray(t, dtype=np.float64) - self.t0) / self.span

    def user_times(self, tau: np.ndarray) -> np.ndarray:
        """``t = t0 + span * tau``."""
        return self.t0 + self.span * np.asarray(tau, dtype=np.float64)

    def states(self, x: np.ndarray) -> np.ndarray:
        """``X = (x - offset) / scale``, ``(N, D)``."""
        return (np.asarray(x, dtype=np.float64) - np.asarray(self.offset)) / np.asarray(self.scale)

    def user_states(self, X: np.ndarray) -> np.ndarray:
        """``x = offset + scale * X``, ``(N, D)``."""
        return np.asarray(self.offset) + np.asarray(self.scale) * np.asarray(X, dtype=np.float64)

    # -------------------------------------------------------------------- equations
    def _substitute(self, exprs: Sequence[sympy.Expr], inner: list[sympy.Expr], outer: list[float]) -> list[sympy.Expr]:
        if len(exprs) != self.n_vars:
            raise GrammarError(f"Scaling: expected {self.n_vars} equations (one per variable), found {len(exprs)}")
        symbols = canonical_symbols(self.n_vars)
        allowed = set(symbols)
        mapping = dict(zip(symbols, inner))
        out = []
        for k, expr in enumerate(exprs):
            expr = sympy.sympify(expr)
            extra = expr.free_symbols - allowed
            if extra:
                raise GrammarError(f"Scaling: equation {k} uses {sorted(map(str, extra))}; expected only "
                                   f"{', '.join(map(str, symbols))}")
            out.append(sympy.Float(outer[k]) * expr.xreplace(mapping))
        return out

    def to_user(self, exprs: Sequence[sympy.Expr]) -> list[sympy.Expr]:
        """Equations ``dX_i/dtau = G_i(X)`` over ``x_0 .. x_{D-1}`` in normalized coordinates, written in the
        user's: ``dx_i/dt = (scale_i / span) * G_i((x - offset) / scale)`` (same symbols)."""
        symbols = canonical_symbols(self.n_vars)
        inner = [(s - sympy.Float(m)) / sympy.Float(c) if m else s / sympy.Float(c)
                 for s, m, c in zip(symbols, self.offset, self.scale)]
        return self._substitute(exprs, inner, [c / self.span for c in self.scale])

    def to_normalized(self, exprs: Sequence[sympy.Expr]) -> list[sympy.Expr]:
        """Equations ``dx_i/dt = f_i(x)`` in the user's coordinates, written in normalized ones:
        ``dX_i/dtau = (span / scale_i) * f_i(offset + scale * X)`` (same symbols)."""
        symbols = canonical_symbols(self.n_vars)
        inner = [sympy.Float(m) + sympy.Float(c) * s if m else sympy.Float(c) * s
                 for s, m, c in zip(symbols, self.offset, self.scale)]
        return self._substitute(exprs, inner, [self.span / c for c in self.scale])
