"""Candidate-term libraries of the ``sindy`` method: a pysindy feature library and the sympy expression of each
of its columns, so that a coefficient vector turns into a formula without parsing pysindy's feature names."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from discovery.errors import DiscoveryError

LIBRARIES = ("poly", "poly_trig", "rational")
"""Names of the candidate libraries :class:`SINDyMethod` knows."""
DEFAULT_LIBRARIES = ("poly", "poly_trig")
"""Libraries searched by default. ``rational`` is opt-in: on the zoo it only ever added false terms (with
``x ~ 10``, ``x*y/(1 + x)`` is nearly ``y``), and no zoo system needs it."""


def _rational_single(a):
    return a / (1 + a)


def _rational_pair_left(a, b):
    return a * b / (1 + a)


def _rational_pair_right(a, b):
    return a * b / (1 + b)


@dataclass
class Library:
    """A fitted pysindy feature library and the sympy expression of each column of its matrix."""

    name: str
    library: Any  # a fitted pysindy BaseFeatureLibrary
    features: list[sympy.Expr]
    labels: list[str] = field(default_factory=list)
    costs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """Cost of each column in model selection: 1 for a monomial, more for other terms (see SINDyConfig)."""
    keep: np.ndarray | None = None
    """The columns of the pysindy library's matrix kept (``None``: all); see ``n_inputs`` of :func:`build_library`."""
    offered: frozenset[str] = frozenset()
    """Labels of the columns another equation found (:func:`~discovery.methods.sindy_generators.shared_libraries`)."""

    def __post_init__(self) -> None:
        self.labels = [str(f) for f in self.features]
        if len(self.costs) != len(self.features):
            self.costs = np.ones(len(self.features))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Library matrix, shape ``(N, P)``, of states ``x`` of shape ``(N, D)`` (states then inputs)."""
        theta = np.asarray(self.library.transform(x), dtype=float)
        return theta if self.keep is None else theta[:, self.keep]


def input_degree(feature: sympy.Expr, inputs: Sequence[sympy.Symbol]) -> int:
    """The total degree of ``feature`` in the ``inputs`` symbols (0 when it has none): ``u*x**2`` -> 1."""
    if not inputs or not feature.free_symbols & set(inputs):
        return 0
    try:
        return int(sum(sympy.degree(feature, u) for u in inputs if feature.has(u)))
    except sympy.PolynomialError:  # an input inside a function or a denominator: not a product with the states
        return len(inputs) + 1


def _polynomial_features(lib: Any, syms: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    return [sympy.Mul(*(s**int(p) for s, p in zip(syms, row))) for row in lib.powers_]


def _fourier_features(lib: Any, syms: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    out: list[sympy.Expr] = []
    for k in range(1, lib.n_frequencies + 1):  # same order as FourierLibrary.transform
        for s in syms:
            if lib.include_sin:
                out.append(sympy.sin(k * s))
            if lib.include_cos:
                out.append(sympy.cos(k * s))
    return out


def _custom_features(lib: Any, syms: Sequence[sympy.Symbol]) -> list[sympy.Expr]:
    out: list[sympy.Expr] = [sympy.Integer(1)] if lib.include_bias else []
    combine = itertools.combinations if lib.interaction_only else itertools.combinations_with_replacement
    for f in lib.functions:  # same order as CustomLibrary.transform; the functions also work on symbols
        for c in combine(range(len(syms)), f.__code__.co_argcount):
            out.append(sympy.sympify(f(*(syms[j] for j in c))))
    return out


def build_library(
    name: str, x: np.ndarray, names: Sequence[str], degree: int = 3, trig_vars: Sequence[int] | None = None,
    n_inputs: int = 0,
) -> Library:
    """Build and fit the candidate library ``name`` on states ``x`` (N, D) named ``names``.

    Parameters
    ----------
    name:
        ``"poly"`` (monomials up to ``degree``), ``"poly_trig"`` (the same plus ``sin`` and ``cos`` of the states
        in ``trig_vars``) or ``"rational"`` (monomials up to ``min(degree, 2)`` plus ``x_i/(1 + x_i)`` and
        ``x_i*x_j/(1 + x_i)``; only sensible when the states stay well above -1).
    x:
        States, shape ``(N, D)``, used to fit the library.
    names:
        Variable names, one per column of ``x``.
    degree:
        Highest polynomial degree.
    trig_vars:
        Columns that get ``sin`` and ``cos`` terms in ``"poly_trig"`` (default: all).
    n_inputs:
        The last ``n_inputs`` columns of ``x`` are inputs or parameters (a drive, a control, ``mu``): they enter a
        monomial at most once (``u``, ``u*x``, ``u*x*y`` up to ``degree``; never ``u**2`` or ``u1*u2``), as
        the products of a control with the states that most laws have.

    Examples
    --------
    >>> import numpy as np
    >>> lib = build_library("poly", np.ones((5, 2)), ["x", "y"], degree=2)
    >>> lib.features
    [1, x, y, x**2, x*y, y**2]
    """
    import pysindy as ps

    syms = [sympy.Symbol(n) for n in names]
    poly_degree = degree if name != "rational" else min(degree, 2)
    poly = ps.PolynomialLibrary(degree=poly_degree, include_bias=True)
    features = None
    if name == "poly":
        lib, features = poly, lambda: _polynomial_features(poly, syms)
    elif name == "poly_trig":
        chosen = list(range(len(names))) if trig_vars is None else sorted(set(int(j) for j in trig_vars))
        if not chosen:
            raise DiscoveryError(f"library 'poly_trig' needs at least one variable for sin/cos, found {trig_vars}")
        fourier = ps.FourierLibrary(n_frequencies=1)
        lib = ps.GeneralizedLibrary([poly, fourier], inputs_per_library=[list(range(len(names))), chosen])
        features = lambda: _polynomial_features(poly, syms) + _fourier_features(fourier, [syms[j] for j in chosen])
    elif name == "rational":
        functions = [_rational_single, _rational_pair_left, _rational_pair_right]
        custom = ps.CustomLibrary(library_functions=functions, interaction_only=True)
        lib = ps.ConcatLibrary([poly, custom])
        features = lambda: _polynomial_features(poly, syms) + _custom_features(custom, syms)
    else:
        raise DiscoveryError(f"unknown SINDy library {name!r}; valid libraries: {', '.join(LIBRARIES)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.fit(x)
    exprs = features()
    n_out = lib.n_output_features_
    if n_out != len(exprs):  # pysindy changed its column order or count: never pair wrong names silently
        raise DiscoveryError(f"library {name!r}: pysindy made {n_out} columns, expected {len(exprs)}")
    if not n_inputs:
        return Library(name, lib, exprs)
    inputs = syms[len(syms) - int(n_inputs):]
    keep = np.asarray([j for j, f in enumerate(exprs) if input_degree(f, inputs) <= 1], dtype=int)
    return Library(name, lib, [exprs[j] for j in keep], keep=keep)
