"""Standalone Python source for a system of equations: code that cannot be hijacked by the names in it.

The generated function never uses a user's text as code. State variables are renamed to internal identifiers
(``s0, s1, ...`` for the states, ``d0, d1, ...`` for their derivatives), so a variable named ``numpy``, ``state``,
``t`` or ``d_x`` can neither shadow the module nor collide with a temporary. The user's names, the method and the
data's source appear only inside string literals written by :func:`python_literal` (or ``repr`` in comments),
which quote every character, so a name such as ``x\"\"\"; __import__("os").system("...")`` stays text.

Examples
--------
>>> import sympy
>>> x, y = sympy.symbols("x y")
>>> print(system_source(["x", "y"], {"x": y, "y": -x}, method="sindy"))  # doctest: +NORMALIZE_WHITESPACE
import numpy
<BLANKLINE>
<BLANKLINE>
def rhs(t, state):
    \"\"\"d/dt of the state (x, y), discovered by eqdisco (sindy).\"\"\"
    s0, s1 = state  # 'x', 'y'
    d0 = s1  # d/dt of 'x'
    d1 = -s0  # d/dt of 'y'
    return numpy.array([d0, d1], dtype=numpy.float64)
<BLANKLINE>
"""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Mapping, Sequence

import sympy
from sympy.core.function import AppliedUndef

from grammar.errors import GrammarError

__all__ = ["python_literal", "system_source"]

_MODULE = "numpy"
"""The only global name the generated function reads besides its arguments and ``abs``."""


def python_literal(text: str) -> str:
    """A Python string literal whose value is exactly ``text``.

    Plain text (printable characters and newlines, no quote or backslash) is written as a readable triple-quoted
    literal; anything else goes through ``repr``, which escapes every quote, backslash and control character.

    Examples
    --------
    >>> python_literal("d/dt of (x, y)")
    '\"\"\"d/dt of (x, y)\"\"\"'
    >>> python_literal('x\"\"\"; import os')
    '\\'x\"\"\"; import os\\''
    """
    text = str(text)
    if '"' not in text and "\\" not in text and all(ch == "\n" or ch.isprintable() for ch in text):
        return f'"""{text}"""'
    return repr(text)


def _internal_names(n: int) -> tuple[list[str], list[str]]:
    return [f"s{k}" for k in range(n)], [f"d{k}" for k in range(n)]


def _check_function_name(name: str, taken: set[str]) -> None:
    if not (isinstance(name, str) and name.isidentifier() and name.isascii()) or keyword.iskeyword(name):
        raise ValueError(f"function name {name!r} is not a valid Python identifier; expected e.g. 'rhs'")
    if name in taken or hasattr(builtins, name):
        raise ValueError(f"function name {name!r} would shadow a name the generated code uses "
                         f"({', '.join(sorted(taken))} or a Python builtin); pick another, e.g. 'rhs'")


def system_source(
    variables: Sequence[str],
    equations: Mapping[str, sympy.Expr],
    *,
    method: str,
    name: str = "rhs",
    symbols: Mapping[str, sympy.Symbol] | None = None,
    inputs: Sequence[str] = (),
) -> str:
    """Source code of a standalone numpy function ``name(t, state) -> d state/dt`` (``name(t, state, inputs)``
    for a driven system).

    Parameters
    ----------
    variables:
        State variable names, in the order of ``state``; any text (they only appear quoted).
    equations:
        Right-hand side of d v/dt for each variable ``v``, in the variables' symbols.
    method:
        What found the equations (any text; it only appears quoted).
    name:
        Name of the generated function: a Python identifier that is not a builtin nor an internal name.
    symbols:
        The sympy symbol of each variable in ``equations`` (default ``sympy.Symbol(v)``).
    inputs:
        Names of the system's inputs and parameters, in the order of the function's ``inputs`` argument (renamed
        ``u0, u1, ...`` inside); the equations may also use the time ``t``.

    Returns
    -------
    str
        A module: ``import numpy`` and the function; ``state`` may be ``(D,)`` or ``(D, K)``.

    Raises
    ------
    GrammarError
        When an equation uses a symbol that is not a variable, or a function numpy cannot print.
    ValueError
        When ``name`` is not a usable identifier.
    """
    variables = [str(v) for v in variables]
    inputs = [str(v) for v in inputs]
    states, rates = _internal_names(len(variables))
    given = [f"u{k}" for k in range(len(inputs))]
    _check_function_name(name, {_MODULE, "t", "state", "inputs", *states, *rates, *given})
    symbol_of = {v: (symbols[v] if symbols is not None else sympy.Symbol(v)) for v in variables}
    renamed = {symbol_of[v]: sympy.Symbol(s) for v, s in zip(variables, states)}
    renamed.update({sympy.Symbol(v): sympy.Symbol(g) for v, g in zip(inputs, given)})
    allowed = {*renamed.values(), sympy.Symbol("t")}

    from sympy.printing.codeprinter import PrintMethodNotImplementedError
    from sympy.printing.numpy import NumPyPrinter

    printer = NumPyPrinter({"fully_qualified_modules": True, "strict": True})
    body = []
    for v, rate in zip(variables, rates):
        expr = sympy.sympify(equations[v]).xreplace(renamed)
        stray = sorted(str(s) for s in expr.free_symbols if s not in allowed)
        if stray or expr.atoms(AppliedUndef):
            what = f"symbol(s) {', '.join(map(repr, stray))}" if stray else "an undefined function"
            raise GrammarError(f"equation for {v!r} uses {what} that is not a state variable, input, time or "
                               "grammar operator; expected an expression in the variables, inputs and t only")
        try:
            code = printer.doprint(expr)
        except PrintMethodNotImplementedError as exc:
            raise GrammarError(f"equation for {v!r} cannot be written with numpy: {exc}".split("\n")[0]) from None
        body.append(f"    {rate} = {code}  # d/dt of {v!r}")
    doc = f"d/dt of the state ({', '.join(variables)}), discovered by eqdisco ({method})."
    if inputs:
        doc += f" inputs: the values of ({', '.join(inputs)}) at time t."
    unpack = ", ".join(states) + ("," if len(states) == 1 else "")
    unpack_inputs = [f"    {', '.join(given)}{',' * (len(given) == 1)} = inputs  # "
                     f"{', '.join(repr(v) for v in inputs)}"] if inputs else []
    lines = [
        f"import {_MODULE}",
        "",
        "",
        f"def {name}(t, state{', inputs' if inputs else ''}):",
        f"    {python_literal(doc)}",
        f"    {unpack} = state  # {', '.join(repr(v) for v in variables)}",
        *unpack_inputs,
        *body,
        f"    return {_MODULE}.array([{', '.join(rates)}], dtype={_MODULE}.float64)",
    ]
    return "\n".join(lines) + "\n"
