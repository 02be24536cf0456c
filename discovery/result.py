"""The result of a discovery run, and its exports (JSON, LaTeX, numpy, torch, Python source)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import sympy

from discovery.methods.base import Candidate
from discovery.prediction import OperatorPrediction

__all__ = ["DiscoveryResult", "equation_strings", "json_safe", "parse_equation_strings"]


def _version() -> str:
    from discovery import __version__

    return __version__


def equation_strings(equations: dict[str, sympy.Expr]) -> dict[str, str]:
    """Right-hand sides as strings that ``sympy.sympify`` parses back, in the variable names."""
    return {v: sympy.sstr(e) for v, e in equations.items()}


def parse_equation_strings(equations: dict[str, str], variables: list[str],
                           inputs: Sequence[str] = ()) -> dict[str, sympy.Expr]:
    """Parse right-hand-side strings (from a result JSON) through the grammar's safe parser (no hidden terms); they
    may use the ``inputs`` (inputs and parameters) and the time ``t``."""
    from grammar import parse

    params = [*inputs, "t"]
    return {v: parse(equations[v], variables=variables, params=params, hidden=False) for v in variables}


def json_safe(value: Any) -> Any:
    """Make metrics JSON-safe (numpy scalars to Python, non-finite floats to ``None``)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if np.isfinite(f) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _read_uncertainty(d: dict[str, Any]) -> dict[str, Any] | None:
    """The ``uncertainty`` and ``constants`` entries of a result JSON, checked for shape (``None`` if absent)."""
    terms, consts = d.get("uncertainty"), d.get("constants")
    if not terms:
        return None
    if not isinstance(terms, dict) or not all(isinstance(rows, list) for rows in terms.values()):
        raise ValueError("result JSON: 'uncertainty' must map each variable to a list of terms")
    if consts is not None:
        cov = np.asarray(consts.get("covariance", []), dtype=float) if isinstance(consts, dict) else None
        if cov is None or cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
            raise ValueError("result JSON: 'constants.covariance' must be a square matrix")
    return {"terms": terms, "constants": consts}


@dataclass
class DiscoveryResult:
    """Ranked candidate equations for one dataset.

    Attributes
    ----------
    variables:
        State variable names.
    candidates:
        Every scored candidate, best first (see :func:`discovery.pipeline.scoring.select_best` for the rule).
    front:
        The Pareto front of complexity vs error among ``candidates``, by increasing complexity.
    operator_predictions:
        Neural-operator predictions (PROSE's data decoder, DeepONet) made during the run.
    source:
        Where the data came from (file name), if known.
    elapsed_s:
        Wall time of the run.
    warnings:
        Problems met on the way that did not stop the run (a method that failed, a candidate dropped), one line each.
    uncertainty:
        How sure the selected model is (intervals, inclusion probabilities; see :meth:`term_uncertainty`).
    inputs, parameters:
        The data's measured inputs and per-trajectory parameters: symbols the equations may use (besides the
        variables and the time ``t``) that have no equation of their own; :meth:`simulate` takes their values.

    Examples
    --------
    >>> from discovery import discover, simulate
    >>> result = discover(simulate("lotka_volterra", noise=0.0), method="sindy")  # doctest: +SKIP
    >>> result.equations["x"]  # doctest: +SKIP
    1.0*x - 0.1*x*y
    """

    variables: tuple[str, ...]
    candidates: list[Candidate]
    front: list[Candidate] = field(default_factory=list)
    operator_predictions: list[OperatorPrediction] = field(default_factory=list)
    source: str | None = None
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    uncertainty: dict[str, Any] | None = None
    """``{"terms": {variable: [{term, coefficient, interval, inclusion[, inner]}]}, "constants": {values,
    covariance, noise_std, level}}`` from :mod:`discovery.pipeline.uncertainty` (``None`` when not computed)."""
    inputs: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()

    @property
    def external(self) -> tuple[str, ...]:
        """The inputs, then the parameters: the order of the values :meth:`simulate` and the exports take."""
        return tuple(self.inputs) + tuple(self.parameters)

    # --- the best model -------------------------------------------------------------------------------
    @property
    def best(self) -> Candidate:
        return self.candidates[0]

    @property
    def equations(self) -> dict[str, sympy.Expr]:
        """Right-hand side of d v/dt for each variable ``v`` (sympy), of the best candidate."""
        return dict(self.best.equations)

    @property
    def method(self) -> str:
        return self.best.method

    @property
    def operator_prediction(self) -> OperatorPrediction | None:
        """The run's first neural-operator prediction (PROSE's when ``prose`` ran), or ``None``.

        Its ``times``, ``values`` and ``model`` say when, what and which model; every prediction of the run is in
        :attr:`operator_predictions`.
        """
        return self.operator_predictions[0] if self.operator_predictions else None

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.best.metrics)

    # --- reading it -----------------------------------------------------------------------------------
    def summary(self, precision: int = 4) -> str:
        """A few readable lines: the selected equations, their fit, the method, the run's warnings.

        Examples
        --------
        >>> from discovery import discover, simulate
        >>> print(discover(simulate("lotka_volterra"), method="sindy").summary())  # doctest: +SKIP
        dx/dt = -0.1*x*y + x
        dy/dt = 0.075*x*y - 1.5*y
        method sindy; R^2 1.0000 (whole trajectories), 1.0000 (short windows); complexity 16; 7 candidates; 2.1 s
        """
        lines = [f"d{v}/dt = {self.equation_text(v, precision)}" for v in self.variables]
        m = self.best.metrics

        def r2(key: str) -> str:
            value = m.get(key)
            return "n/a" if value is None else f"{value:.4f}"

        lines.append(f"method {self.method}; R^2 {r2('r2')} (whole trajectories), {r2('r2_window')} (short windows); "
                     f"complexity {self.best.complexity}; {len(self.candidates)} candidate"
                     f"{'s' * (len(self.candidates) != 1)}; {self.elapsed_s:.1f} s")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def term_uncertainty(self) -> dict[str, list[dict[str, Any]]]:
        """Per variable, each term of the selected model with its coefficient, ``level`` interval (``None`` where
        not computed) and inclusion probability; empty without uncertainty."""
        return dict((self.uncertainty or {}).get("terms") or {})

    def equation_text(self, v: str, precision: int = 4) -> str:
        """The selected model's right-hand side of ``d v/dt`` as text, each coefficient written ``(c +- h)`` (half
        the width of its interval) where the result has its uncertainty."""
        rows = [r for r in self.term_uncertainty().get(v, []) if not r.get("inner")]
        expr = self.best.equations[v]
        if not any(r.get("interval") is not None for r in rows) or len(rows) != len(sympy.Add.make_args(sympy.expand(expr))):
            return sympy.sstr(expr.evalf(precision))
        parts = []
        for r in rows:
            c = r["coefficient"]
            if r.get("interval") is None:  # a fixed coefficient (the 1 of '-x', an integer): no interval
                text = f"{c:.{precision}g}" if r["term"] == "1" or abs(c) != 1 else ("-" if c < 0 else "")
            else:
                lo, hi = r["interval"]
                text = f"({c:.{precision}g} +- {(hi - lo) / 2.0:.2g})"
            parts.append(text if r["term"] == "1" else f"{text}*{r['term']}" if text not in ("", "-") else
                         f"{text}{r['term']}")
        return " + ".join(parts).replace("+ -", "- ")

    def prediction_band(self, x0: np.ndarray, t: np.ndarray, *, n: int = 40, seed: int = 0,
                        scale: np.ndarray | None = None,
                        inputs: Any = None) -> tuple[np.ndarray, np.ndarray] | None:
        """Lower and upper bands ``(N, D)`` of the selected model from ``x0`` over ``t``, its constants drawn from
        their uncertainty (at the level of the intervals); ``None`` without uncertainty or when draws fail.
        ``inputs`` are the input signals, as :meth:`simulate` takes them."""
        consts = (self.uncertainty or {}).get("constants")
        if not consts:
            return None
        from discovery.inputs import input_function
        from discovery.pipeline.uncertainty import prediction_band

        u = input_function(inputs, np.asarray(t, float), self.external)
        return prediction_band(self.best.equations, self.variables, np.asarray(consts["covariance"], dtype=float),
                               np.asarray(x0, float), np.asarray(t, float), n=n, seed=seed,
                               level=float(consts.get("level", 0.95)), scale=scale, inputs=self.external, u=u)

    def __repr__(self) -> str:
        eqs = "; ".join(f"d{v}/dt = {sympy.sstr(self.best.equations[v].evalf(4))}" for v in self.variables) \
            if self.candidates else "(no candidates)"
        r2 = self.best.metrics.get("r2") if self.candidates else None
        shown = "n/a" if r2 is None else f"{r2:.4f}"
        src = f"{self.source!r}, " if self.source else ""
        return (f"DiscoveryResult({src}{eqs}; method {self.method if self.candidates else 'n/a'}, R^2 {shown}, "
                f"{len(self.candidates)} candidates)")

    def latex(self, candidate: Candidate | None = None) -> str:
        """The system as LaTeX (an ``aligned`` block of ``\\dot{v} = ...`` lines)."""
        cand = candidate or self.best
        lines = [
            rf"\dot{{{sympy.latex(sympy.Symbol(v))}}} &= {sympy.latex(cand.equations[v])}" for v in self.variables
        ]
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    # --- exports ------------------------------------------------------------------------------------------
    def rhs_numpy(self, candidate: Candidate | None = None) -> Callable[..., np.ndarray]:
        """``f(t, x) -> dx/dt`` as a numpy function (``x`` of shape ``(D,)``); for a driven system
        ``f(t, x, u)``, with ``u`` the values of :attr:`external` (the inputs, then the parameters) at ``t``."""
        from discovery.simulation import lambdify_system

        cand = candidate or self.best
        exprs, names = [cand.equations[v] for v in self.variables], list(self.variables)
        if not self.external:
            return lambdify_system(exprs, names)
        values: list[np.ndarray] = []
        f = lambdify_system(exprs, names, self.external, lambda _t: values[0])

        def rhs(t: float, x: np.ndarray, u: np.ndarray) -> np.ndarray:
            values[:] = [np.asarray(u, dtype=float).reshape(-1)]
            return f(t, x)

        return rhs

    def rhs_torch(self, candidate: Candidate | None = None, learn_constants: bool = False) -> Any:
        """The right-hand side as a ``torch.nn.Module`` with ``forward(t, x)``, ``x`` of shape ``(B, D)``
        (``forward(t, x, u)`` for a driven system, ``u`` of shape ``(B, M)``: the values of :attr:`external`)."""
        from models.torch_system import SympySystem

        cand = candidate or self.best
        return SympySystem({v: cand.equations[v] for v in self.variables}, learn_constants=learn_constants,
                           inputs=self.external)

    def python_source(self, candidate: Candidate | None = None, name: str = "rhs") -> str:
        """Source code of a standalone numpy function ``rhs(t, state)`` for the right-hand side.

        The user's names and the method appear only quoted (:mod:`discovery.python_export`); the code itself uses
        internal identifiers, so no variable name can shadow ``numpy`` or a temporary.
        """
        from discovery.python_export import system_source

        cand = candidate or self.best
        return system_source(self.variables, cand.equations, method=cand.method, name=name, inputs=self.external)

    def simulate(
        self,
        x0: np.ndarray,
        t: np.ndarray,
        candidate: Candidate | None = None,
        *,
        scale: np.ndarray | None = None,
        max_abs: float | None = None,
        inputs: Any = None,
    ) -> np.ndarray:
        """Integrate the best (or the given) candidate from ``x0`` over times ``t``; returns ``(N, D)``.

        A driven model needs ``inputs``: a callable ``u(t)`` returning the values of :attr:`external` (the inputs,
        then the parameters), an array ``(N, M)`` of them on ``t`` (interpolated linearly in between), or a dict
        ``name -> callable, array (N,) or number`` (:func:`discovery.inputs.input_function`).

        The state comes first, as in :func:`discovery.simulation.integrate` and pysindy's ``simulate(x0, t)``;
        the old order ``simulate(t, x0)`` still works for one release, with a ``DeprecationWarning``. ``scale`` is
        the typical size of each variable (``discovery.simulation.state_scale`` of the data; default that of
        ``x0``): tolerances and the blow-up bound ``max_abs`` (default relative to it) are in its units.
        """
        from discovery.pipeline.scoring import simulate_candidate

        x0, t = np.asarray(x0, float), np.asarray(t, float)
        D = len(self.variables)
        if x0.ndim == 1 and x0.size != D and t.ndim == 1 and t.size == D:
            import warnings

            warnings.warn("DiscoveryResult.simulate(t, x0) is deprecated; call simulate(x0, t) (state first)",
                          DeprecationWarning, stacklevel=2)
            x0, t = t, x0
        from discovery.inputs import input_function

        cand = candidate or self.best
        u = input_function(inputs, t, self.external)
        return simulate_candidate(cand.equations, self.variables, x0, t, scale=scale, max_abs=max_abs,
                                  inputs=self.external, u=u)

    def plot(
        self,
        data: Any,
        path: str | Path | None = None,
        *,
        horizon: float = 0.5,
        max_trajectories: int = 3,
        candidate: Candidate | None = None,
    ) -> Any:
        """A matplotlib figure: the data, the model re-simulated over it and ``horizon`` windows beyond, and the
        operator predictions (:mod:`discovery.plotting`); written as PNG to ``path`` when given.

        ``data`` is what the result was discovered from: trajectories, or anything ``discover`` reads (a file, a
        DataFrame).
        """
        from discovery.data import Trajectories, load_trajectories
        from discovery.plotting import result_figure, save_figure

        if not isinstance(data, Trajectories):
            data = load_trajectories(data, variables=list(self.variables), inputs=list(self.inputs),
                                     parameters=list(self.parameters))
        fig = result_figure(self, data, horizon=horizon, max_trajectories=max_trajectories, candidate=candidate)
        if path is not None:
            save_figure(fig, path)
        return fig

    # --- serialization ---------------------------------------------------------------------------------------
    @staticmethod
    def _candidate_dict(c: Candidate) -> dict[str, Any]:
        return {
            "method": c.method,
            "equations": equation_strings(c.equations),
            "metrics": json_safe({**c.metrics, "complexity": c.complexity}),
            "info": json_safe(c.info),
        }

    def to_dict(self, include_predictions: bool = True) -> dict[str, Any]:
        """The result contract of DESIGN.md (plus ``front``, ``warnings`` and ``operator_predictions``)."""
        best = self._candidate_dict(self.best)
        d: dict[str, Any] = {
            "source": self.source,
            "variables": list(self.variables),
            "inputs": list(self.inputs),
            "parameters": list(self.parameters),
            "equations": best["equations"],
            "method": best["method"],
            "metrics": best["metrics"],
            "candidates": [self._candidate_dict(c) for c in self.candidates],
            "front": [self.candidates.index(c) for c in self.front if c in self.candidates],
            "warnings": list(self.warnings),
            "uncertainty": json_safe(self.term_uncertainty()) if self.uncertainty else None,
            "constants": json_safe((self.uncertainty or {}).get("constants")),
            "eqdisco_version": _version(),
            "elapsed_s": round(float(self.elapsed_s), 3),
        }
        if include_predictions:
            d["operator_predictions"] = [json_safe(p.to_dict()) for p in self.operator_predictions]
        return d

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """The result as JSON text; also written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            from discovery.io import atomic_write_text

            atomic_write_text(path, text + "\n")
        return text

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DiscoveryResult":
        """Rebuild a result from :meth:`to_dict` output.

        Nothing in ``d`` is trusted: every field is checked (:mod:`discovery.result_schema`) and equations are
        parsed by the grammar's safe parser.

        Raises
        ------
        DiscoveryError
            One line naming the first field that :meth:`to_dict` could not have written.
        """
        from discovery.result_schema import result_fields

        return cls(**result_fields(d), uncertainty=_read_uncertainty(d))
