"""Section 4 of the page: ranked equations, the Pareto front, overlays, residuals, comparison, downloads."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import streamlit as st

from app import state
from app.compute import MAX_HORIZON, band_ready, cached_band, cached_build, cached_simulation
from app.exports import figure_png, file_stem, latex_document, python_module, result_json, simulation_csv
from app.loading import LoadedData
from app.plots import (
    MODEL_COLOR,
    OPERATOR_COLORS,
    PALETTE,
    Band,
    Curve,
    overlay_figure,
    pareto_figure,
    residual_figure,
)

__all__ = ["render_results_section"]

MAX_COMPARED = 30
"""Candidates whose trajectory error is computed for the comparison table (best first)."""


def _fmt(value: Any, digits: int = 4) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "—"
    return f"{f:.{digits}f}" if math.isfinite(f) else "—"


def _plain(result: Any, candidate: Any) -> str:
    import sympy

    return "\n".join(f"d{v}/dt = {sympy.sstr(candidate.equations[v])}" for v in result.variables)


def _dedupe(note: str) -> str:
    """``"prose: prose: no checkpoint"`` -> ``"prose: no checkpoint"``."""
    import re

    return re.sub(r"^(\w+): \1: ", r"\1: ", note)


def _code(text: str) -> str:
    """``text`` as one inline code span of Markdown: no backtick or line break in it can end the span."""
    return "`" + "".join(ch if ch.isprintable() and ch != "`" else "'" if ch == "`" else " " for ch in str(text)) + "`"


def _markdown_text(text: str) -> str:
    """``text`` shown as written in Markdown: the ``*`` of a product (``0.1*x*y``), ``_``, ``$`` and the like are
    escaped, so a formula in a note is neither set in italics nor read as LaTeX."""
    import re

    return re.sub(r"([\\`*_~$\[\]<>|#:])", r"\\\1", str(text))


def _level(result: Any) -> float:
    """Confidence level of the result's intervals and prediction band (0.95 unless the result says otherwise)."""
    return float(((result.uncertainty or {}).get("constants") or {}).get("level", 0.95))


def _coefficient_frame(result: Any) -> Any | None:
    """One row per constant of the selected model: the equation, its term, the value, its interval and the
    term's inclusion probability (``None`` when the result has no uncertainty)."""
    import pandas as pd

    table = result.term_uncertainty()
    if not table:
        return None
    rows = []
    for v in result.variables:
        for r in table.get(v, []):
            term = str(r.get("term", ""))
            interval = r.get("interval")
            inclusion = r.get("inclusion")
            rows.append({
                "equation": f"d{v}/dt",
                "term": f"constant inside {term}" if r.get("inner") else ("1 (constant)" if term == "1" else term),
                "coefficient": float(r["coefficient"]),
                "interval": "—" if interval is None else f"[{interval[0]:.4g}, {interval[1]:.4g}]",
                "inclusion": float("nan") if inclusion is None else float(inclusion),
            })
    return pd.DataFrame(rows) if rows else None


def _coefficients(result: Any) -> None:
    """The selected model's coefficient table, when the result has its uncertainty."""
    frame = _coefficient_frame(result)
    if frame is None:
        return
    level = _level(result)
    st.markdown(f"**How sure the model is** · each constant with its {level:.0%} interval and how often the data "
                "supports its term")
    st.dataframe(
        frame, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(frame)), key="coefficients",
        column_config={
            "coefficient": st.column_config.NumberColumn(format="%.6g"),
            "interval": st.column_config.TextColumn(
                f"{level:.0%} interval",
                help="Confidence interval of the constant from the fit to the trajectories, scaled by the estimated "
                     "noise; — where the constant was not estimated."),
            "inclusion": st.column_config.ProgressColumn(
                "inclusion probability", min_value=0.0, max_value=1.0, format="%.2f",
                help="Share of resamples of the data in which the selection keeps this term: near 1 the data "
                     "clearly asks for it, low values mark a term the data hardly supports."),
        },
    )


def _candidate_label(i: int, c: Any) -> str:
    return f"#{i + 1} · {c.method} · R² {_fmt(c.metrics.get('r2'))} · complexity {c.complexity}"


def _on_pareto_select() -> None:
    event = st.session_state.get("pareto_chart")
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        points = getattr(getattr(event, "selection", None), "points", None) or []
    for p in points:
        data = p.get("customdata") if isinstance(p, dict) else None
        if data:
            st.session_state[state.CANDIDATE] = int(data[0])
            return


def _best_block(result: Any) -> None:
    best = result.best
    st.markdown(f"**Best model** · found by {_code(best.method)} from {_code(result.source or 'the data')} "
                f"in {result.elapsed_s:.1f} s")
    st.latex(result.latex(best))
    m = best.metrics
    cols = st.columns(4)
    cols[0].metric("R² (re-simulated)", _fmt(m.get("r2")),
                   help="The model integrated from the first data point over the whole record. In chaotic systems "
                        "even the right equations drift apart after a few oscillations, so this can be low.")
    cols[1].metric("R² (short windows)", _fmt(m.get("r2_window")),
                   help="The model integrated over many short windows, each from the data; the error the ranking "
                        "and the Pareto front use.")
    cols[2].metric("Complexity", best.complexity)
    cols[3].metric("Stable", "yes" if m.get("stable") else "no")
    st.code(_plain(result, best), language=None)
    _coefficients(result)


def _simulations(run_key: str, result: Any, data: Any, index: int, horizon: float) -> list[tuple[int, Any, Any, str]]:
    return [(k, *cached_simulation(run_key, index, k, horizon, result, data)) for k in range(len(data))]


def _downloads(run_key: str, result: Any, data: Any, index: int, horizon: float) -> None:
    cand = result.candidates[index]
    stem = file_stem(result.source)

    def csv_text() -> str:
        sims = _simulations(run_key, result, data, index, horizon)
        return simulation_csv(result.variables, [(k, t, x) for k, t, x, _ in sims], [float(tr.t[-1]) for tr in data])

    cols = st.columns(5)
    json_text = cached_build("json", run_key, lambda: result_json(result))
    cols[0].download_button("Result (JSON)", json_text, f"{stem}.eqdisco.json", "application/json",
                            key="dl_json", icon=":material/data_object:", width="stretch")
    csv_data = cached_build("csv", f"{run_key}:{index}:{horizon}", csv_text)
    cols[1].download_button("Simulated trajectories (CSV)", csv_data, f"{stem}.simulated.csv", "text/csv",
                            key="dl_csv", icon=":material/table:", width="stretch")
    cols[2].download_button("Right-hand side (Python)", python_module(result, cand), f"{stem}_rhs.py",
                            "text/x-python", key="dl_py", icon=":material/code:", width="stretch")
    cols[3].download_button("Equations (LaTeX)", latex_document(result, cand), f"{stem}.tex", "application/x-tex",
                            key="dl_tex", icon=":material/function:", width="stretch")
    # built on click (about 0.6 s of matplotlib), not on every rerun of the page
    cols[4].download_button("Figure (PNG)", lambda: figure_png(result, data, cand, horizon), f"{stem}.png",
                            "image/png", key="dl_png", icon=":material/image:", width="stretch")
    st.caption(f"CSV, Python, LaTeX and the figure are for the picked candidate (#{index + 1}); the CSV and the "
               "figure cover the extrapolation horizon set above. The JSON holds every candidate.")


def _at_observed(t_sim: np.ndarray, x_sim: np.ndarray, t_obs: np.ndarray) -> np.ndarray:
    """The rows of a simulation ``x_sim`` (M, D) at the observed times ``t_obs`` (N,), which its times ``t_sim``
    contain (:func:`discovery.plotting.model_times` adds steps in gaps and beyond, never moves observed ones)."""
    return x_sim[np.searchsorted(t_sim, t_obs)]


def _interp(t_from: np.ndarray, x_from: np.ndarray, t_to: np.ndarray) -> np.ndarray:
    """Values of ``x_from`` (M, D) at ``t_to`` (N,); ``nan`` outside ``t_from``'s range."""
    out = np.full((t_to.size, x_from.shape[1]), np.nan)
    inside = (t_to >= t_from[0]) & (t_to <= t_from[-1])
    for j in range(x_from.shape[1]):
        out[inside, j] = np.interp(t_to[inside], t_from, x_from[:, j])
    return out


def _overlays(run_key: str, result: Any, data: Any, index: int) -> tuple[float, Callable[[], None]]:
    """The overlay of the picked candidate (and the best) on the data, and its residuals; returns the horizon and
    a function that adds the prediction band to the overlay, which the page calls last (it takes tens of
    simulations, which must not hold up the rest of the page)."""
    c1, c2 = st.columns([2, 1])
    horizon_pct = c1.slider("Extrapolate beyond the observed window (% of its length)", 0, int(MAX_HORIZON * 100), 50,
                            step=10,
                            key="horizon")
    k = 0
    if len(data) > 1:
        k = c2.selectbox("Trajectory", list(range(len(data))), key="trajectory",
                         format_func=lambda i: f"trajectory {i}")
    horizon = horizon_pct / 100.0
    tr = data[k]
    curves: list[Curve] = []
    residuals: list[tuple[str, np.ndarray, str]] = []
    t_sim, x_sim, problem = cached_simulation(run_key, index, k, horizon, result, data)
    name = f"candidate #{index + 1} ({result.candidates[index].method})"
    if x_sim is not None:
        curves.append(Curve(name, t_sim, x_sim, MODEL_COLOR))
        residuals.append((name, tr.x - _at_observed(t_sim, x_sim, tr.t), MODEL_COLOR))
    else:
        st.warning(f"Candidate #{index + 1} cannot be simulated from this trajectory's start: {problem}")
    if index != 0:
        tb, xb, _ = cached_simulation(run_key, 0, k, horizon, result, data)
        if xb is not None:
            curves.append(Curve("best (#1)", tb, xb, "#555555", dash="dot"))
    for p in result.operator_predictions:
        if int(p.trajectory) != k:
            continue
        color = OPERATOR_COLORS.get(p.model, PALETTE[len(curves) % len(PALETTE)])
        t_p, x_p = np.asarray(p.t, float), np.asarray(p.x, float)
        curves.append(Curve(f"{p.model} (operator)", t_p, x_p, color, dash="dash"))
        residuals.append((f"{p.model} (operator)", tr.x - _interp(t_p, x_p, tr.t), color))
    view = f"{run_key}:{index}:{k}:{horizon}"
    chart, note = st.empty(), st.empty()

    def figure(bands: list[Band]) -> Any:
        return cached_build("overlay", f"{view}:{len(bands)}", lambda: overlay_figure(
            result.variables, tr.t, tr.x, curves, float(tr.t[-1]), bands))

    def with_band(key: str) -> None:
        chart.plotly_chart(figure(_band(run_key, result, data, index, k, horizon, note)), key=key, width="stretch")

    ready = band_ready(run_key, k, horizon, result)  # else the band is drawn after the rest of the page
    if ready:
        with_band("overlay_plot")
    else:
        chart.plotly_chart(figure([]), key="overlay_plot", width="stretch")
    if residuals:
        st.markdown("**Residuals** (data − prediction) on the observed window")
        residual = cached_build("residual", f"{run_key}:{index}:{k}",
                                lambda: residual_figure(result.variables, tr.t, residuals))
        st.plotly_chart(residual, key="residual_plot", width="stretch")
    return horizon, (lambda: None) if ready else (lambda: with_band("overlay_plot_band"))


def _band(run_key: str, result: Any, data: Any, index: int, k: int, horizon: float, note: Any) -> list[Band]:
    """The selected model's (#1's) prediction band on trajectory ``k``, whichever candidate is picked; a line in
    ``note`` (a placeholder) while it is computed, and when there is none."""
    if not result.uncertainty:
        return []
    with note.container(), st.spinner("Drawing the prediction band: the model simulated with its constants drawn "
                                       "from their uncertainty"):
        band = cached_band(run_key, k, horizon, result, data)
    note.empty()
    if band is None:
        note.caption("No prediction band: too few of the models drawn from the constants' uncertainty could be "
                     "simulated from this trajectory's start.")
        return []
    return [Band(f"{_level(result):.0%} prediction band of #1", *band, MODEL_COLOR if index == 0 else "#555555")]


def _comparison_frame(run_key: str, result: Any, data: Any) -> Any:
    """One row per candidate (ranked) and per operator prediction, with their errors."""
    import pandas as pd
    from discovery.prediction import relative_l2

    rows = []
    front = {id(c) for c in result.front}
    for i, c in enumerate(result.candidates):
        rel = float("nan")
        if i < MAX_COMPARED:
            sims = _simulations(run_key, result, data, i, 0.0)
            if all(x is not None for _, _, x, _ in sims):
                at_data = [_at_observed(t, x, tr.t) for (_, t, x, _), tr in zip(sims, data)]
                rel = relative_l2(np.concatenate(at_data), np.concatenate([tr.x for tr in data]))
        rows.append({
            "rank": i + 1, "kind": "equations", "model": c.method, "complexity": c.complexity,
            "R²": c.metrics.get("r2"), "R² (windows)": c.metrics.get("r2_window"), "relative L2 error": rel,
            "stable": bool(c.metrics.get("stable")), "Pareto front": id(c) in front,
            "equations": "; ".join(f"d{v}/dt = {c.equations[v]}" for v in result.variables),
        })
    for p in result.operator_predictions:
        read = p.info.get("read")
        what = ("(neural operator: a predicted trajectory, no formula)" if p.info.get("backtest_rel_l2") is None else
                f"(neural operator: reads t in [{read[0]:.4g}, {read[1]:.4g}] and forecasts past it; its error is a "
                "backtest on data it had not read)")
        rows.append({
            "rank": None, "kind": "operator", "model": f"{p.model} (trajectory {p.trajectory})", "complexity": None,
            "R²": None, "R² (windows)": None, "relative L2 error": p.rel_l2, "stable": None, "Pareto front": None,
            "equations": what,
        })
    return pd.DataFrame(rows)


def _comparison(run_key: str, result: Any, data: Any) -> None:
    frame = cached_build("comparison", run_key, lambda: _comparison_frame(run_key, result, data))
    st.dataframe(
        frame, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(frame)),
        column_config={
            "R²": st.column_config.NumberColumn(format="%.5f"),
            "R² (windows)": st.column_config.NumberColumn(format="%.5f"),
            "relative L2 error": st.column_config.NumberColumn(
                format="%.3e", help="‖prediction − data‖ / ‖data‖ on the observed window"),
            "equations": st.column_config.TextColumn(width="large"),
        },
    )


def render_results_section(loaded: LoadedData) -> None:
    """Draw section 4 for the result in the session (nothing when there is none)."""
    session = st.session_state
    result = session.get(state.RESULT)
    if result is None:
        return
    run_key = str(session.get(state.RESULT_KEY, ""))
    data = loaded.trajectories
    st.divider()
    st.subheader("3 · Discovered equations")
    if tuple(result.variables) != tuple(data.variables):
        st.warning("These results are for other data; run discovery again.")
        return
    _best_block(result)
    if result.warnings:
        st.warning("**Notes from the run**\n" + "\n".join(f"- {_markdown_text(_dedupe(w))}" for w in result.warnings),
                   icon=":material/info:")

    n = len(result.candidates)
    if session.get(state.CANDIDATE, 0) not in range(n):
        session[state.CANDIDATE] = 0
    st.markdown("#### Candidates: complexity against error")
    left, right = st.columns([3, 2])
    with left:
        picked = session.get(state.CANDIDATE, 0)
        pareto = cached_build("pareto", f"{run_key}:{picked}",
                              lambda: pareto_figure(result.candidates, result.front, picked))
        st.plotly_chart(pareto, key="pareto_chart", on_select=_on_pareto_select, selection_mode=("points", "box"),
                        width="stretch")
        st.caption("Click a point (or use the box-select tool) to pick a candidate. Error = 1 − R² of the "
                   "re-simulation on short windows; the dotted line joins the Pareto front.")
    with right:
        index = st.selectbox("Picked candidate", list(range(n)), key=state.CANDIDATE,
                             format_func=lambda i: _candidate_label(i, result.candidates[i]))
        cand = result.candidates[index]
        st.latex(result.latex(cand))
        from discovery.pipeline.scoring import selection_error

        error = selection_error(cand)  # what the Pareto front and the selection compare
        st.caption(f"R² {_fmt(cand.metrics.get('r2'))} · windowed R² {_fmt(cand.metrics.get('r2_window'))} · "
                   f"error {f'{error:.3g}' if math.isfinite(error) else '—'} · complexity {cand.complexity} · "
                   f"{'stable' if cand.metrics.get('stable') else 'unstable: ' + str(cand.metrics.get('failure', ''))}")

    st.markdown("#### Simulation against the data")
    horizon, draw_band = _overlays(run_key, result, data, index)

    st.markdown("#### Every candidate and operator prediction")
    _comparison(run_key, result, data)

    with st.expander(f"All {n} candidates in LaTeX", expanded=False):
        for i, c in enumerate(result.candidates):
            st.markdown(_candidate_label(i, c))
            st.latex(result.latex(c))

    st.markdown("#### Export")
    _downloads(run_key, result, data, index, horizon)
    draw_band()
