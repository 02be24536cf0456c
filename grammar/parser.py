"""A safe parser for formulas typed by people.

``parse("0.5*x - h1(x, y)", ["x", "y"])`` returns a sympy expression. The text is tokenized and parsed here,
by a small recursive-descent parser over a whitelist: numbers, the given variable and parameter names, the
grammar's functions (``sin cos tan exp log sqrt tanh abs``, and the other unary operators of
:data:`grammar.operators.OPERATORS`), hidden functions ``h1, h2, ...`` of variables, ``+ - * / **`` (``^`` is
power too), unary minus and parentheses. Nothing the user types is ever handed to ``eval``, ``exec``,
``sympify`` or ``parse_expr``.

Errors are :class:`~grammar.errors.GrammarError` with one line saying what was found, where (1-based column),
and what is allowed.

Grammar (``**`` binds tighter than unary minus on its left, and is right-associative)::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("**" | "^") unary)?
    atom   := NUMBER | NAME | NAME "(" expr ("," expr)* ")" | "(" expr ")"
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import sympy
from sympy.core.function import AppliedUndef

from grammar.errors import GrammarError
from grammar.operators import OPERATORS, function_names

HIDDEN_RE = re.compile(r"h[1-9][0-9]*")
"""Names of hidden functions: ``h1``, ``h2``, ..."""

MAX_NESTING = 100
"""Deepest nesting of parentheses, calls and unary signs accepted."""

MAX_FORMULA_CHARS = 20_000
"""Longest formula accepted, and longest text of a whole system (:func:`parse_system`); the app's text areas take
no more. Parsing is linear in the length, so this bounds the time a formula can take (well under a second)."""

MAX_HIDDEN_FUNCTIONS = 10
"""Most distinct hidden functions (``h1, h2, ...``) in a formula or a system: each one is a network to train."""

_FUNCTIONS = function_names()
_TOKEN_RE = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|[-+*/^(),])"
)
_HINTS = {
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    ".": "attribute access is not allowed",
    "=": "keyword arguments and assignments are not allowed",
    ":": "lambdas, slices and annotations are not allowed",
    "[": "indexing and lists are not allowed",
    "{": "sets and dicts are not allowed",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    column: int  # 1-based


def _tokenize(text: str) -> list[_Token]:
    tokens, i = [], 0
    while i < len(text):
        match = _TOKEN_RE.match(text, i)
        if match is None:
            char = text[i]
            hint = _HINTS.get(char, "allowed are numbers, names, + - * / ** ^ ( ) and commas")
            raise GrammarError(f"unexpected character {char!r} at column {i + 1}; {hint}")
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup, match.group(), i + 1))
        i = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


def _describe(token: _Token) -> str:
    return "end of formula" if token.kind == "end" else f"{token.text!r} at column {token.column}"


class _Parser:
    def __init__(self, text: str, variables: Sequence[str], params: Sequence[str], hidden: bool) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0
        self.variables = {name: sympy.Symbol(name) for name in variables}
        self.params = {name: sympy.Symbol(name) for name in params}
        self.hidden = hidden

    # -- helpers --

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.token.kind == "op" and self.token.text in texts

    def expect(self, text: str, context: str) -> _Token:
        if not self.at(text):
            raise GrammarError(f"expected {text!r} {context}, found {_describe(self.token)}")
        return self.advance()

    def known(self) -> str:
        parts = [f"known variables: {', '.join(self.variables) or '(none)'}"]
        if self.params:
            parts.append(f"parameters: {', '.join(self.params)}")
        parts.append(f"functions: {', '.join(sorted(n for n in _FUNCTIONS if n.islower()))}"
                     + (", h1, h2, ... (hidden)" if self.hidden else ""))
        return "; ".join(parts)

    def nest(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise GrammarError(f"formula nested too deeply at column {token.column}; expected at most "
                               f"{MAX_NESTING} levels of parentheses, calls and signs")

    # -- grammar --

    def parse(self) -> sympy.Expr:
        if self.token.kind == "end":
            raise GrammarError(f"empty formula; expected an expression ({self.known()})")
        expr = self.expr()
        if self.token.kind != "end":
            token = self.token
            if token.kind == "name" and keyword.iskeyword(token.text):
                hint = "; Python keywords are not allowed"
            elif token.kind in ("name", "number") or token.text == "(":
                hint = "; implicit multiplication is not supported, write '*'"
            else:
                hint = ""
            raise GrammarError(f"unexpected {_describe(token)}; expected an operator (+ - * / ** ^) or the end of "
                               f"the formula{hint}")
        return expr

    # A chain ``a + b - c`` (or ``a * b / c``) is built as one n-ary sum (product) at its end: folding binary
    # operators left to right would re-flatten the growing sum at every step, quadratic in its length.

    def expr(self) -> sympy.Expr:
        terms = [self.term()]
        while self.at("+", "-"):
            minus = self.advance().text == "-"
            right = self.term()
            terms.append(OPERATORS["neg"].sympy(right) if minus else right)  # a - b = a + neg(b), as "sub"
        return terms[0] if len(terms) == 1 else sympy.Add(*terms)

    def term(self) -> sympy.Expr:
        factors = [self.unary()]
        while self.at("*", "/"):
            op = self.advance()
            right = self.unary()
            if op.text == "/":
                if right == 0:
                    raise GrammarError(f"division by zero at column {op.column}: the divisor is 0")
                right = sympy.Pow(right, -1)  # a / b = a * b**-1, as "div"
            factors.append(right)
        return factors[0] if len(factors) == 1 else sympy.Mul(*factors)

    def unary(self) -> sympy.Expr:
        if self.at("+", "-"):
            sign = self.advance()
            self.nest(sign)
            operand = self.unary()
            self.depth -= 1
            return OPERATORS["neg"].sympy(operand) if sign.text == "-" else operand
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        if self.at("**", "^"):
            self.nest(self.advance())
            exponent = self.unary()
            self.depth -= 1
            return OPERATORS["pow"].sympy(base, exponent)
        return base

    def atom(self) -> sympy.Expr:
        token = self.advance()
        if token.kind == "number":
            if re.fullmatch(r"[0-9]+", token.text):
                return sympy.Integer(int(token.text))
            return sympy.Float(token.text)  # a validated numeric literal, never arbitrary text
        if token.kind == "name":
            if self.at("("):
                return self.call(token)
            return self.name(token)
        if token.kind == "op" and token.text == "(":
            self.nest(token)
            value = self.expr()
            self.expect(")", f"to close '(' at column {token.column}")
            self.depth -= 1
            return value
        raise GrammarError(f"unexpected {_describe(token)}; expected a number, a name or '('")

    def name(self, token: _Token) -> sympy.Expr:
        if token.text in self.variables:
            return self.variables[token.text]
        if token.text in self.params:
            return self.params[token.text]
        if token.text in _FUNCTIONS or (self.hidden and HIDDEN_RE.fullmatch(token.text)):
            raise GrammarError(f"function {token.text!r} at column {token.column} must be called, "
                               f"e.g. {token.text}(x)")
        raise GrammarError(f"unknown name {token.text!r} at column {token.column}; {self.known()}")

    def arguments(self, open_paren: _Token, name: str) -> list[tuple[sympy.Expr, _Token]]:
        self.nest(open_paren)
        args = []
        if self.at(")"):
            raise GrammarError(f"{name}() at column {open_paren.column - len(name)} has no arguments")
        while True:
            first = self.token
            args.append((self.expr(), first))
            if self.at(","):
                self.advance()
                continue
            self.expect(")", f"to close the call of {name} at column {open_paren.column - len(name)}")
            break
        self.depth -= 1
        return args

    def call(self, token: _Token) -> sympy.Expr:
        name = token.text
        open_paren = self.advance()
        if name in _FUNCTIONS:
            args = self.arguments(open_paren, name)
            if len(args) != 1:
                raise GrammarError(f"{name}() at column {token.column} takes 1 argument, found {len(args)}")
            return _FUNCTIONS[name].sympy(args[0][0])
        if self.hidden and HIDDEN_RE.fullmatch(name) and name not in self.variables and name not in self.params:
            args = self.arguments(open_paren, name)
            symbols = []
            for value, first in args:
                if not (isinstance(value, sympy.Symbol) and value.name in self.variables):
                    raise GrammarError(f"argument of hidden function {name} at column {first.column} must be a "
                                       f"variable ({', '.join(self.variables)}), found {value}")
                if value in symbols:
                    raise GrammarError(f"hidden function {name} at column {token.column} takes {value} twice")
                symbols.append(value)
            return sympy.Function(name)(*symbols)
        if name in self.variables or name in self.params:
            raise GrammarError(f"{name!r} at column {token.column} is not a function; write {name}*(...) to "
                               f"multiply")
        raise GrammarError(f"unknown function {name!r} at column {token.column}; {self.known()}")


def _check_names(variables: Iterable[str], params: Iterable[str], hidden: bool) -> tuple[list[str], list[str]]:
    if isinstance(variables, str) or isinstance(params, str):
        raise GrammarError("variables and params must be sequences of names, not a single string")
    variables, params = list(variables), list(params)
    seen: set[str] = set()
    for kind, names in (("variable", variables), ("parameter", params)):
        for name in names:
            if not isinstance(name, str) or not name.isidentifier():
                raise GrammarError(f"{kind} name {name!r} is not a valid identifier")
            if name in seen:
                raise GrammarError(f"{kind} name {name!r} is given twice")
            if name in _FUNCTIONS:
                raise GrammarError(f"{kind} name {name!r} is also a function name; rename it")
            if hidden and HIDDEN_RE.fullmatch(name):
                raise GrammarError(f"{kind} name {name!r} looks like a hidden function (h1, h2, ...); rename it or "
                                   f"pass hidden=False")
            seen.add(name)
    return variables, params


def parse(text: str, variables: Sequence[str], params: Sequence[str] = (), hidden: bool = True) -> sympy.Expr:
    """Parse a formula typed by a person into a sympy expression, safely.

    Parameters
    ----------
    text:
        The formula, e.g. ``"0.5*x - h1(x, y)"``; ``^`` means power.
    variables:
        State variable names the formula may use (symbols ``sympy.Symbol(name)``).
    params:
        Other names it may use (unknown constants).
    hidden:
        Whether hidden functions ``h1(...)``, ``h2(...)``, ... of variables are allowed; each becomes
        ``sympy.Function("h1")(x, y)`` and must be used with the same arguments throughout.

    Raises
    ------
    GrammarError
        With one line naming what was found, its column (1-based) and what is allowed.

    Examples
    --------
    >>> parse("0.5*x - h1(x, y)", ["x", "y"])
    0.5*x - h1(x, y)
    >>> parse("x^2 + sin(y)", ["x", "y"])
    x**2 + sin(y)
    """
    if not isinstance(text, str):
        raise GrammarError(f"expected the formula as a string, found {type(text).__name__}")
    _check_length(text, "formula")
    variables, params = _check_names(variables, params, hidden)
    expr = _Parser(text, variables, params, hidden).parse()
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I):
        raise GrammarError(f"formula {text!r} evaluates to {expr}, which is not a finite real expression")
    hidden_functions(expr)
    return expr


def _check_length(text: str, what: str) -> None:
    if len(text) > MAX_FORMULA_CHARS:
        raise GrammarError(f"{what} is {len(text):,} characters; at most {MAX_FORMULA_CHARS:,} are accepted "
                           "(grammar.parser.MAX_FORMULA_CHARS): shorten it")


def hidden_functions(expr: sympy.Basic) -> dict[str, tuple[sympy.Symbol, ...]]:
    """The hidden functions in ``expr`` (or a tuple of expressions) and their arguments.

    Raises
    ------
    GrammarError
        When a hidden function is used with different arguments in different places, or with an argument that
        is not a symbol, or when there are more than :data:`MAX_HIDDEN_FUNCTIONS` of them.

    Examples
    --------
    >>> import sympy
    >>> x, y = sympy.symbols("x y")
    >>> h1 = sympy.Function("h1")
    >>> hidden_functions(x - h1(x, y) + 2 * h1(x, y))
    {'h1': (x, y)}
    """
    found: dict[str, tuple[sympy.Symbol, ...]] = {}
    for call in sorted(expr.atoms(AppliedUndef), key=sympy.default_sort_key):
        name = call.func.__name__
        args = call.args
        bad = [a for a in args if not isinstance(a, sympy.Symbol)]
        if bad:
            raise GrammarError(f"hidden function {name} takes {bad[0]}; its arguments must be variables")
        if name in found and found[name] != args:
            previous = f"{name}({', '.join(map(str, found[name]))})"
            raise GrammarError(f"hidden function {name} is used as {previous} and as {call}; a hidden function must "
                               f"always take the same variables")
        found[name] = args
    if len(found) > MAX_HIDDEN_FUNCTIONS:
        names = sorted(found, key=lambda n: (len(n), n))
        shown = ", ".join(names[:3]) + (f", ... {names[-1]}" if len(names) > 3 else "")
        raise GrammarError(f"{len(found)} hidden functions ({shown}); at most {MAX_HIDDEN_FUNCTIONS} are allowed "
                           "(grammar.parser.MAX_HIDDEN_FUNCTIONS): give fewer unknown terms")
    return found


def parse_system(
    lines: Mapping[str, str] | str,
    variables: Sequence[str],
    params: Sequence[str] = (),
    hidden: bool = True,
) -> dict[str, sympy.Expr]:
    """Parse one right-hand side per state variable.

    Parameters
    ----------
    lines:
        ``{"x": "0.5*x - h1(x, y)", ...}``, or text with one ``name: formula`` line per variable (``=`` works
        as well as ``:``; blank lines and lines starting with ``#`` are ignored).
    variables, params, hidden:
        As in :func:`parse`.

    Returns
    -------
    dict
        ``{variable: expression}`` in the order of ``variables``.

    Raises
    ------
    GrammarError
        Naming the variable (and line) whose formula fails, a missing or duplicated equation, or a hidden
        function used with different arguments in different equations.

    Examples
    --------
    >>> parse_system("x: y\\ny: -x + h1(x)", ["x", "y"])
    {'x': y, 'y': -x + h1(x)}
    """
    variables, params = _check_names(variables, params, hidden)
    where: dict[str, str] = {}
    if isinstance(lines, str):
        _check_length(lines, "system text")
        formulas: dict[str, str] = {}
        for number, line in enumerate(lines.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*[:=](.*)", line)
            if match is None:
                raise GrammarError(f"line {number}: expected 'variable: formula', found {stripped!r}")
            # Pad the formula so that columns in error messages are columns of the line.
            name, formula = match.group(1), " " * match.start(2) + match.group(2)
            if name in formulas:
                raise GrammarError(f"line {number}: a second equation for {name!r}; expected one per variable")
            formulas[name], where[name] = formula, f"line {number}, "
    elif isinstance(lines, Mapping):
        formulas = dict(lines)
    else:
        raise GrammarError(f"expected a dict of formulas or 'variable: formula' lines, found {type(lines).__name__}")
    unknown = [name for name in formulas if name not in variables]
    if unknown:
        raise GrammarError(f"{where.get(unknown[0], '')}equation for {unknown[0]!r}, which is not a variable; "
                           f"expected one equation for each of: {', '.join(variables)}")
    missing = [name for name in variables if name not in formulas]
    if missing:
        raise GrammarError(f"no equation for {missing[0]!r}; expected one equation for each of: {', '.join(variables)}")
    result = {}
    for name in variables:
        try:
            result[name] = parse(formulas[name], variables, params, hidden)
        except GrammarError as err:
            raise GrammarError(f"{where.get(name, '')}equation for {name!r}: {err}") from None
    hidden_functions(sympy.Tuple(*result.values()))
    return result
