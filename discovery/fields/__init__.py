"""Fields ``u(t, x[, y])``: field data, PDE simulation and PDE discovery.

A :class:`Field` holds one or more fields on a uniform ``(t, x[, y])`` grid; :func:`load_field` reads NPZ,
NetCDF/HDF5 (through xarray) and long CSV files, detecting periodic axes; :func:`is_field` tells a field input
from trajectories. :func:`simulate_pde` integrates any PDE written in derivative symbols (``u_t = -u*u_x +
0.1*u_xx``), and :func:`simulate_zoo` the equations of :mod:`grammar.pde_zoo`. :func:`discover_field` finds the
PDE behind a field by sparse regression on the weak and strong forms, re-simulating every candidate.

Modules (each one concept):

- ``field``: the :class:`Field` type and its checks; ``periodic``: periodicity detection; ``readers``: files;
- ``derivatives``: spectral and finite-difference derivatives; ``noise``: noise level and denoising;
- ``compile``: sympy right-hand sides as numpy functions; ``solvers``: ETDRK4 (periodic) and finite differences
  with BDF; ``simulate``: the user-facing simulation and the zoo's initial conditions;
- ``library``: candidate terms; ``strong`` and ``weak``: the two regression forms; ``regression``: sparsity
  paths; ``resimulate``: windowed re-simulation scores; ``api``: :func:`discover_field`; ``result``:
  :class:`FieldResult` and its exports; ``export``: standalone Python source.
"""

from __future__ import annotations

from discovery.fields.api import METHODS, FieldSettings, discover_field
from discovery.fields.field import MIN_POINTS, Field
from discovery.fields.readers import is_field, load_field
from discovery.fields.result import FieldCandidate, FieldResult, parse_field_equations
from discovery.fields.simulate import initial_condition, simulate_pde, simulate_zoo

__all__ = [
    "METHODS",
    "MIN_POINTS",
    "Field",
    "FieldCandidate",
    "FieldResult",
    "FieldSettings",
    "discover_field",
    "initial_condition",
    "is_field",
    "load_field",
    "parse_field_equations",
    "simulate_pde",
    "simulate_zoo",
]
