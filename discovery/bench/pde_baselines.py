"""Plain pysindy baselines for ``eqdisco bench pde``: PDE-FIND (``PDELibrary`` + ``STLSQ``) and its weak form.

Both use pysindy's own machinery end to end: a cubic polynomial function library times spatial derivatives up to
order 4 (2 in 2-D) with a bias term, finite-difference derivatives (spectral-free), ``STLSQ(alpha=1e-5,
normalize_columns=True)``. The STLSQ threshold is not tuned per system: each dataset is fitted over 11
thresholds from ``1e-3`` to ``1e2`` and the model kept is the one with the fewest terms whose ``1 - R^2``
(pysindy's ``model.score``) is within ``1.1 * best + 1e-3`` of the best threshold's: the same form of parsimony
rule eqdisco applies to its own scores (relative tolerance plus a floor below which differences are ties).
The weak form uses ``WeakPDELibrary`` with ``K=200`` test-function domains, which pysindy places at random:
numpy's global generator is seeded (0) before each weak fit so that runs repeat.
"""

from __future__ import annotations

import re
import warnings
from typing import Sequence

import numpy as np
import sympy

from discovery.fields.field import Field
from grammar.pde_zoo import derivative_name

THRESHOLDS = np.geomspace(1e-3, 1e2, 11)
TIE = 1e-3
"""Fits whose ``1 - R^2`` is within ``1.1 * best + TIE`` are ties, and the one with the fewest terms is kept."""
_DERIV_RE = re.compile(r"([A-Za-z])_(\d+)$")
_MONO_RE = re.compile(r"([A-Za-z])(?:\^(\d+))?")


def _term_expr(name: str, fields: Sequence[str], axes: Sequence[str]) -> sympy.Expr:
    """A pysindy feature name (``"u^2u_11"``, ``"uv"``, ``"1"``) in derivative symbols."""
    if name == "1":
        return sympy.Integer(1)
    out = sympy.Integer(1)
    m = _DERIV_RE.search(name)
    if m:
        orders = [m.group(2).count(str(k + 1)) for k in range(len(axes))]
        out *= sympy.Symbol(derivative_name(m.group(1), orders, axes))
        name = name[: m.start()]
    for f, p in _MONO_RE.findall(name):
        out *= sympy.Symbol(f) ** (int(p) if p else 1)
    return out


def _layout(field: Field) -> np.ndarray:
    """pysindy's layout: space axes first, then time, then fields: ``(Nx[, Ny], Nt, F)``."""
    data = field.stack()  # (F, Nt, *N)
    return np.moveaxis(np.moveaxis(data, 0, -1), 0, -2)


def fit_pysindy(field: Field, weak: bool) -> dict[str, sympy.Expr]:
    """The selected pysindy model as ``{field: rhs}`` in derivative symbols."""
    import pysindy as ps

    fields, axes = field.names, field.axes
    order = 4 if len(axes) == 1 else 2
    u = _layout(field)
    poly = ps.PolynomialLibrary(degree=3, include_bias=False)
    periodic = all(field.periodic.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysindy deprecates 'periodic' but still honours it
        if weak:
            np.random.seed(0)  # the library draws its test-function domains from numpy's global generator
            grids = np.meshgrid(*field.coords.values(), field.t, indexing="ij")
            library = ps.WeakPDELibrary(function_library=poly, derivative_order=order,
                                        spatiotemporal_grid=np.stack(grids, axis=-1), include_bias=True, K=200,
                                        periodic=periodic)
        else:
            grid = field.x if len(axes) == 1 else np.stack(np.meshgrid(field.x, field.y, indexing="ij"), axis=-1)
            library = ps.PDELibrary(function_library=poly, derivative_order=order, spatial_grid=grid,
                                    include_bias=True, periodic=periodic)
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for thr in THRESHOLDS:
            model = ps.SINDy(feature_library=library, optimizer=ps.STLSQ(threshold=float(thr), alpha=1e-5,
                                                                         normalize_columns=True))
            try:
                np.random.seed(0)  # same test-function domains at every threshold
                model.fit(u, t=field.dt, feature_names=list(fields))
                score = float(model.score(u, t=field.dt))
            except Exception:  # a threshold that leaves no term, or a singular fit, is skipped
                continue
            coef = np.asarray(model.coefficients())
            if np.all(np.isfinite(coef)) and np.isfinite(score):
                fits.append((coef, 1.0 - score, int(np.count_nonzero(coef))))
    if not fits:
        raise RuntimeError("pysindy fitted no model at any threshold")
    best = min(f[1] for f in fits)
    ok = [f for f in fits if f[1] <= 1.1 * best + TIE and f[2] > 0] or fits
    coef, _, _ = min(ok, key=lambda f: (f[2], f[1]))
    names = library.get_feature_names(list(fields))
    terms = [_term_expr(n, fields, axes) for n in names]
    return {f: sympy.expand(sum(sympy.Float(float(c)) * t for c, t in zip(coef[k], terms) if c != 0))
            for k, f in enumerate(fields)}
