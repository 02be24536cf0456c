"""The result of PDE discovery: ranked candidate PDEs and their exports (JSON, LaTeX, numpy, Python source).

The JSON follows the result contract of DESIGN.md, extended for fields: ``"kind": "field"``, ``"axes"`` and
``"periodic"`` name the grid, and ``equations[u]`` is the right-hand side of ``u_t`` as a string in the field and
derivative names (``"-1.0*u*u_x + 0.1*u_xx"``; the letters after ``_`` are the axes of the derivative, so
``u_xxy`` is the third derivative twice in ``x`` and once in ``y``). :func:`parse_field_equations` reads such
strings back through the grammar's safe parser.

The field result JSON (:meth:`FieldResult.to_dict`; what ``eqdisco discover FIELD --out DIR`` writes)::

    {
      "source": "burgers.npz",
      "kind": "field",                      # "field": a PDE result (a trajectory result has no "kind")
      "variables": ["u"],                   # the fields, in file order
      "axes": ["x"],                        # spatial axes: ["x"] or ["x", "y"]
      "periodic": {"x": true},              # per axis: stated, stored in the file, or detected
      "equations": {"u": "-1.0001*u*u_x + 0.09997*u_xx"},   # rhs of u_t, in field and derivative names
      "method": "pde-sparse",
      "metrics": {"score": 0.0054, "n_terms": 2, "residual": 0.0127, "rel_l2": 0.0086},
      "terms": {"u": [{"term": "u_xx", "coefficient": 0.09997},
                      {"term": "(u^2)_x", "coefficient": -0.50005}]},   # library terms as regressed
      "noise": {"u": 0.0100},               # estimated noise over each field's spread
      "candidates": [{"method": "pde-sparse", "form": "weak", "equations": {...}, "terms": {...},
                      "metrics": {...}}, ...],   # ranked, the selected one first
      "warnings": [],
      "eqdisco_version": "0.1.0",
      "elapsed_s": 0.55
    }

``metrics``: ``score`` is the relative L2 error of re-simulations over a few time windows, each started from the
(denoised) data, which ranks the candidates; ``n_terms`` counts library terms; ``residual`` is the regression's
relative residual; ``rel_l2`` (selected candidate only) is the PDE re-simulated over the whole span from the
first denoised field (boundary values from the data on non-periodic axes,
:func:`discovery.fields.resimulate.resimulate_field`) against the observed field. ``form`` is the regression
that proposed a candidate: ``weak``, ``strong`` or, for coupled fields, both (``strong+weak``); ``pinn`` for the
PINN hidden-term method (``method: "pde-pinn"``, see :mod:`discovery.fields.pinn`); a sparse model whose reaction
part was replaced by a non-polynomial formula (``2*u/(u + 1)``, ``exp(-u)``; :mod:`discovery.fields.reaction`) has
``method: "pde-sr"``, ``form`` ending in ``+sr``, its formula in ``info["reaction"]`` and, in ``terms``, the
formula's additive terms as written. Non-finite numbers are written
``null``.

With ``discover_field(..., operators="fno")`` the result also holds a neural-operator forecast of the field
beyond the observed window, :attr:`FieldResult.forecast` (a :class:`FieldForecast`; ``None`` otherwise), written
as ``"forecast"`` in the JSON::

    "forecast": {"model": "fno",
                 "t": [10.08, 10.16, ...],             # times after the last observed one, one step apart
                 "values": {"u": [[...], ...]},         # (M, Nx[, Ny]) per field
                 "rel_l2": 0.0042,                      # backtest: see FieldForecast
                 "backtest": {"t": [...], "values": {...}},   # or null
                 "info": {"n_simulated": 4, "persistence_rel_l2": 0.18, ...}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy

from discovery.fields.field import Field
from discovery.io import atomic_write_text
from discovery.result import json_safe
from grammar.pde_zoo import derivative_names


def _version() -> str:
    from discovery import __version__

    return __version__


def parse_field_equations(equations: Mapping[str, str], fields: Sequence[str], axes: Sequence[str],
                          max_order: int = 6) -> dict[str, sympy.Expr]:
    """Right-hand-side strings (in ``u``, ``u_x``, ...) back to sympy, through the grammar's safe parser."""
    from grammar import parse

    names = derivative_names(fields, axes, max_order)
    return {f: parse(equations[f], variables=names, hidden=False) for f in fields}


@dataclass
class FieldCandidate:
    """One candidate PDE.

    Attributes
    ----------
    equations:
        Field -> right-hand side of its time derivative, in derivative symbols.
    terms:
        Field -> ``[(library term, coefficient), ...]`` as regressed (``("(u^2)_x", -0.5)``).
    form:
        The regression that proposed it: ``"weak"`` or ``"strong"`` (``"pinn"``: the PINN hidden-term method).
    metrics:
        ``score`` (relative L2 of the windowed re-simulation against the denoised field, which ranks),
        ``n_terms``, ``residual`` (regression), and for the selected model ``rel_l2`` (re-simulated over the
        whole span from the first observed field, against the observed field).
    """

    equations: dict[str, sympy.Expr]
    terms: dict[str, list[tuple[str, float]]]
    form: str
    metrics: dict[str, Any] = field(default_factory=dict)
    method: str = "pde-sparse"
    """``"pde-sparse"`` (sparse regression), ``"pde-sr"`` (sparse regression with a non-polynomial reaction part) or
    ``"pde-pinn"`` (PINN hidden terms, distilled)."""
    info: dict[str, Any] = field(default_factory=dict)
    """Method-specific details (the PINN's hidden-term formulas and loss), JSON-serializable."""

    @property
    def n_terms(self) -> int:
        """Number of library terms over all fields."""
        return sum(len(v) for v in self.terms.values())

    def to_dict(self) -> dict[str, Any]:
        out = {
            "method": self.method,
            "form": self.form,
            "equations": {f: sympy.sstr(e) for f, e in self.equations.items()},
            "terms": {f: [{"term": t, "coefficient": c} for t, c in v] for f, v in self.terms.items()},
            "metrics": json_safe(self.metrics),
        }
        if self.info:
            out["info"] = json_safe(self.info)
        return out


def _field_dict(f: Field) -> dict[str, Any]:
    return {"t": np.asarray(f.t, dtype=float).tolist(),
            "values": {n: np.asarray(v, dtype=float).tolist() for n, v in f.values.items()}}


@dataclass
class FieldForecast:
    """A neural operator's forecast of the field beyond the observed window (see :mod:`discovery.fields.operator`).

    It reads like a :class:`~discovery.fields.field.Field` on the observed grid (``t``, ``values``, ``axes``,
    ``x``, ``y``, ``shape``, ``stack()``), with ``times`` and ``array`` as short names for ``t`` and ``stack()``.

    Attributes
    ----------
    model:
        The operator: ``"fno"`` (a Fourier neural operator, :mod:`models.fno`).
    field:
        The forecast frames, at the times after the last observed one (one observed time step apart).
    rel_l2:
        The backtest error: the operator trained without the last part of the observed window (``holdout`` of
        it) forecasts that part from the frames before it; ``||forecast - observed|| / ||observed||`` over it.
        ``None`` when no part was held out, ``inf`` when the backtest rollout blew up.
    backtest:
        That backtest forecast over the held-out times, or ``None``.
    info:
        Training details (``n_simulated`` fields from the discovered PDE, ``holdout``, ``persistence_rel_l2``:
        the error of repeating the last frame before the held-out part, for comparison; loss, seconds).

    Examples
    --------
    >>> result = discover_field(simulate_zoo("heat", grid=(64, 64)), operators="fno")  # doctest: +SKIP
    >>> result.forecast.times.shape, result.forecast.array.shape, result.forecast.rel_l2  # doctest: +SKIP
    ((16,), (1, 16, 64), 0.004)
    """

    model: str
    field: Field
    rel_l2: float | None = None
    backtest: Field | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def t(self) -> np.ndarray:
        """Forecast times ``(M,)``, after the observed window."""
        return self.field.t

    times = t

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Field name -> forecast ``(M, Nx[, Ny])``."""
        return self.field.values

    @property
    def array(self) -> np.ndarray:
        """All fields' forecasts ``(F, M, Nx[, Ny])``."""
        return self.field.stack()

    def stack(self) -> np.ndarray:
        """The same as :attr:`array`."""
        return self.field.stack()

    @property
    def names(self) -> tuple[str, ...]:
        return self.field.names

    @property
    def axes(self) -> tuple[str, ...]:
        return self.field.axes

    @property
    def coords(self) -> dict[str, np.ndarray]:
        return self.field.coords

    @property
    def x(self) -> np.ndarray:
        return self.field.x

    @property
    def y(self) -> np.ndarray | None:
        return self.field.y

    @property
    def shape(self) -> tuple[int, ...]:
        """``(M, Nx[, Ny])``."""
        return self.field.shape

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            **_field_dict(self.field),
            "rel_l2": None if self.rel_l2 is None else float(self.rel_l2),
            "backtest": None if self.backtest is None else _field_dict(self.backtest),
            "info": json_safe(self.info),
        }


@dataclass
class FieldResult:
    """Ranked candidate PDEs for one field dataset (best first).

    Examples
    --------
    >>> from discovery.fields import discover_field, simulate_zoo
    >>> result = discover_field(simulate_zoo("burgers", grid=(64, 64)))  # doctest: +SKIP
    >>> result.equations["u"]  # doctest: +SKIP
    -1.0*u*u_x + 0.1*u_xx

    Attributes
    ----------
    forecast:
        The neural-operator forecast beyond the observed window (:class:`FieldForecast`) when
        ``discover_field(..., operators="fno")`` asked for one, else ``None``.
    """

    fields: tuple[str, ...]
    axes: tuple[str, ...]
    periodic: dict[str, bool]
    spacing: dict[str, float]
    candidates: list[FieldCandidate]
    noise: dict[str, float] = field(default_factory=dict)
    source: str | None = None
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    forecast: FieldForecast | None = None

    @property
    def best(self) -> FieldCandidate:
        """The selected candidate."""
        return self.candidates[0]

    @property
    def equations(self) -> dict[str, sympy.Expr]:
        """The selected PDE: field -> right-hand side of its time derivative."""
        return self.best.equations

    @property
    def metrics(self) -> dict[str, Any]:
        return self.best.metrics

    @property
    def method(self) -> str:
        """The method of the selected candidate: ``"pde-sparse"``, ``"pde-sr"`` or ``"pde-pinn"``."""
        return self.best.method

    # -- exports
    def latex(self, candidate: FieldCandidate | None = None, digits: int = 4) -> str:
        """``\\frac{\\partial u}{\\partial t} = ...`` per field, one per line (``u_{xx}`` for derivatives).

        Constants are rounded to ``digits`` significant digits.
        """
        c = candidate or self.best
        lines = []
        for f in self.fields:
            rhs = sympy.latex(c.equations[f].evalf(digits))
            lines.append(rf"\frac{{\partial {f}}}{{\partial t}} = {rhs}")
        return " \\\\\n".join(lines)

    def rhs_numpy(self, candidate: FieldCandidate | None = None) -> Callable[[np.ndarray], np.ndarray]:
        """``rhs(state)``: state ``(F, Nx[, Ny])`` on this grid -> time derivatives ``(F, Nx[, Ny])``.

        Derivatives are spectral along periodic axes and finite differences (findiff) otherwise.
        """
        from discovery.fields.compile import compile_rhs, evaluate
        from discovery.fields.derivatives import partial

        c = candidate or self.best
        compiled = compile_rhs(c.equations, self.fields, self.axes)
        spacings = [self.spacing[a] for a in self.axes]
        periodic = [self.periodic[a] for a in self.axes]

        def rhs(state: np.ndarray) -> np.ndarray:
            state = np.asarray(state, dtype=float)
            axes = tuple(range(state.ndim - 1))
            args = [partial(state[t.field], t.orders, axes, spacings, periodic) for t in compiled.terms]
            return evaluate(compiled.full, args, state.shape[1:])

        return rhs

    def python_source(self, candidate: FieldCandidate | None = None, name: str = "rhs") -> str:
        """Standalone numpy source of ``rhs(state, spacing)`` (see :func:`discovery.fields.export.pde_source`)."""
        from discovery.fields.export import pde_source

        c = candidate or self.best
        return pde_source(self.fields, self.axes, c.equations, [self.periodic[a] for a in self.axes], name=name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready result (see the module docstring)."""
        best = self.best.to_dict()
        out = {
            "source": self.source,
            "kind": "field",
            "variables": list(self.fields),
            "axes": list(self.axes),
            "periodic": dict(self.periodic),
            "equations": best["equations"],
            "method": self.method,
            "metrics": best["metrics"],
            "terms": best["terms"],
            "noise": json_safe(self.noise),
            "candidates": [c.to_dict() for c in self.candidates],
            "warnings": list(self.warnings),
            "eqdisco_version": _version(),
            "elapsed_s": round(float(self.elapsed_s), 3),
        }
        if self.forecast is not None:
            out["forecast"] = self.forecast.to_dict()
        return out

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """The result as JSON; written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            atomic_write_text(path, text + "\n")
        return text

    def summary(self) -> str:
        """A few lines: the selected PDE and its scores."""
        m = self.metrics
        lines = [f"{self.source or 'field'}: {len(self.candidates)} candidate PDE(s), selected:"]
        lines += [f"  {f}_t = {sympy.sstr(self.equations[f])}" for f in self.fields]
        rel = m.get("rel_l2")
        lines.append(f"  re-simulation rel. L2 {rel:.3g}" if isinstance(rel, float) else "  (not re-simulated)")
        fc = self.forecast
        if fc is not None:
            back = f", backtest rel. L2 {fc.rel_l2:.3g}" if fc.rel_l2 is not None else ""
            lines.append(f"  {fc.model} forecast of t in [{fc.t[0]:.4g}, {fc.t[-1]:.4g}]{back}")
        return "\n".join(lines)
