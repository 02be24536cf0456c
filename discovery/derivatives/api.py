"""The derivative-estimator registry and :func:`differentiate`."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from discovery.derivatives._checks import as_time_and_states
from discovery.derivatives.finite_difference import finite_difference
from discovery.derivatives.local_polynomial import savgol, smoothed_fd
from discovery.derivatives.noise import noise_std
from discovery.derivatives.spline import spline
from discovery.derivatives.tv import tv
from discovery.errors import DiscoveryError

DerivativeMethod = Callable[..., tuple[np.ndarray, np.ndarray]]
"""``method(t (N,), x (N, D), noise (D,), **options) -> (x_smooth (N, D), dxdt (N, D))``.

``t`` strictly increasing float64, ``x`` finite float64 with no constant column, ``noise`` the estimated
noise standard deviation of each column; :func:`differentiate` checks and prepares all three.
"""

DERIVATIVE_METHODS: dict[str, DerivativeMethod] = {
    "finite_difference": finite_difference,
    "smoothed_fd": smoothed_fd,
    "savgol": savgol,
    "spline": spline,
    "tv": tv,
}

IRREGULAR_GAP_CV = 0.6
"""``auto`` switches from ``savgol`` to ``spline`` when the coefficient of variation of the time steps exceeds
this: about 0.33 for a grid jittered by up to 40% of a step (where ``savgol`` was best on the benchmark), about 1
for random sampling times (where ``spline`` was best)."""


def auto_method(t: np.ndarray) -> str:
    """The estimator ``method="auto"`` uses on the time grid ``t`` (N,), as chosen by ``benchmarks/derivatives.py``.

    ``savgol`` (degree-5 local polynomials, window by C_p) had the lowest error on uniform and mildly irregular
    grids at every noise level; on strongly irregular grids (time steps varying by more than
    ``IRREGULAR_GAP_CV`` relative standard deviation, e.g. random sampling times) the cubic smoothing ``spline``
    was best, since windows of a fixed number of samples then span very different time intervals.

    Examples
    --------
    >>> import numpy as np
    >>> auto_method(np.linspace(0, 1, 50))
    'savgol'
    """
    steps = np.diff(np.asarray(t, dtype=np.float64))
    return "spline" if np.std(steps) > IRREGULAR_GAP_CV * np.mean(steps) else "savgol"


def _resolve(method: str) -> DerivativeMethod:
    try:
        return DERIVATIVE_METHODS[method]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(DERIVATIVE_METHODS))
        raise DiscoveryError(f"unknown derivative method {method!r}; valid methods: {valid}, or 'auto'") from None


def _check_options(name: str, func: DerivativeMethod, options: dict[str, Any]) -> None:
    allowed = [
        p.name for p in inspect.signature(func).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        valid = ", ".join(allowed) or "(none)"
        raise DiscoveryError(f"derivative method {name!r} got unknown option(s) {', '.join(unknown)}; valid: {valid}")


def differentiate(
    t: np.ndarray, x: np.ndarray, method: str = "auto", **options: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate a smoothed trajectory and its time derivative from noisy, possibly irregular samples.

    Parameters
    ----------
    t:
        Times, shape (N,), strictly increasing (spacing may be irregular), N >= 3.
    x:
        States, shape (N, D); a 1-D array (N,) is treated as one variable and the results are 1-D too.
    method:
        A name in :data:`DERIVATIVE_METHODS` (``finite_difference``, ``smoothed_fd``, ``savgol``, ``spline``,
        ``tv``) or ``"auto"``: ``savgol`` on uniform and mildly irregular grids, ``spline`` on strongly irregular
        ones (see :func:`auto_method`), the rule that had the lowest error on ``benchmarks/derivatives.py``.
    **options:
        Options of the chosen method, e.g. ``window=`` / ``degree=`` for ``savgol``, ``lam=`` for ``spline``,
        ``alpha=`` for ``tv`` (``auto`` takes none); every method, ``auto`` included, also takes ``noise=``
        (a float or (D,) array) to override the noise estimate.

    Returns
    -------
    x_smooth, dxdt:
        float64 arrays of the shape of ``x``. Constant columns get themselves and zero derivative.

    Raises
    ------
    DataError
        When ``t`` or ``x`` is malformed (shapes, non-finite values, non-increasing time, N < 3).
    DiscoveryError
        For an unknown method (the message lists the valid ones) or an unknown or invalid option.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.sort(np.random.default_rng(0).uniform(0, 6, 200))
    >>> x = np.stack([np.sin(t), np.cos(t)], axis=1)
    >>> x_smooth, dxdt = differentiate(t, x)
    >>> bool(np.allclose(dxdt, np.stack([np.cos(t), -np.sin(t)], axis=1), atol=1e-3))
    True
    """
    noise = options.pop("noise", None)
    if method == "auto":
        if options:
            raise DiscoveryError(
                f"derivative method 'auto' takes no options (got {', '.join(sorted(options))}); "
                "name a method to pass options to it"
            )
        func = None
    else:
        func = _resolve(method)
        _check_options(method, func, options)
    t_arr, x_arr, was_1d = as_time_and_states(t, x)
    if func is None:
        func = DERIVATIVE_METHODS[auto_method(t_arr)]
    d = x_arr.shape[1]
    if noise is None:
        noise_arr = noise_std(t_arr, x_arr)
    else:
        try:
            noise_arr = np.broadcast_to(np.asarray(noise, dtype=np.float64), (d,)).copy()
        except (TypeError, ValueError):
            expected = f"expected noise as a number or {d} numbers (one per variable)"
            raise DiscoveryError(f"{expected}, found {noise!r}") from None
        if not np.all(np.isfinite(noise_arr)) or np.any(noise_arr < 0):
            raise DiscoveryError(f"expected noise levels that are finite and >= 0, found {noise!r}")
    x_smooth, dxdt = x_arr.copy(), np.zeros_like(x_arr)
    varying = np.ptp(x_arr, axis=0) > 0  # (D,)
    if np.any(varying):
        xs, dx = func(t_arr, np.ascontiguousarray(x_arr[:, varying]), noise_arr[varying], **options)
        x_smooth[:, varying], dxdt[:, varying] = xs, dx
    if was_1d:
        return x_smooth[:, 0], dxdt[:, 0]
    return x_smooth, dxdt
