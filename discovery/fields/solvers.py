"""Method-of-lines solvers for ``f_t = F_f(fields, derivatives)`` on a uniform grid.

Two integrators, picked by :func:`solve` from the boundary conditions:

- **Periodic on every axis**: pseudo-spectral derivatives and the fourth-order exponential time differencing
  scheme ETDRK4 (Cox & Matthews 2002, with the contour-integral coefficients of Kassam & Trefethen 2005). The
  diagonal linear part (``u_xx``, ``u_xxxx``, ``-u``, ...) is integrated exactly, so stiff equations such as
  Kuramoto-Sivashinsky or KdV take large steps; the nonlinear part is de-aliased by the 2/3 rule. Each output
  interval is taken with ``n`` and ``2n`` steps, and ``n`` is doubled until both agree within ``rtol``.
- **Otherwise**: fourth-order central finite differences on a grid padded by reflection (``dirichlet``: odd
  reflection about the boundary value, which the boundary nodes keep or follow from ``boundary_data``;
  ``neumann``: even reflection, zero flux; ``periodic`` axes wrap), integrated by scipy's ``BDF`` with the
  banded sparsity of the Jacobian.

Both raise :class:`~discovery.errors.SimulationError` when the solution blows up or the time limit is passed.
"""

from __future__ import annotations

import time
from typing import Mapping, Sequence

import numpy as np
import sympy

from discovery.errors import SimulationError
from discovery.fields.compile import CompiledRHS, compile_rhs, evaluate
from discovery.fields.derivatives import wavenumbers

BLOW_UP = 1e6
"""A solution whose largest magnitude exceeds this many times the initial one (plus one) has blown up."""

MAX_SUBSTEPS = 2**13
"""Most ETDRK4 steps per output interval before giving up."""


class _Deadline:
    def __init__(self, limit: float | None) -> None:
        self.end = None if limit is None else time.perf_counter() + limit
        self.limit = limit

    def check(self) -> None:
        if self.end is not None and time.perf_counter() > self.end:
            raise SimulationError(f"simulation stopped after the {self.limit:g} s time limit")


def _check_growth(u: np.ndarray, scale: float, t: float) -> None:
    peak = float(np.max(np.abs(u))) if np.all(np.isfinite(u)) else np.inf
    if not peak <= BLOW_UP * (1.0 + scale):
        raise SimulationError(f"the solution blew up near t={t:.4g} (largest value {peak:.3g})")


# ---------------------------------------------------------------------------------------------------- spectral
class _Spectral:
    """ETDRK4 on a periodic grid; state in ``rfftn`` layout ``(F, *spectral_shape)``."""

    def __init__(self, rhs: CompiledRHS, shape: tuple[int, ...], spacings: Sequence[float]) -> None:
        self.rhs, self.shape = rhs, shape
        dim = len(shape)
        ks = [wavenumbers(n, h, real=(a == dim - 1)) for a, (n, h) in enumerate(zip(shape, spacings))]
        self.k = np.meshgrid(*ks, indexing="ij")  # each (*spectral_shape)
        self.axes = tuple(range(1, dim + 1))
        keep = np.ones(self.k[0].shape, dtype=bool)
        for a, (n, h) in enumerate(zip(shape, spacings)):
            kmax = np.pi / h
            keep &= np.abs(self.k[a]) < (2.0 / 3.0) * kmax
        self.dealias = keep
        self.L = np.stack([self._symbol(lin) for lin in rhs.linear])  # (F, *spectral_shape)
        self.term_fields = np.array([term.field for term in rhs.terms], dtype=int)
        self.multipliers = np.stack([self._symbol({term.orders: 1.0}) for term in rhs.terms]) if rhs.terms else \
            np.zeros((0,) + self.k[0].shape, dtype=complex)  # (T, *spectral_shape): (i k)^orders per term
        self._coef: dict[float, tuple] = {}

    def _symbol(self, orders_coef: Mapping[tuple[int, ...], float]) -> np.ndarray:
        out = np.zeros(self.k[0].shape, dtype=complex)
        for orders, c in orders_coef.items():
            term = np.full(out.shape, c, dtype=complex)
            for ka, n in zip(self.k, orders):
                term = term * (1j * ka) ** n
            out += term
        return out

    def to_physical(self, v: np.ndarray) -> np.ndarray:
        return np.fft.irfftn(v, s=self.shape, axes=self.axes)

    def to_spectral(self, u: np.ndarray) -> np.ndarray:
        return np.fft.rfftn(u, axes=self.axes)

    def N(self, v: np.ndarray) -> np.ndarray:
        spectra = v[self.term_fields] * self.multipliers  # (T, *spectral_shape)
        args = np.fft.irfftn(spectra, s=self.shape, axes=self.axes) if spectra.shape[0] else []  # (T, *N)
        out = evaluate(self.rhs.nonlinear, list(args), self.shape)
        return self.to_spectral(out) * self.dealias

    def coefficients(self, h: float) -> tuple:
        if h not in self._coef:
            M = 32
            r = np.exp(2j * np.pi * (np.arange(1, M + 1) - 0.5) / M)
            LR = h * self.L[..., None] + r  # (F, *S, M)
            eLR = np.exp(LR)
            Q = h * np.mean((np.exp(LR / 2) - 1) / LR, axis=-1)
            f1 = h * np.mean((-4 - LR + eLR * (4 - 3 * LR + LR**2)) / LR**3, axis=-1)
            f2 = h * np.mean((2 + LR + eLR * (LR - 2)) / LR**3, axis=-1)
            f3 = h * np.mean((-4 - 3 * LR - LR**2 + eLR * (4 - LR)) / LR**3, axis=-1)
            self._coef[h] = (np.exp(h * self.L), np.exp(h * self.L / 2), Q, f1, f2, f3)
        return self._coef[h]

    def advance(self, v: np.ndarray, h: float, steps: int, deadline: _Deadline) -> np.ndarray:
        E, E2, Q, f1, f2, f3 = self.coefficients(h)
        for _ in range(steps):
            Nv = self.N(v)
            a = E2 * v + Q * Nv
            Na = self.N(a)
            b = E2 * v + Q * Na
            Nb = self.N(b)
            c = E2 * a + Q * (2 * Nb - Nv)
            Nc = self.N(c)
            v = E * v + Nv * f1 + 2 * (Na + Nb) * f2 + Nc * f3
            if not np.all(np.isfinite(v)):
                return v
            deadline.check()
        return v


MAX_LINEAR_GROWTH = 40.0
"""A linear part that would amplify a resolved mode by more than ``exp(40)`` over the span is ill-posed here."""


def solve_periodic(rhs: CompiledRHS, u0: np.ndarray, spacings: Sequence[float], t: np.ndarray, *,
                   rtol: float = 1e-6, time_limit: float | None = None) -> np.ndarray:
    """Integrate on a grid periodic along every axis; ``u0`` is ``(F, *N)``, the result ``(F, Nt, *N)``."""
    solver = _Spectral(rhs, u0.shape[1:], spacings)
    growth = float(np.max(np.real(solver.L)[:, solver.dealias])) * float(t[-1] - t[0])
    if growth > MAX_LINEAR_GROWTH:
        raise SimulationError(f"the linear part amplifies short waves by exp({growth:.0f}) over the span "
                              "(anti-diffusion): the equation is ill-posed on this grid")
    deadline = _Deadline(time_limit)
    scale = float(np.max(np.abs(u0)))
    out = np.empty((u0.shape[0], t.shape[0]) + u0.shape[1:])
    out[:, 0] = u0
    v = solver.to_spectral(u0)
    n = 1
    with np.errstate(all="ignore"):
        for i in range(1, t.shape[0]):
            span = float(t[i] - t[i - 1])
            failures, previous = 0, np.inf
            while True:
                coarse = solver.advance(v, span / n, n, deadline)
                fine = solver.advance(v, span / (2 * n), 2 * n, deadline)
                finite = bool(np.all(np.isfinite(coarse)) and np.all(np.isfinite(fine)))
                err = np.linalg.norm(fine - coarse) / (np.linalg.norm(fine) + 1e-300) if finite else np.inf
                if err <= rtol:
                    break
                # halving the step should cut a 4th-order error 16-fold; count doublings that do not even halve it
                failures += 1 if (not finite or (n >= 64 and err > 0.5 * previous)) else 0
                previous = err
                n *= 2
                if n > MAX_SUBSTEPS or failures >= 4:
                    raise SimulationError(
                        f"the solution cannot be resolved near t={t[i - 1]:.4g} (it overflows even with "
                        f"{n} steps per sample); it is likely blowing up")
            v = fine
            if err < rtol / 64 and n > 1:
                n //= 2
            out[:, i] = solver.to_physical(v)
            _check_growth(out[:, i], scale, float(t[i]))
    return out


# ------------------------------------------------------------------------------------------ finite differences
def _stencil(order: int) -> tuple[np.ndarray, np.ndarray]:
    import findiff

    c = findiff.coefficients(deriv=order, acc=4)["center"]
    return np.asarray(c["offsets"], dtype=int), np.asarray(c["coefficients"], dtype=float)


class _FiniteDifference:
    """Fourth-order central differences on a grid padded by reflection or wrapping."""

    def __init__(self, rhs: CompiledRHS, shape: tuple[int, ...], spacings: Sequence[float],
                 boundary: Sequence[str]) -> None:
        self.rhs, self.shape, self.spacings, self.boundary = rhs, shape, tuple(spacings), tuple(boundary)
        self.stencils = {n: _stencil(n) for n in range(1, max(rhs.max_order, 1) + 1)}
        self.pad = max(int(np.max(np.abs(o))) for o, _ in self.stencils.values())

    def padded(self, u: np.ndarray) -> np.ndarray:
        """``u (F, *N)`` padded by ``self.pad`` on every spatial axis."""
        out = u
        for axis, kind in enumerate(self.boundary, start=1):
            width = [(0, 0)] * u.ndim
            width[axis] = (self.pad, self.pad)
            if kind == "periodic":
                out = np.pad(out, width, mode="wrap")
            else:
                out = np.pad(out, width, mode="reflect", reflect_type="odd" if kind == "dirichlet" else "even")
        return out

    def derivative(self, up: np.ndarray, orders: tuple[int, ...]) -> np.ndarray:
        """Mixed derivative of one padded field ``(*N + 2 pad)``, cropped to ``(*N)``."""
        P = self.pad
        out = up
        for axis, (n, h) in enumerate(zip(orders, self.spacings)):
            size = self.shape[axis]
            if n == 0:
                idx = [slice(None)] * out.ndim
                idx[axis] = slice(P, P + size)
                out = out[tuple(idx)]
                continue
            offsets, weights = self.stencils[n]
            acc = 0.0
            for o, w in zip(offsets, weights):
                idx = [slice(None)] * out.ndim
                idx[axis] = slice(P + o, P + o + size)
                acc = acc + w * out[tuple(idx)]
            out = acc / h**n
        return out

    def __call__(self, u: np.ndarray) -> np.ndarray:
        up = self.padded(u)
        args = [self.derivative(up[term.field], term.orders) for term in self.rhs.terms]
        return evaluate(self.rhs.full, args, self.shape)

    def sparsity(self, n_fields: int):
        """Jacobian sparsity: every field within ``pad`` nodes along every axis."""
        import scipy.sparse as sp

        mats = []
        for size in self.shape:
            mats.append(sp.diags([np.ones(size - abs(k)) for k in range(-self.pad, self.pad + 1)],
                                 list(range(-self.pad, self.pad + 1)), shape=(size, size), format="csr"))
        block = mats[0]
        for m in mats[1:]:
            block = sp.kron(block, m, format="csr")
        return sp.kron(np.ones((n_fields, n_fields)), block, format="csr")


def _boundary_mask(shape: tuple[int, ...], boundary: Sequence[str]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for axis, kind in enumerate(boundary):
        if kind == "dirichlet":
            idx = [slice(None)] * len(shape)
            idx[axis] = [0, shape[axis] - 1]
            mask[tuple(idx)] = True
    return mask


def solve_bounded(rhs: CompiledRHS, u0: np.ndarray, spacings: Sequence[float], t: np.ndarray,
                  boundary: Sequence[str], *, boundary_data: np.ndarray | None = None, rtol: float = 1e-6,
                  time_limit: float | None = None) -> np.ndarray:
    """Integrate with finite differences; ``boundary[k]`` is ``periodic``, ``dirichlet`` or ``neumann`` per axis.

    ``boundary_data`` ``(F, Nt, *N)`` (on ``t``), when given, supplies the Dirichlet boundary values over time
    (interpolated by cubic splines); otherwise Dirichlet nodes keep their initial values.
    """
    from scipy.integrate import solve_ivp
    from scipy.interpolate import CubicSpline

    F, shape = u0.shape[0], u0.shape[1:]
    op = _FiniteDifference(rhs, shape, spacings, boundary)
    mask = np.broadcast_to(_boundary_mask(shape, boundary), u0.shape)
    spline = dspline = None
    if boundary_data is not None and mask.any():
        spline = CubicSpline(t, boundary_data[:, :, mask[0]], axis=1)
        dspline = spline.derivative()
    deadline = _Deadline(time_limit)
    scale = float(np.max(np.abs(u0)))
    fixed = u0[mask]

    def f(time_: float, y: np.ndarray) -> np.ndarray:
        deadline.check()
        u = y.reshape(u0.shape).copy()
        if spline is not None:
            u[mask] = spline(time_).reshape(-1)
        elif mask.any():
            u[mask] = fixed
        if not float(np.max(np.abs(u))) <= BLOW_UP * (1.0 + scale):
            raise SimulationError(f"the solution blew up near t={time_:.4g}")
        du = op(u)
        if mask.any():
            du[mask] = dspline(time_).reshape(-1) if dspline is not None else 0.0
        return du.reshape(-1)

    with np.errstate(all="ignore"):
        sol = solve_ivp(f, (float(t[0]), float(t[-1])), u0.reshape(-1), method="BDF", t_eval=t, rtol=rtol,
                        atol=rtol * max(scale, 1e-12) * 1e-2, jac_sparsity=op.sparsity(F))
    if sol.status != 0 or sol.y.shape[1] != t.shape[0]:
        raise SimulationError(f"the finite-difference integration failed: {sol.message}")
    out = sol.y.reshape(u0.shape + (t.shape[0],))  # (F, *N, Nt)
    out = np.moveaxis(out, -1, 1)
    _check_growth(out, scale, float(t[-1]))
    return np.ascontiguousarray(out)


def solve(equations: Mapping[str, sympy.Expr], fields: Sequence[str], axes: Sequence[str], u0: np.ndarray,
          spacings: Sequence[float], t: np.ndarray, boundary: Sequence[str], *,
          boundary_data: np.ndarray | None = None, rtol: float = 1e-6,
          time_limit: float | None = None) -> np.ndarray:
    """Integrate ``equations`` from ``u0`` ``(F, *N)`` over ``t``; returns ``(F, Nt, *N)``.

    Periodic on every axis: ETDRK4 (spectral); otherwise finite differences and BDF (see the module docstring).
    """
    rhs = compile_rhs(equations, fields, axes)
    t = np.asarray(t, dtype=float)
    u0 = np.asarray(u0, dtype=float)
    if all(b == "periodic" for b in boundary):
        return solve_periodic(rhs, u0, spacings, t, rtol=rtol, time_limit=time_limit)
    return solve_bounded(rhs, u0, spacings, t, boundary, boundary_data=boundary_data, rtol=rtol,
                         time_limit=time_limit)
