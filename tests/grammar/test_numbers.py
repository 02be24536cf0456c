"""Number tokens: sign, mantissa, exponent and small integers."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy

from grammar.errors import GrammarError
from grammar.numbers import (
    MAX_EXPONENT,
    SMALL_INT_MAX,
    decode_float,
    encode_float,
    encode_integer,
    encode_number,
    exponent_tokens,
    integer_tokens,
    mantissa_tokens,
    number_tokens,
    read_number,
    round_float,
)


@pytest.mark.parametrize(
    "value, precision, tokens",
    [
        (3.14159, 3, ["+", "N314", "E-2"]),
        (-2500, 2, ["-", "N25", "E2"]),
        (1.0, 3, ["+", "N100", "E-2"]),
        (9.996, 3, ["+", "N100", "E-1"]),  # rounds up into the next decade
        (0.000123456, 4, ["+", "N1235", "E-7"]),
        (sympy.Rational(1, 3), 3, ["+", "N333", "E-3"]),
        (sympy.pi, 5, ["+", "N31416", "E-4"]),
        (sympy.Float("6.674e-11"), 3, ["+", "N667", "E-13"]),
    ],
)
def test_encode_float(value, precision, tokens):
    assert encode_float(value, precision) == tokens


@pytest.mark.parametrize(
    "value, tokens",
    [
        (2, ["2"]),
        (-10, ["-10"]),
        (sympy.Integer(0), ["0"]),
        (sympy.Float(0.0), ["0"]),
        (2.0, ["+", "N200", "E-2"]),  # a float stays a float
        (42, ["+", "N420", "E-1"]),  # outside the small range
        (sympy.Integer(-11), ["-", "N110", "E-1"]),
    ],
)
def test_encode_number(value, tokens):
    assert encode_number(value) == tokens


@pytest.mark.parametrize("precision", [1, 2, 3, 4, 6])
def test_float_round_trip_within_precision(precision):
    rng = np.random.default_rng(precision)
    values = rng.choice([-1, 1], 300) * 10 ** rng.uniform(-MAX_EXPONENT + 1, MAX_EXPONENT - 1, 300)
    vocabulary = set(number_tokens(precision))
    for v in values:
        tokens = encode_float(float(v), precision)
        assert set(tokens) <= vocabulary, tokens
        decoded = float(decode_float(*tokens))
        assert decoded == pytest.approx(v, rel=0.5 * 10 ** (1 - precision) * (1 + 1e-9))
        assert decoded == round_float(float(v), precision)
        # A rounded number encodes to itself.
        assert encode_float(decoded, precision) == tokens


def test_vocabulary_is_disjoint_and_complete():
    tokens = number_tokens(3)
    assert len(tokens) == len(set(tokens))
    assert integer_tokens() == [str(i) for i in range(-SMALL_INT_MAX, SMALL_INT_MAX + 1)]
    assert len(mantissa_tokens(3)) == 900 and mantissa_tokens(3)[0] == "N100"
    assert f"E{MAX_EXPONENT - 2}" in exponent_tokens(3) and f"E{MAX_EXPONENT - 1}" not in exponent_tokens(3)
    assert encode_float(9.99e30, 3)[2] in exponent_tokens(3)
    assert encode_float(1e-30, 3)[2] in exponent_tokens(3)


@pytest.mark.parametrize("value", [1e31, -1e-31, 10**40, float("nan"), float("inf"), sympy.zoo, sympy.I])
def test_unencodable_numbers(value):
    with pytest.raises(GrammarError):
        encode_float(value)


@pytest.mark.parametrize("precision", [0, 16, 2.5, True])
def test_bad_precision(precision):
    with pytest.raises(GrammarError, match="precision"):
        encode_float(1.5, precision)


def test_encode_integer_range():
    assert encode_integer(-7) == "-7"
    with pytest.raises(GrammarError, match="no token"):
        encode_integer(SMALL_INT_MAX + 1)


def test_read_number():
    value, end = read_number(["mul", "-", "N250", "E1", "x"], 1)
    assert isinstance(value, sympy.Float) and float(value) == -2500.0 and end == 4
    value, end = read_number(["7", "x"], 0)
    assert isinstance(value, sympy.Integer) and value == 7 and end == 1


@pytest.mark.parametrize(
    "tokens, message",
    [
        (["+", "N12"], "position 2 after sign '+' at position 0, found the end"),
        (["+", "x", "E1"], "mantissa token like 'N314' at position 1"),
        (["+", "N12", "N12"], "exponent token like 'E-2' at position 2"),
        (["+", "N1", "E99"], "outside the encodable range"),
        (["x"], "expected a number at position 0"),
        (["11"], "expected a number at position 0"),  # beyond the small integers
        (["-0"], "expected a number at position 0"),  # not canonical
    ],
)
def test_read_number_errors(tokens, message):
    with pytest.raises(GrammarError, match=re.escape(message)):
        read_number(tokens, 0)


def test_read_number_offset_and_end():
    with pytest.raises(GrammarError, match=re.escape("position 7 after sign '-' at position 5, found the end")):
        read_number(["-", "N12", "E0"], 0, end=2, offset=5)


@pytest.mark.parametrize(
    "args, message",
    [(("*", "N1", "E0"), "sign"), (("+", "N012", "E0"), "mantissa"), (("+", "N1", "E+1"), "exponent")],
)
def test_decode_float_rejects_malformed(args, message):
    with pytest.raises(GrammarError, match=message):
        decode_float(*args)
