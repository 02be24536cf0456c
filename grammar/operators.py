"""The one operator table of eqdisco's expression grammar.

Every operator the grammar knows is listed once, in :data:`OPERATORS`, with its token, its arity and how to
build it in sympy, numpy, torch and PySR. Everything else (prefix serialization, the tokenizer vocabulary, the
user-formula parser, the random sampler, the PySR operator lists, lambdify namespaces) is derived from this
table and never lists operators again.

Torch is never imported here at module level: :attr:`Operator.torch` is the *name* of the torch function and
:func:`torch_function` resolves it lazily.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import numpy as np
import sympy

from grammar.errors import GrammarError

# A result of an exact power with more decimal digits than this is refused (``10**10**10`` would hang sympy).
MAX_EXACT_POWER_DIGITS = 10_000


@dataclass(frozen=True)
class Operator:
    """One operator of the grammar.

    Attributes
    ----------
    name:
        The token used in prefix sequences and the tokenizer vocabulary (``"add"``, ``"sin"``, ...).
    arity:
        Number of operands (1 or 2).
    sympy:
        Callable building the (evaluated) sympy expression from ``arity`` sympy arguments.
    numpy:
        Numpy callable computing the operator element-wise.
    torch:
        Name of the torch function (``"sin"``, ``"reciprocal"``, ...), resolved by :func:`torch_function`.
    pysr:
        The operator's string for PySR's ``binary_operators`` / ``unary_operators``, or ``None``.
    """

    name: str
    arity: int
    sympy: Callable[..., sympy.Expr]
    numpy: Callable[..., Any]
    torch: str
    pysr: str | None


def _sympy_pow(base: Any, exponent: Any) -> sympy.Expr:
    """``base ** exponent``, refusing exact powers whose result would have more than
    :data:`MAX_EXACT_POWER_DIGITS` digits (sympy would try to compute them)."""
    base, exponent = sympy.sympify(base), sympy.sympify(exponent)
    if isinstance(base, sympy.Rational) and isinstance(exponent, sympy.Integer) and abs(base) not in (0, 1):
        digits = abs(int(exponent)) * math.log10(max(abs(base.p), abs(base.q)))
        if digits > MAX_EXACT_POWER_DIGITS:
            raise GrammarError(
                f"power {base}**{exponent} is too large to compute exactly (about {int(digits)} digits); "
                f"expected at most {MAX_EXACT_POWER_DIGITS} digits"
            )
    return sympy.Pow(base, exponent)


def _numpy_inv(a: Any) -> Any:
    return np.divide(1.0, a)


def _op(name: str, arity: int, sym: Callable[..., sympy.Expr], npf: Callable[..., Any], torch: str,
        pysr: str | None) -> Operator:
    return Operator(name=name, arity=arity, sympy=sym, numpy=npf, torch=torch, pysr=pysr)


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        # binary
        _op("add", 2, lambda a, b: sympy.Add(a, b), np.add, "add", "+"),
        _op("sub", 2, lambda a, b: sympy.Add(a, sympy.Mul(-1, b)), np.subtract, "sub", "-"),
        _op("mul", 2, lambda a, b: sympy.Mul(a, b), np.multiply, "mul", "*"),
        _op("div", 2, lambda a, b: sympy.Mul(a, sympy.Pow(b, -1)), np.divide, "div", "/"),
        _op("pow", 2, _sympy_pow, np.power, "pow", "^"),
        # unary
        _op("neg", 1, lambda a: sympy.Mul(-1, a), np.negative, "neg", "neg"),
        _op("inv", 1, lambda a: sympy.Pow(a, -1), _numpy_inv, "reciprocal", "inv"),
        _op("sin", 1, sympy.sin, np.sin, "sin", "sin"),
        _op("cos", 1, sympy.cos, np.cos, "cos", "cos"),
        _op("tan", 1, sympy.tan, np.tan, "tan", "tan"),
        _op("exp", 1, sympy.exp, np.exp, "exp", "exp"),
        _op("log", 1, sympy.log, np.log, "log", "log"),
        _op("sqrt", 1, sympy.sqrt, np.sqrt, "sqrt", "sqrt"),
        _op("tanh", 1, sympy.tanh, np.tanh, "tanh", "tanh"),
        _op("abs", 1, sympy.Abs, np.abs, "abs", "abs"),
    )
}
"""Every operator of the grammar, by token, in a fixed order (binary first, then unary)."""

BINARY_OPERATORS: tuple[str, ...] = tuple(name for name, op in OPERATORS.items() if op.arity == 2)
UNARY_OPERATORS: tuple[str, ...] = tuple(name for name, op in OPERATORS.items() if op.arity == 1)


def _function_heads() -> dict[type, Operator]:
    """Map each sympy function class that a unary operator builds (``sympy.sin``, ``sympy.Abs``, ...) to it.

    Derived by applying each unary operator to a probe symbol: operators that build a function node
    (rather than a ``Pow`` or ``Mul``, like ``sqrt``, ``inv`` and ``neg``) contribute their node's class.
    """
    probe = sympy.Symbol("probe")
    heads: dict[type, Operator] = {}
    for name in UNARY_OPERATORS:
        op = OPERATORS[name]
        built = op.sympy(probe)
        if isinstance(built, sympy.Function) and built.args == (probe,):
            heads[built.func] = op
    return heads


_FUNCTION_HEADS = _function_heads()


def function_operator(expr: sympy.Basic) -> Operator:
    """The unary operator whose sympy function node ``expr`` is (``sin(x)`` -> ``OPERATORS["sin"]``).

    Raises
    ------
    GrammarError
        When ``expr`` is not a one-argument application of a function in the table (``gamma(x)``, an undefined
        function ``f(x)``, ``Derivative(...)``, ...); the message names the function.

    Examples
    --------
    >>> import sympy
    >>> function_operator(sympy.exp(sympy.Symbol("x"))).name
    'exp'
    """
    op = _FUNCTION_HEADS.get(getattr(expr, "func", None))
    if op is not None and len(expr.args) == 1:
        return op
    head = getattr(getattr(expr, "func", None), "__name__", type(expr).__name__)
    supported = ", ".join(sorted(f.__name__ for f in _FUNCTION_HEADS))
    raise GrammarError(f"unsupported operator {head!r} in {expr}; the grammar's functions are: {supported}")


def function_names() -> dict[str, Operator]:
    """Names under which a unary operator may be called in a formula: its token (``"abs"``) and the name of
    the sympy function it builds (``"Abs"``), so that sympy's own printed output is accepted too."""
    names = {name: OPERATORS[name] for name in UNARY_OPERATORS}
    for head, op in _FUNCTION_HEADS.items():
        names.setdefault(head.__name__, op)
    return names


def pysr_operators(names: Iterable[str] | None = None) -> tuple[list[str], list[str]]:
    """PySR's ``(binary_operators, unary_operators)`` for the given operator tokens (default: all).

    Operators without a PySR equivalent are left out.

    Examples
    --------
    >>> pysr_operators(["add", "mul", "sin"])
    (['+', '*'], ['sin'])
    """
    chosen = list(OPERATORS) if names is None else [_lookup(n).name for n in names]
    binary = [OPERATORS[n].pysr for n in chosen if OPERATORS[n].arity == 2 and OPERATORS[n].pysr]
    unary = [OPERATORS[n].pysr for n in chosen if OPERATORS[n].arity == 1 and OPERATORS[n].pysr]
    return binary, unary


def _lookup(name: str) -> Operator:
    try:
        return OPERATORS[name]
    except KeyError:
        raise GrammarError(f"unknown operator {name!r}; expected one of: {', '.join(OPERATORS)}") from None


def numpy_namespace() -> dict[str, Any]:
    """A namespace for ``sympy.lambdify(args, expr, modules=numpy_namespace())`` covering the grammar.

    Keys are the names sympy's code printer emits for each unary operator's node (``sin``, ``Abs``, ``sqrt``,
    ...), plus the constants ``e`` and ``pi``.

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> f = sympy.lambdify([x], sympy.sqrt(x) + sympy.Abs(x), modules=numpy_namespace())
    >>> float(f(4.0))
    6.0
    """
    namespace: dict[str, Any] = {name: OPERATORS[name].numpy for name in UNARY_OPERATORS}
    for head, op in _FUNCTION_HEADS.items():
        namespace[head.__name__] = op.numpy
    namespace.update({"e": np.e, "E": np.e, "pi": np.pi})
    return namespace


LAMBDIFY_CACHE_SIZE = 2048
"""Compiled functions :func:`numpy_function` keeps (the pipeline compiles the same candidate for scoring,
simulation, refinement and resampling; each compile costs milliseconds of sympy printing)."""


def numpy_function(args: Iterable[sympy.Symbol], exprs: sympy.Expr | Iterable[sympy.Expr], *,
                   cse: bool = False) -> Callable[..., Any]:
    """``sympy.lambdify(args, exprs, modules=[numpy_namespace(), "numpy"], dummify=True)``, compiled once per
    distinct ``(args, exprs, cse)`` and then reused (least recently used first out, :data:`LAMBDIFY_CACHE_SIZE`).
    A sequence of expressions gives a function returning a list, one expression a function returning a value.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> f = numpy_function([x], [sympy.sqrt(x), 2 * x])
    >>> [float(v) for v in f(4.0)], numpy_function([x], [sympy.sqrt(x), 2 * x]) is f
    ([2.0, 8.0], True)
    """
    many = not isinstance(exprs, sympy.Basic)
    key = tuple(exprs) if many else exprs
    return _compiled(tuple(args), key, many, cse)


@functools.lru_cache(maxsize=LAMBDIFY_CACHE_SIZE)
def _compiled(args: tuple, exprs: Any, many: bool, cse: bool) -> Callable[..., Any]:
    return sympy.lambdify(list(args), list(exprs) if many else exprs, modules=[numpy_namespace(), "numpy"],
                          cse=cse, dummify=True)


def torch_function(name: str) -> Callable[..., Any]:
    """The torch callable of operator ``name`` (its token, e.g. ``"inv"``, or its torch name, ``"reciprocal"``).

    Imports torch, so call it only where torch is needed.

    Examples
    --------
    >>> torch_function("inv").__name__
    'reciprocal'
    """
    import torch

    torch_names = {op.torch for op in OPERATORS.values()}
    if name in OPERATORS:
        return getattr(torch, OPERATORS[name].torch)
    if name in torch_names:
        return getattr(torch, name)
    raise GrammarError(f"unknown operator {name!r}; expected one of: {', '.join(OPERATORS)}")


def torch_namespace() -> dict[str, Any]:
    """Like :func:`numpy_namespace`, with torch functions (imports torch).

    Examples
    --------
    >>> import sympy, torch
    >>> x = sympy.Symbol("x")
    >>> f = sympy.lambdify([x], sympy.sin(x), modules=torch_namespace())
    >>> f(torch.zeros(2))
    tensor([0., 0.])
    """
    namespace: dict[str, Any] = {name: torch_function(name) for name in UNARY_OPERATORS}
    for head, op in _FUNCTION_HEADS.items():
        namespace[head.__name__] = torch_function(op.name)
    namespace.update({"e": math.e, "E": math.e, "pi": math.pi})
    return namespace
