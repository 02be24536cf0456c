"""What a symbolic-regression formula may contain, from what the data shows, and what its parts cost.

Genetic programming buys accuracy with whatever operator it is given: over a state that spans a radian or two,
``cos(3.3*v)`` is one node cheaper than ``1 - 5.5*v**2`` and fits a saturating curve as well, so a toggle switch
comes back with a cosine. Three rules keep elementary functions to what the data gives a reason for:

1. **Operators from the data** (:func:`choose_operators`). ``sin``/``cos``/``tan`` are offered only when a
   periodic term shows itself in a sparse fit: some state spans at least ``min_range`` (pi by default, as the
   ``sindy`` method's ``trig_min_range``: over less, ``sin(v)`` and ``v - v**3/6`` fit alike) and ``sin`` or
   ``cos`` of such a state is in the best support of some derivative when the library with those terms competes
   with the polynomial one under the ``sindy`` score (:func:`trig_evidence`). A pendulum's ``sin(theta)`` passes;
   a predator-prey law does not. ``log`` and ``sqrt`` are offered only when every state is positive.
2. **A periodic function must show its period** (:func:`trig_spans`): a formula in which the argument of a
   ``sin``/``cos`` spans less than ``min_range`` over the data uses it as a bump, not as a period, and is left out.
3. **Functions cost more** (:func:`formula_cost`): in the choice of a formula from a front, each function counts
   :data:`~discovery.methods.base.FUNCTION_WEIGHT` nodes, as in the pipeline's selection rule, and a function
   nested in another one twice that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy

from discovery.methods.base import FUNCTION_WEIGHT

TRIG_OPERATORS = ("sin", "cos", "tan")
"""Grammar operators that are periodic."""
POSITIVE_OPERATORS = ("log", "sqrt")
"""Grammar operators defined only for positive arguments."""
_TRIG_FUNCTIONS = (sympy.sin, sympy.cos, sympy.tan)

__all__ = ["TRIG_OPERATORS", "choose_operators", "formula_cost", "trig_evidence", "trig_spans"]


def formula_cost(expr: sympy.Expr) -> int:
    """Node count in which a function application counts ``FUNCTION_WEIGHT`` nodes, twice that inside another.

    Examples
    --------
    >>> x, y = sympy.symbols("x y")
    >>> formula_cost(x * y), formula_cost(sympy.sin(x)), formula_cost(sympy.sin(sympy.sin(x)))
    (3, 4, 10)
    """
    def cost(node: sympy.Basic, depth: int) -> int:
        is_function = isinstance(node, sympy.Function)
        own = FUNCTION_WEIGHT * (2 if depth > 0 else 1) if is_function else 1
        return own + sum(cost(a, depth + is_function) for a in node.args)

    return cost(sympy.sympify(expr), 0)


def trig_evidence(
    x: np.ndarray,
    dx: np.ndarray,
    names: Sequence[str],
    *,
    min_range: float = float(np.pi),
    degree: int = 3,
    other_cost: float = 1.5,
    max_rows: int = 1000,
) -> list[str]:
    """The states whose ``sin`` or ``cos`` earns a place in a sparse model of the derivatives.

    For the states spanning at least ``min_range``, the polynomial library (up to ``degree``) and the same with
    ``sin`` and ``cos`` of those states are searched with the ``sindy`` method's sparsity path; per derivative,
    the support with the best score (:func:`~discovery.methods.sindy_path.support_score`, a trigonometric term
    costing ``other_cost`` monomials) over both libraries is kept. Returns the names of the states whose ``sin``
    or ``cos`` is in one of those supports.

    Parameters
    ----------
    x, dx:
        Smoothed states (and any input columns), shape ``(N, K)``, and the derivatives, ``(N, D)``.
    names:
        The ``K`` column names of ``x``.
    """
    from discovery.errors import DiscoveryError
    from discovery.methods.sindy_library import build_library
    from discovery.methods.sindy_path import sparsity_path, support_score

    eligible = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) >= min_range]
    if not eligible:
        return []
    step = int(np.ceil(len(x) / max_rows))
    xs, ys = x[::step], dx[::step]  # (n, D) each
    thresholds = np.geomspace(2e-3, 0.5, 16)
    best: list[tuple[float, list[str]]] = [(np.inf, []) for _ in range(ys.shape[1])]
    for lib_name in ("poly", "poly_trig"):
        lib = build_library(lib_name, xs, names, degree=degree, trig_vars=eligible)
        costs = np.asarray([1.0 if f.is_polynomial() else other_cost for f in lib.features])
        theta = lib.transform(xs)
        if not np.all(np.isfinite(theta)):
            continue
        try:
            paths = sparsity_path(theta, ys, thresholds, beam_width=4, beam_terms=8)
        except DiscoveryError:  # too few rows for the library: no evidence either way
            return []
        for d, points in enumerate(paths):
            for p in points:
                score = support_score(p, cost=float(np.sum(costs[list(p.support)])))
                if score < best[d][0]:
                    best[d] = (score, [lib.labels[j] for j in p.support if not lib.features[j].is_polynomial()])
    found = {str(s) for _, labels in best for label in labels for s in sympy.sympify(label).free_symbols}
    return [n for n in names if n in found]


def choose_operators(
    operators: Sequence[str], x: np.ndarray, dx: np.ndarray, names: Sequence[str], min_range: float = float(np.pi)
) -> tuple[tuple[str, ...], list[str]]:
    """The operators of ``operators`` the data gives a reason for, and one line per operator left out.

    Trigonometric operators stay when :func:`trig_evidence` names a state; ``log`` and ``sqrt`` when every state is
    positive. Others always stay.

    Examples
    --------
    >>> t = np.linspace(0, 10, 500)
    >>> x = np.stack([np.exp(-t), 1 + 0.5 * np.exp(-2 * t)], axis=1)
    >>> dx = np.stack([-x[:, 0], -2 * (x[:, 1] - 1)], axis=1)
    >>> choose_operators(("add", "mul", "sin", "log"), x, dx, ["a", "b"])[0]
    ('add', 'mul', 'log')
    """
    kept, dropped = list(operators), []
    if any(op in TRIG_OPERATORS for op in kept):
        states = trig_evidence(x, dx, names, min_range=min_range)
        if not states:
            kept = [op for op in kept if op not in TRIG_OPERATORS]
            dropped.append(f"sin/cos: no state spans {min_range:.3g} with a periodic term in its sparse model")
    if any(op in POSITIVE_OPERATORS for op in kept) and not np.all(x > 0):
        kept = [op for op in kept if op not in POSITIVE_OPERATORS]
        dropped.append("log/sqrt: the states are not all positive")
    return tuple(kept), dropped


def trig_spans(expr: sympy.Expr, data: dict[str, np.ndarray], min_range: float = float(np.pi)) -> bool:
    """Whether the argument of every ``sin``/``cos``/``tan`` in ``expr`` spans at least ``min_range`` over ``data``
    (arrays by variable name). A formula without them passes.

    Examples
    --------
    >>> v = sympy.Symbol("v")
    >>> data = {"v": np.linspace(0.0, 0.5, 50)}
    >>> trig_spans(sympy.cos(3.3 * v) + v, data), trig_spans(sympy.cos(10 * v), data), trig_spans(v, data)
    (False, True, True)
    """
    from grammar.operators import numpy_namespace

    for f in expr.atoms(*_TRIG_FUNCTIONS):
        arg = f.args[0]
        names = sorted(str(s) for s in arg.free_symbols)
        if not names:
            continue
        with np.errstate(all="ignore"):
            values = sympy.lambdify([sympy.Symbol(n) for n in names], arg,
                                    modules=[numpy_namespace(), "numpy"])(*(data[n] for n in names))
        values = np.asarray(values, dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size == 0 or np.ptp(finite) < min_range:
            return False
    return True
