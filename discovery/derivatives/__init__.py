"""Derivative estimation for noisy and irregularly sampled trajectories.

``differentiate(t, x, method="auto")`` returns a smoothed trajectory and its time derivative; the estimators
are found by name in :data:`DERIVATIVE_METHODS`. Modules:

- ``noise``: :func:`estimate_noise`, a robust per-variable noise level;
- ``finite_difference``: second-order differences on irregular grids;
- ``local_polynomial``: Savitzky-Golay fits in real time (``savgol``) and smoothing + differences (``smoothed_fd``);
- ``spline``: cubic smoothing splines (``spline``);
- ``tv``: total-variation regularised differentiation (``tv``);
- ``api``: the registry and :func:`differentiate`.
"""

from __future__ import annotations

from discovery.derivatives.api import DERIVATIVE_METHODS, auto_method, differentiate
from discovery.derivatives.finite_difference import central_difference
from discovery.derivatives.noise import estimate_noise

__all__ = ["DERIVATIVE_METHODS", "auto_method", "central_difference", "differentiate", "estimate_noise"]
