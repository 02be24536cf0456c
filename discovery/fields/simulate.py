"""Simulated fields: any PDE right-hand side from an initial field, and the zoo of :mod:`grammar.pde_zoo`.

:func:`simulate_pde` integrates sympy right-hand sides with the solvers of :mod:`discovery.fields.solvers`
(our own pseudo-spectral ETDRK4 for periodic grids, finite differences with scipy's BDF otherwise); the same
function re-simulates discovered candidates. :func:`simulate_zoo` draws an initial condition from the zoo
entry's family (seed ``None``: the nominal one) and returns a :class:`~discovery.fields.field.Field`.

Examples
--------
>>> field = simulate_zoo("heat", grid=(32, 32))
>>> field.summary()
'heat: 1 field (u) on t (32 points, [0, 2]), x (32 points, [0, 3.14159])'
>>> bool(abs(field.values["u"][-1]).max() < abs(field.values["u"][0]).max())  # heat decays
True
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import sympy

from discovery.errors import DataError
from discovery.fields.field import Field
from discovery.fields.solvers import solve
from grammar.pde_zoo import PDESystem, get_pde


def simulate_pde(
    equations: Mapping[str, sympy.Expr],
    initial: Mapping[str, np.ndarray],
    t: np.ndarray,
    coords: Mapping[str, np.ndarray],
    *,
    boundary: str | Mapping[str, str] = "periodic",
    boundary_data: np.ndarray | None = None,
    rtol: float = 1e-6,
    time_limit: float | None = None,
    source: str | None = None,
) -> Field:
    """Integrate ``f_t = equations[f]`` from ``initial`` over the times ``t`` on the grid ``coords``.

    Parameters
    ----------
    equations:
        Field name -> right-hand side in derivative symbols (``-u*u_x + 0.1*u_xx``).
    initial:
        Field name -> initial values ``(Nx[, Ny])``.
    t:
        Output times ``(Nt,)``, increasing; ``t[0]`` is the time of ``initial``.
    coords:
        ``{"x": (Nx,)}`` or ``{"x": ..., "y": ...}``, evenly spaced (periodic axes without their end point).
    boundary:
        ``"periodic"``, ``"dirichlet"`` or ``"neumann"``, for every axis or per axis.
    boundary_data:
        ``(F, Nt, Nx[, Ny])`` on ``t``: Dirichlet values over time (only boundary nodes are read).
    rtol, time_limit:
        Relative accuracy per output step; seconds before :class:`~discovery.errors.SimulationError`.

    Returns
    -------
    Field
        The solution on ``(t, coords)``, periodic flags from ``boundary``.
    """
    fields = tuple(initial)
    axes = tuple(coords)
    kinds = {a: boundary for a in axes} if isinstance(boundary, str) else dict(boundary)
    u0 = np.stack([np.asarray(initial[f], dtype=float) for f in fields])  # (F, *N)
    grid = tuple(np.asarray(coords[a], dtype=float) for a in axes)
    if u0.shape[1:] != tuple(g.shape[0] for g in grid):
        raise DataError(f"initial fields have shape {u0.shape[1:]}; expected {tuple(g.shape[0] for g in grid)} "
                        f"to match the grid {axes}")
    spacings = [float((g[-1] - g[0]) / (g.shape[0] - 1)) for g in grid]
    values = solve(equations, fields, axes, u0, spacings, np.asarray(t, dtype=float),
                   [kinds[a] for a in axes], boundary_data=boundary_data, rtol=rtol, time_limit=time_limit)
    return Field(np.asarray(t, dtype=float), dict(zip(axes, grid)), dict(zip(fields, values)),
                 periodic={a: kinds[a] == "periodic" for a in axes}, source=source)


# ------------------------------------------------------------------------------------------------------- grids
def zoo_grid(system: PDESystem, grid: Sequence[int] | None = None,
             t_span: tuple[float, float] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Times and spatial coordinates of a zoo system (``grid`` = ``(Nt, Nx[, Ny])``, default the system's)."""
    shape = tuple(grid) if grid is not None else system.grid
    if len(shape) != 1 + system.dim:
        raise DataError(f"{system.name} is {system.dim}-D: grid must have {1 + system.dim} sizes (Nt, Nx"
                        f"{', Ny' if system.dim == 2 else ''}); got {shape}")
    t0, t1 = t_span if t_span is not None else system.t_span
    t = np.linspace(t0, t1, shape[0])
    coords = {a: np.linspace(lo, hi, n, endpoint=not system.periodic)
              for a, (lo, hi), n in zip(system.axes, system.domain, shape[1:])}
    return t, coords


# ------------------------------------------------------------------------------------------ initial conditions
def _unit(s: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (s - lo) / (hi - lo)


def _series(s: np.ndarray, rng: np.random.Generator | None, kind: str, modes: int = 5) -> np.ndarray:
    """A smooth random series on ``s`` in [0, 1]: ``sin(k pi s)``, ``cos(k pi s)`` or periodic ``2 pi k s`` modes."""
    if rng is None:
        amps = np.array([1.0, 0.0, 0.5, 0.0, 0.25])[:modes]
        phases = np.zeros(modes)
    else:
        amps = rng.standard_normal(modes) / np.arange(1, modes + 1)
        phases = rng.uniform(0, 2 * np.pi, modes)
    shape = (-1,) + (1,) * s.ndim
    k, amps, phases = (np.arange(1, modes + 1).reshape(shape), amps.reshape(shape), phases.reshape(shape))
    if kind == "sine":
        return np.sum(amps * np.sin(np.pi * k * s), axis=0)
    if kind == "cosine":
        return np.sum(amps * np.cos(np.pi * k * s), axis=0)
    return np.sum(amps * np.cos(2 * np.pi * k * s + phases), axis=0)


def _scaled(u: np.ndarray, peak: float) -> np.ndarray:
    return peak * u / max(float(np.max(np.abs(u))), 1e-12)


def initial_condition(system: PDESystem, coords: Mapping[str, np.ndarray],
                      seed: int | None = None) -> dict[str, np.ndarray]:
    """An initial field of the system's family on ``coords``; ``seed=None`` gives the nominal one."""
    rng = None if seed is None else np.random.default_rng(seed)
    grids = np.meshgrid(*[_unit(coords[a], lo, hi) for a, (lo, hi) in zip(system.axes, system.domain)],
                        indexing="ij")
    s = grids[0]
    family = system.initial
    if family in ("sine", "cosine"):
        u = _scaled(_series(s, rng, family), 1.0 if family == "sine" else 0.6)
        return {system.fields[0]: u}
    if family == "fourier":
        out = {}
        for i, f in enumerate(system.fields):
            sub = None if rng is None else np.random.default_rng(rng.integers(2**32))
            u = _series(grids[0], sub if sub is not None else None, "periodic", modes=4)
            if len(grids) == 2:
                u = u * _series(grids[1], sub, "periodic", modes=3) + 0.5 * _series(grids[1], sub, "periodic", 3)
            if rng is None and i > 0:
                u = np.roll(u, u.shape[0] // 3, axis=0)
            out[f] = _scaled(u, 1.0 if i == 0 else 0.5)
        return out
    if family == "positive":  # a positive density: 1.5 plus a periodic series of peak 1
        return {system.fields[0]: 1.5 + _scaled(_series(s, rng, "periodic", modes=4), 1.0)}
    x = coords[system.axes[0]]
    lo, hi = system.domain[0]
    L = hi - lo
    if family == "bump":
        centre, width, amp = (-2.0, 1.0, 1.0) if rng is None else (
            rng.uniform(lo + 0.3 * L, lo + 0.6 * L), rng.uniform(0.8, 1.5), rng.uniform(0.7, 1.3))
        return {system.fields[0]: amp * np.exp(-(((x - centre) / width) ** 2))}
    if family == "solitons":
        a = float(system.params.get("a", 6.0))
        speeds, starts = ((4.0, 1.0), (lo + L / 6, lo + L / 3)) if rng is None else (
            (rng.uniform(3.0, 5.0), rng.uniform(0.7, 1.5)),
            (lo + rng.uniform(0.1, 0.2) * L, lo + rng.uniform(0.3, 0.4) * L))
        u = sum(3 * c / a / np.cosh(np.sqrt(c) / 2 * (x - x0)) ** 2 for c, x0 in zip(speeds, starts))
        return {system.fields[0]: u}
    if family == "ks":
        if rng is None:
            return {system.fields[0]: np.cos(2 * np.pi * s) * (1 + np.sin(2 * np.pi * s))}
        return {system.fields[0]: _scaled(_series(s, rng, "periodic", modes=3), 2.0)}
    if family == "fronts":
        centres = (0.3, 0.75) if rng is None else tuple(rng.uniform([0.15, 0.55], [0.4, 0.85]))
        u = sum(np.exp(-(((s - c) * L / 2.0) ** 2)) for c in centres)
        return {system.fields[0]: 0.9 * u / max(float(u.max()), 1e-12)}
    raise DataError(f"unknown initial-condition family {family!r} for {system.name}")


def simulate_zoo(
    name: str | PDESystem,
    *,
    params: Mapping[str, float] | None = None,
    grid: Sequence[int] | None = None,
    t_span: tuple[float, float] | None = None,
    seed: int | None = None,
    noise: float = 0.0,
    noise_seed: int = 0,
    rtol: float = 1e-7,
) -> Field:
    """Simulate a zoo PDE on its grid (or ``grid``) from its nominal (or a seeded random) initial field.

    ``noise`` adds Gaussian noise of standard deviation ``noise * std(f)`` to each field ``f``.
    """
    system = get_pde(name) if isinstance(name, str) else name
    t, coords = zoo_grid(system, grid, t_span)
    u0 = initial_condition(system, coords, seed)
    field = simulate_pde(system.rhs(params), u0, t, coords, boundary=system.boundary, rtol=rtol,
                         source=system.name)
    return field.with_noise(noise, seed=noise_seed) if noise else field
