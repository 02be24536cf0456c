"""The ODE zoo: named dynamical systems with nominal parameters, ranges and sampling windows.

Every system of PROSE's ODE families (Liu, Zhang & Schaeffer, *PROSE: Predicting Operators and Symbolic
Expressions using Multimodal Transformers*, 2023) is here, next to classic small models (predator-prey,
oscillators, epidemics, chemistry). Each right-hand side is built from sympy objects directly and stays inside
the operator table of :mod:`grammar.operators` (arithmetic, integer powers, ``sin``, ``cos``, ...), so that it
can be serialized to prefix tokens, simulated with numpy, and turned into a torch vector field.

Parameter ranges are the nominal value +-10% unless a system needs narrower ones to stay on its attractor;
initial-condition ranges are boxes where the nominal dynamics neither escape nor blow up; ``t_span`` and ``dt``
show the dynamics in a few hundred to a couple of thousand samples.

Examples
--------
>>> from grammar.zoo import get_system
>>> lorenz = get_system("lorenz")
>>> lorenz.variables
('x', 'y', 'z')
>>> lorenz.rhs()["z"]
x*y - 2.66666666666667*z
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import sympy

from grammar.errors import GrammarError

FAMILIES = ("prose", "classic")
"""``prose``: the ODE families PROSE is trained on; ``classic``: textbook models."""


@dataclass(frozen=True)
class ODESystem:
    """An autonomous system ``d v/dt = f_v(state; params)`` with everything needed to sample data from it.

    Attributes
    ----------
    name:
        Slug used to look the system up (``"lorenz"``).
    title:
        Human-readable name (``"Lorenz"``).
    variables:
        State variable names, in order (``("x", "y", "z")``).
    equations:
        Right-hand side of ``d v/dt`` for each variable, as sympy expressions in ``sympy.Symbol(v)`` and the
        parameter symbols ``sympy.Symbol(p)``.
    params:
        Parameter name -> nominal value.
    param_ranges:
        Parameter name -> ``(lo, hi)`` sampling range.
    x0:
        Nominal initial condition, one value per variable.
    x0_range:
        ``(lo, hi)`` per variable: where initial conditions are sampled.
    t_span:
        ``(t0, t1)`` of a typical trajectory.
    dt:
        Suggested sampling step.
    family:
        ``"prose"`` or ``"classic"``.
    description:
        One line on what the system models.
    """

    name: str
    title: str
    variables: tuple[str, ...]
    equations: tuple[sympy.Expr, ...]
    params: dict[str, float]
    param_ranges: dict[str, tuple[float, float]]
    x0: tuple[float, ...]
    x0_range: tuple[tuple[float, float], ...]
    t_span: tuple[float, float]
    dt: float
    family: str
    description: str

    def __post_init__(self) -> None:
        where = f"ODE system {self.name!r}"
        dim = len(self.variables)
        if dim == 0 or len(set(self.variables)) != dim:
            raise GrammarError(f"{where}: expected distinct variable names, found {self.variables}")
        if len(self.equations) != dim:
            raise GrammarError(f"{where}: expected {dim} equations (one per variable), found {len(self.equations)}")
        unreadable = [v for v in self.variables if not _plain_name(v)]
        if unreadable:
            raise GrammarError(
                f"{where}: variable names {unreadable} must be identifiers that are not function names of the "
                f"grammar"
            )
        clash = sorted(set(self.variables) & set(self.params))
        if clash:
            raise GrammarError(f"{where}: names {clash} are used both as variables and as parameters")
        if set(self.param_ranges) != set(self.params):
            raise GrammarError(
                f"{where}: param_ranges must cover exactly the parameters {sorted(self.params)}, "
                f"found {sorted(self.param_ranges)}"
            )
        if len(self.x0) != dim or len(self.x0_range) != dim:
            raise GrammarError(
                f"{where}: x0 and x0_range need {dim} entries, found {len(self.x0)} and {len(self.x0_range)}"
            )
        allowed = {sympy.Symbol(n) for n in (*self.variables, *self.params)}
        for var, eq in zip(self.variables, self.equations):
            unknown = sorted(str(s) for s in sympy.sympify(eq).free_symbols - allowed)
            if unknown:
                raise GrammarError(f"{where}: equation for d{var}/dt uses unknown symbols {unknown}")
        if not self.t_span[1] > self.t_span[0] or not self.dt > 0:
            raise GrammarError(f"{where}: expected t0 < t1 and dt > 0, found t_span={self.t_span}, dt={self.dt}")
        if self.family not in FAMILIES:
            raise GrammarError(f"{where}: family must be one of {FAMILIES}, found {self.family!r}")

    def __hash__(self) -> int:
        return hash((self.name, self.variables, self.equations))

    @property
    def dim(self) -> int:
        """Number of state variables."""
        return len(self.variables)

    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        """The state variables as sympy symbols, in order."""
        return tuple(sympy.Symbol(v) for v in self.variables)

    def rhs(self, params: Mapping[str, float] | None = None) -> dict[str, sympy.Expr]:
        """Right-hand sides with parameter values substituted, keyed by variable name.

        Parameters
        ----------
        params:
            A value for every parameter of the system; ``None`` uses the nominal values.

        Raises
        ------
        GrammarError
            When ``params`` misses parameters, names unknown ones, or holds a non-finite value.

        Examples
        --------
        >>> get_system("logistic").rhs({"r": 2.0, "K": 5.0})
        {'x': 2.0*x*(1 - 0.2*x)}
        """
        values = dict(self.params) if params is None else dict(params)
        missing = sorted(set(self.params) - set(values))
        unknown = sorted(set(values) - set(self.params))
        if missing or unknown:
            raise GrammarError(
                f"ODE system {self.name!r} expects values for exactly the parameters {sorted(self.params)}; "
                f"missing {missing}, unknown {unknown}"
            )
        subs = {}
        for key, value in values.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if not math.isfinite(number):
                raise GrammarError(
                    f"ODE system {self.name!r}: parameter {key!r} must be a finite number, found {value!r}"
                )
            subs[sympy.Symbol(key)] = sympy.Float(number)
        return {var: sympy.sympify(eq).xreplace(subs) for var, eq in zip(self.variables, self.equations)}


def _plain_name(name: str) -> bool:
    """Whether ``name`` can name a variable: an identifier that is not a function of the grammar (names sympy gives
    a meaning, such as ``S`` or ``I``, are plain symbols here; equations are never re-read by ``sympify``)."""
    from grammar.operators import function_names

    return isinstance(name, str) and name.isidentifier() and name not in function_names()


# --- construction helpers --------------------------------------------------------------------------------


def _within(params: Mapping[str, float], frac: float = 0.1, **overrides: tuple[float, float]) -> dict:
    """``nominal +- frac * |nominal|`` for every parameter, with explicit ``overrides``."""
    ranges = {}
    for key, value in params.items():
        half = abs(value) * frac
        ranges[key] = (value - half, value + half)
    ranges.update(overrides)
    return ranges


def _box(lo: float, hi: float, dim: int) -> tuple[tuple[float, float], ...]:
    return tuple((lo, hi) for _ in range(dim))


def _system(
    name: str,
    title: str,
    variables: Sequence[str],
    params: Mapping[str, float],
    build: Callable[..., Sequence[sympy.Expr]],
    *,
    x0: Sequence[float],
    x0_range: Sequence[tuple[float, float]],
    t_span: tuple[float, float],
    dt: float,
    family: str,
    description: str,
    param_ranges: Mapping[str, tuple[float, float]] | None = None,
) -> ODESystem:
    """Build the equations by calling ``build(*variable_symbols, **param_symbols)``."""
    syms = [sympy.Symbol(v) for v in variables]
    psyms = {p: sympy.Symbol(p) for p in params}
    equations = tuple(sympy.sympify(e) for e in build(*syms, **psyms))
    return ODESystem(
        name=name,
        title=title,
        variables=tuple(variables),
        equations=equations,
        params={k: float(v) for k, v in params.items()},
        param_ranges={k: (float(lo), float(hi)) for k, (lo, hi) in (param_ranges or _within(params)).items()},
        x0=tuple(float(v) for v in x0),
        x0_range=tuple((float(lo), float(hi)) for lo, hi in x0_range),
        t_span=(float(t_span[0]), float(t_span[1])),
        dt=float(dt),
        family=family,
        description=description,
    )


_THIRD = sympy.Rational(1, 3)


def _lorenz96(n: int) -> ODESystem:
    names = [f"x{i + 1}" for i in range(n)]

    def build(*x: sympy.Symbol, F: sympy.Symbol) -> list[sympy.Expr]:
        # dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, indices cyclic
        return [(x[(i + 1) % n] - x[(i - 2) % n]) * x[(i - 1) % n] - x[i] + F for i in range(n)]

    return _system(
        f"lorenz96_{n}d",
        f"Lorenz-96 ({n}D)",
        names,
        {"F": 8.0},
        build,
        x0=[1.0, -1.0, 2.0, 0.5, -0.5][:n],
        x0_range=_box(-2.0, 2.0, n),
        t_span=(0.0, 20.0),
        dt=0.02,
        family="prose",
        description=f"Lorenz's {n}-site atmospheric toy model on a ring: advection, damping and constant forcing F",
    )


def _double_pendulum(theta1, theta2, omega1, omega2, g, l):  # noqa: E741 (the pendulum length)
    # Two equal point masses on equal massless rods of length l (the form PROSE uses, with its coefficient of
    # omega2**2 in the second equation corrected to the Lagrangian value 2).
    delta = theta1 - theta2
    denom = 3 - sympy.cos(2 * theta1 - 2 * theta2)
    return [
        omega1,
        omega2,
        (
            -3 * g / l * sympy.sin(theta1)
            - g / l * sympy.sin(theta1 - 2 * theta2)
            - 2 * sympy.sin(delta) * (omega2**2 + omega1**2 * sympy.cos(delta))
        )
        / denom,
        sympy.sin(delta) * (4 * omega1**2 + 4 * g / l * sympy.cos(theta1) + 2 * omega2**2 * sympy.cos(delta)) / denom,
    ]


def _build_zoo() -> dict[str, ODESystem]:
    sin, cos = sympy.sin, sympy.cos
    systems = [
        # --- PROSE's families ------------------------------------------------------------------------------
        _system(
            "thomas", "Thomas", "xyz", {"b": 0.208186},
            lambda x, y, z, b: [sin(y) - b * x, sin(z) - b * y, sin(x) - b * z],
            x0=[1.0, 0.0, -1.0], x0_range=_box(-2.0, 2.0, 3), t_span=(0.0, 200.0), dt=0.1, family="prose",
            description="Thomas' cyclically symmetric attractor: a particle in a 3D lattice of forces with friction b",
        ),
        _system(
            "lorenz", "Lorenz", "xyz", {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
            lambda x, y, z, sigma, rho, beta: [sigma * (y - x), x * (rho - z) - y, x * y - beta * z],
            x0=[-8.0, 8.0, 27.0], x0_range=((-15.0, 15.0), (-20.0, 20.0), (10.0, 40.0)), t_span=(0.0, 20.0),
            dt=0.01, family="prose",
            description="Lorenz's model of atmospheric convection, the butterfly attractor",
        ),
        _system(
            "aizawa", "Aizawa", "xyz", {"a": 0.95, "b": 0.7, "c": 0.6, "d": 3.5, "e": 0.25, "f": 0.1},
            lambda x, y, z, a, b, c, d, e, f: [
                (z - b) * x - d * y,
                d * x + (z - b) * y,
                c + a * z - _THIRD * z**3 - (x**2 + y**2) * (1 + e * z) + f * z * x**3,
            ],
            x0=[0.1, 0.0, 0.0], x0_range=((-0.5, 0.5), (-0.5, 0.5), (-0.5, 0.5)), t_span=(0.0, 50.0), dt=0.05,
            family="prose",
            description="Aizawa's attractor: a sphere-like shell pierced by a tube along the z axis",
        ),
        _system(
            "chen_lee", "Chen-Lee", "xyz", {"a": 5.0, "b": -10.0, "c": -0.38},
            lambda x, y, z, a, b, c: [a * x - y * z, b * y + x * z, c * z + _THIRD * x * y],
            x0=[1.0, 1.0, 4.5], x0_range=_box(-5.0, 5.0, 3), t_span=(0.0, 20.0), dt=0.01, family="prose",
            description="Chen and Lee's rigid-body (gyro) motion with feedback, a two-scroll attractor",
        ),
        _system(
            "dadras", "Dadras", "xyz", {"a": 3.0, "b": 2.7, "c": 1.7, "d": 2.0, "e": 9.0},
            lambda x, y, z, a, b, c, d, e: [y - a * x + b * y * z, c * y - x * z + z, d * x * y - e * z],
            x0=[1.0, 1.0, 0.0], x0_range=_box(-2.0, 2.0, 3), t_span=(0.0, 40.0), dt=0.02, family="prose",
            description="Dadras and Momeni's multi-scroll chaotic attractor",
        ),
        _system(
            "rossler", "Rössler", "xyz", {"a": 0.2, "b": 0.2, "c": 5.7},
            lambda x, y, z, a, b, c: [-y - z, x + a * y, b + z * (x - c)],
            x0=[1.0, 1.0, 0.0], x0_range=((-6.0, 6.0), (-6.0, 6.0), (0.0, 1.0)), t_span=(0.0, 100.0), dt=0.05,
            family="prose",
            description="Rössler's band attractor: a spiral in the x-y plane re-injected by a fold in z",
        ),
        _system(
            "halvorsen", "Halvorsen", "xyz", {"a": 1.89},
            lambda x, y, z, a: [
                -a * x - 4 * y - 4 * z - y**2,
                -a * y - 4 * z - 4 * x - z**2,
                -a * z - 4 * x - 4 * y - x**2,
            ],
            x0=[-1.48, -1.51, 2.04], x0_range=((-2.0, 0.0), (-2.0, 0.0), (1.0, 3.0)), t_span=(0.0, 50.0),
            dt=0.025, family="prose",
            description="Halvorsen's cyclically symmetric three-lobed attractor",
        ),
        _system(
            "rabinovich_fabrikant", "Rabinovich-Fabrikant", "xyz", {"alpha": 0.98, "gamma": 0.1},
            lambda x, y, z, alpha, gamma: [
                y * (z - 1 + x**2) + gamma * x,
                x * (3 * z + 1 - x**2) + gamma * y,
                -2 * z * (alpha + x * y),
            ],
            x0=[-1.0, 0.0, 0.5], x0_range=((-1.2, -0.8), (-0.2, 0.2), (0.3, 0.7)), t_span=(0.0, 50.0), dt=0.05,
            family="prose",
            description="Rabinovich and Fabrikant's model of modulation instability in non-equilibrium media",
        ),
        _system(
            "sprott_b", "Sprott B", "xyz", {"a": 0.4, "b": 1.2, "c": 1.0},
            lambda x, y, z, a, b, c: [a * y * z, x - b * y, c - x * y],
            x0=[0.05, 0.05, 0.05], x0_range=_box(-0.5, 0.5, 3), t_span=(0.0, 100.0), dt=0.05, family="prose",
            description="Sprott's case B, one of the simplest quadratic chaotic flows, with explicit parameters",
        ),
        _system(
            "sprott_linz_f", "Sprott-Linz F", "xyz", {"a": 0.5},
            lambda x, y, z, a: [y + z, -x + a * y, x**2 - z],
            x0=[0.1, 0.0, 0.0], x0_range=((-0.1, 0.3), (-0.2, 0.2), (-0.2, 0.2)), t_span=(0.0, 100.0), dt=0.05,
            family="prose", param_ranges={"a": (0.45, 0.5)},  # escapes to infinity from part of phase space for a > 0.5
            description="Sprott and Linz's case F: a chaotic flow with five terms and one quadratic nonlinearity",
        ),
        _system(
            "four_wing", "Four-wing", "xyz", {"a": 0.2, "b": 0.01, "c": -0.4},
            lambda x, y, z, a, b, c: [a * x + y * z, b * x + c * y - x * z, -z - x * y],
            x0=[1.0, 1.0, 1.0], x0_range=_box(-2.0, 2.0, 3), t_span=(0.0, 100.0), dt=0.05, family="prose",
            description="Wang, Sun et al.'s four-wing chaotic attractor",
        ),
        _system(
            "duffing", "Duffing (forced)", ("x", "v", "phi"),
            {"delta": 0.3, "alpha": -1.0, "beta": 1.0, "gamma": 0.5, "omega": 1.2},
            lambda x, v, phi, delta, alpha, beta, gamma, omega: [
                v,
                -delta * v - alpha * x - beta * x**3 + gamma * cos(phi),
                omega,
            ],
            x0=[1.0, 0.0, 0.0], x0_range=((-1.5, 1.5), (-1.0, 1.0), (0.0, 2 * math.pi)), t_span=(0.0, 100.0),
            dt=0.05, family="prose",
            description="Periodically forced double-well Duffing oscillator, autonomous with the forcing phase phi",
        ),
        _lorenz96(4),
        _lorenz96(5),
        _system(
            "double_pendulum", "Double pendulum", ("theta1", "theta2", "omega1", "omega2"), {"g": 9.81, "l": 1.0},
            _double_pendulum,
            x0=[math.pi / 2, math.pi / 2, 0.0, 0.0], x0_range=((-2.0, 2.0), (-2.0, 2.0), (-1.0, 1.0), (-1.0, 1.0)),
            t_span=(0.0, 20.0), dt=0.01, family="prose",
            description="Two equal point masses on equal rods swinging under gravity g (angles from the vertical)",
        ),
        # --- classic small systems ---------------------------------------------------------------------------
        _system(
            "lotka_volterra", "Lotka-Volterra", ("x", "y"),
            {"alpha": 1.0, "beta": 0.1, "delta": 0.075, "gamma": 1.5},
            lambda x, y, alpha, beta, delta, gamma: [alpha * x - beta * x * y, delta * x * y - gamma * y],
            x0=[10.0, 5.0], x0_range=((5.0, 15.0), (2.0, 8.0)), t_span=(0.0, 30.0), dt=0.05, family="classic",
            description="Predator-prey cycles: prey x grows and is eaten, predators y starve without prey",
        ),
        _system(
            "van_der_pol", "Van der Pol", ("x", "y"), {"mu": 1.0},
            lambda x, y, mu: [y, mu * (1 - x**2) * y - x],
            x0=[2.0, 0.0], x0_range=_box(-3.0, 3.0, 2), t_span=(0.0, 30.0), dt=0.02, family="classic",
            description="Van der Pol's relaxation oscillator with nonlinear damping mu",
        ),
        _system(
            "fitzhugh_nagumo", "FitzHugh-Nagumo", ("v", "w"), {"a": 0.7, "b": 0.8, "eps": 0.08, "current": 0.5},
            lambda v, w, a, b, eps, current: [v - _THIRD * v**3 - w + current, eps * (v + a - b * w)],
            x0=[-1.0, 1.0], x0_range=((-2.0, 2.0), (-1.0, 1.5)), t_span=(0.0, 200.0), dt=0.1, family="classic",
            description="FitzHugh-Nagumo spiking neuron: membrane potential v and recovery w under a constant current",
        ),
        _system(
            "damped_pendulum", "Damped pendulum", ("theta", "omega"), {"b": 0.25, "c": 5.0},
            lambda theta, omega, b, c: [omega, -b * omega - c * sin(theta)],
            x0=[math.pi - 0.1, 0.0], x0_range=((-3.1, 3.1), (-1.0, 1.0)), t_span=(0.0, 20.0), dt=0.02,
            family="classic",
            description="A pendulum with linear friction b and gravity-over-length c",
        ),
        _system(
            # lower-case names (from when S and I were refused); any identifier works now
            "sir", "SIR epidemic", ("s", "i", "r"), {"beta": 0.4, "gamma": 0.1},
            lambda s, i, r, beta, gamma: [-beta * s * i, beta * s * i - gamma * i, gamma * i],
            x0=[0.99, 0.01, 0.0], x0_range=((0.9, 0.999), (0.001, 0.1), (0.0, 0.0)), t_span=(0.0, 100.0),
            dt=0.25, family="classic",
            description="Kermack-McKendrick epidemic: susceptible, infected and recovered fractions",
        ),
        _system(
            "brusselator", "Brusselator", ("x", "y"), {"a": 1.0, "b": 3.0},
            lambda x, y, a, b: [a + x**2 * y - (b + 1) * x, b * x - x**2 * y],
            x0=[1.0, 1.0], x0_range=((0.5, 2.0), (0.5, 2.0)), t_span=(0.0, 30.0), dt=0.02, family="classic",
            description="Prigogine's autocatalytic chemical oscillator (limit cycle for b > 1 + a^2)",
        ),
        _system(
            "logistic", "Logistic growth", ("x",), {"r": 1.0, "K": 10.0},
            lambda x, r, K: [r * x * (1 - x / K)],
            x0=[0.5], x0_range=((0.1, 2.0),), t_span=(0.0, 15.0), dt=0.05, family="classic",
            description="Verhulst's population growth at rate r up to the carrying capacity K",
        ),
    ]
    return {s.name: s for s in systems}


ZOO: dict[str, ODESystem] = _build_zoo()
"""Every system of the zoo, by name."""


def list_systems(family: str | None = None) -> list[str]:
    """Names of the zoo's systems, optionally only those of one ``family`` (``"prose"`` or ``"classic"``).

    Examples
    --------
    >>> "lorenz" in list_systems("prose")
    True
    """
    if family is not None and family not in FAMILIES:
        raise GrammarError(f"unknown family {family!r}; expected one of {FAMILIES}")
    return [name for name, s in ZOO.items() if family is None or s.family == family]


def get_system(name: str) -> ODESystem:
    """The zoo system called ``name``.

    Raises
    ------
    GrammarError
        When there is no such system; the message lists the valid names.

    Examples
    --------
    >>> get_system("van_der_pol").params
    {'mu': 1.0}
    """
    try:
        return ZOO[name]
    except (KeyError, TypeError):
        raise GrammarError(f"unknown ODE system {name!r}; valid names: {', '.join(sorted(ZOO))}") from None
