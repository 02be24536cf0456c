"""Read user-written systems (the partly known model for ``pinn``, the guess for ``prose``) line by line.

Each formula goes through the grammar's safe parser (:func:`grammar.parser.parse`): whitelisted names and operators
only, never ``eval``. The text is kept as the user wrote it for the discovery API, which parses it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from discovery.errors import one_line

__all__ = ["SystemText", "read_system"]

_NAME = r"[A-Za-z_]\w*"
_LHS = re.compile(rf"^\s*(?:d\s*(?P<d>{_NAME})\s*/\s*dt|(?P<v>{_NAME})\s*'|(?P<p>{_NAME}))\s*=\s*(?P<rhs>.+)$")
"""``dx/dt = rhs``, ``x' = rhs`` or ``x = rhs``."""


@dataclass
class SystemText:
    """A system read from text: the right-hand side per variable, the parsed expressions and the problems.

    Attributes
    ----------
    formulas:
        Right-hand side text per variable, as written.
    expressions:
        The parsed sympy expressions per variable (only those that parsed).
    errors:
        One line per problem, naming the line of the text.
    """

    formulas: dict[str, str] = field(default_factory=dict)
    expressions: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def read_system(text: str, variables: Sequence[str], *, hidden: bool, require_all: bool = True) -> SystemText:
    """Parse one ``dx/dt = formula`` (or ``x = formula``, ``x' = formula``) per line.

    Parameters
    ----------
    text:
        The user's text; blank lines and lines starting with ``#`` are skipped.
    variables:
        State variable names allowed in the formulas.
    hidden:
        Allow hidden-term networks ``h1(...)``, ``h2(...)`` (the ``pinn`` model) in the formulas.
    require_all:
        Report variables without a line.

    Returns
    -------
    SystemText

    Examples
    --------
    >>> s = read_system("dx/dt = 0.5*x - h1(x, y)\\ndy/dt = -0.3*y + h2(x, y)", ["x", "y"], hidden=True)
    >>> s.ok, sorted(s.formulas)  # doctest: +SKIP
    (True, ['x', 'y'])
    """
    from grammar.errors import GrammarError
    from grammar.parser import parse, parse_system

    out = SystemText()
    names = list(variables)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _LHS.match(line)
        if m is None:
            out.errors.append(f"line {lineno}: expected 'd{names[0]}/dt = formula', found {line[:60]!r}")
            continue
        var = m.group("d") or m.group("v") or m.group("p")
        rhs = m.group("rhs").strip()
        if var not in names:
            out.errors.append(f"line {lineno}: {var!r} is not a variable of the data ({', '.join(names)})")
            continue
        if var in out.formulas:
            out.errors.append(f"line {lineno}: a second equation for d{var}/dt; give one line per variable")
            continue
        try:
            out.expressions[var] = parse(rhs, variables=names, hidden=hidden)
        except GrammarError as exc:
            out.errors.append(f"line {lineno} (d{var}/dt): {one_line(exc)}")
        out.formulas[var] = rhs
    if require_all and (out.formulas or out.errors):
        missing = [v for v in names if v not in out.formulas]
        if missing:
            wanted = ", ".join(f"d{v}/dt" for v in missing)
            out.errors.append(f"no equation for {wanted}; give one line per variable")
    if out.ok and out.formulas and len(out.formulas) == len(names):
        try:  # checks across lines, e.g. a hidden term used with different arguments in two equations
            out.expressions = dict(parse_system(out.formulas, names, hidden=hidden))
        except GrammarError as exc:
            out.errors.append(one_line(exc))
    return out
