"""grammar.units: normalized coordinates of a trajectory and the exact map of equations back to the user's units."""

import numpy as np
import pytest
import sympy

from discovery.terms import term_skeletons
from grammar.errors import GrammarError
from grammar.sampler import sample_system
from grammar.tokenizer import canonical_symbols
from grammar.units import Scaling


def values(exprs, points):
    symbols = canonical_symbols(points.shape[1])
    f = sympy.lambdify(symbols, list(exprs), modules="numpy")
    return np.array([np.broadcast_to(np.asarray(v, dtype=float), points.shape[:1]) for v in f(*points.T)]).T


@pytest.mark.parametrize("seed", range(8))
def test_round_trip_is_exact_on_random_systems(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4))
    system = sample_system(n, rng)
    scaling = Scaling(t0=float(rng.normal()), span=float(10 ** rng.uniform(-2, 2)),
                      offset=tuple(rng.normal(size=n)), scale=tuple(10 ** rng.uniform(-3, 3, n)))
    points = rng.uniform(0.5, 1.5, (20, n))
    with np.errstate(all="ignore"):
        want = values(system, points)
        back = values(scaling.to_user(scaling.to_normalized(system)), points)
        ok = np.isfinite(want)
        np.testing.assert_allclose(back[ok], want[ok], rtol=1e-9, atol=1e-12)
        # dX/dtau in normalized coordinates is (span / scale) f(offset + scale X)
        X = scaling.states(points)
        normalized = values(scaling.to_normalized(system), X)
        np.testing.assert_allclose(normalized[ok], (scaling.span / np.asarray(scaling.scale) * want)[ok], rtol=1e-9)


def test_rescaling_keeps_every_terms_skeleton():
    x, y = canonical_symbols(2)
    system = [0.5 * x - 0.02 * x * y + 3 * x / (2 + x), -y + 0.1 * sympy.sin(0.3 * y) + sympy.exp(-0.2 * x) / (1 + y**2)]
    scaling = Scaling(t0=100.0, span=7.0, offset=(0.0, 0.0), scale=(40.0, 0.003))
    for before, after in zip(system, scaling.to_normalized(system)):
        assert term_skeletons(after) == term_skeletons(before)


def test_constants_are_rescaled_symbolically():
    x, y = canonical_symbols(2)
    scaling = Scaling(t0=0.0, span=10.0, offset=(0.0, 0.0), scale=(1e3, 1e3))
    user = [sympy.Poly(e, x, y) for e in scaling.to_user([2.0 * x - 0.5 * x * y, 0.25 * x * y - y])]
    # dx/dt = (s / T) G(x / s): linear terms lose 1/T, the quadratic ones 1/(T s)
    assert user[0].as_dict() == pytest.approx({(1, 0): 0.2, (1, 1): -0.5e-4}, rel=1e-12)
    assert user[1].as_dict() == pytest.approx({(1, 1): 0.25e-4, (0, 1): -0.1}, rel=1e-12)


def test_of_data_normalizes_window_and_magnitude_without_offset():
    t = np.linspace(1.7e9, 1.7e9 + 20.0, 50)
    x = np.c_[3e5 * (2 + np.sin(t - t[0])), np.zeros(50)]
    s = Scaling.of_data(t, x)
    tau, X = s.times(t), s.states(x)
    assert tau[0] == 0.0 and tau[-1] == pytest.approx(1.0)
    assert np.sqrt(np.mean(X[:, 0] ** 2)) == pytest.approx(1.0) and s.scale[1] == 1.0 and s.offset == (0.0, 0.0)
    np.testing.assert_allclose(s.user_states(X), x, rtol=1e-12)
    np.testing.assert_allclose(Scaling.of_data(t, 1e-200 * x).scale[0] * 1e200, s.scale[0], rtol=1e-12)


def test_bad_scalings_and_systems_are_refused():
    with pytest.raises(GrammarError, match="span > 0"):
        Scaling(0.0, 0.0, (0.0,), (1.0,))
    with pytest.raises(GrammarError, match="span > 0"):
        Scaling(0.0, 1.0, (0.0,), (-1.0,))
    with pytest.raises(GrammarError, match="expected 2 equations"):
        Scaling.identity(2).to_user([sympy.Symbol("x_0")])
    with pytest.raises(GrammarError, match="expected only"):
        Scaling.identity(1).to_user([sympy.Symbol("x_3")])
