"""The weak (integral) form of ``dx/dt = Theta(x) xi`` for sparse regression on noisy data (the WSINDy idea).

Multiplying the equations by a smooth test function ``phi_k`` that vanishes at both ends of its support
``[a_k, b_k]`` and integrating by parts moves the time derivative off the data::

    -int phi_k'(t) x(t) dt  =  int phi_k(t) Theta(x(t)) dt  xi

so no derivative of the noisy samples is ever taken, and the integrals average the noise away. With ``K`` test
functions this is a linear regression ``b = G xi`` with ``K`` rows, ``b = D x`` and ``G = V Theta(x)``, where
``V`` and ``D`` are ``(K, N)`` quadrature matrices: the exact integrals of ``phi_k`` and ``-phi_k'`` against the
piecewise-linear interpolant of the samples (:func:`window_weights`), on any grid, regular or not. Because ``G``
is ``V`` applied to the library matrix, every library and the sparsity path of the strong form
(:mod:`discovery.methods.sindy_path`) work on it unchanged.

Test functions are ``phi(t) = ((t - a)(b - t))^p`` scaled to unit integral, so each row is a local weighted mean
of the strong-form equation (``G`` of the constant term is 1). Their half-width is chosen from the data's spectrum
(:func:`choose_half_width`): the narrowest window whose low-pass response has cut the data's spectrum off where it
sinks into the noise, as WSINDy does. Rows are ordered in time (trajectory by trajectory), so the block
cross-validation of the sparsity path still holds out contiguous stretches of each trajectory; only the few
windows that straddle a block edge share samples with the next block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from discovery.errors import DiscoveryError
from discovery.options import Options, option

if TYPE_CHECKING:  # pragma: no cover
    from scipy.sparse import csr_matrix

    from discovery.data import Trajectories

__all__ = ["FORMS", "WEAK_PROPOSED", "WeakConfig", "WeakSystem", "choose_half_width", "relative_noise",
           "test_function", "wants_forms", "weak_system"]


@dataclass(frozen=True)
class WeakConfig(Options):
    """How the weak system is built (defaults measured on the zoo at 1-5% noise, see ``benchmarks/weak_sr.py``).

    Attributes
    ----------
    power:
        Exponent ``p`` of the test function ``((t - a)(b - t))^p``; it vanishes with its first ``p - 1``
        derivatives at both ends. Larger ``p`` make it closer to a Gaussian, a sharper low-pass filter.
    tolerance:
        The half-width is the smallest whose test function's frequency response at the data's corner frequency
        (where its spectrum meets the noise) is at most this share of its response at zero frequency.
    min_half_width, max_half_width:
        Bounds of the half-width in samples.
    max_span:
        Largest half-width as a share of the shortest trajectory.
    max_windows:
        Most test functions (rows) over all trajectories; centres are spread evenly.
    gap_factor:
        A window holding a sampling gap longer than this many median steps is left out (its quadrature is poor).
    """

    owner = "sindy.weak"

    power: int = option(4, low=1, high=16)
    tolerance: float = option(0.05, low=0.0, high=1.0, low_open=True, high_open=True)
    min_half_width: int = option(8, low=2)
    max_half_width: int = option(60, low=2)
    max_span: float = option(0.1, low=0.0, high=0.5, low_open=True)
    max_windows: int = option(1500, low=10)
    gap_factor: float = option(4.0, low=1.0)

    def validate(self) -> None:
        if self.min_half_width > self.max_half_width:
            raise DiscoveryError(f"sindy.weak: expected min_half_width <= max_half_width, found "
                                 f"{self.min_half_width} > {self.max_half_width}")


@dataclass(frozen=True)
class WeakSystem:
    """The weak form of a set of trajectories: ``b ~ G xi`` with ``G = test @ Theta(x)`` and ``b = derivative @ x``.

    Attributes
    ----------
    test:
        ``(K, N)`` sparse matrix: row ``k`` holds the quadrature weights times ``phi_k`` at the ``N`` samples of all
        trajectories (concatenated in order).
    derivative:
        ``(K, N)`` sparse matrix of the weights times ``-phi_k'``.
    x:
        The states at the samples, shape ``(N, D)``, where the library is evaluated.
    b:
        ``derivative @ x``, shape ``(K, D)``: the targets of the regression.
    half_widths:
        Half-width (in samples) used for each trajectory.
    """

    test: csr_matrix
    derivative: csr_matrix
    x: np.ndarray
    b: np.ndarray
    half_widths: tuple[int, ...]

    @property
    def n_rows(self) -> int:
        return int(self.b.shape[0])

    def rows(self, theta: np.ndarray) -> np.ndarray:
        """The weak library ``G = test @ theta`` of a library matrix ``theta`` of shape ``(N, P)``: ``(K, P)``."""
        return np.asarray(self.test @ theta)


def test_function(t: np.ndarray, a: float, b: float, power: int) -> tuple[np.ndarray, np.ndarray]:
    """``phi(t) = ((t - a)(b - t))^p / c`` on ``[a, b]`` (0 outside) and its derivative, before normalization.

    The shape is scaled by ``((b - a)/2)^(2p)`` so that its peak is 1 whatever the window.

    Examples
    --------
    >>> import numpy as np
    >>> phi, dphi = test_function(np.array([0.0, 0.5, 1.0]), 0.0, 1.0, 2)
    >>> phi.tolist(), np.abs(dphi).tolist()
    ([0.0, 1.0, 0.0], [0.0, 0.0, 0.0])
    """
    h = 0.5 * (b - a)
    u = np.clip((t - a) / h, 0.0, 2.0)  # (n,)
    v = 2.0 - u  # (b - t)/h
    phi = (u * v) ** power
    dphi = power * (u * v) ** (power - 1) * (v - u) / h if power > 1 else (v - u) / h
    inside = (t > a) & (t < b)
    return np.where(inside, phi, 0.0), np.where(inside, dphi, 0.0)


def window_weights(t: np.ndarray, power: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``u, v`` (shape ``(n,)``) with ``sum(u * x) = int phi x~ dt`` and ``sum(v * x) = int phi' x~ dt``
    for the test function on ``[t[0], t[-1]]`` and ``x~`` the piecewise-linear interpolant of samples ``x`` at
    ``t``.

    The integrals are exact (Gauss-Legendre with ``power + 1`` nodes per interval; ``phi`` is a polynomial), so
    only the data is approximated, by its interpolant: the error is that of linear interpolation of a smooth
    signal, even on an irregular grid, where the trapezoid rule applied to ``phi' x`` would suffer from the
    sharpness of ``phi'`` (errors of a few percent per window with steps varying by 50%).
    """
    nodes, weights = np.polynomial.legendre.leggauss(power + 1)
    tau, omega = 0.5 * (nodes + 1.0), 0.5 * weights  # on [0, 1]
    h = np.diff(t)  # (n - 1,)
    at = t[:-1, None] + h[:, None] * tau  # (n - 1, Q)
    phi, dphi = test_function(at.ravel(), t[0], t[-1], power)
    phi, dphi = phi.reshape(at.shape), dphi.reshape(at.shape)
    u, v = np.zeros_like(t), np.zeros_like(t)
    for f, out in ((phi, u), (dphi, v)):
        out[:-1] += h * ((f * omega) @ (1.0 - tau))  # each interval's left sample
        out[1:] += h * ((f * omega) @ tau)  # and its right one
    return u, v


def relative_noise(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Estimated noise standard deviation of each variable over its standard deviation, shape ``(D,)``."""
    from discovery.derivatives import estimate_noise

    spread = np.std(x, axis=0)
    return np.where(spread > 0, estimate_noise(t, x) / np.where(spread > 0, spread, 1.0), 0.0)


def _response(half_width: int, power: int, freq: np.ndarray) -> np.ndarray:
    """``|Phi(f)| / Phi(0)`` of the sampled test function of ``half_width`` samples at frequencies ``freq``
    (cycles per sample)."""
    s = np.arange(-half_width, half_width + 1) / half_width
    phi = (1.0 - s**2) ** power  # the same shape as test_function, centred
    k = np.arange(-half_width, half_width + 1)
    spectrum = np.abs(np.exp(-2j * np.pi * np.outer(freq, k)) @ phi)
    return spectrum / phi.sum()


def choose_half_width(t: np.ndarray, x: np.ndarray, config: WeakConfig = WeakConfig()) -> int:
    """Half-width in samples of the test functions for one trajectory, from its spectrum and its noise.

    The states are put on a uniform grid (the median step) and their power spectrum is compared with that of the
    estimated white noise (:func:`discovery.derivatives.estimate_noise`). The *corner frequency* is the lowest
    frequency above which the signal no longer clears the noise (power under four times the noise level, in a
    running median over frequencies) for any variable. The half-width is the smallest (within the config's
    bounds) whose test function passes at most ``config.tolerance`` of its zero-frequency response at the corner:
    the window then averages out what is mostly noise and keeps what is mostly signal. Clean data (no noise
    found) gets the smallest half-width.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 20, 2001)
    >>> x = np.sin(t)[:, None] + 0.05 * np.random.default_rng(0).standard_normal((2001, 1))
    >>> choose_half_width(t, np.sin(t)[:, None]), choose_half_width(t, x)  # clean; 5% noise: the cap
    (8, 60)
    """
    from scipy.ndimage import median_filter

    from discovery.derivatives import estimate_noise

    n = len(t)
    cap = int(min(config.max_half_width, max(config.min_half_width, config.max_span * n)))
    lo = min(config.min_half_width, cap)
    sigma = estimate_noise(t, x)  # (D,)
    if n < 16 or not np.any(sigma > 0):
        return lo
    step = float(np.median(np.diff(t)))
    grid = t[0] + step * np.arange(int(np.floor((t[-1] - t[0]) / step)) + 1)
    xu = np.stack([np.interp(grid, t, x[:, j]) for j in range(x.shape[1])], axis=1)  # (M, D)
    xu = xu - np.linspace(0, 1, len(grid))[:, None] * (xu[-1] - xu[0]) - xu[0]  # no jump at the wrap
    power = np.abs(np.fft.rfft(xu, axis=0)) ** 2  # (F, D)
    freq = np.fft.rfftfreq(len(grid))  # cycles per sample
    smooth = median_filter(power, size=(max(3, len(freq) // 64) | 1, 1), mode="nearest")
    noise_level = len(grid) * sigma**2  # (D,): expected |FFT|^2 of white noise
    above = smooth > 4.0 * noise_level  # (F, D)
    corner = 0.5
    for j in np.flatnonzero(sigma > 0):
        below = np.flatnonzero(~above[1:, j]) + 1
        if len(below):
            corner = min(corner, float(freq[below[0]]))
    for m in range(lo, cap + 1):
        if _response(m, config.power, np.array([corner]))[0] <= config.tolerance:
            return m
    return cap


def weak_system(
    ts: Sequence[np.ndarray],
    xs: Sequence[np.ndarray],
    config: WeakConfig = WeakConfig(),
    half_width: int | None = None,
    library_states: Sequence[np.ndarray] | None = None,
) -> WeakSystem:
    """Build the weak system of trajectories ``(ts[i], xs[i])`` (times ``(N_i,)``, states ``(N_i, D)``).

    Parameters
    ----------
    ts, xs:
        Times (strictly increasing) and states of each trajectory, the raw measurements: no smoothing needed.
    config:
        Test-function and window options (:class:`WeakConfig`).
    half_width:
        Half-width in samples for every trajectory; ``None`` chooses one per trajectory (:func:`choose_half_width`).
    library_states:
        States at which the library is evaluated (``WeakSystem.x``), same shapes as ``xs``; ``None``: ``xs``.
        The targets ``b`` are linear in the states and always use ``xs``, whose noise the integrals average out;
        a nonlinear term of noisy states is biased (``E[cos(v + e)] = cos(v) exp(-s^2/2)``), so smoothed states
        serve the library better.

    Returns
    -------
    WeakSystem
        ``K`` rows, windows of each trajectory spread evenly along it (trajectory by trajectory, in time order).

    Raises
    ------
    DiscoveryError
        When no trajectory is long enough for one window.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 3, 301)
    >>> system = weak_system([t], [np.exp(-2 * t)[:, None]])
    >>> g = system.rows(system.x)  # the library is the state itself: b = -2 g
    >>> float(np.round(np.linalg.lstsq(g, system.b, rcond=None)[0][0, 0], 2))
    -2.0
    """
    from scipy import sparse

    if len(ts) != len(xs) or not ts:
        raise DiscoveryError(f"weak form: expected as many time arrays as state arrays (>= 1), "
                             f"found {len(ts)} and {len(xs)}")
    lengths = [len(t) for t in ts]
    widths = [half_width or choose_half_width(np.asarray(t, float), np.asarray(x, float), config)
              for t, x in zip(ts, xs)]
    centres = [np.arange(m, n - m) for m, n in zip(widths, lengths)]  # every possible centre
    total = sum(len(c) for c in centres)
    if total == 0:
        raise DiscoveryError(f"weak form: trajectories of {max(lengths)} samples are too short for one window of "
                             f"{2 * min(widths) + 1} samples; use sindy.form='strong' or longer trajectories")
    share = min(1.0, config.max_windows / total)
    rows_t, rows_d, cols, indptr = [], [], [], [0]
    offset = 0
    for t, n, m, c in zip(ts, lengths, widths, centres):
        t = np.asarray(t, dtype=float)
        step = float(np.median(np.diff(t)))
        count = max(1, round(share * len(c)))  # windows kept, centres spread evenly along the trajectory
        chosen = c[np.unique(np.round(np.linspace(0, len(c) - 1, count)).astype(int))] if len(c) else c
        for i in chosen:
            lo, hi = i - m, i + m  # support [t[lo], t[hi]]
            if np.max(np.diff(t[lo : hi + 1])) > config.gap_factor * step:
                continue
            idx = np.arange(lo, hi + 1)
            u, v = window_weights(t[idx], config.power)
            scale = float(np.sum(u))  # unit integral: each row is a local weighted mean
            rows_t.append(u / scale)
            rows_d.append(-v / scale)
            cols.append(idx + offset)
            indptr.append(indptr[-1] + len(idx))
        offset += n
    if len(indptr) == 1:
        raise DiscoveryError("weak form: every window holds a sampling gap; use sindy.form='strong'")
    shape = (len(indptr) - 1, offset)
    col = np.concatenate(cols)
    test = sparse.csr_matrix((np.concatenate(rows_t), col, indptr), shape=shape)
    derivative = sparse.csr_matrix((np.concatenate(rows_d), col, indptr), shape=shape)
    x_all = np.concatenate([np.asarray(x, dtype=float) for x in xs])  # (N, D)
    lib_all = x_all if library_states is None else np.concatenate([np.asarray(x, dtype=float) for x in library_states])
    if lib_all.shape != x_all.shape:
        raise DiscoveryError(f"weak form: expected library states of shape {x_all.shape}, found {lib_all.shape}")
    return WeakSystem(test, derivative, lib_all, np.asarray(derivative @ x_all), tuple(widths))


FORMS = ("auto", "strong", "weak", "both")
"""Values of the ``sindy`` option ``form``."""
WEAK_PROPOSED = ("weak:ensemble", "weak:best", "weak:sparser", "weak:saturating", "weak:kind:rational",
                 "weak:kind:exp", "weak:kind:log", "weak:shared")
"""The weak-form systems the ``sindy`` method proposes beside the strong form's (when their structure is new): its
preferred supports and the systems built from saturating terms screened on the weak rows, which noisy derivatives
hide from the strong form (``form="weak"`` alone proposes them all). Its denser and per-library ones only add overfitted
rivals to the strong form's, and at 5% noise such a rival, being the most accurate on the scoring windows, can
tighten the selection's limit enough to push out the true model (Chen-Lee with drawn parameters, seed 5: a weak
``denser`` system with five extra terms was selected).
"""


def wants_forms(form: str, data: Trajectories, min_noise: float) -> tuple[bool, bool]:
    """Whether to run the strong form and the weak form for ``form`` (one of :data:`FORMS`) on ``data``.

    ``"auto"`` runs the strong form always and adds the weak form when some variable's estimated noise is at
    least ``min_noise`` of its spread (:func:`relative_noise`, on any trajectory): on clean data derivative
    estimates are accurate and the weak form only blurs them, on noisy data it recovers terms that noisy
    derivatives hide (``benchmarks/weak_sr.py``).
    """
    if form not in FORMS:
        raise DiscoveryError(f"sindy.form: expected one of {', '.join(FORMS)}, found {form!r}")
    if form != "auto":
        return form in ("strong", "both"), form in ("weak", "both")
    noise = max((float(np.max(relative_noise(tr.t, tr.x))) for tr in data if len(tr.t) >= 5), default=0.0)
    return True, noise >= min_noise
