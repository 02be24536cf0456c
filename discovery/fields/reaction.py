"""Non-polynomial reaction terms of a PDE: symbolic regression on what the transport part leaves unexplained.

The library of :mod:`discovery.fields.library` holds polynomials of the fields under derivatives, so a
reaction-diffusion law with Monod, Hill or exponential kinetics (``u_t = 0.05 u_xx + 2 u/(1 + u) - 0.5 u``)
comes out of the sparse regression as a polynomial that fits the field but is not the law
(``0.053 u_xx + 0.99 u - 0.58 u^2 + 0.084 u^3``). When the selected model's right-hand side for a field has
:data:`MIN_REACTION_TERMS` or more terms without a derivative (its *reaction part*), this module looks for a
shorter formula of the fields that explains it:

1. **Separate transport from reaction**, on pointwise (strong-form) rows of the denoised field: ``f_t`` is
   regressed on derivative terms plus a flexible basis of the fields' values (cubic B-splines of one field, a
   degree-5 polynomial of several), a partially linear model whose transport terms and coefficients do not depend
   on a guess of the reaction's form (on clean data the derivative terms are chosen afresh this way; on noisy data,
   whose pointwise derivatives are poor, they are the sparse model's, with its coefficients). What the transport part leaves,
   ``r = f_t - sum c_j D_j``, is the reaction as a function of the fields.
2. **Symbolic regression** of ``r`` on the fields' values (:func:`discovery.methods.sr.fit_symbolic`, pyoperon
   by default) with the operators rational, exponential and periodic reactions need (:data:`REACTION_OPERATORS`,
   ``log`` too where every field is positive). A
   few fits from its front, their inner constants snapped and their unneeded terms pruned
   (:mod:`discovery.methods.distill`); polynomials are dropped (the sparse path has them already).
3. **Refit** each formula's additive terms jointly with the transport terms by least squares (inner constants
   stay as symbolic regression fitted them) and return the new right-hand side with its *size*: the number of
   additive terms plus one per non-polynomial operation (a division by a field, an ``exp``, a ``log``), so
   ``2 u/(1 + u)`` counts 2 terms and ``u_xx + 2 u/(1 + u) - 0.5 u`` 4, the same as the cubic it replaces.

:func:`discovery.fields.api.discover_field` re-simulates each proposal and lets it replace the sparse model under
the same selection rule (fewest terms within the tolerance of the best score).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import sympy

from discovery.fields.library import LibraryTerm

MIN_REACTION_TERMS = 2
"""A field's selected right-hand side needs this many terms without a derivative before its reaction part is
searched (a single linear decay ``-k u`` has nothing shorter)."""
REACTION_OPERATORS = ("add", "sub", "mul", "div", "pow", "exp", "sin", "cos")
"""Operators of the reaction search (``log`` is added where every field is positive). ``sin``/``cos`` are in
(a sine-Gordon-type ``sin(u)`` reaction is a law of its own, and no cubic imitates it over a wide range); a trig
formula has to be as short as the polynomial it replaces and re-simulate as well, as every proposal."""
MAX_POINTS = 4000
"""Grid points given to symbolic regression (a random subset of the interior)."""
N_FORMULAS = 3
"""Fits taken from the symbolic-regression front (each with its snapped and pruned variants)."""
MAX_FAMILIES = 6
"""Saturating families tried in the library: the best of each kind (within the noise a Hill term, a repression,
``exp(-k*u)`` and ``log(u)`` can fit one smooth reaction alike, and the re-simulation should see each), then the
next best of other Hill orders and factors."""
MAX_TERMS = 8
"""Most terms on the sparsity path of a library with a saturating term."""
PATH_MODELS = 3
"""Models per saturating family proposed for re-simulation: the smallest ones on its path that hold the family's
term, up to the knee (the fewest terms within 2% of the path's best residual)."""


@dataclass(frozen=True)
class ReactionProposal:
    """A new right-hand side for one field: transport terms of the sparse model plus a reaction formula."""

    field: int
    expression: sympy.Expr
    terms: list[tuple[str, float]]
    size: int
    reaction: sympy.Expr


def formula_size(expr: sympy.Expr) -> int:
    """Additive terms of ``expr`` plus one per non-polynomial operation (a negative or fractional power, a
    function such as ``exp``).

    Examples
    --------
    >>> u = sympy.Symbol("u")
    >>> formula_size(2 * u / (1 + u) - 0.5 * u), formula_size(u - u**3), formula_size(sympy.exp(-u))
    (3, 2, 2)
    """
    expanded = sympy.expand(expr)
    extra = 0
    for node in sympy.preorder_traversal(expanded):
        if isinstance(node, sympy.Function):
            extra += 1
        elif isinstance(node, sympy.Pow) and not (node.exp.is_Integer and node.exp > 0):
            extra += 1
    return len(sympy.Add.make_args(expanded)) + extra


def _flexible_basis(X: np.ndarray) -> np.ndarray:
    """A basis for an unknown smooth function of the columns of ``X`` (cubic B-splines of one column, a degree-5
    polynomial of standardized columns otherwise)."""
    from sklearn.preprocessing import PolynomialFeatures, SplineTransformer

    if X.shape[1] == 1:
        return SplineTransformer(n_knots=8, degree=3, include_bias=True).fit_transform(X)
    Z = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    return PolynomialFeatures(degree=5, include_bias=True).fit_transform(Z)


def reaction_proposals(system: tuple[np.ndarray, np.ndarray], column: Callable[[sympy.Expr], np.ndarray | None],
                       pointwise: tuple[np.ndarray, np.ndarray], library: Sequence[LibraryTerm],
                       supports: Sequence[Sequence[int]], coefficients: Sequence[np.ndarray],
                       fields: Sequence[str], axes: Sequence[str], *, refit_transport: bool, time_budget_s: float,
                       seed: int = 0, backend: str = "auto") -> list[ReactionProposal]:
    """Reaction formulas for every field whose selected support has :data:`MIN_REACTION_TERMS` terms without a
    derivative (see the module docstring).

    Parameters
    ----------
    system:
        ``(theta (R, K), target (R, F))``: the regression rows (weak or strong form) over ``library`` on which the
        new models are fitted.
    column:
        A term without a derivative (an expression in the field names) -> its column on those rows.
    pointwise:
        Strong-form rows ``(theta (N, K), target (N, F))`` of the denoised field over ``library`` (which must hold
        each field's linear term): where the reaction is read as a function of the fields.
    supports, coefficients:
        Per field, the selected model's support (column indices) and coefficients ``(K,)``.
    refit_transport:
        Estimate the transport coefficients again on the pointwise rows (the partially linear fit of the module
        docstring; for clean data) rather than take the selected model's (noisy data, whose pointwise derivatives
        are poor).
    time_budget_s, seed, backend:
        Symbolic regression per field (``time_budget_s = 0``: the saturating families only).
    """
    F = len(fields)
    linear = []
    for f in range(F):
        unit = tuple(1 if g == f else 0 for g in range(F))
        idx = [j for j, t in enumerate(library) if t.powers == unit and t.order == 0]
        if not idx:
            return []
        linear.append(idx[0])
    theta_p, target_p = pointwise
    rng = np.random.default_rng(seed)
    rows = rng.choice(theta_p.shape[0], size=min(MAX_POINTS, theta_p.shape[0]), replace=False)
    X = theta_p[np.ix_(rows, linear)]  # the fields' values on the sampled points
    symbols = [sympy.Symbol(f) for f in fields]
    operators = REACTION_OPERATORS + (("log",) if np.all(X > 0) else ())
    theta, target = system
    basis = _flexible_basis(X) if refit_transport else None
    out: list[ReactionProposal] = []
    for k, support in enumerate(supports):
        zero = [j for j in support if library[j].order == 0]
        if len(zero) < MIN_REACTION_TERMS:
            continue
        transport = [j for j in support if library[j].order > 0]
        b = target_p[rows, k]
        if refit_transport:
            transport = _transport_support(theta_p[rows], b, basis, library) or transport
        T = theta_p[np.ix_(rows, transport)] if transport else np.empty((len(rows), 0))
        if refit_transport:
            c_T = np.linalg.lstsq(np.hstack([T, basis]), b, rcond=None)[0][: len(transport)]
        else:
            c_T = np.asarray(coefficients[k], dtype=float)[transport]
        r = b - T @ c_T
        out += _saturating(system, column, X, r, library, k, fields, axes)
        transport_exprs = [library[j].expr(fields, axes) for j in transport]
        for h in _symbolic(X, r, fields, symbols, operators, time_budget_s, seed, backend):
            basis = [t.as_coeff_Mul()[1] for t in sympy.Add.make_args(sympy.expand(h))]
            H = [column(e) for e in basis]
            if any(c is None for c in H):
                continue
            c, *_ = np.linalg.lstsq(np.column_stack([theta[:, transport], *H]), target[:, k], rcond=None)
            if not np.all(np.isfinite(c)):
                continue
            parts = [float(ci) * e for ci, e in zip(c, transport_exprs + basis)]
            reaction = sympy.Add(*parts[len(transport):])
            terms = [(library[j].label_for(fields, axes), float(ci)) for j, ci in zip(transport, c)]
            terms += [(sympy.sstr(e), float(ci)) for e, ci in zip(basis, c[len(transport):])]
            out.append(ReactionProposal(k, sympy.Add(*parts), terms, len(transport) + formula_size(reaction),
                                        reaction))
    return out


def _symbolic(X: np.ndarray, r: np.ndarray, fields: Sequence[str], symbols: Sequence[sympy.Symbol],
              operators: Sequence[str], time_budget_s: float, seed: int, backend: str) -> list[sympy.Expr]:
    """Non-polynomial formulas ``r ~ h(fields)`` from the symbolic-regression front, simplest variants first."""
    from discovery.methods.distill import near_best, pick_from_front, prune_terms, snap_inner_constants
    from discovery.methods.sr import fit_symbolic, knee_index, pareto_front
    from discovery.symbolic import to_candidate_expr
    from grammar.errors import GrammarError

    if time_budget_s <= 0:
        return []
    fits = fit_symbolic(X, r, list(fields), backend=backend, operators=operators, max_complexity=20,
                        time_budget_s=time_budget_s, seed=seed)
    front = pareto_front(fits)
    if not front:
        return []
    scale = float(np.sqrt(np.mean(r**2))) or 1.0
    limit = near_best(min(float(f.mse) for f in front), scale)
    formulas: list[sympy.Expr] = []
    for fit in pick_from_front(front, N_FORMULAS, scale, knee=knee_index(front, scale)):
        snapped = snap_inner_constants(fit.expr)
        for expr in (prune_terms(snapped, X, r, list(fields), limit), snapped, fit.expr):
            try:
                expr = to_candidate_expr(expr, data={f: X[:, i] for i, f in enumerate(fields)})
            except GrammarError:
                continue
            if expr.is_polynomial(*symbols) or any(expr == e for e in formulas):
                continue
            formulas.append(expr)
    return formulas


def _saturating(system: tuple[np.ndarray, np.ndarray], column: Callable[[sympy.Expr], np.ndarray | None],
                X: np.ndarray, r: np.ndarray, library: Sequence[LibraryTerm], k: int, fields: Sequence[str],
                axes: Sequence[str]) -> list[ReactionProposal]:
    """Saturating, exponential and logarithmic terms with searched inner constants
    (:func:`discovery.methods.saturating.screen` on the reaction ``r`` at the points ``X``): the best family of
    each kind joins the library, and the sparsity path on the regression rows ``system`` gives the models with it
    (up to :data:`PATH_MODELS`, the smallest first)."""
    from discovery.fields.regression import knee, sparsity_path
    from discovery.methods.saturating import SaturatingConfig, families, screen

    poly = np.column_stack([np.prod(X ** np.asarray(p, dtype=float), axis=1)
                            for p in sorted({t.powers for t in library if t.order == 0})])
    config = SaturatingConfig(max_terms=MAX_FAMILIES)
    ranked = screen(X, r, poly, families(X, fields, config), config)
    firsts: dict[str, int] = {}
    for i, (fam, _, _) in enumerate(ranked):
        firsts.setdefault(fam.kind, i)
    chosen, seen = [], set()
    for i in sorted(firsts.values()) + list(range(len(ranked))):  # the best of each kind, then the next best
        fam, inner, _ = ranked[i]
        key = (fam.kind, fam.order, fam.factor)
        if key not in seen:
            seen.add(key)
            chosen.append((fam, inner))
        if len(chosen) == MAX_FAMILIES:
            break
    symbols = [sympy.Symbol(f) for f in fields]
    theta, target = system
    exprs = [t.expr(fields, axes) for t in library]
    labels = [t.label_for(fields, axes) for t in library]
    out = []
    for fam, inner in chosen:
        term = fam.expr(symbols, inner)
        col = column(term)
        if col is None:
            continue
        augmented = np.column_stack([theta, col])
        new = augmented.shape[1] - 1
        path = [f for f in sparsity_path(augmented, target[:, k], MAX_TERMS) if new in f.support]
        if not path:
            continue
        size = len(knee(path).support)
        for fit in [f for f in path if len(f.support) <= size][:PATH_MODELS]:  # the path is sorted by size
            rest = [j for j in fit.support if j != new]
            k_fit, coef = _refine_inner(fam, inner, symbols, column, theta[:, rest], target[:, k])
            if coef is None:
                continue
            fitted = _integers(fam.expr(symbols, k_fit))
            parts = [float(c) * exprs[j] for c, j in zip(coef, rest)] + [float(coef[-1]) * fitted]
            reaction = sympy.Add(*[float(c) * exprs[j] for c, j in zip(coef, rest) if library[j].order == 0],
                                 float(coef[-1]) * fitted)
            terms = [(labels[j], float(c)) for c, j in zip(coef, rest)] + [(sympy.sstr(fitted), float(coef[-1]))]
            size = len(rest) + formula_size(float(coef[-1]) * fitted)
            out.append(ReactionProposal(k, sympy.Add(*parts), terms, size, reaction))
    return out


def _refine_inner(fam, inner: float, symbols: Sequence[sympy.Symbol], column: Callable[[sympy.Expr], np.ndarray | None],
                  A: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray | None]:
    """The family's inner constant refined on the regression rows (a bounded search over a factor of 4 either
    side of the screen's value, which was read off noisy pointwise derivatives) with the other columns ``A``;
    returns the constant and the least-squares coefficients (``A``'s, then the term's)."""
    from scipy.optimize import minimize_scalar

    def fit(k: float) -> tuple[float, np.ndarray | None]:
        col = column(fam.expr(symbols, k))
        if col is None:
            return np.inf, None
        M = np.column_stack([A, col])
        c, *_ = np.linalg.lstsq(M, b, rcond=None)
        return float(np.sum((M @ c - b) ** 2)), c

    start, coef = fit(inner)
    if fam.kind == "log" or inner <= 0:
        return inner, coef
    found = minimize_scalar(lambda z: fit(float(np.exp(z)))[0], bounds=(np.log(inner) - 1.4, np.log(inner) + 1.4),
                            method="bounded", options={"xatol": 1e-3, "maxiter": 40})
    if not (np.isfinite(found.fun) and found.fun <= start):
        return inner, coef
    k_best = float(f"{float(np.exp(found.x)):.4g}")
    return k_best, fit(k_best)[1]


def _integers(expr: sympy.Expr) -> sympy.Expr:
    """Whole-number floats written as integers (``exp(-1.0*u)`` -> ``exp(-u)``, ``u/(u + 1.0)`` -> ``u/(u + 1)``)."""
    return expr.xreplace({f: sympy.Integer(int(f)) for f in expr.atoms(sympy.Float) if float(f) == int(f)})


def _transport_support(theta: np.ndarray, b: np.ndarray, basis: np.ndarray, library: Sequence[LibraryTerm],
                       max_terms: int = 4) -> list[int]:
    """The derivative terms of the law found without a guess of its reaction: ``b`` and every derivative column
    of ``theta`` are first stripped of what a flexible function of the fields explains (``basis``,
    :func:`_flexible_basis`: the Frisch-Waugh-Lovell step of a partially linear model), then the knee of a sparsity
    path (:func:`~discovery.fields.regression.knee`) is taken.
    A polynomial library that cannot imitate the reaction (``sin(u)`` over a wide range) leaves the sparse model
    with wrong derivative terms; this support does not depend on them."""
    from discovery.fields.regression import knee, sparsity_path

    derivative = [j for j, t in enumerate(library) if t.order > 0]
    if not derivative:
        return []
    project = lambda A: A - basis @ np.linalg.lstsq(basis, A, rcond=None)[0]  # noqa: E731
    path = sparsity_path(project(theta[:, derivative]), project(b), max_terms)
    return [derivative[j] for j in knee(path).support] if path else []
