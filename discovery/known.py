"""The partly known model that ``pinn`` completes: parsing, validation, substitution and a torch right-hand side.

The user writes what is known and names what is not, with hidden functions ``h1, h2, ...`` of state variables::

    {"x": "0.5*x - h1(x, y)", "y": "-0.3*y + h2(x, y)"}      # a dict, as the Python API takes it
    ["x = 0.5*x - h1(x, y)", "y = -0.3*y + h2(x, y)"]       # a list of "variable = formula", as the CLI passes it

Formulas go through the grammar's safe parser (never ``eval``). Every problem becomes one
:class:`~discovery.errors.DiscoveryError` line naming the variable and what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import sympy

from discovery.errors import DiscoveryError
from grammar.errors import GrammarError
from grammar.parser import MAX_HIDDEN_FUNCTIONS

if TYPE_CHECKING:  # pragma: no cover
    import torch

_LHS = re.compile(r"^\s*(?:d\s*(?P<d>\w+)\s*/\s*dt|(?P<p>\w+)\s*'|(?P<v>\w+))\s*$")


@dataclass(frozen=True)
class KnownModel:
    """A partly known system ``d v/dt = f_v(state, h_1(...), ..., h_K(...))``.

    Attributes
    ----------
    variables:
        State variable names, in data column order.
    equations:
        Right-hand side per variable; hidden terms appear as applications ``sympy.Function("h1")(x, y)``.
    hidden:
        Hidden function name -> names of its argument variables, sorted by name (``h1``, ``h2``, ...).
    """

    variables: tuple[str, ...]
    equations: dict[str, sympy.Expr]
    hidden: dict[str, tuple[str, ...]]

    @property
    def hidden_names(self) -> tuple[str, ...]:
        return tuple(self.hidden)

    def hidden_indices(self) -> list[tuple[int, ...]]:
        """For each hidden term, the column indices of its arguments."""
        return [tuple(self.variables.index(a) for a in args) for args in self.hidden.values()]

    def users(self, name: str) -> list[str]:
        """Variables whose equation uses hidden term ``name``."""
        return [v for v, e in self.equations.items() if any(f.func.__name__ == name for f in _applications(e))]

    def substitute(self, forms: Mapping[str, sympy.Expr]) -> dict[str, sympy.Expr]:
        """Replace every hidden term by a formula in its argument symbols; returns a complete system.

        Examples
        --------
        >>> m = parse_known({"x": "-h1(x)"}, ["x"])
        >>> m.substitute({"h1": sympy.Symbol("x") ** 2})
        {'x': -x**2}
        """
        missing = [h for h in self.hidden if h not in forms]
        if missing:
            raise DiscoveryError(f"known model: no formula given for hidden term(s) {', '.join(missing)}")
        repl = {}
        for e in self.equations.values():
            for app in _applications(e):
                name = app.func.__name__
                params = [sympy.Symbol(a) for a in self.hidden[name]]
                repl[app] = sympy.sympify(forms[name]).xreplace(dict(zip(params, app.args)))
        return {v: sympy.sympify(e).xreplace(repl) for v, e in self.equations.items()}

    def torch_rhs(self) -> Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]:
        """The known model as ``rhs(u (B, D), h (B, K)) -> du/dt (B, D)`` with the hidden terms as columns of ``h``.

        Built with ``sympy.lambdify`` over the grammar's torch namespace (imports torch).
        """
        import torch

        from grammar.operators import torch_namespace

        states = [sympy.Symbol(v) for v in self.variables]
        slots = [sympy.Symbol(f"_hidden_{k}") for k in range(len(self.hidden))]
        slot_of = dict(zip(self.hidden, slots))
        exprs = []
        for v in self.variables:
            e = self.equations[v]
            exprs.append(e.xreplace({app: slot_of[app.func.__name__] for app in _applications(e)}))
        fn = sympy.lambdify(states + slots, exprs, modules=[torch_namespace()], dummify=True)

        def rhs(u: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            cols = fn(*u.unbind(dim=1), *h.unbind(dim=1))
            batch = u.shape[0]
            return torch.stack([torch.as_tensor(c, dtype=u.dtype, device=u.device).expand(batch) for c in cols], 1)

        return rhs


def _applications(expr: sympy.Basic) -> set[sympy.Basic]:
    return {f for f in expr.atoms(sympy.Function) if isinstance(f.func, sympy.core.function.UndefinedFunction)}


def _entries(known: Any, what: str = "known model") -> list[tuple[str, Any]]:
    """``known`` as ``(left-hand side, formula)`` pairs, whatever form it came in."""
    if isinstance(known, Mapping):
        return [(str(k), v) for k, v in known.items()]
    if isinstance(known, str):
        known = [line for line in re.split(r"[;\n]", known) if line.strip()]
    if isinstance(known, (list, tuple)):
        pairs = []
        for item in known:
            if not isinstance(item, str) or "=" not in item:
                raise DiscoveryError(f"{what}: expected entries like 'x = 0.5*x - h1(x, y)', found {str(item)[:80]!r}")
            lhs, rhs = item.split("=", 1)
            pairs.append((lhs, rhs))
        return pairs
    raise DiscoveryError(
        f"{what}: expected a dict variable -> formula or a list of 'variable = formula' strings, "
        f"found {type(known).__name__}"
    )


def formula_entries(value: Any, what: str) -> list[tuple[str, Any]]:
    """A system given as a dict or as ``"x = ..."`` / ``"dx/dt = ..."`` lines, as ``(variable, formula)`` pairs.

    Raises :class:`DiscoveryError` (prefixed with ``what``) for a left-hand side that is not a name, or a name
    given twice.
    """
    out: dict[str, Any] = {}
    for lhs, formula in _entries(value, what):
        m = _LHS.match(lhs)
        var = next((g for g in (m.group("d"), m.group("p"), m.group("v")) if g), None) if m else None
        if var is None:
            raise DiscoveryError(f"{what}: {lhs.strip()[:60]!r} is not a variable name (expected e.g. 'x' or 'dx/dt')")
        if var in out:
            raise DiscoveryError(f"{what}: two equations for {var!r}; expected one per state variable")
        if not isinstance(formula, (str, sympy.Basic)):
            raise DiscoveryError(f"{what}, equation for {var!r}: expected a formula, found {type(formula).__name__}")
        out[var] = formula.strip() if isinstance(formula, str) else formula
    return list(out.items())


def parse_guess(guess: Any, variables: Sequence[str]) -> dict[str, sympy.Expr]:
    """A guessed system (one formula per state variable, no hidden terms) parsed with the grammar's safe parser.

    Raises
    ------
    DiscoveryError
        When a variable has no formula or an unknown one has, or a formula does not parse.
    """
    from grammar.parser import parse

    entries = dict(formula_entries(guess, "guess"))
    variables = [str(v) for v in variables]
    missing = [v for v in variables if v not in entries]
    unknown = [v for v in entries if v not in variables]
    if missing or unknown:
        raise DiscoveryError(f"guess: expected one formula per state variable ({', '.join(variables)}); "
                             f"missing {missing}, unknown {unknown}")
    exprs = {}
    for v in variables:
        value = entries[v]
        try:
            exprs[v] = parse(value, variables, hidden=False) if isinstance(value, str) else sympy.sympify(value)
        except GrammarError as exc:
            raise DiscoveryError(f"guess, equation for {v!r}: {exc}") from None
    return exprs


def check_guess(guess: Any) -> None:
    """Parse a guess against the variables it names (before the data is read); see :func:`parse_guess`."""
    parse_guess(guess, [v for v, _ in formula_entries(guess, "guess")])


def parse_known(known: Any, variables: Sequence[str]) -> KnownModel:
    """Parse and validate a partly known model against the data's state variables.

    Parameters
    ----------
    known:
        A dict variable -> formula, a list of ``"variable = formula"`` strings (the left side may also be
        ``dx/dt`` or ``x'``), or one string of such lines separated by newlines or ``;``.
    variables:
        The state variables of the data.

    Returns
    -------
    KnownModel

    Raises
    ------
    DiscoveryError
        When a state variable has no equation (or two), an equation is for an unknown variable, a formula does not
        parse or uses an unknown name, a hidden function is used with different arguments or with arguments that
        are not state variables, or no hidden function is named at all.

    Examples
    --------
    >>> m = parse_known({"x": "0.5*x - h1(x, y)", "y": "-0.3*y + h2(x, y)"}, ["x", "y"])
    >>> m.hidden
    {'h1': ('x', 'y'), 'h2': ('x', 'y')}
    """
    from grammar.parser import hidden_functions, parse

    variables = tuple(str(v) for v in variables)
    if not known:
        raise DiscoveryError(
            "method 'pinn' needs a partly known model, e.g. known={'x': '0.5*x - h1(x, y)', ...}; none was given"
        )
    equations: dict[str, sympy.Expr] = {}
    for lhs, formula in _entries(known):
        m = _LHS.match(lhs)
        var = next((g for g in (m.group("d"), m.group("p"), m.group("v")) if g), None) if m else None
        if var is None or var not in variables:
            raise DiscoveryError(
                f"known model: {lhs.strip()!r} is not a state variable; expected one of {', '.join(variables)}"
            )
        if var in equations:
            raise DiscoveryError(f"known model: two equations for {var!r}; expected one per state variable")
        try:
            expr = formula if isinstance(formula, sympy.Basic) else parse(str(formula), variables, hidden=True)
        except GrammarError as exc:
            raise DiscoveryError(f"known model, equation for {var!r}: {exc}") from None
        unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in variables)
        if unknown:
            raise DiscoveryError(
                f"known model, equation for {var!r}: unknown name(s) {', '.join(unknown)}; "
                f"expected state variables ({', '.join(variables)}), numbers and hidden terms h1(...), h2(...)"
            )
        equations[var] = sympy.sympify(expr)
    missing = [v for v in variables if v not in equations]
    if missing:
        raise DiscoveryError(
            f"known model: no equation for {', '.join(repr(v) for v in missing)}; "
            f"expected one per state variable ({', '.join(variables)})"
        )
    equations = {v: equations[v] for v in variables}

    hidden: dict[str, tuple[str, ...]] = {}
    first_use: dict[str, str] = {}
    for var, expr in equations.items():
        try:
            found = hidden_functions(expr)
        except GrammarError as exc:
            raise DiscoveryError(f"known model, equation for {var!r}: {exc}") from None
        for name, args in found.items():
            names = tuple(str(a) for a in args)
            bad = [a for a in args if not (isinstance(a, sympy.Symbol) and str(a) in variables)]
            if bad or len(set(names)) != len(names):
                raise DiscoveryError(
                    f"known model, equation for {var!r}: hidden term {name} must take distinct state variables "
                    f"({', '.join(variables)}) as arguments, found {name}({', '.join(map(str, args))})"
                )
            if name in hidden and hidden[name] != names:
                raise DiscoveryError(
                    f"known model, equation for {var!r}: hidden term {name} is used as {name}({', '.join(names)}) "
                    f"but as {name}({', '.join(hidden[name])}) in the equation for {first_use[name]!r}; "
                    "expected the same arguments everywhere"
                )
            hidden.setdefault(name, names)
            first_use.setdefault(name, var)
    if not hidden:
        raise DiscoveryError(
            "known model: no hidden term; name what is unknown as h1(...), h2(...), e.g. 'x = 0.5*x - h1(x, y)'"
        )
    ordered = dict(sorted(hidden.items(), key=lambda kv: (len(kv[0]), kv[0])))
    if len(ordered) > MAX_HIDDEN_FUNCTIONS:
        names = list(ordered)
        raise DiscoveryError(
            f"known model: {len(names)} hidden terms ({', '.join(names[:3])}, ... {names[-1]}); at most "
            f"{MAX_HIDDEN_FUNCTIONS} are allowed (each is a network to train): give fewer unknown terms"
        )
    return KnownModel(variables, equations, ordered)
