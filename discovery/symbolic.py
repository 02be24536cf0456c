"""Turn what a method found into clean candidate expressions: simplified, pruned, rounded, inside the grammar.

Every method (``sindy``, ``sr``, the distilled ``pinn`` and ``node``) passes its raw sympy expressions through
:func:`to_candidate_expr` before making a :class:`~discovery.methods.base.Candidate`, so that all candidates
look alike: expanded sums of terms, no negligible terms, constants with a few significant digits, and every
node an operator of the grammar (``grammar.to_prefix`` accepts it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy

from grammar.errors import GrammarError

DEFAULT_DIGITS = 4
"""Significant digits kept in every constant of a candidate."""
DEFAULT_REL_TOL = 1e-3
"""Terms smaller than this fraction of the largest term of a sum are dropped."""
_MAX_EXPAND_GROWTH = 4
"""Expansion is kept only when it does not make the expression more than this many times larger."""


def rms(values: np.ndarray, axis: int | None = 0) -> np.ndarray:
    """Root mean square along ``axis`` without overflow or underflow of the squares: values are divided by their
    largest magnitude first, so states of 1e-100 or 1e100 (and their library terms) measure as they should.

    Examples
    --------
    >>> float(rms(np.array([3e-200, 4e-200]), axis=None)) / 1e-200  # sqrt(12.5); the squares underflow to 0
    3.5355339059327373
    """
    a = np.asarray(values, dtype=float)
    top = np.max(np.abs(a), axis=axis, keepdims=True)
    safe = np.where(np.isfinite(top) & (top > 0), top, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        out = safe * np.sqrt(np.mean((a / safe) ** 2, axis=axis, keepdims=True))
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def _size(expr: sympy.Basic) -> int:
    return sum(1 for _ in sympy.preorder_traversal(expr))


def simplify_bounded(expr: sympy.Expr) -> sympy.Expr:
    """Cheap, bounded simplification: expand products and powers of sums, fold numbers, keep the smaller form.

    Full ``sympy.simplify`` is slow and unpredictable on machine-found formulas; expansion turns the typical
    output of symbolic regression (``-0.49*(1.43 - 3.59*a)*(1.42*b)``) into a plain sum of terms
    (``2.5*a*b - 0.996*b``), which is what pruning and rounding need. Powers with an integer-valued float
    exponent get an integer exponent. When expansion would blow up the expression (a power of a long sum),
    the unexpanded form is kept.

    Parameters
    ----------
    expr:
        Any sympy expression.

    Returns
    -------
    sympy.Expr
        An equivalent expression, expanded when that stays small.

    Examples
    --------
    >>> import sympy
    >>> a, b = sympy.symbols("a b")
    >>> simplify_bounded(-0.5 * (1.0 - 4.0 * a) * (2.0 * b))
    4.0*a*b - 1.0*b
    """
    expr = _integer_exponents(sympy.sympify(expr))
    # A power of a sum with a large exponent explodes when expanded: check the largest one first.
    for p in expr.atoms(sympy.Pow):
        if isinstance(p.base, sympy.Add) and p.exp.is_Integer and abs(int(p.exp)) * len(p.base.args) > 40:
            return expr
    expanded = sympy.expand(expr)
    if _size(expanded) > _MAX_EXPAND_GROWTH * _size(expr) + 10:
        return expr
    return expanded


def _integer_exponents(expr: sympy.Expr) -> sympy.Expr:
    """``x**2.0 -> x**2`` (pyoperon and PySR write integer powers as floats)."""
    repl = {}
    for p in expr.atoms(sympy.Pow):
        e = p.exp
        if isinstance(e, sympy.Float) and float(e) == int(float(e)):
            repl[p] = sympy.Pow(p.base, sympy.Integer(int(float(e))))
    return expr.xreplace(repl) if repl else expr


def round_floats(expr: sympy.Expr, digits: int = DEFAULT_DIGITS) -> sympy.Expr:
    """Round every float constant to ``digits`` significant digits; unit coefficients become exact.

    ``1.0*x`` becomes ``x`` and ``-1.0*x`` becomes ``-x``; other floats stay floats (they are fitted
    constants that refinement may adjust), integer literals and rationals are left alone.

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> round_floats(2.666666666 * x + 1.00001 * x**2)
    x**2 + 2.667*x
    """
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits}")
    repl = {}
    for f in expr.atoms(sympy.Float):
        value = float(f)
        if not np.isfinite(value):
            continue
        rounded = float(f"{value:.{digits}g}")
        if rounded in (1.0, -1.0, 0.0):
            repl[f] = sympy.Integer(int(rounded))
        else:
            repl[f] = sympy.Float(rounded, max(digits, 15))
    return expr.xreplace(repl) if repl else expr


def _term_magnitudes(
    terms: tuple[sympy.Expr, ...], data: Mapping[str, np.ndarray] | None
) -> np.ndarray:
    """Size of each term of a sum: its RMS over ``data`` when given, else the size of its numeric factor."""
    used = sorted({s for t in terms for s in t.free_symbols}, key=str)  # symbols, never names to re-read
    if data is not None and all(s.name in data for s in used):
        from grammar.operators import numpy_function

        shape = np.shape(next(iter(data.values())))
        with np.errstate(all="ignore"):  # one lambdify for all terms: it is the slow part
            values = numpy_function(used, terms)(
                *(data[s.name] for s in used)
            )
        mags = []
        for value in values:
            value = np.broadcast_to(np.asarray(value, dtype=float), shape)
            mags.append(float(rms(value, axis=None)) if np.all(np.isfinite(value)) else np.inf)
        return np.asarray(mags)
    return np.asarray([abs(float(t.as_coeff_Mul()[0])) for t in terms])


def prune_small_terms(
    expr: sympy.Expr,
    rel_tol: float = DEFAULT_REL_TOL,
    data: Mapping[str, np.ndarray] | None = None,
) -> sympy.Expr:
    """Drop the terms of a sum that are negligible next to its largest term.

    A term's size is its RMS over ``data`` (a mapping from variable name to values, shape ``(N,)``) when
    given, which compares terms of different scales fairly (``1e-3*x**3`` with ``x ~ 30`` is not small);
    without data it is the absolute value of the term's numeric factor. The rule is applied to the top-level
    sum and, recursively, to sums inside function arguments and denominators.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> prune_small_terms(3.0 * x + 1e-7 * y + 2.0)
    3.0*x + 2.0
    """
    if rel_tol < 0:
        raise ValueError(f"rel_tol must be >= 0, got {rel_tol}")

    def inner(e: sympy.Expr, top: bool) -> sympy.Expr:
        if e.is_Atom:
            return e
        if isinstance(e, sympy.Add):
            terms = tuple(inner(t, False) for t in e.args)
            mags = _term_magnitudes(terms, data if top else None)
            biggest = float(np.max(mags)) if len(mags) else 0.0
            if biggest == 0.0 or not np.isfinite(biggest):
                return sympy.Add(*terms)
            kept = [t for t, m in zip(terms, mags) if m >= rel_tol * biggest]
            return sympy.Add(*kept)
        return e.func(*(inner(a, False) for a in e.args))

    return inner(sympy.sympify(expr), True)


def check_in_grammar(expr: sympy.Expr) -> None:
    """Raise :class:`~grammar.errors.GrammarError` unless ``expr`` is finite and the grammar can write its form.

    The form is checked, not the size of its constants: data in units where a constant is ``1e-40`` is as valid
    as data where it is ``0.1`` (the prefix encoding's exponent range, :data:`grammar.numbers.MAX_EXPONENT`, only
    bounds what the PROSE tokenizer reads).
    """
    from grammar.numbers import MAX_EXPONENT
    from grammar.prefix import to_prefix

    bad = [a for a in expr.atoms() if a in (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo)]
    bad += [f for f in expr.atoms(sympy.Float) if not np.isfinite(float(f))]
    if bad:
        raise GrammarError(f"expected a finite expression, found {bad[0]} in {expr}")
    lo, hi = 10.0 ** -MAX_EXPONENT, 10.0 ** MAX_EXPONENT
    clamped = {f: sympy.Float(np.copysign(min(max(abs(float(f)), lo), hi), float(f)))
               for f in expr.atoms(sympy.Float) if float(f) != 0 and not lo <= abs(float(f)) <= hi}
    # Any variable name is the user's (``add``, ``E1``, ``N314`` are operator or number tokens of the prefix
    # notation): the form is checked in canonical names.
    names = {sym: sympy.Symbol(f"x_{i}") for i, sym in enumerate(sorted(expr.free_symbols, key=str))}
    to_prefix(expr.xreplace({**clamped, **names}))


def to_candidate_expr(
    expr: sympy.Expr,
    *,
    digits: int = DEFAULT_DIGITS,
    rel_tol: float = DEFAULT_REL_TOL,
    data: Mapping[str, np.ndarray] | None = None,
    check: bool = True,
) -> sympy.Expr:
    """Clean a raw expression into a candidate right-hand side.

    Steps: :func:`simplify_bounded`, :func:`prune_small_terms` (with ``data`` when given), :func:`round_floats`,
    one more expansion to merge what rounding made equal, and finally :func:`check_in_grammar`.

    Parameters
    ----------
    expr:
        Raw expression in the variables' symbols.
    digits:
        Significant digits kept in constants.
    rel_tol:
        Relative size under which a term is dropped.
    data:
        Optional variable name -> values ``(N,)`` used to measure the size of terms.
    check:
        Check that the result is inside the grammar.

    Returns
    -------
    sympy.Expr
        The cleaned expression.

    Raises
    ------
    GrammarError
        If the expression is not finite (``nan``, ``zoo``) or uses an operator outside the grammar.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> to_candidate_expr(-0.49999999 * (2.0 * x - 4.0 * y) * 1.0 + 1e-9 * x * y)
    -x + 2.0*y
    """
    out = simplify_bounded(expr)
    out = prune_small_terms(out, rel_tol=rel_tol, data=data)
    out = round_floats(out, digits=digits)
    out = simplify_bounded(out)
    out = round_floats(out, digits=digits)
    if check:
        check_in_grammar(out)
    return out


def to_candidate_system(
    equations: Mapping[str, sympy.Expr], **options: object
) -> dict[str, sympy.Expr]:
    """Apply :func:`to_candidate_expr` to every right-hand side of a system (same options)."""
    return {name: to_candidate_expr(e, **options) for name, e in equations.items()}  # type: ignore[arg-type]
