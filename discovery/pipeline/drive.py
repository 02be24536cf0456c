"""Explicit time dependence: a periodic drive ``A*cos(w*t + phi)`` found in the data and searched as terms.

A driven oscillator measured without its drive leaves, in the residual ``dx/dt - f(x)`` of the best autonomous
model, a clear periodic signal at the drive's frequency. :func:`residual_peak` looks for it: the residual of each
variable, in units of its derivative's RMS, resampled on an even grid, windowed (Hann) and zero-padded, summed
over variables and trajectories into one power spectrum. A peak is *clear* when the band around it (the main lobe
of the window) holds at least :data:`PEAK_SHARE` of the residual's power, the residual is at least
:data:`MIN_RESIDUAL` of the derivative's RMS in some variable, and the oscillation lasts: fitted in each quarter of
the record, its amplitude stays within a factor :data:`STEADY` of its largest (a drive acts all the time, while
the misfit of a transient, such as a logistic or an epidemic curve, is bunched where the state moves), with a
phase that holds (the wave fitted to the whole record is about as large as in the segments: :data:`COHERENT`).
Noise and the smoothing error of a correct model spread their power over many frequencies, wander in phase, or
are too small; and ``auto`` looks at all only when the best model's window error exceeds the noise floor
(:func:`unexplained`).

The drive is then written ``a*cos(w*t) + b*sin(w*t)`` (linear in ``a`` and ``b``: any phase), and the two columns
``cos(w*t)``, ``sin(w*t)`` are given to the ``sindy`` search as inputs (alone and times the states' monomials, as
every input; :func:`driven_candidates`). Refinement fits every constant of a candidate, so ``w`` is fitted to the
trajectories with the rest (:mod:`discovery.pipeline.refine`). The stage :func:`discovery.pipeline.stages.drive`
runs this when ``time_dependent=True``, and under ``auto`` only when the residual has a clear peak.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

import numpy as np
import sympy

from discovery.inputs import TIME
from discovery.methods.base import Candidate, Method, MethodContext

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories

PEAK_SHARE = 0.35
"""Share of the residual's power the band around its highest peak must hold for the peak to be clear."""
MIN_RESIDUAL = 0.05
"""Smallest residual RMS, as a share of the derivative's RMS in some variable, worth looking at for a drive."""
MIN_PERIODS = 2.0
"""A drive must complete at least this many periods within the longest trajectory."""
PAD = 8
"""Zero-padding factor of the spectrum (finer frequency steps for the peak's position)."""
STEADY = 0.2
"""Smallest ratio of the peak's amplitude in one segment of the record to its largest in another."""
COHERENT = 0.6
"""Smallest ratio of the whole record's amplitude to the segments' mean amplitude: the drive's phase holds."""
SEGMENTS = 8
"""Segments of each trajectory (fewer when a segment would hold less than two periods) for :data:`STEADY`."""
EXCESS = 1.3
"""``auto`` tries a drive only when the best model's window error exceeds this many times the noise floor ..."""
EXCESS_ABS = 1e-4
"""... plus this: a model that fits within the noise leaves nothing for a drive to explain."""
DIGITS = 6
"""Significant digits of the drive frequency written into a candidate (refinement fits it further)."""


@dataclass(frozen=True)
class Peak:
    """The highest peak of a residual spectrum: angular frequency ``omega``, the ``share`` of the residual's power
    around it, and the residual's size ``residual`` (largest over variables of RMS(residual) / RMS(dx/dt))."""

    omega: float
    share: float
    residual: float
    steady: float = 1.0
    """Smallest over largest amplitude of the oscillation at ``omega`` over segments of the record."""
    coherent: float = 1.0
    """Amplitude of the oscillation fitted to the whole record over its mean amplitude in the segments."""

    @property
    def clear(self) -> bool:
        return (self.share >= PEAK_SHARE and self.residual >= MIN_RESIDUAL and self.steady >= STEADY
                and self.coherent >= COHERENT)


def unexplained(error: float, floor: float) -> bool:
    """Whether a window error ``error`` (``1 - r2_window``) leaves more than the noise floor ``floor`` explains
    (:func:`discovery.pipeline.scoring.noise_floor`): :data:`EXCESS` times it plus :data:`EXCESS_ABS`."""
    return bool(np.isfinite(error) and error > EXCESS * max(floor, 0.0) + EXCESS_ABS)


def residuals(candidate: Candidate, data: "Trajectories",
              pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray] | None:
    """``dx/dt - f(x, u, t)`` at the samples of each trajectory, ``(N, D)`` each, with ``x`` and ``dx/dt`` the
    smoothed states and derivatives ``pairs``; ``None`` when the candidate cannot be evaluated there."""
    from discovery.pipeline.shooting import batch_rhs

    variables = list(data.variables)
    try:
        f = batch_rhs([candidate.equations[v] for v in variables], variables, inputs=data.external)
        out = []
        with np.errstate(all="ignore"):
            for (x, dx), tr in zip(pairs, data):
                r = dx - f(x, np.hstack([tr.u, tr.t[:, None]]))
                if not np.all(np.isfinite(r)):
                    return None
                out.append(r)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, KeyError):
        return None
    return out


def spectral_peak(ts: Sequence[np.ndarray], signals: Sequence[np.ndarray], scale: np.ndarray) -> Peak | None:
    """The highest peak of the summed power spectrum of ``signals`` (``(N, D)`` per trajectory, in units of
    ``scale`` (D,)), over frequencies of at least :data:`MIN_PERIODS` periods in the longest trajectory."""
    steps = [float(np.median(np.diff(t))) for t in ts if len(t) >= 8]
    if not steps:
        return None
    dt = float(np.median(steps))
    lengths = [int(round((t[-1] - t[0]) / dt)) + 1 for t in ts if len(t) >= 8]
    n_fft = 1 << int(math.ceil(math.log2(PAD * max(lengths))))
    power = np.zeros(n_fft // 2 + 1)
    size = 0.0
    for t, r in zip(ts, signals):
        if len(t) < 8:
            continue
        grid = t[0] + dt * np.arange(int(round((t[-1] - t[0]) / dt)) + 1)
        z = np.stack([np.interp(grid, t, r[:, j]) for j in range(r.shape[1])], axis=1) / scale  # (M, D)
        trend = np.polynomial.polynomial.polyfit(grid - grid[0], z, 1)  # (2, D)
        z = z - np.polynomial.polynomial.polyval(grid - grid[0], trend).T
        window = np.hanning(len(grid))[:, None]
        power += (np.abs(np.fft.rfft(z * window, n=n_fft, axis=0)) ** 2).sum(axis=1)
        size = max(size, float(np.max(np.sqrt(np.mean(z**2, axis=0)))))
    omega = 2.0 * np.pi * np.fft.rfftfreq(n_fft, d=dt)  # (F,)
    span = max(float(t[-1] - t[0]) for t in ts)
    usable = omega >= MIN_PERIODS * 2.0 * np.pi / span
    total = float(power[usable].sum())
    if total <= 0.0 or not usable.any():
        return None
    k = int(np.flatnonzero(usable)[np.argmax(power[usable])])
    lobe = int(math.ceil(2 * n_fft / min(lengths)))  # the Hann main lobe: two bins of the unpadded spectrum
    share = float(power[max(k - lobe, 0) : k + lobe + 1].sum()) / total
    return Peak(omega=_vertex(omega, power, k), share=share, residual=size)


def _vertex(omega: np.ndarray, power: np.ndarray, k: int) -> float:
    """The peak's frequency between grid points: the vertex of a parabola through the log power at ``k - 1, k,
    k + 1``."""
    if not 0 < k < len(power) - 1 or np.any(power[k - 1 : k + 2] <= 0):
        return float(omega[k])
    a, b, c = np.log(power[k - 1 : k + 2])
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return float(omega[k] + float(np.clip(shift, -0.5, 0.5)) * (omega[1] - omega[0]))


def residual_peak(candidate: Candidate, data: "Trajectories",
                  pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> Peak | None:
    """The spectral peak of ``candidate``'s residual on ``data`` (each variable in units of its derivative's RMS),
    or ``None`` when the residual cannot be computed."""
    rs = residuals(candidate, data, pairs)
    if rs is None:
        return None
    dx = np.concatenate([p[1] for p in pairs])
    scale = np.sqrt(np.mean(dx**2, axis=0))
    scale = np.where(scale > 0, scale, 1.0)
    ts = [tr.t for tr in data]
    peak = spectral_peak(ts, rs, scale)
    if peak is None:
        return None
    steady, coherent = steadiness(ts, [r / scale for r in rs], peak.omega)
    return replace(peak, steady=steady, coherent=coherent)


def _wave(t: np.ndarray, r: np.ndarray, omega: float) -> np.ndarray:
    """Least-squares ``(a, b)`` per variable ``(2, D)`` of ``a*cos(w*t) + b*sin(w*t)`` (with an offset and a
    slope) in ``r (N, D)``."""
    design = np.stack([np.cos(omega * t), np.sin(omega * t), np.ones_like(t), t - t.mean()], axis=1)
    return np.linalg.lstsq(design, r, rcond=None)[0][:2]


def steadiness(ts: Sequence[np.ndarray], signals: Sequence[np.ndarray], omega: float) -> tuple[float, float]:
    """How an oscillation at ``omega`` runs through ``signals`` (``(N, D)`` per trajectory): each trajectory is
    cut into up to :data:`SEGMENTS` segments of at least two periods and the wave fitted in each (amplitude: root
    sum of squares over variables). Returns ``(steady, coherent)``: the smallest segment amplitude over the
    largest, and the amplitude of the wave fitted to whole trajectories over the segments' mean amplitude (about 1
    when the phase holds, as a drive's does; about ``1/sqrt(segments)`` for noise, whose phase wanders). Both 0
    when no segment can be fitted."""
    period = 2.0 * np.pi / omega
    parts, wholes = [], []
    for t, r in zip(ts, signals):
        n_seg = min(SEGMENTS, int((t[-1] - t[0]) // (2.0 * period)))
        if n_seg < 2:
            continue
        edges = np.linspace(t[0], t[-1], n_seg + 1)
        for a, b in zip(edges[:-1], edges[1:]):
            inside = (t >= a) & (t <= b)
            if inside.sum() >= 8:
                parts.append(float(np.sqrt(np.sum(_wave(t[inside], r[inside], omega) ** 2))))
        wholes.append(float(np.sqrt(np.sum(_wave(t, r, omega) ** 2))))
    if len(parts) < 2 or max(parts) <= 0:
        return 0.0, 0.0
    return min(parts) / max(parts), float(np.mean(wholes)) / float(np.mean(parts))


def state_peak(data: "Trajectories") -> Peak | None:
    """The spectral peak of the states themselves (each in units of its spread): the frequency to try when
    ``time_dependent=True`` and the residual shows none."""
    xs = [tr.x for tr in data]
    scale = np.concatenate(xs).std(axis=0)
    return spectral_peak([tr.t for tr in data], xs, np.where(scale > 0, scale, 1.0))


def drive_frequencies(data: "Trajectories", residual: Peak | None) -> list[float]:
    """The drive frequencies to try: the residual's peak and the states' (:func:`state_peak`), once each (two
    within a frequency step of the longest trajectory are one)."""
    span = max(float(tr.t[-1] - tr.t[0]) for tr in data)
    out: list[float] = []
    for peak in (residual, state_peak(data)):
        if peak is None or not np.isfinite(peak.omega) or peak.omega <= 0:
            continue
        if all(abs(peak.omega - w) > 2.0 * np.pi / span for w in out):
            out.append(peak.omega)
    return out


def _free_name(taken: Sequence[str], base: str) -> str:
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}{k}"
    return name


def driven_candidates(method: Method, data: "Trajectories", context: MethodContext, omega: float) -> list[Candidate]:
    """``method``'s candidates (the ``sindy`` search) with ``cos(w*t)`` and ``sin(w*t)`` as two more inputs, at
    ``w = omega``; only those that use the drive are returned, with the columns written as the terms."""
    from discovery.data import Trajectories, Trajectory

    taken = [*data.variables, *data.external]
    c_name, s_name = _free_name(taken, "drive_cos"), _free_name(taken, "drive_sin")
    n_in = len(data.inputs)
    driven = []
    for tr in data:
        waves = np.stack([np.cos(omega * tr.t), np.sin(omega * tr.t)], axis=1)  # (N, 2)
        driven.append(Trajectory(tr.t, tr.x, np.hstack([tr.u[:, :n_in], waves, tr.u[:, n_in:]])))
    augmented = Trajectories(data.variables, driven, data.source, inputs=(*data.inputs, c_name, s_name),
                             parameters=data.parameters)
    context.share_derivatives(augmented, data)
    w = sympy.Float(float(f"{omega:.{DIGITS}g}"))
    terms = {sympy.Symbol(c_name): sympy.cos(w * TIME), sympy.Symbol(s_name): sympy.sin(w * TIME)}
    out = []
    for c in method.propose(augmented, context):
        if not any(e.has(*terms) for e in c.equations.values()):
            continue
        equations = {v: sympy.expand(e.xreplace(terms)) for v, e in c.equations.items()}
        out.append(Candidate(c.method, equations, info={**c.info, "drive_frequency": float(w)}))
    return out
