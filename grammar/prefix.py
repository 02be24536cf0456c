"""Prefix (Polish) serialization of sympy expressions and systems.

An expression becomes a flat list of string tokens, operator first: ``x_0 - 3.14*x_1**2`` is
``["sub", "x_0", "mul", "+", "N314", "E-2", "pow", "x_1", "2"]``. Tokens are operator names from
:data:`grammar.operators.OPERATORS`, symbol names (any valid identifier that is not an operator name), and
number tokens (:mod:`grammar.numbers`). sympy's n-ary ``Add``/``Mul`` become left-nested binary ``add``/``mul``;
negative terms become ``sub``, denominators ``div``, ``x**-1`` is ``inv x``, ``x**(1/2)`` is ``sqrt x``, and a
rational ``p/q`` with small integers is ``div p q``. ``exp(1)`` (sympy's ``E``) is ``exp 1``; other named
constants (``pi``) are encoded as floats.

:func:`from_prefix` rebuilds the expression with sympy's usual evaluation, so ``from_prefix(to_prefix(e))``
equals ``e`` for every expression in the grammar, floats up to ``precision`` significant digits (integers
outside the small-integer range are floats too; a float exponent with an integral value becomes an integer).
Symbols come back without assumptions (``Symbol("x", real=True)`` comes back as ``Symbol("x")``).

A system (one right-hand side per state variable) is the equations' sequences joined by :data:`SEP_TOKEN`.
"""

from __future__ import annotations

from typing import Sequence

import sympy

from grammar.errors import GrammarError
from grammar.numbers import (
    DEFAULT_PRECISION,
    SIGN_TOKENS,
    SMALL_INT_MAX,
    check_precision,
    encode_number,
    is_integer_token,
    read_number,
)
from grammar.operators import OPERATORS, function_operator

SEP_TOKEN = "<sep>"
"""Separates the equations of a system in a token sequence."""

_NOT_FINITE = (sympy.S.ComplexInfinity, sympy.S.NaN, sympy.S.Infinity, sympy.S.NegativeInfinity, sympy.S.ImaginaryUnit)


# --- symbols ------------------------------------------------------------------------------------------------------


def is_symbol_token(token: str) -> bool:
    """Whether ``token`` can name a symbol: a valid identifier that is not an operator name.

    Identifiers spelled like mantissa or exponent tokens (``N1``, ``E2``, common variable names) are symbols
    too: those tokens only ever follow a sign token, where no symbol can stand, so the reading is unambiguous.
    """
    return token.isidentifier() and token not in OPERATORS


def _symbol_token(symbol: sympy.Symbol) -> str:
    name = symbol.name
    if not name.isidentifier():
        raise GrammarError(f"symbol name {name!r} is not a valid identifier; rename it (e.g. to x_0)")
    if not is_symbol_token(name):
        raise GrammarError(f"symbol name {name!r} is also an operator of the grammar; rename it (e.g. to x_0)")
    return name


# --- expression -> tokens -----------------------------------------------------------------------------------------


def to_prefix(expr: sympy.Expr, precision: int = DEFAULT_PRECISION) -> list[str]:
    """Serialize a sympy expression to prefix tokens.

    Parameters
    ----------
    expr:
        A sympy expression made of the grammar's operators, symbols and real numbers (Python numbers are
        accepted too; strings are not: parse text with :func:`grammar.parser.parse`).
    precision:
        Significant digits of float mantissas.

    Raises
    ------
    GrammarError
        When ``expr`` uses something outside the grammar (``gamma``, ``Derivative``, an undefined function,
        a complex or infinite number, a symbol name that is not an identifier); the message names it.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> to_prefix(x - 3.14159 * y**2)
    ['sub', 'x', 'mul', '+', 'N314', 'E-2', 'pow', 'y', '2']
    >>> to_prefix(sympy.sqrt(x) / y)
    ['div', 'sqrt', 'x', 'y']
    """
    if isinstance(expr, str):
        raise GrammarError(f"expected a sympy expression, found the string {expr!r}; parse text with grammar.parse")
    try:
        expr = sympy.sympify(expr, strict=True)
    except sympy.SympifyError:
        raise GrammarError(f"expected a sympy expression, found {type(expr).__name__}") from None
    if not isinstance(expr, sympy.Expr):
        raise GrammarError(f"expected a sympy expression, found {type(expr).__name__} ({expr})")
    check_precision(precision)
    out: list[str] = []
    _emit(expr, precision, out)
    return out


def _emit(e: sympy.Expr, precision: int, out: list[str]) -> None:
    if isinstance(e, sympy.Symbol):
        out.append(_symbol_token(e))
    elif e is sympy.E:
        out += ["exp", "1"]
    elif isinstance(e, (sympy.Number, sympy.NumberSymbol)):
        _emit_number(e, precision, out)
    elif isinstance(e, sympy.Atom) and e.is_number:  # I, and other non-real constants
        raise GrammarError(f"unsupported number {e}: the grammar holds finite real numbers only")
    elif isinstance(e, sympy.Add):
        _emit_add(e, precision, out)
    elif isinstance(e, sympy.Mul):
        _emit_mul(e, precision, out)
    elif isinstance(e, sympy.Pow):
        _emit_pow(e, precision, out)
    elif isinstance(e, sympy.Function):
        op = function_operator(e)  # raises, naming the function, when it is not in the table
        out.append(op.name)
        _emit(e.args[0], precision, out)
    else:
        raise GrammarError(
            f"unsupported operator {type(e).__name__!r} in {e}; the grammar's operators are: {', '.join(OPERATORS)}"
        )


def _emit_number(e: sympy.Expr, precision: int, out: list[str]) -> None:
    if isinstance(e, sympy.Rational) and not isinstance(e, sympy.Integer):
        if abs(e.p) <= SMALL_INT_MAX and e.q <= SMALL_INT_MAX:
            out += ["div", str(e.p), str(e.q)]
            return
    elif not (e.is_real and e.is_finite):
        raise GrammarError(f"unsupported number {e}: the grammar holds finite real numbers only")
    out += encode_number(e, precision)


def _left_fold(ops: list[str], operands: list[sympy.Expr], precision: int, out: list[str]) -> None:
    """Emit ``((a op1 b) op2 c) ...`` in prefix: ``[..., op2, op1, a, b, c]``."""
    out += reversed(ops)
    for operand in operands:
        _emit(operand, precision, out)


def _emit_add(e: sympy.Add, precision: int, out: list[str]) -> None:
    positive, negative = [], []
    for t in e.args:
        (negative if t.could_extract_minus_sign() else positive).append(t)
    if positive:
        first, rest_pos = positive[0], positive[1:]
    else:
        first, rest_pos, negative = negative[0], [], negative[1:]
    ops = ["add"] * len(rest_pos) + ["sub"] * len(negative)
    _left_fold(ops, [first, *rest_pos, *(-t for t in negative)], precision, out)


def _emit_mul(e: sympy.Mul, precision: int, out: list[str]) -> None:
    # e.args[0] is the numeric coefficient when there is one (sympy keeps it first); not as_coeff_mul, which
    # splits -3 into -1 * 3.
    if isinstance(e.args[0], sympy.Number):
        coeff, factors = e.args[0], e.args[1:]
    else:
        coeff, factors = sympy.Integer(1), e.args
    numerator: list[sympy.Expr] = []
    denominator: list[sympy.Expr] = []
    for f in factors:
        if isinstance(f, sympy.Pow) and f.exp.is_number and f.exp.is_negative:
            denominator.append(sympy.Pow(f.base, -f.exp))
        else:
            numerator.append(f)
    negate = False
    if isinstance(coeff, sympy.Rational) and not isinstance(coeff, sympy.Integer) \
            and abs(coeff.p) <= SMALL_INT_MAX and coeff.q <= SMALL_INT_MAX:
        num_coeff, denominator = sympy.Integer(coeff.p), [sympy.Integer(coeff.q), *denominator]
    else:
        num_coeff = coeff
    if isinstance(num_coeff, sympy.Integer) and num_coeff == -1:
        negate, num_coeff = True, sympy.Integer(1)
    if not (isinstance(num_coeff, sympy.Integer) and num_coeff == 1):
        numerator.insert(0, num_coeff)
    if negate:
        out.append("neg")
    if denominator:
        if numerator:
            out.append("div")
            _left_fold(["mul"] * (len(numerator) - 1), numerator, precision, out)
        else:
            out.append("inv")
        _left_fold(["mul"] * (len(denominator) - 1), denominator, precision, out)
    else:
        _left_fold(["mul"] * (len(numerator) - 1), numerator, precision, out)


def _emit_pow(e: sympy.Pow, precision: int, out: list[str]) -> None:
    base, exponent = e.args
    if exponent == -1:
        out.append("inv")
    elif exponent == sympy.S.Half:
        out.append("sqrt")
    elif exponent == -sympy.S.Half:
        out += ["inv", "sqrt"]
    else:
        out.append("pow")
        _emit(base, precision, out)
        _emit(exponent, precision, out)
        return
    _emit(base, precision, out)


# --- tokens -> expression -----------------------------------------------------------------------------------------


def _build(name: str, args: list[sympy.Expr], position: int, check: bool) -> sympy.Expr:
    if name == "pow" and isinstance(args[1], sympy.Float) and float(args[1]).is_integer():
        args = [args[0], sympy.Integer(int(args[1]))]
    built = OPERATORS[name].sympy(*args)
    if check and built.has(*_NOT_FINITE):
        raise GrammarError(
            f"operator {name!r} at position {position} gives {built}, which is not a finite real expression"
        )
    return built


def _parse(tokens: Sequence[str], start: int, stop: int, offset: int, check: bool = False) -> sympy.Expr:
    """Parse ``tokens[start:stop]`` as one expression; positions in errors are ``index + offset``.

    A result that is not finite and real (``div 1 0``) is an error; to keep the common case fast, the operator
    responsible is searched for (``check=True``: every node is checked) only once the result is known to be bad.
    """
    if start >= stop:
        raise GrammarError(f"empty expression at position {start + offset}: expected at least one token")
    # Pending operators: [name, collected arguments, position].
    stack: list[tuple[str, list[sympy.Expr], int]] = []
    i = start
    while i < stop:
        token = tokens[i]
        if not isinstance(token, str):
            raise GrammarError(f"token at position {i + offset} is {type(token).__name__} {token!r}, expected a string")
        if token in OPERATORS:
            stack.append((token, [], i))
            i += 1
            continue
        if token in SIGN_TOKENS or is_integer_token(token):
            value, i = read_number(tokens, i, end=stop, offset=offset)
        elif is_symbol_token(token):
            value, i = sympy.Symbol(token), i + 1
        else:
            raise GrammarError(
                f"unknown token {token!r} at position {i + offset}; expected an operator "
                f"({', '.join(OPERATORS)}), a number or a variable name"
            )
        # Hand the operand to the pending operators, closing every operator that is now complete.
        while stack:
            name, args, where = stack[-1]
            args.append(value)
            if len(args) < OPERATORS[name].arity:
                break
            stack.pop()
            value = _build(name, args, where + offset, check)
        if not stack:
            if i < stop:
                raise GrammarError(
                    f"leftover token {tokens[i]!r} at position {i + offset}: the expression was already complete "
                    f"at position {i - 1 + offset}"
                )
            if not check and value.has(*_NOT_FINITE):
                return _parse(tokens, start, stop, offset, check=True)
            return value
    name, args, where = stack[-1]
    end = "the end of the sequence" if stop == len(tokens) else f"{tokens[stop]!r} at position {stop + offset}"
    raise GrammarError(
        f"missing operands: operator {name!r} at position {where + offset} expects {OPERATORS[name].arity} "
        f"operand(s), found {len(args)} before {end}"
    )


def _token_list(tokens: Sequence[str]) -> list[str]:
    if isinstance(tokens, str):
        raise GrammarError(f"expected a list of tokens, found the string {tokens[:40]!r}; split it first")
    return list(tokens)


def from_prefix(tokens: Sequence[str]) -> sympy.Expr:
    """Rebuild a sympy expression from prefix tokens.

    Raises
    ------
    GrammarError
        For a malformed sequence (missing operands, leftover tokens, an unknown token, a broken number, a
        result that is not finite and real); the message names the token and its position (0-based index).

    Examples
    --------
    >>> from_prefix(["sub", "x", "mul", "+", "N314", "E-2", "pow", "y", "2"])
    x - 3.14*y**2
    """
    return _parse(_token_list(tokens), 0, len(tokens), 0)


# --- systems ------------------------------------------------------------------------------------------------------


def system_to_prefix(exprs: Sequence[sympy.Expr], precision: int = DEFAULT_PRECISION) -> list[str]:
    """Serialize a system (one expression per state variable) to one sequence joined by :data:`SEP_TOKEN`.

    Examples
    --------
    >>> import sympy
    >>> x0, x1 = sympy.symbols("x_0 x_1")
    >>> system_to_prefix([x1, -x0])
    ['x_1', '<sep>', 'neg', 'x_0']
    """
    if isinstance(exprs, (str, dict, sympy.Basic)) or not isinstance(exprs, Sequence):
        raise GrammarError(f"expected a list of expressions (one per state variable), found {type(exprs).__name__}")
    if not exprs:
        raise GrammarError("expected at least one expression in a system, found none")
    out: list[str] = []
    for k, expr in enumerate(exprs):
        if k:
            out.append(SEP_TOKEN)
        try:
            out += to_prefix(expr, precision)
        except GrammarError as err:
            raise GrammarError(f"equation {k}: {err}") from None
    return out


def _parse_system(tokens: Sequence[str], offset: int = 0) -> list[sympy.Expr]:
    """Parse a system; positions in errors are ``index + offset`` (the tokenizer strips a leading ``<bos>``)."""
    tokens = _token_list(tokens)
    if not tokens:
        raise GrammarError(f"empty token sequence at position {offset}: expected at least one equation")
    exprs, start = [], 0
    for stop in [i for i, t in enumerate(tokens) if t == SEP_TOKEN] + [len(tokens)]:
        if start == stop:
            where = f"{SEP_TOKEN!r} at position {stop + offset}" if stop < len(tokens) else "the end of the sequence"
            raise GrammarError(f"empty equation {len(exprs)} before {where}: expected an expression")
        exprs.append(_parse(tokens, start, stop, offset))
        start = stop + 1
    return exprs


def system_from_prefix(tokens: Sequence[str]) -> list[sympy.Expr]:
    """Rebuild a system from a sequence of equations separated by :data:`SEP_TOKEN`.

    Raises
    ------
    GrammarError
        For an empty sequence or equation, or a malformed equation (position = index in the whole sequence).

    Examples
    --------
    >>> system_from_prefix(["x_1", "<sep>", "neg", "x_0"])
    [x_1, -x_0]
    """
    return _parse_system(tokens)
