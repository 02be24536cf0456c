"""Cached computations behind the page: discovery runs, simulations, figures and pretrained models.

Results are cached with ``st.cache_data`` keyed by the data's bytes hash and the run settings, so a widget
change after a run, or running the same settings again, never recomputes discovery. Simulations for the
overlays, and the selected model's prediction band, are cached by the run key, the candidate and the trajectory
(one simulation over the longest horizon serves every horizon); figures and tables with ``st.cache_resource`` by
what they show; the pretrained models (PROSE) with ``st.cache_resource``, loaded in the background as soon as
their method is picked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import streamlit as st

from discovery.plotting import extended_time, simulate_over

if TYPE_CHECKING:  # pragma: no cover
    from discovery.methods.base import ProgressFn

__all__ = [
    "MAX_HORIZON",
    "cacheable",
    "band_ready",
    "cached_band",
    "cached_build",
    "cached_discover",
    "cached_simulation",
    "extended_time",
    "preload_models",
    "pretrained_model",
    "warm_simulations",
]


@st.cache_data(show_spinner=False, max_entries=32)
def cached_discover(
    data_digest: str,
    settings_json: str,
    _trajectories: Any,
    _settings: Any,
    _progress: ProgressFn | None = None,
) -> Any:
    """Run :func:`discovery.discover` on ``_trajectories`` (the data hashed to ``data_digest``).

    Only ``data_digest`` and ``settings_json`` key the cache; the underscored arguments are the values they
    stand for and the progress callback.
    """
    from discovery import discover

    return cacheable(discover(_trajectories, progress=_progress, settings=_settings))


def cacheable(result: Any) -> Any:
    """``result`` itself when it pickles (``st.cache_data`` stores pickles); else with its methods' free-form
    ``info`` made JSON-safe (anything else written as its ``repr``), which is what the page and the JSON show."""
    import json
    import pickle

    try:
        pickle.dumps(result)
        return result
    except Exception:  # noqa: BLE001 -- any pickling failure: fall back to plain info
        pass

    def plain(info: Any) -> Any:
        return json.loads(json.dumps(info, default=repr))

    for c in result.candidates:
        c.info = plain(c.info)
    for p in result.operator_predictions:
        p.info = plain(p.info)
    result.options = plain(result.options)
    return result


MAX_HORIZON = 2.0
"""Longest extrapolation offered, as a multiple of the observed window's length."""


@st.cache_data(show_spinner=False, max_entries=512)
def _simulate(
    run_key: str, candidate_index: int, trajectory: int, horizon: float, _result: Any, _trajectories: Any
) -> tuple[np.ndarray, np.ndarray | None, str]:
    return simulate_over(_result, _trajectories, trajectory, horizon, _result.candidates[candidate_index])


def cached_simulation(
    run_key: str, candidate_index: int, trajectory: int, horizon: float, result: Any, trajectories: Any
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Simulate candidate ``candidate_index`` of ``result`` from trajectory ``trajectory``'s first state.

    Covers the observed times and ``horizon`` times the window beyond. Any positive horizon is cut from one
    cached simulation over :data:`MAX_HORIZON`, so moving the horizon slider never integrates again.

    Returns
    -------
    tuple
        ``(t (M,), x (M, D) or None, problem)``: ``x`` is ``None`` and ``problem`` one line when the candidate
        cannot be integrated (it blows up, or is too stiff).
    """
    if horizon <= 0:
        return _simulate(run_key, candidate_index, trajectory, 0.0, result, trajectories)
    t, x, problem = _simulate(run_key, candidate_index, trajectory, MAX_HORIZON, result, trajectories)
    if x is None:  # it may still hold over a shorter horizon
        return _simulate(run_key, candidate_index, trajectory, float(horizon), result, trajectories)
    n = _cut(t, trajectories[trajectory].t, horizon)
    return t[:n], x[:n], problem


@st.cache_data(show_spinner=False, max_entries=128)
def _band(
    run_key: str, trajectory: int, horizon: float, _result: Any, _trajectories: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    from discovery.plotting import simulation_bounds

    t, x, _ = _simulate(run_key, 0, trajectory, horizon, _result, _trajectories)
    band = None if x is None else _result.prediction_band(_trajectories[trajectory].x[0], t,
                                                           scale=simulation_bounds(_trajectories)[0])
    _BANDS_DONE[(run_key, trajectory, horizon)] = band is not None
    return None if band is None else (t, np.asarray(band[0], float), np.asarray(band[1], float))


_BANDS_DONE: dict[tuple[str, int, float], bool] = {}
"""The bands this process has computed: ``(run key, trajectory, horizon) -> whether one came out``."""


def band_ready(run_key: str, trajectory: int, horizon: float, result: Any) -> bool:
    """Whether :func:`cached_band` answers at once (from what was computed before), so that the page can draw
    the band with the overlay instead of after the rest of the page."""
    if not result.uncertainty:
        return True
    if horizon <= 0:
        return (run_key, trajectory, 0.0) in _BANDS_DONE
    full = _BANDS_DONE.get((run_key, trajectory, MAX_HORIZON))
    return full is not None and (full or (run_key, trajectory, float(horizon)) in _BANDS_DONE)


def cached_band(
    run_key: str, trajectory: int, horizon: float, result: Any, trajectories: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The selected model's prediction band (:meth:`~discovery.result.DiscoveryResult.prediction_band`, its
    constants drawn from their uncertainty) from trajectory ``trajectory``'s first state, on the times of
    :func:`cached_simulation` of candidate 0.

    Like the simulations, any positive horizon is cut from one cached band over :data:`MAX_HORIZON`.

    Returns
    -------
    tuple or None
        ``(t (M,), lower (M, D), upper (M, D))``; ``None`` when the result has no uncertainty or too few of the
        drawn models could be integrated.
    """
    if not result.uncertainty:
        return None
    if horizon <= 0:
        return _band(run_key, trajectory, 0.0, result, trajectories)
    band = _band(run_key, trajectory, MAX_HORIZON, result, trajectories)
    if band is None:  # the draws may still hold over a shorter horizon
        return _band(run_key, trajectory, float(horizon), result, trajectories)
    t, lo, hi = band
    n = _cut(t, trajectories[trajectory].t, horizon)
    return t[:n], lo[:n], hi[:n]


def _cut(t: np.ndarray, t_obs: np.ndarray, horizon: float) -> int:
    """How many of the times ``t`` (observed, then beyond) fall within ``horizon`` windows past ``t_obs``'s end."""
    end = float(t_obs[-1]) + min(float(horizon), MAX_HORIZON) * float(t_obs[-1] - t_obs[0])
    return int(np.searchsorted(t, end + 1e-9 * max(abs(end), 1.0), side="right"))


@st.cache_resource(show_spinner=False, max_entries=64)
def cached_build(kind: str, key: str, _build: Callable[[], Any]) -> Any:
    """What ``_build()`` makes (a figure, a table), built once per ``(kind, key)``; ``key`` must name every input.

    Building a plotly figure costs far more than drawing it again, so a rerun after a widget change rebuilds
    only the figures whose inputs changed. The values are shared read-only (``st.plotly_chart`` copies them).
    """
    return _build()


def warm_simulations(run_key: str, result: Any, trajectories: Any, *, first: int = 8, delay_s: float = 1.0) -> Any:
    """Fill the simulation cache in a background thread for the candidates a user is likely to pick next.

    Covers the Pareto front and the ``first`` best-ranked candidates, on the first trajectory, over
    :data:`MAX_HORIZON`, after ``delay_s`` (so that the results' own first drawing goes first). Returns the
    thread.
    """
    import threading
    import time

    front = {id(c) for c in result.front}
    order = [i for i, c in enumerate(result.candidates) if i < first or id(c) in front]

    def work() -> None:
        time.sleep(delay_s)
        for i in order:
            _simulate(run_key, i, 0, MAX_HORIZON, result, trajectories)

    thread = threading.Thread(target=work, name=f"eqdisco-warm-{run_key[:8]}", daemon=True)
    thread.start()
    return thread


PRETRAINED = {"prose": ("discovery.methods.prose", "load_predictor")}
"""Methods that read a pretrained model, and the discovery-layer function that loads (and caches) it."""


@st.cache_resource(show_spinner=False)
def pretrained_model(method: str) -> Any:
    """The pretrained model ``method`` uses, loaded once per server process and shared by every session.

    The loader is the discovery layer's own (:data:`PRETRAINED`), which keeps the model for its runs too.
    """
    import importlib

    module, function = PRETRAINED[method]
    return getattr(importlib.import_module(module), function)()


_PRELOADING: set[str] = set()


def preload_models(methods: Any) -> None:
    """Start loading the pretrained models of ``methods`` in the background (once per process), so that a run
    does not wait for them. A model that cannot load is left to the run, which reports why in one line."""
    import logging
    import threading

    for name in methods:
        if name not in PRETRAINED or name in _PRELOADING:
            continue
        _PRELOADING.add(name)

        def load(name: str = name) -> None:
            try:
                pretrained_model(name)
            except Exception as exc:  # noqa: BLE001 -- the run itself reports the problem to the user
                _PRELOADING.discard(name)
                logging.getLogger("eqdisco.app").info("preloading %s failed: %s", name, exc)

        threading.Thread(target=load, name=f"eqdisco-preload-{name}", daemon=True).start()
