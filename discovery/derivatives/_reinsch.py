"""Banded linear algebra of the weighted cubic smoothing spline (Reinsch's algorithm).

For knots ``tau`` (M,), weights ``w`` (M,) and data ``y`` (M, D), the natural cubic spline ``g`` minimising
``sum_i w_i (y_i - g(tau_i))^2 + lam * int g''^2`` satisfies (Green and Silverman, 1994, sections 2.3 and 3.5)
``(R + lam Q^T W^-1 Q) gamma = Q^T y`` and ``g = y - lam W^-1 Q gamma``, with ``gamma`` the second derivatives at
the interior knots, ``Q`` (M, M-2) the second divided differences and ``R`` (M-2, M-2) tridiagonal. Every matrix
is banded, so one fit costs O(M).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cholesky_banded, solveh_banded


@dataclass(frozen=True)
class SplineSystem:
    """The banded matrices of one knot sequence.

    Attributes
    ----------
    knots, weights:
        (M,) strictly increasing knots and positive weights.
    r_bands, p_bands:
        (3, M-2) upper banded storage (for :func:`scipy.linalg.solveh_banded`) of ``R`` and ``Q^T W^-1 Q``.
    q:
        (3, M-2): ``q[:, j]`` are ``Q[j, j], Q[j+1, j], Q[j+2, j]``.
    """

    knots: np.ndarray
    weights: np.ndarray
    r_bands: np.ndarray
    p_bands: np.ndarray
    q: np.ndarray

    @classmethod
    def build(cls, knots: np.ndarray, weights: np.ndarray) -> "SplineSystem":
        h = np.diff(knots)  # (M-1,)
        m = h.size - 1  # interior knots
        inv = 1.0 / h
        q = np.stack([inv[:-1], -inv[:-1] - inv[1:], inv[1:]])  # (3, m)
        r_bands = np.zeros((3, m))
        r_bands[2] = (h[:-1] + h[1:]) / 3.0
        r_bands[1, 1:] = h[1:-1] / 6.0
        iw = 1.0 / weights
        p_bands = np.zeros((3, m))
        p_bands[2] = q[0] ** 2 * iw[:-2] + q[1] ** 2 * iw[1:-1] + q[2] ** 2 * iw[2:]
        p_bands[1, 1:] = q[1, :-1] * q[0, 1:] * iw[1:-2] + q[2, :-1] * q[1, 1:] * iw[2:-1]
        p_bands[0, 2:] = q[2, :-2] * q[0, 2:] * iw[2:-2]
        return cls(knots, weights, r_bands, p_bands, q)

    def solve(self, y: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
        """Spline values ``g`` (M, D) and second derivatives (M, D) (zero at both ends) for data ``y`` (M, D).

        Raises ``numpy.linalg.LinAlgError`` when ``lam`` is too large for the system to be factorised.
        """
        q = self.q
        qty = q[0, :, None] * y[:-2] + q[1, :, None] * y[1:-1] + q[2, :, None] * y[2:]  # (M-2, D)
        gamma = solveh_banded(self.r_bands + lam * self.p_bands, qty, check_finite=False)  # (M-2, D)
        q_gamma = np.zeros_like(y)  # (M, D)
        q_gamma[:-2] += q[0, :, None] * gamma
        q_gamma[1:-1] += q[1, :, None] * gamma
        q_gamma[2:] += q[2, :, None] * gamma
        second = np.zeros_like(y)
        second[1:-1] = gamma
        return y - lam * q_gamma / self.weights[:, None], second

    def traces(self, lams: np.ndarray) -> np.ndarray:
        """``tr A(lam)`` (G,) of the smoother matrix ``A = I - lam W^-1 Q M^-1 Q^T``, ``M = R + lam Q^T W^-1 Q``.

        Only the five central bands of ``M^-1`` are needed; they come from the banded Cholesky factor by the
        Takahashi (Hutchinson-de Hoog) recursion, vectorised over ``lams``. Entries where ``M`` cannot be
        factorised are NaN.
        """
        m, g = self.r_bands.shape[1], lams.size
        diag = np.ones((m, g))  # D_i of M = L D L^T
        l1 = np.zeros((m + 2, g))  # L[i+1, i]
        l2 = np.zeros((m + 2, g))  # L[i+2, i]
        ok = np.ones(g, dtype=bool)
        for k, lam in enumerate(lams):
            try:  # upper form: u[2, i] = U_ii, u[1, i] = U_{i-1, i}, u[0, i] = U_{i-2, i}
                u = cholesky_banded(self.r_bands + lam * self.p_bands, check_finite=False)
            except LinAlgError:
                ok[k] = False
                continue
            diag[:, k] = u[2] ** 2
            l1[: m - 1, k] = u[1, 1:] / u[2, : m - 1]
            l2[: max(m - 2, 0), k] = u[0, 2:] / u[2, : max(m - 2, 0)]
        s0 = np.zeros((m + 2, g))  # Sigma[i, i] with Sigma = M^-1
        s1 = np.zeros((m + 2, g))  # Sigma[i, i+1]
        s2 = np.zeros((m + 2, g))  # Sigma[i, i+2]
        inv_diag = 1.0 / diag
        for i in range(m - 1, -1, -1):
            s2[i] = -l1[i] * s1[i + 1] - l2[i] * s0[i + 2]
            s1[i] = -l1[i] * s0[i + 1] - l2[i] * s1[i + 1]
            s0[i] = inv_diag[i] - l1[i] * s1[i] - l2[i] * s2[i]
        p = self.p_bands  # row-wise bands of Q^T W^-1 Q
        c1, c2 = np.zeros(m), np.zeros(m)  # c1[i] = P[i, i+1], c2[i] = P[i, i+2]
        c1[: m - 1], c2[: max(m - 2, 0)] = p[1, 1:], p[0, 2:]
        tr_inv_p = p[2] @ s0[:m] + 2 * c1 @ s1[:m] + 2 * c2 @ s2[:m]  # (G,) = tr(M^-1 Q^T W^-1 Q)
        return np.where(ok, (m + 2) - lams * tr_inv_p, np.nan)


def evaluate(knots: np.ndarray, g: np.ndarray, second: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and first derivatives (N, D) at ``t`` (N,) of the natural cubic spline with knot values ``g`` (M, D)
    and second derivatives ``second`` (M, D); linear beyond the end knots."""
    i = np.clip(np.searchsorted(knots, t, side="right") - 1, 0, knots.size - 2)  # (N,) piece of each t
    h = (knots[i + 1] - knots[i])[:, None]  # (N, 1)
    b = (np.clip(t, knots[0], knots[-1])[:, None] - knots[i, None]) / h  # (N, 1) in [0, 1]
    a = 1.0 - b
    g0, g1, c0, c1 = g[i], g[i + 1], second[i], second[i + 1]
    values = a * g0 + b * g1 + ((a**3 - a) * c0 + (b**3 - b) * c1) * h**2 / 6.0
    slopes = (g1 - g0) / h + h / 6.0 * (-(3 * a**2 - 1) * c0 + (3 * b**2 - 1) * c1)
    outside = (t - np.clip(t, knots[0], knots[-1]))[:, None]  # (N, 1), zero inside [knots[0], knots[-1]]
    return values + outside * slopes, slopes
