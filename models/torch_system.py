"""A sympy system of ODEs as a torch vector field, with its constants optionally learnable, and its simulation.

:class:`SympySystem` walks each sympy expression tree once and compiles it to torch operations (``Add``,
``Mul``, ``Pow`` with integer, rational or negative exponents, symbols, numbers, and the unary functions of
:mod:`grammar.operators`). Every ``Float`` constant becomes one entry of :attr:`SympySystem.constants`, a
``torch.nn.Parameter`` when ``learn_constants=True``, so that the constants can be fitted by gradient descent
through :func:`torch_simulate` (torchdiffeq). :meth:`SympySystem.to_sympy` gives the expressions back with the
current constant values.

Examples
--------
>>> import sympy, torch
>>> x, y = sympy.symbols("x y")
>>> system = SympySystem({"x": -0.5 * x, "y": x - y}, learn_constants=True)
>>> system(0.0, torch.ones(4, 2)).shape
torch.Size([4, 2])
>>> torch_simulate(system, torch.tensor([1.0, 0.0]), torch.linspace(0, 1, 11), device="cpu").shape
torch.Size([11, 2])
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import sympy
import torch

from grammar.errors import GrammarError
from grammar.operators import function_operator, torch_function
from models.device import DeviceLike, resolve_device

ADAPTIVE_METHODS = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")
"""torchdiffeq's adaptive-step solvers (they accept ``max_num_steps`` in ``options``)."""

_Node = Callable[[Sequence[torch.Tensor], torch.Tensor], Any]
"""A compiled sub-expression: ``node(columns, constants)`` with ``columns[i]`` the ``i``-th state, shape ``(B,)``."""


class TorchSimulationError(RuntimeError):
    """A torch simulation blew up, produced non-finite states, or its solver gave up (step underflow, too many
    steps)."""


class SympySystem(torch.nn.Module):
    """The right-hand side ``dx/dt = f(x)`` of a sympy system as a ``torch.nn.Module``.

    Parameters
    ----------
    equations:
        Mapping variable name -> sympy expression of ``d v/dt``, or a sequence of expressions with ``variables``.
    variables:
        State variable names, in order; required when ``equations`` is a sequence, and otherwise the order of
        the mapping's keys is used.
    learn_constants:
        Make every ``Float`` constant a learnable ``torch.nn.Parameter`` (exponents of powers stay fixed).
        Integers and rationals (``-1``, ``1/3``) are structural and stay fixed either way.
    dtype:
        Floating dtype of the constants (default: torch's default dtype).
    inputs:
        Names of the system's inputs and parameters, whose values ``forward(t, x, u)`` takes as ``u``; the
        equations may also use the time ``t``.

    Attributes
    ----------
    variables:
        State variable names, in order.
    constants:
        The ``Float`` constants, shape ``(K,)``, in the order they are met walking the equations.

    Raises
    ------
    GrammarError
        When an expression uses a symbol that is not a variable, or an operator outside the grammar.

    Examples
    --------
    >>> import sympy, torch
    >>> x = sympy.Symbol("x")
    >>> system = SympySystem([-2.0 * x], ["x"], learn_constants=True)
    >>> system(0.0, torch.tensor([3.0]))
    tensor([-6.], grad_fn=<StackBackward0>)
    >>> system.to_sympy()
    {'x': -2.0*x}
    """

    def __init__(
        self,
        equations: Mapping[str, sympy.Expr] | Sequence[sympy.Expr],
        variables: Sequence[str] | None = None,
        *,
        learn_constants: bool = False,
        dtype: torch.dtype | None = None,
        inputs: Sequence[str] = (),
    ) -> None:
        super().__init__()
        if isinstance(equations, Mapping):
            names = [str(v) for v in (variables if variables is not None else equations.keys())]
            missing = [v for v in names if v not in equations]
            if missing:
                raise GrammarError(f"no equation for variable(s) {missing}; equations are given for {list(equations)}")
            exprs = [_as_expr(equations[v]) for v in names]
        else:
            if variables is None:
                raise GrammarError("a sequence of equations needs `variables` (one name per equation)")
            names = [str(v) for v in variables]
            exprs = [_as_expr(e) for e in equations]
        if len(exprs) != len(names) or not names:
            raise GrammarError(f"expected one equation per variable ({len(names)}), found {len(exprs)}")
        self.variables: tuple[str, ...] = tuple(names)
        self.inputs: tuple[str, ...] = tuple(str(v) for v in inputs)
        self.learn_constants = bool(learn_constants)

        values: list[float] = []
        slots: list[sympy.Dummy] = []
        self._templates = [self._template(e, values, slots) for e in exprs]
        self._slots = tuple(slots)
        self._nodes = self._compile_all()

        tensor = torch.tensor(values, dtype=dtype or torch.get_default_dtype())  # (K,)
        if self.learn_constants:
            self.constants = torch.nn.Parameter(tensor)
        else:
            self.register_buffer("constants", tensor)

    def _compile_all(self) -> list[_Node]:
        names = [*self.variables, *getattr(self, "inputs", ()), "t"]  # the columns forward() hands the nodes
        index = {sympy.Symbol(v): i for i, v in enumerate(names)}
        slot_index = {s: k for k, s in enumerate(self._slots)}
        return [self._compile(e, index, slot_index, v) for e, v in zip(self._templates, self.variables)]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_nodes", None)  # closures do not pickle; they are rebuilt from the templates
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._nodes = self._compile_all()

    # --- building -----------------------------------------------------------------------------------------
    @staticmethod
    def _template(expr: sympy.Basic, values: list[float], slots: list[sympy.Dummy]) -> sympy.Basic:
        """``expr`` with each ``Float`` occurrence (not in an exponent) replaced by a fresh placeholder."""
        if isinstance(expr, sympy.Float):
            slot = sympy.Dummy(f"c{len(slots)}")
            slots.append(slot)
            values.append(float(expr))
            return slot
        if isinstance(expr, sympy.Pow):
            base = SympySystem._template(expr.base, values, slots)
            exp = expr.exp if expr.exp.is_Number else SympySystem._template(expr.exp, values, slots)
            return sympy.Pow(base, exp, evaluate=False)
        if not expr.args or expr.is_Atom:
            return expr
        args = [SympySystem._template(a, values, slots) for a in expr.args]
        try:
            return expr.func(*args, evaluate=False)
        except TypeError:  # a node type without an `evaluate` flag
            return expr.func(*args)

    @staticmethod
    def _compile(expr: sympy.Basic, index: dict, slot_index: dict, where: str) -> _Node:
        """Compile ``expr`` into a callable ``node(columns, constants)``."""
        rec = lambda e: SympySystem._compile(e, index, slot_index, where)  # noqa: E731
        if expr in slot_index:
            k = slot_index[expr]
            return lambda cols, c: c[k]
        if isinstance(expr, sympy.Symbol):
            if expr not in index:
                raise GrammarError(
                    f"equation for d{where}/dt uses {str(expr)!r}, which is not a state variable {list(index)}"
                )
            i = index[expr]
            return lambda cols, c: cols[i]
        if expr.is_Number or isinstance(expr, sympy.NumberSymbol):
            if not expr.is_finite or not expr.is_real:
                raise GrammarError(f"equation for d{where}/dt holds the non-finite or complex constant {expr}")
            value = float(expr)
            return lambda cols, c: value
        if isinstance(expr, sympy.Add):
            terms = [rec(a) for a in expr.args]

            def add(cols, c):
                out = terms[0](cols, c)
                for term in terms[1:]:
                    out = out + term(cols, c)
                return out

            return add
        if isinstance(expr, sympy.Mul):
            factors = [rec(a) for a in expr.args]

            def mul(cols, c):
                out = factors[0](cols, c)
                for factor in factors[1:]:
                    out = out * factor(cols, c)
                return out

            return mul
        if isinstance(expr, sympy.Pow):
            return SympySystem._compile_pow(expr, rec)
        op = function_operator(expr)  # GrammarError outside the grammar
        if op.arity != 1 or len(expr.args) != 1:
            raise GrammarError(f"equation for d{where}/dt: expected a one-argument function, found {expr}")
        fn = torch_function(op.name)
        arg = rec(expr.args[0])
        return lambda cols, c: fn(torch.as_tensor(arg(cols, c), dtype=c.dtype, device=c.device))

    @staticmethod
    def _compile_pow(expr: sympy.Pow, rec: Callable[[sympy.Basic], _Node]) -> _Node:
        base = rec(expr.base)
        exponent = expr.exp
        if exponent.is_Integer:
            n = int(exponent)
            if n == -1:
                return lambda cols, c: 1.0 / base(cols, c)
            if n == 2:
                return lambda cols, c: base(cols, c) * base(cols, c)
            return lambda cols, c: base(cols, c) ** n
        if exponent.is_Rational and exponent == sympy.Rational(1, 2):
            return lambda cols, c: torch.sqrt(torch.as_tensor(base(cols, c), dtype=c.dtype, device=c.device))
        if exponent.is_Rational and exponent == sympy.Rational(-1, 2):
            return lambda cols, c: torch.rsqrt(torch.as_tensor(base(cols, c), dtype=c.dtype, device=c.device))
        if exponent.is_Number:
            p = float(exponent)
            return lambda cols, c: torch.as_tensor(base(cols, c), dtype=c.dtype, device=c.device) ** p
        power = rec(exponent)
        return lambda cols, c: torch.pow(
            torch.as_tensor(base(cols, c), dtype=c.dtype, device=c.device), power(cols, c)
        )

    # --- evaluation ---------------------------------------------------------------------------------------
    def forward(self, t: torch.Tensor | float, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        """``dx/dt`` at time ``t`` and states ``x`` of shape ``(B, D)`` or ``(D,)``, with the inputs' values ``u`` of
        shape ``(B, M)`` or ``(M,)`` when the system has inputs; returns the shape of ``x``."""
        if x.shape[-1] != len(self.variables):
            raise ValueError(
                f"expected states with {len(self.variables)} components {list(self.variables)} in the last "
                f"dimension, found shape {tuple(x.shape)}"
            )
        inputs = getattr(self, "inputs", ())
        if inputs and (u is None or u.shape[-1] != len(inputs)):
            raise ValueError(f"expected the values of the inputs {list(inputs)} as u (last dimension "
                             f"{len(inputs)}), found {None if u is None else tuple(u.shape)}")
        c = self.constants.to(dtype=x.dtype)  # (K,)
        batch = x.shape[:-1]
        time = torch.as_tensor(t, dtype=x.dtype, device=x.device).expand(batch)
        cols = (*x.unbind(-1), *(u.to(dtype=x.dtype).expand(*batch, len(inputs)).unbind(-1) if inputs else ()),
                time)  # D + M + 1 tensors of shape (B,) or ()
        outs = []
        for node in self._nodes:
            value = node(cols, c)
            if not isinstance(value, torch.Tensor):
                value = torch.as_tensor(value, dtype=x.dtype, device=x.device)
            outs.append(value.expand(batch) if value.shape != batch else value)
        return torch.stack(outs, dim=-1)  # (B, D) or (D,)

    def to_sympy(self) -> dict[str, sympy.Expr]:
        """The equations with the current (possibly learned) constant values, keyed by variable name."""
        values = self.constants.detach().cpu().tolist()
        subs = {slot: sympy.Float(v) for slot, v in zip(self._slots, values)}
        return {name: sympy.sympify(t).xreplace(subs) for name, t in zip(self.variables, self._templates)}

    def extra_repr(self) -> str:
        eqs = ", ".join(f"d{v}/dt = {e}" for v, e in self.to_sympy().items())
        return f"{eqs}, learn_constants={self.learn_constants}"


class _Guarded(torch.nn.Module):
    """Wraps a vector field: stops the solver as soon as a state is non-finite or exceeds ``max_abs``."""

    def __init__(self, field: torch.nn.Module, max_abs: float | None) -> None:
        super().__init__()
        self.field = field
        self.max_abs = max_abs

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.max_abs is not None:
            top = x.detach().abs().max()
            if not torch.isfinite(top) or top > self.max_abs:
                raise TorchSimulationError(
                    f"the solution blew up near t={float(t):.6g}: max |x| = {float(top):.4g} (limit {self.max_abs:g})"
                )
        return self.field(t, x)


def torch_simulate(
    system: torch.nn.Module,
    x0: torch.Tensor | Sequence[float] | Sequence[Sequence[float]],
    t: torch.Tensor | Sequence[float],
    *,
    method: str = "dopri5",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    device: DeviceLike = "auto",
    options: Mapping[str, Any] | None = None,
    max_abs: float | None = 1e8,
    adjoint: bool = False,
) -> torch.Tensor:
    """Integrate ``dx/dt = system(t, x)`` with torchdiffeq; gradients flow to the system's parameters.

    Parameters
    ----------
    system:
        A vector field module ``system(t, x)``, typically a :class:`SympySystem`. It is moved to ``device``.
    x0:
        Initial state(s), shape ``(D,)`` or ``(B, D)`` for a batch. A tensor keeps its dtype; other inputs
        take the system's dtype.
    t:
        Output times, shape ``(N,)``, strictly monotonic; ``t[0]`` is the time of ``x0``.
    method:
        A torchdiffeq method (``"dopri5"``, ``"rk4"``, ...).
    rtol, atol:
        Tolerances of adaptive methods.
    device:
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ...
    options:
        Solver options passed to torchdiffeq (e.g. ``{"step_size": 0.01}`` for fixed-grid methods). Adaptive
        methods get ``max_num_steps=100_000`` unless given.
    max_abs:
        Stop with :class:`TorchSimulationError` when a state exceeds this (``None``: no check).
    adjoint:
        Use the adjoint method (``torchdiffeq.odeint_adjoint``) for memory-light gradients.

    Returns
    -------
    torch.Tensor
        States, shape ``(N, D)`` or ``(N, B, D)``.

    Raises
    ------
    TorchSimulationError
        On blow-up, non-finite states, a step-size underflow or too many steps.

    Examples
    --------
    >>> import sympy, torch
    >>> x = sympy.Symbol("x")
    >>> y = torch_simulate(SympySystem([-x], ["x"]), torch.tensor([1.0]), torch.tensor([0.0, 1.0]), device="cpu")
    >>> round(float(y[-1, 0]), 4)
    0.3679
    """
    import torchdiffeq

    dev = resolve_device(device)
    system = system.to(dev)
    dtype = _float_dtype(system)
    x0 = x0.to(dev) if isinstance(x0, torch.Tensor) else torch.as_tensor(x0, dtype=dtype, device=dev)
    if not x0.is_floating_point():
        x0 = x0.to(dtype)
    if isinstance(t, torch.Tensor):
        t = t.to(device=dev, dtype=x0.dtype)
    else:
        t = torch.as_tensor(t, dtype=x0.dtype, device=dev)
    if x0.ndim not in (1, 2) or t.ndim != 1 or t.numel() == 0:
        raise ValueError(
            f"expected x0 of shape (D,) or (B, D) and t of shape (N,), found {tuple(x0.shape)} and {tuple(t.shape)}"
        )
    opts = dict(options or {})
    if method in ADAPTIVE_METHODS:
        opts.setdefault("max_num_steps", 100_000)
    field = _Guarded(system, max_abs)
    solve = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
    try:
        y = solve(field, x0, t, rtol=rtol, atol=atol, method=method, options=opts)
    except AssertionError as exc:  # torchdiffeq's "underflow in dt"
        raise TorchSimulationError(f"the {method} solver gave up: {exc}") from exc
    except RuntimeError as exc:
        if isinstance(exc, TorchSimulationError):
            raise
        if "max_num_steps" in str(exc):
            raise TorchSimulationError(f"the {method} solver gave up: {exc} (stiff or blowing up?)") from exc
        raise
    if not torch.isfinite(y).all():
        raise TorchSimulationError(f"the {method} solution has non-finite states")
    return y  # (N, D) or (N, B, D)


def _as_expr(value: Any) -> sympy.Expr:
    """A sympy expression from an expression or a number; text is refused (parse it with :mod:`grammar.parser`)."""
    if isinstance(value, str):
        raise GrammarError(
            f"expected a sympy expression, found the text {value!r}; parse formulas with grammar.parser.parse"
        )
    return sympy.sympify(value)


def _float_dtype(module: torch.nn.Module) -> torch.dtype:
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()
