"""How long a zoo system's PROSE window is: the span over which its future is predictable at all.

PROSE observes the first ``input_fraction`` of a window and predicts the rest. A fixed share of each system's
``t_span`` (the ``"span"`` rule) gives chaotic systems prediction windows far beyond their predictability: there
even the *true* equations, started with 1% errors in the parameters and the initial state, miss the future by
20-90% (relative L2; Lorenz 0.41, Dadras 0.93), so no model can meet an error target there and the loss mostly
teaches the decoder to predict the mean.

The ``"predictable"`` rule (the default) shortens such windows: a system's window is the longest one, at most
``window_fraction * t_span``, on which that 1%-off oracle still predicts the prediction part within
``tolerance`` (median relative L2 over a few random initial states and parameter draws in the system's ranges).
Systems that are not chaotic keep ``window_fraction * t_span``. Windows are computed once per process with a
fixed seed, so every worker and every later run gets the same ones.

Examples
--------
>>> round(predictable_window("van_der_pol"), 3)  # not chaotic: a quarter of its t_span
7.5
>>> predictable_window("lorenz") < 5.0  # chaotic: shortened
True
"""

from __future__ import annotations

import functools

import numpy as np

WINDOW_RULES = ("predictable", "span")
ORACLE_ERROR = 0.01
"""Relative error of the parameters and initial state given to the oracle."""


@functools.lru_cache(maxsize=None)
def predictable_window(
    name: str,
    window_fraction: float = 0.25,
    input_fraction: float = 1.0 / 3.0,
    tolerance: float = 0.03,
    trials: int = 8,
    seed: int = 12_345,
) -> float:
    """The ``"predictable"`` window length of zoo system ``name`` (see the module docstring).

    Parameters
    ----------
    name:
        A zoo system.
    window_fraction:
        The longest window, as a share of the system's ``t_span``.
    input_fraction:
        Observed share of the window; the oracle is scored on the rest.
    tolerance:
        Largest median relative L2 of the 1%-off oracle on the prediction part.
    trials:
        Random (parameters, initial state) draws.
    seed:
        Seed of the draws.

    Returns
    -------
    float
        The window length, between ``window_fraction * t_span / 20`` and ``window_fraction * t_span``.
    """
    from discovery.errors import SimulationError
    from discovery.prediction import relative_l2
    from discovery.simulation import integrate, lambdify_system, sample_initial_condition, sample_params
    from grammar.zoo import get_system

    system = get_system(name)
    longest = window_fraction * (system.t_span[1] - system.t_span[0])
    lengths = longest * 0.85 ** np.arange(19)  # longest down to about longest / 20
    t = np.linspace(0.0, longest, 1201)
    rng = np.random.default_rng([seed, sum(map(ord, name))])

    def run(params: dict[str, float], x0: np.ndarray) -> np.ndarray:
        f = lambdify_system(system.rhs(params), system.variables)
        return integrate(f, x0, t, rtol=1e-8, atol=1e-10, time_limit=5.0, max_abs=1e5)  # (N, D)

    errors = np.full((trials, lengths.size), np.inf)  # (trials, L)
    for k in range(trials):
        params = sample_params(system, rng)
        x0 = sample_initial_condition(system, rng)
        off = {p: v * (1.0 + ORACLE_ERROR * rng.standard_normal()) for p, v in params.items()}
        try:
            true = run(params, x0)
            pred = run(off, x0 + ORACLE_ERROR * true.std(0) * rng.standard_normal(x0.size))
        except SimulationError:
            continue
        for i, length in enumerate(lengths):
            part = (t > input_fraction * length) & (t <= length + 1e-12)
            errors[k, i] = relative_l2(pred[part], true[part])
    median = np.median(errors, axis=0)  # (L,)
    ok = np.nonzero(median <= tolerance)[0]
    return float(lengths[ok[0]] if ok.size else lengths[-1])


def zoo_window(name: str, rule: str, window_fraction: float, input_fraction: float, tolerance: float = 0.03) -> float:
    """A zoo system's window length under ``rule`` (``"predictable"`` or ``"span"``)."""
    if rule == "span":
        from grammar.zoo import get_system

        span = get_system(name).t_span
        return window_fraction * (span[1] - span[0])
    if rule == "predictable":
        return predictable_window(name, window_fraction, input_fraction, tolerance)
    raise ValueError(f"unknown window rule {rule!r}; valid: {', '.join(WINDOW_RULES)}")
