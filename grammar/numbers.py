"""Number tokens, as in PROSE and ODEFormer.

Two kinds of numbers appear in a prefix sequence:

* **small integers** ``-SMALL_INT_MAX .. SMALL_INT_MAX`` are single tokens spelled as Python writes them
  (``"-3"``, ``"0"``, ``"7"``); integer exponents (``x**2``) and small integer coefficients use them;
* **every other number** becomes three tokens, ``sign mantissa exponent``, meaning
  ``sign * mantissa * 10**exponent`` with ``precision`` significant digits:

  - sign: ``"+"`` or ``"-"``;
  - mantissa: ``"N"`` followed by exactly ``precision`` digits, the first non-zero (``"N314"``);
  - exponent: ``"E"`` followed by the power of ten applied to the integer mantissa (``"E-2"``, ``"E0"``,
    ``"E3"``).

  So ``3.14159`` with ``precision=3`` is ``["+", "N314", "E-2"]`` and ``-2500`` is ``["-", "N250", "E1"]``.
  The decimal (scientific) exponent of the value, ``exponent + precision - 1``, must lie in
  ``-MAX_EXPONENT .. MAX_EXPONENT``.

Floats are rounded half-to-even on their decimal representation. Integers outside the small range are encoded
as floats, exactly when they have at most ``precision`` significant digits.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Sequence, Union

import sympy

from grammar.errors import GrammarError

DEFAULT_PRECISION = 3
"""Significant digits of a float's mantissa unless a caller asks otherwise."""

SMALL_INT_MAX = 10
"""Integers ``-SMALL_INT_MAX .. SMALL_INT_MAX`` are tokens of their own."""

MAX_EXPONENT = 30
"""Encodable floats have a magnitude between ``1e-MAX_EXPONENT`` and ``9.99...e+MAX_EXPONENT``."""

SIGN_TOKENS = ("+", "-")
MANTISSA_PREFIX = "N"
EXPONENT_PREFIX = "E"

NumberLike = Union[int, float, sympy.Expr]

_INT_RE = re.compile(r"0|-?[1-9][0-9]*")
_MANTISSA_RE = re.compile(MANTISSA_PREFIX + r"[1-9][0-9]*")
_EXPONENT_RE = re.compile(EXPONENT_PREFIX + r"(0|-?[1-9][0-9]*)")


def check_precision(precision: int) -> None:
    """Raise :class:`GrammarError` unless ``precision`` is an integer number of significant digits, 1..15."""
    if not isinstance(precision, int) or isinstance(precision, bool) or not 1 <= precision <= 15:
        raise GrammarError(f"precision must be an integer between 1 and 15 significant digits, found {precision!r}")


# --- vocabulary ---------------------------------------------------------------------------------------------------


def integer_tokens() -> list[str]:
    """The small-integer tokens, ``"-10" .. "10"``."""
    return [str(i) for i in range(-SMALL_INT_MAX, SMALL_INT_MAX + 1)]


def mantissa_tokens(precision: int = DEFAULT_PRECISION) -> list[str]:
    """All mantissa tokens for ``precision`` digits (``"N100" .. "N999"`` for 3)."""
    check_precision(precision)
    return [f"{MANTISSA_PREFIX}{m}" for m in range(10 ** (precision - 1), 10**precision)]


def exponent_tokens(precision: int = DEFAULT_PRECISION) -> list[str]:
    """All exponent tokens for ``precision`` digits (the power of ten applied to the integer mantissa)."""
    check_precision(precision)
    shift = precision - 1
    return [f"{EXPONENT_PREFIX}{e}" for e in range(-MAX_EXPONENT - shift, MAX_EXPONENT - shift + 1)]


def number_tokens(precision: int = DEFAULT_PRECISION) -> list[str]:
    """Every number token for ``precision`` digits: integers, signs, mantissas, exponents (in that order)."""
    return integer_tokens() + list(SIGN_TOKENS) + mantissa_tokens(precision) + exponent_tokens(precision)


def is_integer_token(token: str) -> bool:
    """Whether ``token`` is a small-integer token (``"-3"``)."""
    return bool(_INT_RE.fullmatch(token)) and abs(int(token)) <= SMALL_INT_MAX


def is_mantissa_token(token: str) -> bool:
    """Whether ``token`` is spelled like a mantissa token (``"N314"``), whatever its number of digits."""
    return bool(_MANTISSA_RE.fullmatch(token))


def is_exponent_token(token: str) -> bool:
    """Whether ``token`` is spelled like an exponent token (``"E-2"``)."""
    return bool(_EXPONENT_RE.fullmatch(token))


def is_number_token(token: str) -> bool:
    """Whether ``token`` is any number token (integer, sign, mantissa or exponent)."""
    return token in SIGN_TOKENS or is_integer_token(token) or is_mantissa_token(token) or is_exponent_token(token)


# --- encoding -----------------------------------------------------------------------------------------------------


def _to_decimal(value: NumberLike, precision: int) -> Decimal:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number: sympy.Expr = sympy.Float(value) if isinstance(value, float) else sympy.Integer(value)
    else:
        number = sympy.sympify(value)
    if isinstance(number, sympy.Integer):
        return Decimal(int(number))
    if isinstance(number, sympy.Float) and number._prec <= 53:
        # A double (the fast path): round its shortest decimal repr, as the module docstring says.
        as_float = float(number)
        if math.isfinite(as_float):
            return Decimal(repr(as_float))
    if not (number.is_number and number.is_real and number.is_finite):
        raise GrammarError(f"cannot encode {number} as a number: expected a finite real number")
    return Decimal(str(sympy.Float(number, precision + 10)))


def _split(value: NumberLike, precision: int) -> tuple[str, int, int]:
    """``(sign, mantissa, exponent)`` with ``value ~= sign * mantissa * 10**exponent``; mantissa has
    ``precision`` digits. The value must be non-zero."""
    check_precision(precision)
    d = _to_decimal(value, precision)
    if d == 0:
        raise GrammarError("cannot encode 0 as sign, mantissa and exponent: zero is the integer token '0'")
    digits, sci = format(abs(d), f".{precision - 1}e").split("e")
    sci_exp = int(sci)
    if abs(sci_exp) > MAX_EXPONENT:
        raise GrammarError(
            f"number {format(d, '.3e')} is outside the encodable range: expected a magnitude between "
            f"1e-{MAX_EXPONENT} and 1e+{MAX_EXPONENT}"
        )
    return ("-" if d < 0 else "+"), int(digits.replace(".", "")), sci_exp - (precision - 1)


def encode_float(value: NumberLike, precision: int = DEFAULT_PRECISION) -> list[str]:
    """``[sign, mantissa, exponent]`` tokens of a non-zero real number.

    Examples
    --------
    >>> encode_float(3.14159)
    ['+', 'N314', 'E-2']
    >>> encode_float(-2500, precision=2)
    ['-', 'N25', 'E2']
    """
    sign, mantissa, exponent = _split(value, precision)
    return [sign, f"{MANTISSA_PREFIX}{mantissa}", f"{EXPONENT_PREFIX}{exponent}"]


def encode_integer(value: int) -> str:
    """The token of a small integer (``-SMALL_INT_MAX .. SMALL_INT_MAX``)."""
    if not -SMALL_INT_MAX <= int(value) <= SMALL_INT_MAX:
        raise GrammarError(f"integer {value} has no token of its own: expected -{SMALL_INT_MAX}..{SMALL_INT_MAX}")
    return str(int(value))


def encode_number(value: NumberLike, precision: int = DEFAULT_PRECISION) -> list[str]:
    """Tokens of a real number: one small-integer token when ``value`` is a small integer (or a zero float),
    else sign, mantissa and exponent tokens.

    A sympy ``Integer`` or Python ``int`` uses the integer token; a ``Float`` always uses the float encoding,
    except zero.

    Examples
    --------
    >>> encode_number(2), encode_number(2.0), encode_number(-42)
    (['2'], ['+', 'N200', 'E-2'], ['-', 'N420', 'E-1'])
    """
    number = sympy.sympify(value)
    if isinstance(number, sympy.Integer) and abs(int(number)) <= SMALL_INT_MAX:
        return [encode_integer(int(number))]
    if number.is_zero:
        return [encode_integer(0)]
    return encode_float(number, precision)


def round_float(value: NumberLike, precision: int = DEFAULT_PRECISION) -> float:
    """``value`` rounded the way :func:`encode_float` rounds it (``0`` stays ``0``).

    Examples
    --------
    >>> round_float(3.14159)
    3.14
    """
    if (value.is_zero if isinstance(value, sympy.Basic) else value == 0):
        return 0.0
    sign, mantissa, exponent = _split(value, precision)
    return float(f"{sign}{mantissa}e{exponent}")


# --- decoding -----------------------------------------------------------------------------------------------------


def decode_float(sign: str, mantissa: str, exponent: str) -> sympy.Float:
    """The ``sympy.Float`` meant by ``sign``, ``mantissa`` and ``exponent`` tokens.

    Examples
    --------
    >>> decode_float("+", "N314", "E-2")
    3.14000000000000
    """
    if sign not in SIGN_TOKENS:
        raise GrammarError(f"expected a sign token ('+' or '-'), found {sign!r}")
    if not is_mantissa_token(mantissa):
        raise GrammarError(f"expected a mantissa token like 'N314', found {mantissa!r}")
    if not is_exponent_token(exponent):
        raise GrammarError(f"expected an exponent token like 'E-2', found {exponent!r}")
    digits, power = mantissa[len(MANTISSA_PREFIX):], int(exponent[len(EXPONENT_PREFIX):])
    if abs(power + len(digits) - 1) > MAX_EXPONENT:
        raise GrammarError(
            f"number {sign}{digits}e{power} is outside the encodable range 1e-{MAX_EXPONENT}..1e+{MAX_EXPONENT}"
        )
    return sympy.Float(f"{sign}{digits}e{power}")


def read_number(tokens: Sequence[str], position: int, end: int | None = None, offset: int = 0
                ) -> tuple[sympy.Number, int]:
    """Read the number starting at ``tokens[position]`` (and ending before ``end``); return it and the position
    after it.

    Raises
    ------
    GrammarError
        When the tokens there do not form a number; the message names the position (``index + offset``) and
        the token.

    Examples
    --------
    >>> read_number(["mul", "-", "N250", "E1", "x"], 1)
    (-2500.00000000000, 4)
    """
    end = len(tokens) if end is None else end
    token = tokens[position]
    if is_integer_token(token):
        return sympy.Integer(int(token)), position + 1
    if token not in SIGN_TOKENS:
        raise GrammarError(f"expected a number at position {position + offset}, found {token!r}")
    for shift, (check, what) in enumerate(((is_mantissa_token, "a mantissa token like 'N314'"),
                                           (is_exponent_token, "an exponent token like 'E-2'")), start=1):
        where = position + shift
        found = "the end of the sequence" if where >= end else repr(tokens[where])
        if where >= end or not check(tokens[where]):
            raise GrammarError(f"expected {what} at position {where + offset} after sign {token!r} at position "
                               f"{position + offset}, found {found}")
    try:
        value = decode_float(*tokens[position:position + 3])
    except GrammarError as err:
        raise GrammarError(f"invalid number at position {position + offset}: {err}") from None
    return value, position + 3
