"""Simulating systems of ODEs with numpy and scipy: right-hand sides from sympy, a guarded integrator, zoo data.

:func:`integrate` never hangs and never returns garbage: it stops with :class:`~discovery.errors.SimulationError`
when the state blows up (a terminal event on ``|x| > max_abs``), turns non-finite, when no solver can get through
(stiffness it cannot handle, a singularity), or when the wall-clock ``time_limit`` runs out (checked inside the
right-hand side, so that even a stalled solver is stopped). With ``method="auto"`` it starts with an explicit
Runge-Kutta method and switches to LSODA (then Radau) when the explicit one needs too many evaluations or its
step size collapses, the usual signs of stiffness.

Examples
--------
>>> data = simulate("lorenz", t=np.linspace(0.0, 1.0, 101), noise=0.01, seed=0)
>>> data.variables
('x', 'y', 'z')
>>> data[0].x.shape
(101, 3)
"""

from __future__ import annotations

import math
import numbers
import time
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import sympy

from discovery.errors import DataError, SimulationError
from grammar.errors import GrammarError
from grammar.operators import numpy_function
from grammar.zoo import ODESystem, get_system

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories

RHS = Callable[[float, np.ndarray], np.ndarray]
"""``f(t, x) -> dx/dt`` with ``x`` of shape ``(D,)`` (or ``(D, K)`` for ``K`` states at once)."""

SOLVERS = ("auto", "RK45", "RK23", "DOP853", "LSODA", "Radau", "BDF")
"""Valid ``method`` names of :func:`integrate` (all but ``"auto"`` are :func:`scipy.integrate.solve_ivp`'s)."""

_EXPLICIT = "DOP853"
_STIFF_FALLBACKS = ("LSODA", "Radau")


# --- right-hand sides ----------------------------------------------------------------------------------------


def lambdify_system(
    exprs: Sequence[sympy.Expr] | Mapping[str, sympy.Expr],
    variables: Sequence[str | sympy.Symbol],
    inputs: Sequence[str] = (),
    u: Callable[[float], np.ndarray] | None = None,
) -> RHS:
    """Turn sympy right-hand sides into a numpy function ``f(t, x) -> dx/dt``.

    Parameters
    ----------
    exprs:
        One expression per variable, in the order of ``variables`` (or a mapping variable name -> expression).
    variables:
        State variable names (or symbols).
    inputs:
        Names of the model's inputs and parameters (:mod:`discovery.inputs`); the expressions may use the
        variables, these names and the time ``t``, and no other symbol.
    u:
        ``u(t) -> (M,)``: the values of ``inputs`` at time ``t`` (e.g. a :class:`~discovery.inputs.InputSignal`,
        linear between samples); required when ``inputs`` is not empty.

    Returns
    -------
    callable
        ``f(t, x)`` with ``x`` of shape ``(D,)`` returning ``(D,)``; ``x`` of shape ``(D, K)`` (``K`` states, as
        :func:`scipy.integrate.solve_ivp` passes them with ``vectorized=True``) returns ``(D, K)``.

    Raises
    ------
    GrammarError
        When the number of expressions and variables differ, or an expression uses other symbols.

    Examples
    --------
    >>> x, y = sympy.symbols("x y")
    >>> f = lambdify_system([y, -x], ["x", "y"])
    >>> f(0.0, np.array([1.0, 2.0]))
    array([ 2., -1.])
    """
    names = [str(v) for v in variables]
    if isinstance(exprs, Mapping):
        missing = [v for v in names if v not in exprs]
        if missing:
            raise GrammarError(f"no right-hand side for variable(s) {missing}; got equations for {list(exprs)}")
        exprs = [exprs[v] for v in names]
    text = [e for e in exprs if isinstance(e, str)]
    if text:
        raise GrammarError(
            f"expected sympy expressions, found the text {text[0]!r}; parse formulas with grammar.parser.parse"
        )
    from discovery.inputs import no_inputs, symbols_of

    exprs = [sympy.sympify(e) for e in exprs]
    if len(exprs) != len(names):
        raise GrammarError(f"expected one right-hand side per variable ({len(names)}), found {len(exprs)}")
    inputs = [str(n) for n in inputs]
    if inputs and u is None:
        raise GrammarError(f"the system has inputs {inputs}; pass their values u(t)")
    symbols = [sympy.Symbol(v) for v in names]
    extra = symbols_of(inputs)  # the inputs, then t
    allowed = set(symbols) | set(extra)
    for name, expr in zip(names, exprs):
        unknown = sorted(str(s) for s in expr.free_symbols - allowed)
        if unknown:
            known = f"state variables {names}" + (f", inputs {inputs}" if inputs else "") + " or time t"
            raise GrammarError(f"right-hand side of d{name}/dt uses {unknown}, which are not {known}")
    fn = numpy_function(symbols + extra, exprs, cse=True)
    dim = len(names)
    signal = u or no_inputs

    def f(t: float, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if x.shape[0] != dim:
            raise ValueError(f"expected a state with {dim} components {names}, found shape {x.shape}")
        values = fn(*x, *signal(t), t)
        if x.ndim == 1:
            return np.array(values, dtype=float)  # (D,)
        return np.stack(np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in values]), axis=0)  # (D, K)

    return f


# --- the guarded integrator ----------------------------------------------------------------------------------


MAX_GROWTH = 1e8
"""A simulation has blown up when a state grows past this many times the typical size of the states."""
_LARGEST = 1e300
"""No blow-up bound above this: squares of larger states overflow."""


def state_scale(xs: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Typical magnitude of each state variable, shape ``(D,)``: its largest ``|x_v|`` over ``xs``.

    ``xs`` is one array ``(N, D)`` (or an initial state ``(D,)``) or a sequence of them (trajectories). A
    variable that is zero throughout takes the largest magnitude of the others, and 1 when every one is zero.
    Tolerances and bounds multiplied by it are unit-free.

    Examples
    --------
    >>> state_scale(np.array([[1e-9, 0.0, 3.0], [-2e-9, 0.0, 1.0]]))
    array([2.e-09, 3.e+00, 3.e+00])
    """
    arrays = [np.atleast_2d(np.asarray(a, dtype=float)) for a in ([xs] if isinstance(xs, np.ndarray) else xs)]
    with np.errstate(invalid="ignore"):
        top = np.max(np.stack([np.nanmax(np.abs(a), axis=0) for a in arrays]), axis=0)  # (D,)
    top = np.where(np.isfinite(top), top, 0.0)
    fallback = float(top.max()) if top.size and top.max() > 0 else 1.0
    return np.where(top > 0, top, fallback)


def _scale_of(x0: np.ndarray, scale: np.ndarray | Sequence[float] | float | None) -> np.ndarray:
    if scale is None:
        return state_scale(x0)
    sizes = np.broadcast_to(np.asarray(scale, dtype=float), x0.shape).copy()
    if not np.all(np.isfinite(sizes) & (sizes > 0)):
        raise ValueError(f"integrate: scale must be positive and finite, found {np.asarray(scale).tolist()}")
    return sizes


class _Abort(Exception):
    """Raised inside the right-hand side to stop :func:`scipy.integrate.solve_ivp` (a timeout or budget)."""

    def __init__(self, reason: str, t: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.t = t


class _Guard:
    """Wraps ``f``: counts evaluations, enforces the deadline and the evaluation budget."""

    def __init__(self, f: RHS, deadline: float, budget: int | None) -> None:
        self.f = f
        self.deadline = deadline
        self.budget = budget
        self.evals = 0
        self.raised = False  # whether ``f`` itself raised (then its error is not a solver failure)

    def __call__(self, t: float, x: np.ndarray) -> np.ndarray:
        self.evals += 1
        if time.perf_counter() > self.deadline:
            raise _Abort("timeout", t)
        if self.budget is not None and self.evals > self.budget:
            raise _Abort("budget", t)
        try:
            return self.f(t, x)
        except ArithmeticError as exc:  # ZeroDivisionError, OverflowError from plain-Python right-hand sides
            raise SimulationError(f"the right-hand side could not be evaluated at t={t:.6g}: {exc}") from exc
        except Exception:
            self.raised = True
            raise


def _check_grid(x0: np.ndarray | Sequence[float], t: np.ndarray | Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x0 = np.asarray(x0, dtype=float)
    t = np.asarray(t, dtype=float)
    if x0.ndim != 1 or x0.size == 0:
        raise DataError(f"expected an initial state of shape (D,), found shape {x0.shape}")
    if not np.all(np.isfinite(x0)):
        raise DataError(f"the initial state must be finite, found {x0.tolist()}")
    if t.ndim != 1 or t.size == 0:
        raise DataError(f"expected a time grid of shape (N,), found shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise DataError("the time grid must be finite")
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise DataError(f"time must strictly increase: t[{i}]={t[i]:g} follows t[{i - 1}]={t[i - 1]:g}", row=i)
    return x0, t


def integrate(
    f: RHS,
    x0: np.ndarray | Sequence[float],
    t: np.ndarray | Sequence[float],
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "auto",
    max_abs: float | None = None,
    time_limit: float = 20.0,
    scale: np.ndarray | Sequence[float] | float | None = None,
) -> np.ndarray:
    """Integrate ``dx/dt = f(t, x)`` from ``x(t[0]) = x0`` and return the states on the grid ``t``.

    Tolerances follow the size of the state, so that the result does not depend on units: the solver's absolute
    tolerance for variable ``v`` is ``atol * scale[v]``, and the blow-up bound defaults to
    ``MAX_GROWTH * max(scale)``. Time needs no scaling (the solver's step control is relative to the span).

    Parameters
    ----------
    f:
        Right-hand side ``f(t, x: (D,)) -> (D,)``, e.g. from :func:`lambdify_system`.
    x0:
        Initial state, shape ``(D,)``, at time ``t[0]``.
    t:
        Strictly increasing output times, shape ``(N,)``.
    rtol, atol:
        Solver tolerances: relative, and absolute in units of ``scale`` (so both are unit-free).
    method:
        ``"auto"`` (explicit DOP853, switching to LSODA then Radau on signs of stiffness) or one of
        :func:`scipy.integrate.solve_ivp`'s methods (``"RK45"``, ``"DOP853"``, ``"LSODA"``, ``"Radau"``, ...).
    max_abs:
        The solution has blown up when any ``|x_v|`` exceeds this (in the units of ``x``); default
        ``MAX_GROWTH * max(scale)``.
    time_limit:
        Wall-clock seconds for the whole call, all solver attempts included.
    scale:
        Typical magnitude of each variable, shape ``(D,)`` (or one number for all), e.g. :func:`state_scale` of
        the data the model is compared with. Default: ``state_scale`` of ``x0``.

    Returns
    -------
    numpy.ndarray
        States, shape ``(N, D)``.

    Raises
    ------
    SimulationError
        On blow-up, non-finite states, a solver failure (step size collapse, stiffness) or the time limit.
    DataError
        When ``x0`` or ``t`` are malformed (wrong shape, non-finite, time not increasing).

    Examples
    --------
    >>> y = integrate(lambda t, x: -x, [1.0], np.linspace(0.0, 1.0, 5))
    >>> bool(abs(y[-1, 0] - np.exp(-1.0)) < 1e-8)
    True
    """
    from scipy.integrate import solve_ivp

    if method not in SOLVERS:
        raise ValueError(f"unknown integration method {method!r}; valid methods: {', '.join(SOLVERS)}")
    for label, value, lowest in (("rtol", rtol, 0.0), ("max_abs", max_abs, 0.0), ("time_limit", time_limit, 0.0)):
        if label == "max_abs" and value is None:
            continue
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > lowest):
            raise ValueError(f"integrate: {label} must be a finite number > {lowest:g}, found {value!r}")
    if not (isinstance(atol, numbers.Real) and math.isfinite(atol) and atol >= 0):
        raise ValueError(f"integrate: atol must be a finite number >= 0, found {atol!r}")
    x0, t = _check_grid(x0, t)
    sizes = _scale_of(x0, scale)  # (D,)
    atol_v = float(atol) * sizes  # (D,)
    if max_abs is None:
        max_abs = min(MAX_GROWTH * float(sizes.max()), _LARGEST)
    deadline = time.perf_counter() + float(time_limit)
    try:
        with np.errstate(all="ignore"):
            dx0 = np.asarray(f(float(t[0]), x0.copy()), dtype=float)
    except ArithmeticError as exc:
        raise SimulationError(f"the right-hand side could not be evaluated at the initial state: {exc}") from exc
    if dx0.shape != x0.shape:
        raise DataError(f"the right-hand side returned shape {dx0.shape} for a state of shape {x0.shape}")
    if not np.all(np.isfinite(dx0)):
        raise SimulationError(f"the right-hand side is not finite at the initial state {x0.tolist()}")
    if t.size == 1:
        return x0[None, :].copy()

    def blow_up(_t: float, x: np.ndarray) -> float:
        return max_abs - float(np.max(np.abs(x)))  # crosses zero when |x| exceeds max_abs

    blow_up.terminal = True  # type: ignore[attr-defined]
    span = (float(t[0]), float(t[-1]))
    attempts = [(_EXPLICIT, max(20_000, 50 * t.size)), *[(m, None) for m in _STIFF_FALLBACKS]]
    if method != "auto":
        attempts = [(method, None)]
    failures: list[str] = []
    for solver, budget in attempts:
        guard = _Guard(f, deadline, budget)
        try:
            with np.errstate(all="ignore"):
                sol = solve_ivp(
                    guard, span, x0, method=solver, t_eval=t, rtol=rtol, atol=atol_v, events=blow_up
                )
        except _Abort as abort:
            if abort.reason == "timeout":
                earlier = f"; before that: {'; '.join(failures)}" if failures else ""
                raise SimulationError(
                    f"integration exceeded time_limit={time_limit:g} s at t={abort.t:.6g} of [{span[0]:g}, "
                    f"{span[1]:g}] ({solver}, {guard.evals} evaluations){earlier}"
                ) from None
            failures.append(f"{solver} needed more than {budget} evaluations by t={abort.t:.6g} (stiff?)")
            continue
        except ValueError as exc:  # implicit solvers refuse a non-finite Jacobian (LinAlgError is a ValueError)
            if guard.raised:
                raise
            failures.append(f"{solver} failed: {exc}")
            continue
        if sol.status == 1 and sol.t_events[0].size:
            t_hit = float(sol.t_events[0][0])
            raise SimulationError(f"the solution blew up: |x| exceeded {max_abs:g} at t={t_hit:.6g} ({solver})")
        if sol.status != 0:
            reached = float(sol.t[-1]) if sol.t.size else span[0]
            failures.append(f"{solver} stopped near t={reached:.6g}: {sol.message}")
            continue
        y = sol.y.T  # (N, D)
        if y.shape[0] != t.size or not np.all(np.isfinite(y)):
            failures.append(f"{solver} produced non-finite states (log or sqrt of a negative, division by zero?)")
            continue
        if np.max(np.abs(y)) > max_abs:
            raise SimulationError(f"the solution blew up: |x| exceeded {max_abs:g} ({solver})")
        return np.ascontiguousarray(y)
    raise SimulationError(f"could not integrate over [{span[0]:g}, {span[1]:g}]: " + "; ".join(failures))


# --- zoo data ------------------------------------------------------------------------------------------------


def _resolve(system: ODESystem | str) -> ODESystem:
    return get_system(system) if isinstance(system, str) else system


def _param_values(system: ODESystem, params: Mapping[str, float] | None) -> dict[str, float]:
    values = dict(system.params)
    if params is None:
        return values
    unknown = sorted(set(params) - set(system.params))
    if unknown:
        raise DataError(
            f"system {system.name!r} has no parameter(s) {unknown}; its parameters are {sorted(system.params)}"
        )
    for key, value in params.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise DataError(f"parameter {key!r} of system {system.name!r} must be a finite number, found {value!r}")
        values[key] = number
    return values


def _initial_states(system: ODESystem, x0: object) -> np.ndarray:
    if x0 is None:
        return np.asarray([system.x0], dtype=float)  # (1, D)
    if isinstance(x0, Mapping):
        unknown = sorted(set(x0) - set(system.variables))
        missing = [v for v in system.variables if v not in x0]
        if unknown or missing:
            raise DataError(
                f"initial state for system {system.name!r} must give every variable {list(system.variables)}; "
                f"missing {missing}, unknown {unknown}"
            )
        x0 = [x0[v] for v in system.variables]
    try:
        states = np.asarray(x0, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"initial state for system {system.name!r} must be numeric: {exc}") from None
    if states.ndim == 1:
        states = states[None, :]
    if states.ndim != 2 or states.shape[1] != system.dim:
        raise DataError(
            f"initial state for system {system.name!r} must have {system.dim} values {list(system.variables)} "
            f"(or shape (K, {system.dim}) for K trajectories), found shape {np.shape(x0)}"
        )
    return states  # (K, D)


def default_time_grid(system: ODESystem | str) -> np.ndarray:
    """``t0, t0 + dt, ...`` up to ``t1`` (included when ``t1 - t0`` is a multiple of ``dt``), shape ``(N,)``."""
    system = _resolve(system)
    t0, t1 = system.t_span
    n = int(math.floor((t1 - t0) / system.dt + 1e-9)) + 1
    return t0 + system.dt * np.arange(n)


def add_noise(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``x`` plus Gaussian noise of standard deviation ``noise * std(x_v)`` per variable ``v`` (``x``: (N, D))."""
    if noise == 0:
        return x
    scale = noise * np.std(x, axis=0, keepdims=True)  # (1, D)
    return x + scale * rng.standard_normal(x.shape)


def simulate(
    system: ODESystem | str,
    params: Mapping[str, float] | None = None,
    x0: Sequence[float] | Mapping[str, float] | np.ndarray | None = None,
    t: Sequence[float] | np.ndarray | None = None,
    noise: float = 0.0,
    seed: int | np.random.Generator | None = None,
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "auto",
    time_limit: float = 20.0,
) -> Trajectories:
    """Simulate a zoo system into :class:`~discovery.data.Trajectories`.

    Parameters
    ----------
    system:
        An :class:`~grammar.zoo.ODESystem` or the name of one in the zoo.
    params:
        Parameter values; names left out keep their nominal values. ``None``: all nominal.
    x0:
        Initial state (``D`` values in the system's variable order, or a mapping name -> value), or an array of
        shape ``(K, D)`` for ``K`` trajectories. ``None``: the nominal initial state.
    t:
        Output times, shape ``(N,)``. ``None``: ``t_span`` sampled every ``dt``.
    noise:
        Relative noise level ``p``: Gaussian noise with standard deviation ``p * std(x_v)`` is added to each
        variable ``v`` of each trajectory.
    seed:
        Seed (or generator) of the noise.
    rtol, atol, method, time_limit:
        Passed to :func:`integrate`.

    Returns
    -------
    Trajectories
        One trajectory per initial state, ``source`` set to the system's name.

    Raises
    ------
    DataError
        On unknown parameter names, an initial state of the wrong length, a negative noise level.
    SimulationError
        When the system cannot be integrated (see :func:`integrate`).

    Examples
    --------
    >>> data = simulate("van_der_pol", params={"mu": 2.0}, x0=[1.0, 0.0], t=np.linspace(0, 5, 51))
    >>> data[0].x.shape
    (51, 2)
    """
    from discovery.data import Trajectories, Trajectory

    system = _resolve(system)
    values = _param_values(system, params)
    states = _initial_states(system, x0)
    grid = default_time_grid(system) if t is None else np.asarray(t, dtype=float)
    if not (isinstance(noise, numbers.Real) and math.isfinite(noise) and noise >= 0):
        raise DataError(f"noise must be a finite number >= 0 (e.g. 0.01 for 1%), found {noise!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    rhs = system.rhs(values)
    f = lambdify_system([rhs[v] for v in system.variables], system.variables)
    trajectories = []
    for state in states:
        x = integrate(f, state, grid, rtol=rtol, atol=atol, method=method, time_limit=time_limit)
        trajectories.append(Trajectory(grid.copy(), add_noise(x, float(noise), rng)))
    return Trajectories(system.variables, trajectories, source=system.name)


def sample_params(system: ODESystem | str, rng: np.random.Generator) -> dict[str, float]:
    """Parameter values drawn uniformly from the system's ``param_ranges``.

    Examples
    --------
    >>> p = sample_params("lorenz", np.random.default_rng(0))
    >>> 25.2 <= p["rho"] <= 30.8
    True
    """
    system = _resolve(system)
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in system.param_ranges.items()}


def sample_initial_condition(system: ODESystem | str, rng: np.random.Generator) -> np.ndarray:
    """An initial state drawn uniformly from the system's ``x0_range``, shape ``(D,)``.

    Examples
    --------
    >>> sample_initial_condition("van_der_pol", np.random.default_rng(0)).shape
    (2,)
    """
    system = _resolve(system)
    lo, hi = np.asarray(system.x0_range, dtype=float).T  # (D,), (D,)
    return rng.uniform(lo, hi)
