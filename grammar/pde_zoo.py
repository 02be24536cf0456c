"""The PDE zoo: named evolution equations ``u_t = F(u, u_x, u_xx, ...)`` with parameters, domains and grids.

Every right-hand side is a sympy expression in *derivative symbols*: ``u`` is the field, ``u_x``, ``u_xx``,
``u_xxx`` its spatial derivatives (in 2-D also ``u_y``, ``u_xy``, ``u_yy``, ...; the axis letters of a name are
sorted, ``x`` before ``y``). This is the same naming that discovered PDEs use in results (DESIGN.md, result
contract), so a zoo equation and a discovered one compare term by term. :func:`derivative_name` and
:func:`parse_derivative_name` convert between names and ``(field, orders)``.

The zoo is data only: initial conditions are named families (``"fourier"``, ``"solitons"``, ...) that the
simulation layer (:mod:`discovery.fields.simulate`) draws; nothing here needs numpy.

Examples
--------
>>> from grammar.pde_zoo import get_pde
>>> burgers = get_pde("burgers")
>>> burgers.rhs()["u"]
-u*u_x + 0.1*u_xx
>>> burgers.max_order
2
>>> derivative_name("u", (2,))
'u_xx'
>>> parse_derivative_name("v_xy", fields=("u", "v"), axes=("x", "y"))
('v', (1, 1))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

import sympy

from grammar.errors import GrammarError

AXES = ("x", "y")
"""Spatial axis names, in order; a 1-D field uses ``("x",)``."""

BOUNDARIES = ("periodic", "dirichlet", "neumann")
"""``periodic``; ``dirichlet``: the field is held at its initial boundary values; ``neumann``: zero flux."""

FIELD_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")
"""A field name: a letter, then letters or digits (no underscore, which separates the derivative axes)."""

RESERVED_FIELD_NAMES = ("t", "x", "y")
"""Coordinate names, which no field may take."""


def derivative_name(field: str, orders: Sequence[int], axes: Sequence[str] = AXES) -> str:
    """The symbol name of a spatial derivative: ``("u", (2,)) -> "u_xx"``, ``("u", (1, 2)) -> "u_xyy"``.

    ``orders[k]`` is the order along ``axes[k]``; all zero gives the field name itself.
    """
    suffix = "".join(axis * int(n) for axis, n in zip(axes, orders))
    return f"{field}_{suffix}" if suffix else field


def parse_derivative_name(
    name: str, fields: Sequence[str], axes: Sequence[str] = ("x",)
) -> tuple[str, tuple[int, ...]] | None:
    """``(field, orders)`` for a derivative symbol name of one of ``fields``, or ``None`` when it is not one.

    The axis letters after the underscore must be sorted in the order of ``axes`` (``u_xy``, not ``u_yx``).
    """
    if name in fields:
        return name, (0,) * len(axes)
    head, sep, tail = name.partition("_")
    if not sep or head not in fields or not tail:
        return None
    orders = tuple(tail.count(a) for a in axes)
    if derivative_name(head, orders, axes) != name:
        return None
    return head, orders


def derivative_symbol(field: str, orders: Sequence[int], axes: Sequence[str] = AXES) -> sympy.Symbol:
    """The sympy symbol of :func:`derivative_name` (built directly, so ``S`` or ``I`` stay plain symbols)."""
    return sympy.Symbol(derivative_name(field, orders, axes))


def derivative_names(fields: Sequence[str], axes: Sequence[str], max_order: int) -> list[str]:
    """Every derivative symbol name of ``fields`` up to total order ``max_order`` (fields themselves first).

    >>> derivative_names(["u"], ["x"], 2)
    ['u', 'u_x', 'u_xx']
    """
    multi = [()]
    for _ in axes:
        multi = [m + (n,) for m in multi for n in range(max_order + 1)]
    multi = sorted((m for m in multi if sum(m) <= max_order), key=lambda m: (sum(m), tuple(-n for n in m)))
    return [derivative_name(f, m, axes) for m in multi for f in fields]


def check_field_name(name: str) -> None:
    """Raise :class:`GrammarError` unless ``name`` can name a field (see :data:`FIELD_NAME_RE`)."""
    if not isinstance(name, str) or not FIELD_NAME_RE.match(name) or name in RESERVED_FIELD_NAMES:
        raise GrammarError(
            f"field name {name!r} is not usable: expected a letter followed by letters or digits, no underscore "
            f"(it separates derivative axes, as in u_xx), and none of {', '.join(RESERVED_FIELD_NAMES)}"
        )


@dataclass(frozen=True)
class PDESystem:
    """An evolution equation ``f_t = F_f(fields, spatial derivatives; params)`` for each field ``f``.

    Attributes
    ----------
    name, title:
        Slug (``"burgers"``) and readable name (``"viscous Burgers"``).
    fields:
        Field names, in order (``("u",)`` or ``("u", "v")``).
    axes:
        Spatial axes, ``("x",)`` or ``("x", "y")``.
    equations:
        Right-hand side of ``f_t`` per field, in derivative symbols (``u_xx``) and parameter symbols.
    params, param_ranges:
        Nominal parameter values, and ``(lo, hi)`` ranges for drawing other ones.
    domain:
        ``(lo, hi)`` per axis. A periodic axis has period ``hi - lo`` and its grid excludes ``hi``.
    boundary:
        One of :data:`BOUNDARIES`, the same on every side.
    t_span:
        ``(t0, t1)`` of the sampled window.
    grid:
        Default sampling ``(Nt, Nx[, Ny])``.
    initial:
        Name of the initial-condition family the simulation layer draws (nominal member with seed ``None``).
    description:
        One line on what the equation models.
    """

    name: str
    title: str
    fields: tuple[str, ...]
    axes: tuple[str, ...]
    equations: tuple[sympy.Expr, ...]
    params: dict[str, float]
    param_ranges: dict[str, tuple[float, float]]
    domain: tuple[tuple[float, float], ...]
    boundary: str
    t_span: tuple[float, float]
    grid: tuple[int, ...]
    initial: str
    description: str

    def __post_init__(self) -> None:
        where = f"PDE system {self.name!r}"
        for f in self.fields:
            check_field_name(f)
        if not self.fields or len(set(self.fields)) != len(self.fields):
            raise GrammarError(f"{where}: expected distinct field names, found {self.fields}")
        if self.axes not in (("x",), ("x", "y")):
            raise GrammarError(f"{where}: axes must be ('x',) or ('x', 'y'), found {self.axes}")
        if len(self.equations) != len(self.fields):
            raise GrammarError(f"{where}: expected one equation per field, found {len(self.equations)}")
        if len(self.domain) != len(self.axes) or any(not hi > lo for lo, hi in self.domain):
            raise GrammarError(f"{where}: expected one (lo, hi) with lo < hi per axis, found {self.domain}")
        if len(self.grid) != 1 + len(self.axes) or min(self.grid) < 8:
            raise GrammarError(f"{where}: grid must be (Nt, Nx[, Ny]) with at least 8 points, found {self.grid}")
        if self.boundary not in BOUNDARIES:
            raise GrammarError(f"{where}: boundary must be one of {BOUNDARIES}, found {self.boundary!r}")
        if set(self.param_ranges) != set(self.params):
            raise GrammarError(f"{where}: param_ranges must cover exactly the parameters {sorted(self.params)}")
        if not self.t_span[1] > self.t_span[0]:
            raise GrammarError(f"{where}: expected t0 < t1, found {self.t_span}")
        allowed = {s.name for s in self.derivative_symbols()} | set(self.params)
        for f, eq in zip(self.fields, self.equations):
            unknown = sorted(s.name for s in eq.free_symbols if s.name not in allowed)
            if unknown:
                raise GrammarError(f"{where}: equation for {f}_t uses unknown symbols {unknown}")

    def __hash__(self) -> int:
        return hash((self.name, self.fields, self.equations))

    @property
    def dim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.axes)

    @property
    def periodic(self) -> bool:
        """Whether every axis is periodic."""
        return self.boundary == "periodic"

    def derivative_symbols(self, max_order: int = 4) -> list[sympy.Symbol]:
        """The derivative symbols of this system's fields up to ``max_order``."""
        return [sympy.Symbol(n) for n in derivative_names(self.fields, self.axes, max_order)]

    @property
    def max_order(self) -> int:
        """Highest total derivative order in the equations."""
        found = 0
        for eq in self.equations:
            for s in eq.free_symbols:
                parsed = parse_derivative_name(s.name, self.fields, self.axes)
                if parsed is not None:
                    found = max(found, sum(parsed[1]))
        return found

    def rhs(self, params: Mapping[str, float] | None = None) -> dict[str, sympy.Expr]:
        """Right-hand sides with parameters substituted (nominal values, updated by ``params``)."""
        values = dict(self.params)
        if params:
            unknown = sorted(set(params) - set(values))
            if unknown:
                raise GrammarError(
                    f"PDE system {self.name!r}: unknown parameter(s) {unknown}; known: {sorted(values)}"
                )
            values.update({k: float(v) for k, v in params.items()})
        subs = {sympy.Symbol(k): sympy.Float(v) for k, v in values.items()}
        return {f: sympy.expand(eq.xreplace(subs)) for f, eq in zip(self.fields, self.equations)}


def _sym(*names: str) -> tuple[sympy.Symbol, ...]:
    return tuple(sympy.Symbol(n) for n in names)


def _pde(name: str, title: str, fields: tuple, axes: tuple, equations: tuple, params: dict, **kw) -> PDESystem:
    """A zoo entry whose parameters may each be drawn within +-20% of the nominal value."""
    ranges = {k: (min(0.8 * v, 1.2 * v), max(0.8 * v, 1.2 * v)) for k, v in params.items()}
    return PDESystem(name, title, fields, axes, equations, params, ranges, **kw)


def _build() -> dict[str, PDESystem]:
    u, v, u_x, u_xx, u_xxx, u_xxxx, v_xx, u_yy = _sym("u", "v", "u_x", "u_xx", "u_xxx", "u_xxxx", "v_xx", "u_yy")
    D, c, nu, a, b, eps, r, Du, Dv, K = _sym("D", "c", "nu", "a", "b", "eps", "r", "Du", "Dv", "K")
    systems = [
        _pde(
            "heat", "heat (diffusion)", ("u",), ("x",), (D * u_xx,), {"D": 0.2},
            domain=((0.0, 3.141592653589793),), boundary="dirichlet", t_span=(0.0, 2.0), grid=(256, 256),
            initial="sine", description="a rod held at zero at both ends cools: u_t = D u_xx",
        ),
        _pde(
            "advection_diffusion", "advection-diffusion", ("u",), ("x",), (-c * u_x + D * u_xx,),
            {"c": 1.0, "D": 0.05}, domain=((0.0, 6.283185307179586),), boundary="periodic",
            t_span=(0.0, 4.0), grid=(256, 256), initial="fourier",
            description="a profile carried at speed c and spread by diffusion D",
        ),
        _pde(
            "burgers", "viscous Burgers", ("u",), ("x",), (-u * u_x + nu * u_xx,), {"nu": 0.1},
            domain=((-8.0, 8.0),), boundary="periodic", t_span=(0.0, 10.0), grid=(256, 256), initial="bump",
            description="nonlinear advection steepening into a viscous shock",
        ),
        _pde(
            "kdv", "Korteweg-de Vries", ("u",), ("x",), (-a * u * u_x - u_xxx,), {"a": 6.0},
            domain=((-30.0, 30.0),), boundary="periodic", t_span=(0.0, 5.0), grid=(256, 256),
            initial="solitons", description="shallow-water waves: two solitons overtaking each other",
        ),
        _pde(
            "kuramoto_sivashinsky", "Kuramoto-Sivashinsky", ("u",), ("x",), (-u * u_x - u_xx - u_xxxx,), {},
            domain=((0.0, 100.53096491487338),), boundary="periodic", t_span=(0.0, 40.0), grid=(256, 256),
            initial="ks", description="flame-front instability: long waves grow, short ones are damped",
        ),
        _pde(
            "allen_cahn", "Allen-Cahn", ("u",), ("x",), (eps * u_xx + u - u**3,), {"eps": 0.01},
            domain=((-1.0, 1.0),), boundary="neumann", t_span=(0.0, 6.0), grid=(256, 256), initial="cosine",
            description="phase separation into +1/-1 domains with moving interfaces",
        ),
        _pde(
            "fisher_kpp", "Fisher-KPP", ("u",), ("x",), (D * u_xx + r * u - r * u**2,), {"D": 0.5, "r": 1.0},
            domain=((0.0, 40.0),), boundary="neumann", t_span=(0.0, 8.0), grid=(256, 256), initial="fronts",
            description="a population spreading as travelling fronts into empty space",
        ),
        _pde(
            "fitzhugh_nagumo_pde", "FitzHugh-Nagumo (two species)", ("u", "v"), ("x",),
            (Du * u_xx + u - u**3 - v, Dv * v_xx + a * u - b * v),
            {"Du": 1.0, "Dv": 4.0, "a": 0.5, "b": 1.0}, domain=((0.0, 50.0),), boundary="periodic",
            t_span=(0.0, 10.0), grid=(256, 256), initial="fourier",
            description="activator u and slower inhibitor v forming travelling excitation patterns",
        ),
        _pde(
            "monod_diffusion", "reaction-diffusion with Monod kinetics", ("u",), ("x",),
            (D * u_xx + a * u / (K + u) - b * u,), {"D": 0.05, "a": 2.0, "K": 1.0, "b": 0.5},
            domain=((0.0, 6.283185307179586),), boundary="periodic", t_span=(0.0, 8.0), grid=(256, 256),
            initial="positive",
            description="a diffusing population with saturating (Michaelis-Menten) growth and linear loss",
        ),
        _pde(
            "heat_2d", "2-D heat", ("u",), ("x", "y"), (D * u_xx + D * u_yy,), {"D": 0.1},
            domain=((0.0, 6.283185307179586), (0.0, 6.283185307179586)), boundary="periodic",
            t_span=(0.0, 2.0), grid=(64, 64, 64), initial="fourier",
            description="diffusion on a periodic plate: u_t = D (u_xx + u_yy)",
        ),
    ]
    return {s.name: s for s in systems}


PDE_ZOO: dict[str, PDESystem] = _build()
"""Every PDE of the zoo by name."""


def get_pde(name: str) -> PDESystem:
    """The zoo PDE called ``name``; an unknown name raises :class:`GrammarError` listing the known ones."""
    try:
        return PDE_ZOO[name]
    except KeyError:
        raise GrammarError(f"unknown PDE {name!r}; known: {', '.join(PDE_ZOO)}") from None


def list_pdes(dim: int | None = None) -> list[str]:
    """Names of the zoo PDEs, optionally only those with ``dim`` spatial dimensions."""
    return [n for n, s in PDE_ZOO.items() if dim is None or s.dim == dim]
