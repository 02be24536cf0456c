"""A sympy PDE right-hand side compiled for arrays on a grid.

``compile_rhs({"u": -u*u_x + 0.1*u_xx}, fields=("u",), axes=("x",))`` finds the derivative symbols the
equations use (``u``, ``u_x``, ``u_xx``), builds one numpy function of them, and separates, for each field,
the *diagonal linear part* (constant multiples of the field's own derivatives, ``0.1*u_xx``) from the rest. The
exponential integrator of :mod:`discovery.fields.solvers` treats the first exactly in Fourier space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from grammar.pde_zoo import parse_derivative_name


@dataclass(frozen=True)
class Term:
    """One derivative symbol: field index and orders per axis (``u_xx`` -> ``(0, (2,))``)."""

    name: str
    field: int
    orders: tuple[int, ...]


@dataclass(frozen=True)
class CompiledRHS:
    """Right-hand sides ready to evaluate on arrays.

    Attributes
    ----------
    fields, axes:
        Field names and spatial axes.
    terms:
        Every derivative symbol the equations use, in the argument order of the functions.
    full:
        ``full(*arrays) -> list`` of each field's right-hand side (scalars broadcast by the caller).
    linear:
        Per field: ``{orders: coefficient}`` of its diagonal linear part.
    nonlinear:
        ``nonlinear(*arrays) -> list``: the right-hand sides less their diagonal linear parts.
    """

    fields: tuple[str, ...]
    axes: tuple[str, ...]
    terms: tuple[Term, ...]
    full: Callable[..., list]
    linear: tuple[dict[tuple[int, ...], float], ...]
    nonlinear: Callable[..., list]
    max_order: int


def _split_linear(expr: sympy.Expr, field: str, fields: Sequence[str], axes: Sequence[str]):
    linear: dict[tuple[int, ...], float] = {}
    rest = sympy.Integer(0)
    for term, coeff in sympy.expand(expr).as_coefficients_dict().items():
        parsed = parse_derivative_name(term.name, fields, axes) if isinstance(term, sympy.Symbol) else None
        if parsed is not None and parsed[0] == field and coeff.is_number:
            linear[parsed[1]] = linear.get(parsed[1], 0.0) + float(coeff)
        else:
            rest += coeff * term
    return linear, rest


def compile_rhs(equations: Mapping[str, sympy.Expr], fields: Sequence[str], axes: Sequence[str]) -> CompiledRHS:
    """Compile ``equations`` (field -> right-hand side in derivative symbols) for numpy arrays.

    Raises :class:`DiscoveryError` when an equation is missing or uses a symbol that is not a derivative of one
    of ``fields`` along ``axes``.
    """
    fields, axes = tuple(fields), tuple(axes)
    missing = [f for f in fields if f not in equations]
    if missing:
        raise DiscoveryError(f"no equation for field(s) {missing}; expected one right-hand side per field")
    exprs = [sympy.sympify(equations[f]) for f in fields]
    found: dict[str, Term] = {}
    for f, e in zip(fields, exprs):
        for s in e.free_symbols:
            parsed = parse_derivative_name(s.name, fields, axes)
            if parsed is None:
                raise DiscoveryError(
                    f"equation for {f}_t uses {s.name!r}, which is not a field ({', '.join(fields)}) or a spatial "
                    f"derivative of one (such as {fields[0]}_{axes[0] * 2})")
            found[s.name] = Term(s.name, fields.index(parsed[0]), parsed[1])
    terms = tuple(sorted(found.values(), key=lambda t: (sum(t.orders), t.field, t.name)))
    symbols = [sympy.Symbol(t.name) for t in terms]
    linear, rest = zip(*(_split_linear(e, f, fields, axes) for f, e in zip(fields, exprs)))
    full = sympy.lambdify(symbols, list(exprs), modules="numpy", dummify=True)
    nonlinear = sympy.lambdify(symbols, list(rest), modules="numpy", dummify=True)
    max_order = max([sum(t.orders) for t in terms] + [0])
    return CompiledRHS(fields, axes, terms, full, tuple(linear), nonlinear, max_order)


def evaluate(func: Callable[..., list], args: Sequence[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """Call a compiled function and stack its outputs into ``(F, *shape)`` (constants broadcast)."""
    out = func(*args)
    return np.stack([np.broadcast_to(np.asarray(o, dtype=float), shape) for o in out])
