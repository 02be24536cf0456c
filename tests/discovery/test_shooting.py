"""Short windows for refinement and scoring: their stride follows the data's time scale."""

from __future__ import annotations

import numpy as np

from discovery.shooting import make_windows, window_stride
from discovery.simulation import simulate


def test_windows_with_a_stride_step_over_samples():
    t = np.arange(101) * 0.1
    x = np.c_[t, 2 * t]
    plain = make_windows([t], [x], [x], length=5, max_windows=1000)
    strided = make_windows([t], [x], [x], length=5, max_windows=1000, stride=3)
    np.testing.assert_allclose(plain.dt, 0.1)
    np.testing.assert_allclose(strided.dt, 0.3)
    assert strided.target.shape[1:] == (5, 2)
    np.testing.assert_allclose(strided.target[:, 0, 0] - strided.x0[:, 0], 0.3)  # the first target is 3 samples on
    # windows start every half window (7 samples of 15) and never run past the end
    assert strided.n_windows == len(range(0, 101 - 15, 7))
    # a stride too long for the shortest trajectory is lowered to fit
    short = make_windows([t[:12]], [x[:12]], [x[:12]], length=5, stride=4)
    np.testing.assert_allclose(short.dt, 0.2)


def test_dense_sampling_gets_a_larger_stride_and_the_zoo_sampling_none():
    sparse = simulate("lorenz", t=np.linspace(0, 20, 2001))  # dt 0.01: 20 samples span 1.4 time scales
    dense = simulate("lorenz", t=np.linspace(0, 20, 20001))  # dt 0.001: 0.14 of one
    assert window_stride([sparse[0].t], [sparse[0].x], 20) == 1
    assert window_stride([dense[0].t], [dense[0].x], 20) == 3
    assert window_stride([dense[0].t], [dense[0].x], 20, min_span=1.0) == 8
    assert window_stride([np.arange(2.0)], [np.zeros((2, 1))], 20) == 1  # too short or constant: no stride


def test_dense_noisy_lorenz_keeps_its_y_term():
    # 20 samples of dt = 0.001 span too little of the flow for the window error to see Lorenz's -y at 1% noise:
    # before windows followed the time scale, a refit without it (rho 25.5) was selected as simpler
    from discovery import discover
    from discovery.benchmarks.terms import same_terms
    from grammar.zoo import get_system

    data = simulate("lorenz", t=np.linspace(0, 20, 20001), noise=0.01, seed=0)
    result = discover(data, method="sindy")
    assert same_terms(result.equations, get_system("lorenz").rhs())
