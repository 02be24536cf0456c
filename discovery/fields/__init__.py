"""Fields ``u(t, x[, y])``: field data, PDE simulation and PDE discovery.

A :class:`Field` holds one or more fields on a uniform ``(t, x[, y])`` grid; :func:`load_field` reads NPZ,
NetCDF/HDF5 (through xarray) and long CSV files, detecting periodic axes; :func:`is_field` tells a field input
from trajectories. :func:`simulate_pde` integrates any PDE written in derivative symbols (``u_t = -u*u_x +
0.1*u_xx``), and :func:`simulate_zoo` the equations of :mod:`grammar.pde_zoo`. :func:`discover_field` finds the
PDE behind a field by sparse regression on the weak and strong forms, or completes a partly known PDE with the
PINN hidden-term method (``method="pinn"``, ``known="h1(u, u_x) + 0.1*u_xx"``), re-simulating every candidate;
with ``operators="fno"`` a Fourier neural operator forecasts the field past the observed window
(``result.forecast``, a :class:`FieldForecast`).

Modules (each one concept):

- ``field``: the :class:`Field` type and its checks; ``periodic``: periodicity detection; ``readers``: files;
- ``derivatives``: spectral and finite-difference derivatives; ``noise``: noise level and denoising;
- ``compile``: sympy right-hand sides as numpy functions; ``solvers``: ETDRK4 (periodic) and finite differences
  with BDF; ``simulate``: the user-facing simulation and the zoo's initial conditions;
- ``library``: candidate terms; ``strong`` and ``weak``: the two regression forms; ``regression``: sparsity
  paths; ``resimulate``: windowed re-simulation scores; ``api``: :func:`discover_field`; ``result``:
  :class:`FieldResult` and its exports; ``export``: standalone Python source;
- ``known`` and ``pinn``: the partly known PDE and the PINN hidden-term method; ``operator``: the FNO forecast.
"""

from __future__ import annotations

from discovery.fields.api import METHODS, FieldSettings, discover_field
from discovery.fields.field import MIN_POINTS, Field
from discovery.fields.readers import is_field, load_field
from discovery.fields.known import FieldKnown, parse_field_known
from discovery.fields.operator import OPERATORS, FNOOptions, forecast_field
from discovery.fields.pinn import FieldPINNOptions
from discovery.fields.result import FieldCandidate, FieldForecast, FieldResult, parse_field_equations
from discovery.fields.simulate import initial_condition, simulate_pde, simulate_zoo

__all__ = [
    "METHODS",
    "MIN_POINTS",
    "OPERATORS",
    "FNOOptions",
    "Field",
    "FieldCandidate",
    "FieldForecast",
    "FieldKnown",
    "FieldPINNOptions",
    "FieldResult",
    "FieldSettings",
    "discover_field",
    "forecast_field",
    "initial_condition",
    "is_field",
    "load_field",
    "parse_field_equations",
    "parse_field_known",
    "simulate_pde",
    "simulate_zoo",
]
