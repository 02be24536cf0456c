"""The partly known PDE that the field ``pinn`` method completes: parsing, substitution and a torch right-hand side.

The user writes the right-hand side of each field's time derivative with what is known and names what is not as
hidden functions ``h1, h2, ...`` of the field and its spatial derivatives (as in the PINN hidden-term paper's
Burgers example, ``u_t = h1(u, u_x) + 0.1*u_xx``)::

    {"u": "h1(u, u_x) + 0.1*u_xx"}                 # a dict field -> formula, as the Python API takes it
    ["u_t = h1(u, u_x) + 0.1*u_xx"]                # "field = formula" lines (the left side may be u, u_t, du/dt)
    "h1(u, u_x) + 0.1*u_xx"                        # one formula, when the data has one field

Formulas go through the grammar's safe parser (never ``eval``) with the field and derivative names of
:func:`grammar.pde_zoo.derivative_names`. Every problem is one :class:`~discovery.errors.DiscoveryError` line.

Examples
--------
>>> known = parse_field_known("h1(u, u_x) + 0.1*u_xx", ("u",), ("x",))
>>> known.hidden, known.symbols
({'h1': ('u', 'u_x')}, ('u', 'u_x', 'u_xx'))
>>> known.substitute({"h1": -sympy.Symbol("u") * sympy.Symbol("u_x")})["u"]
-u*u_x + 0.1*u_xx
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import sympy

from discovery.errors import DiscoveryError
from grammar.errors import GrammarError
from grammar.parser import MAX_HIDDEN_FUNCTIONS
from grammar.pde_zoo import derivative_names, parse_derivative_name

if TYPE_CHECKING:  # pragma: no cover
    import torch

MAX_ORDER = 4
"""Highest spatial derivative order a known model may use."""


@dataclass(frozen=True)
class FieldKnown:
    """A partly known PDE ``f_t = g_f(derivatives, h_1(...), ..., h_K(...))`` per field ``f``.

    Attributes
    ----------
    fields, axes:
        The data's fields and spatial axes.
    equations:
        Field -> right-hand side; hidden terms are applications ``sympy.Function("h1")(u, u_x)``.
    hidden:
        Hidden function name -> names of its arguments (fields or derivative names), in the order written.
    symbols:
        Every field and derivative name the model reads (the known part and the hidden terms' arguments), in the
        order of :func:`grammar.pde_zoo.derivative_names` (by derivative order, then field).
    """

    fields: tuple[str, ...]
    axes: tuple[str, ...]
    equations: dict[str, sympy.Expr]
    hidden: dict[str, tuple[str, ...]]
    symbols: tuple[str, ...]

    def derivatives(self) -> list[tuple[int, tuple[int, ...]]]:
        """Each of :attr:`symbols` as ``(field index, orders per axis)``."""
        out = []
        for name in self.symbols:
            field, orders = parse_derivative_name(name, self.fields, self.axes)  # type: ignore[misc]
            out.append((self.fields.index(field), orders))
        return out

    def hidden_indices(self) -> list[tuple[int, ...]]:
        """For each hidden term, the indices of its arguments in :attr:`symbols`."""
        return [tuple(self.symbols.index(a) for a in args) for args in self.hidden.values()]

    def substitute(self, forms: Mapping[str, sympy.Expr]) -> dict[str, sympy.Expr]:
        """Replace every hidden term by a formula in its argument names; returns a complete PDE."""
        missing = [h for h in self.hidden if h not in forms]
        if missing:
            raise DiscoveryError(f"known PDE: no formula given for hidden term(s) {', '.join(missing)}")
        repl = {}
        for e in self.equations.values():
            for app in _applications(e):
                params = [sympy.Symbol(a) for a in self.hidden[app.func.__name__]]
                repl[app] = sympy.sympify(forms[app.func.__name__]).xreplace(dict(zip(params, app.args)))
        return {f: sympy.expand(e.xreplace(repl)) for f, e in self.equations.items()}

    def torch_rhs(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The known PDE as ``rhs(d (B, S), h (B, K)) -> f_t (B, F)``: ``d`` the values of :attr:`symbols`, ``h``
        the hidden terms (imports torch)."""
        import torch

        from grammar.operators import torch_namespace

        args = [sympy.Symbol(s) for s in self.symbols]
        slots = {h: sympy.Symbol(f"_hidden_{k}") for k, h in enumerate(self.hidden)}
        exprs = [self.equations[f].xreplace({a: slots[a.func.__name__] for a in _applications(self.equations[f])})
                 for f in self.fields]
        fn = sympy.lambdify(args + list(slots.values()), exprs, modules=[torch_namespace()], dummify=True)

        def rhs(d: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            cols = fn(*d.unbind(dim=1), *h.unbind(dim=1))
            n = d.shape[0]
            return torch.stack([torch.as_tensor(c, dtype=d.dtype, device=d.device).expand(n) for c in cols], 1)

        return rhs


def _applications(expr: sympy.Basic) -> set[sympy.Basic]:
    return {f for f in expr.atoms(sympy.Function) if isinstance(f.func, sympy.core.function.UndefinedFunction)}


def _entries(known: Any, fields: Sequence[str]) -> list[tuple[str, Any]]:
    """``(field, formula)`` pairs from a dict, ``"u_t = ..."`` lines, or one formula for a one-field dataset."""
    from discovery.known import formula_entries

    if isinstance(known, str) and "=" not in known:
        if len(fields) != 1:
            raise DiscoveryError(f"known PDE: one formula without a left side fits a single field; the data has "
                                 f"{', '.join(fields)}: write one 'field = formula' per field")
        return [(fields[0], known)]
    if isinstance(known, str):
        known = [line for line in known.replace(";", "\n").splitlines() if line.strip()]
    if isinstance(known, (list, tuple)):
        pairs = []
        for item in known:
            if not isinstance(item, str) or "=" not in item:
                raise DiscoveryError(f"known PDE: expected entries like 'u_t = h1(u, u_x) + 0.1*u_xx', found "
                                     f"{str(item)[:80]!r}")
            lhs, rhs = item.split("=", 1)
            lhs = lhs.strip()
            pairs.append((lhs.removesuffix("_t"), rhs))
        known = pairs
    elif isinstance(known, Mapping):
        known = [(str(k).removesuffix("_t"), v) for k, v in known.items()]
    else:
        raise DiscoveryError(f"known PDE: expected a dict field -> formula, 'field = formula' lines or one formula, "
                             f"found {type(known).__name__}")
    return formula_entries(dict(known), "known PDE")


def parse_field_known(known: Any, fields: Sequence[str], axes: Sequence[str]) -> FieldKnown:
    """Parse and check a partly known PDE against the data's fields and axes.

    Raises
    ------
    DiscoveryError
        When nothing is given, a field has no formula (or an unknown one has), a formula does not parse or uses a
        name that is neither a field nor a derivative of one (up to order :data:`MAX_ORDER`), a hidden function
        takes something else or different arguments in different places, or no hidden function is named.
    """
    from grammar.parser import hidden_functions, parse

    fields, axes = tuple(fields), tuple(axes)
    if not known:
        raise DiscoveryError("method 'pinn' needs a partly known PDE, e.g. known='h1(u, u_x) + 0.1*u_xx'; "
                             "none was given")
    names = derivative_names(fields, axes, MAX_ORDER)
    equations: dict[str, sympy.Expr] = {}
    for field, formula in _entries(known, fields):
        if field not in fields:
            raise DiscoveryError(f"known PDE: {field!r} is not a field of the data; expected {', '.join(fields)}")
        try:
            expr = parse(str(formula), names, hidden=True) if not isinstance(formula, sympy.Basic) else formula
        except GrammarError as exc:
            raise DiscoveryError(f"known PDE, equation for {field}_t: {exc}") from None
        unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in names)
        if unknown:
            raise DiscoveryError(f"known PDE, equation for {field}_t: unknown name(s) {', '.join(unknown)}; "
                                 f"expected fields and derivatives such as {', '.join(names[:4])}")
        equations[field] = sympy.sympify(expr)
    missing = [f for f in fields if f not in equations]
    if missing:
        raise DiscoveryError(f"known PDE: no equation for {', '.join(missing)}; expected one per field "
                             f"({', '.join(fields)})")
    equations = {f: equations[f] for f in fields}
    hidden: dict[str, tuple[str, ...]] = {}
    for field, expr in equations.items():
        try:
            found = hidden_functions(expr)
        except GrammarError as exc:
            raise DiscoveryError(f"known PDE, equation for {field}_t: {exc}") from None
        for name, args in found.items():
            arg_names = tuple(str(a) for a in args)
            if not arg_names or len(set(arg_names)) != len(arg_names):
                raise DiscoveryError(f"known PDE, equation for {field}_t: hidden term {name} must take distinct "
                                     f"fields or derivatives, found {name}({', '.join(arg_names)})")
            if hidden.setdefault(name, arg_names) != arg_names:
                raise DiscoveryError(f"known PDE: hidden term {name} is used with arguments "
                                     f"({', '.join(hidden[name])}) and ({', '.join(arg_names)}); expected the same "
                                     "arguments everywhere")
    if not hidden:
        raise DiscoveryError("known PDE: no hidden term; name what is unknown as h1(...), e.g. "
                             "'h1(u, u_x) + 0.1*u_xx'")
    if len(hidden) > MAX_HIDDEN_FUNCTIONS:
        raise DiscoveryError(f"known PDE: {len(hidden)} hidden terms; at most {MAX_HIDDEN_FUNCTIONS} are allowed")
    hidden = dict(sorted(hidden.items(), key=lambda kv: (len(kv[0]), kv[0])))
    used = {str(s) for e in equations.values() for s in e.free_symbols} | {a for v in hidden.values() for a in v}
    symbols = tuple(n for n in names if n in used)
    return FieldKnown(fields, axes, equations, hidden, symbols)


__all__ = ["MAX_ORDER", "FieldKnown", "parse_field_known"]
