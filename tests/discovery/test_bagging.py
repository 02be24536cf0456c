"""Library bagging of the selected model's terms: true terms are chosen again in every bag, a term that only stands
in for a law the model misses is not, once the law's term is among the other candidates."""

from __future__ import annotations

import doctest

import numpy as np
import sympy

from discovery import simulate
from discovery.data import Trajectories, Trajectory
from discovery.derivatives import differentiate
from discovery.methods.base import Candidate
from discovery.pipeline import bagging
from discovery.pipeline.bagging import bagged_inclusion, monomials
from discovery.pipeline.uncertainty import skeletons

x = sympy.Symbol("x")


def _smoothed(data: Trajectories) -> list[np.ndarray]:
    return [differentiate(tr.t, tr.x, method="auto")[0] for tr in data]


def _monod(noise: float, seed: int = 0) -> Trajectories:
    """``dx/dt = 1.5*x/(1 + x) - 0.5*x`` from two starts, with relative noise."""
    from scipy.integrate import solve_ivp

    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 12.0, 401)
    out = []
    for x0 in (0.1, 4.0):
        sol = solve_ivp(lambda _, u: 1.5 * u / (1 + u) - 0.5 * u, (0, 12), [x0], t_eval=t, rtol=1e-10, atol=1e-12)
        xs = sol.y.T
        out.append(Trajectory(t, xs + noise * np.std(xs) * rng.standard_normal(xs.shape)))
    return Trajectories(["x"], out)


def test_doctests() -> None:
    assert doctest.testmod(bagging).failed == 0


def test_monomials_lower_their_degree_for_many_states() -> None:
    many = sympy.symbols("a b c d e f")
    basis = monomials(many)
    assert len(basis) <= bagging.MAX_MONOMIALS and sympy.Integer(1) in basis
    assert max(sympy.Poly(m, *many).total_degree() for m in basis) == 1
    assert len(monomials(sympy.symbols("x y z"))) == 20  # degree 3 fits


def test_the_true_terms_of_lotka_volterra_are_chosen_in_every_bag() -> None:
    data = simulate("lotka_volterra", noise=0.01, seed=1)
    xs, ys = sympy.symbols("x y")
    best = Candidate("sindy", {"x": 1.0 * xs - 0.1 * xs * ys, "y": -1.5 * ys + 0.075 * xs * ys})
    shares = bagged_inclusion(best, data, _smoothed(data), seed=0)
    for v, eq in best.equations.items():
        for t in sympy.Add.make_args(eq):
            assert all(shares[v][k] >= 0.9 for k in skeletons(t)), (v, t, shares[v])


def test_a_stand_in_term_loses_to_the_law_among_the_rivals() -> None:
    data = _monod(0.01)
    stand_in = Candidate("sindy", {"x": 1.05 * x - 0.36 * x**2})  # logistic imitation of the Monod law
    law = Candidate("sindy", {"x": 1.5 * x / (x + 1.0) - 0.5 * x})
    shares = bagged_inclusion(stand_in, data, _smoothed(data), rivals=[law], seed=0)
    assert max(shares["x"][k] for k in skeletons(x**2)) <= 0.3
    alone = bagged_inclusion(stand_in, data, _smoothed(data), seed=0)  # no rival: the square is the best there is
    assert max(alone["x"][k] for k in skeletons(x**2)) >= 0.7
    found = bagged_inclusion(law, data, _smoothed(data), rivals=[stand_in], seed=0)
    assert min(found["x"].values()) >= 0.9


def test_too_short_data_gives_no_bagging() -> None:
    data = Trajectories(["x"], [Trajectory(np.linspace(0, 1, 12), np.linspace(1, 2, 12)[:, None])])
    assert bagged_inclusion(Candidate("sindy", {"x": 1.0 * x}), data, [tr.x for tr in data]) is None
