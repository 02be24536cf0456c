"""Section 3 of the page for a field: the discovered PDE in LaTeX, the data, the re-simulated field and the
residual side by side, a neural-operator forecast when the result has one, the candidates, the downloads."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import streamlit as st

from app import state
from app.compute import cached_build
from app.exports import file_stem
from app.field_compute import cached_resimulation
from app.field_exports import field_latex_document, field_npz, field_python_module, how_found
from app.field_loading import LoadedField
from app.field_plots import comparison_figure, forecast_figure
from app.views.field_setup_view import field_key, frame_slider

__all__ = ["render_field_results"]


def _fmt(value: Any, spec: str = ".3g") -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "—"
    return format(f, spec) if math.isfinite(f) else "—"


def _plain(result: Any, candidate: Any) -> str:
    import sympy

    return "\n".join(f"{f}_t = {sympy.sstr(candidate.equations[f])}" for f in result.fields)


def _latex(result: Any, candidate: Any) -> str:
    """The PDE(s) of ``candidate`` for ``st.latex``: one line per field, stacked (``gathered``)."""
    return r"\begin{gathered}" + result.latex(candidate) + r"\end{gathered}"


def _label(i: int, c: Any) -> str:
    method = getattr(c, "method", "")
    form = ("pinn" if method == "pde-pinn" else
            f"{c.form.removesuffix('+sr')} form + reaction search" if method == "pde-sr" else f"{c.form} form")
    return (f"#{i + 1} · {form} · {c.n_terms} term{'s' * (c.n_terms != 1)} · "
            f"score {_fmt(c.metrics.get('score'))}")


def _rel_l2(observed: Any, simulated: Any) -> float:
    obs, sim = observed.stack(), simulated.stack()
    return float(np.linalg.norm(sim - obs) / max(float(np.linalg.norm(obs)), 1e-300))


def _best_block(result: Any) -> None:
    best = result.best
    st.markdown(f"**Selected PDE** · {how_found(best)} from `{result.source or 'the data'}` "
                f"in {result.elapsed_s:.1f} s")
    st.latex(_latex(result, best))
    m = best.metrics
    noise = max(result.noise.values()) if result.noise else float("nan")
    cols = st.columns(4)
    cols[0].metric("Re-simulation error", _fmt(m.get("rel_l2")),
                   help="Relative L2 error of the PDE integrated from the first observed field over the whole span "
                        "(boundary values from the data on non-periodic axes), against the data.")
    cols[1].metric("Window score", _fmt(m.get("score")),
                   help="Relative error of re-simulations over a few time windows, each from the data: what ranks "
                        "the candidates.")
    cols[2].metric("Terms", best.n_terms)
    cols[3].metric("Noise (estimated)", f"{noise:.2%}" if math.isfinite(noise) else "—",
                   help="Measurement noise relative to each field's spread, estimated from the data (largest field).")
    st.code(_plain(result, best), language=None)


def _comparison(run_key: str, result: Any, loaded: LoadedField, index: int) -> Any | None:
    """Data, the picked candidate re-simulated, and the residual; returns the simulation (or ``None``)."""
    field = loaded.field
    c1, c2 = st.columns([1, 3])
    name = field.names[0]
    if len(field.names) > 1:
        name = c1.selectbox("Field", list(field.names), key=field_key("field_shown", loaded))
    with c2:
        frame = frame_slider(field, field_key("field_frame", loaded))
    with st.spinner("Re-simulating the PDE from the first observed field"):
        sim, problem = cached_resimulation(run_key, index, result, field)
    if sim is None:
        st.warning(f"Candidate #{index + 1} cannot be re-simulated from the first observed field: {problem}")
    figure = cached_build("field_comparison", f"{run_key}:{index}:{name}:{frame}",
                          lambda: comparison_figure(field, sim, name, frame))
    st.plotly_chart(figure, key="field_comparison", width="stretch")
    if sim is not None:
        st.caption(f"Candidate #{index + 1} integrated from the first observed field over the observed span "
                   f"(relative L2 error {_rel_l2(field, sim):.3g} over every field); the residual is data − model.")
    return sim


def _forecast(run_key: str, result: Any, loaded: LoadedField) -> None:
    """The neural-operator forecast of the field beyond the observed window, when the result has one."""
    forecast = getattr(result, "forecast", None)
    if forecast is None:
        return
    st.markdown("#### Neural-operator forecast")
    field = loaded.field
    name = st.session_state.get(field_key("field_shown", loaded), field.names[0])
    figure = cached_build("field_forecast", f"{run_key}:{name}", lambda: forecast_figure(field, forecast, name))
    st.plotly_chart(figure, key="field_forecast", width="stretch")
    st.caption(forecast_caption(forecast))


def forecast_caption(forecast: Any) -> str:
    """One line about a forecast (:class:`~discovery.fields.result.FieldForecast`): its model and horizon, and its
    backtest error beside that of repeating the last frame, when they are known."""
    t = np.asarray(forecast.t, float)
    where = " (above the dashed line)" if len(forecast.axes) == 1 else ""
    parts = [f"{forecast.model} forecast of t in [{t[0]:.4g}, {t[-1]:.4g}], beyond the observed window{where}"]
    rel = forecast.rel_l2
    if rel is not None and math.isfinite(float(rel)):
        backtest = (f"backtest relative L2 error {float(rel):.3g} (trained without the last part of the window, "
                    "forecasting it")
        persistence = (forecast.info or {}).get("persistence_rel_l2")
        if persistence is not None and math.isfinite(float(persistence)):
            backtest += f"; repeating the last frame instead: {float(persistence):.3g}"
        parts.append(backtest + ")")
    return "; ".join(parts) + "."


def _candidate_frame(result: Any) -> Any:
    import pandas as pd
    import sympy

    rows = []
    for i, c in enumerate(result.candidates):
        rows.append({
            "rank": i + 1, "form": c.form, "terms": c.n_terms, "score": c.metrics.get("score"),
            "re-simulation error": c.metrics.get("rel_l2"), "regression residual": c.metrics.get("residual"),
            "PDE": "; ".join(f"{f}_t = {sympy.sstr(c.equations[f])}" for f in result.fields),
        })
    return pd.DataFrame(rows)


def _candidates(run_key: str, result: Any) -> None:
    frame = cached_build("field_candidates", run_key, lambda: _candidate_frame(result))
    st.dataframe(frame, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(frame)), key="field_table",
                 column_config={
                     "score": st.column_config.NumberColumn(
                         format="%.3e", help="Relative error of windowed re-simulations from the data (ranks)"),
                     "re-simulation error": st.column_config.NumberColumn(
                         format="%.3e", help="Over the whole span from the first field (the selected PDE only)"),
                     "regression residual": st.column_config.NumberColumn(format="%.3e"),
                     "PDE": st.column_config.TextColumn(width="large"),
                 })


def _downloads(run_key: str, result: Any, index: int, sim: Any | None) -> None:
    cand = result.candidates[index]
    stem = file_stem(result.source)
    cols = st.columns(4)
    json_text = cached_build("field_json", run_key, result.to_json)
    cols[0].download_button("Result (JSON)", json_text, f"{stem}.eqdisco.json", "application/json",
                            key="dl_field_json", icon=":material/data_object:", width="stretch")
    cols[1].download_button("PDE (LaTeX)", field_latex_document(result, cand), f"{stem}.tex", "application/x-tex",
                            key="dl_field_tex", icon=":material/function:", width="stretch")
    cols[2].download_button("Right-hand side (Python)", field_python_module(result, cand), f"{stem}_rhs.py",
                            "text/x-python", key="dl_field_py", icon=":material/code:", width="stretch")
    cols[3].download_button("Re-simulated field (NPZ)", (lambda: field_npz(sim)) if sim is not None else b"",
                            f"{stem}.resimulated.npz", "application/octet-stream", key="dl_field_npz",
                            icon=":material/grid_on:", width="stretch", disabled=sim is None)
    st.caption(f"LaTeX, Python and the re-simulated field are for the picked candidate (#{index + 1}); the JSON "
               "holds every candidate. The Python module's rhs(state, SPACING) evaluates the PDE's right-hand side on "
               "the data's grid.")


def render_field_results(loaded: LoadedField) -> None:
    """Draw the field's results for the result in the session (nothing when there is none)."""
    from discovery.fields import FieldResult

    session = st.session_state
    result = session.get(state.RESULT)
    if result is None:
        return
    run_key = str(session.get(state.RESULT_KEY, ""))
    st.divider()
    st.subheader("3 · Discovered PDE")
    if not isinstance(result, FieldResult) or tuple(result.fields) != tuple(loaded.field.names):
        st.warning("These results are for other data; run discovery again.")
        return
    _best_block(result)
    if result.warnings:
        st.warning("**Notes from the run**\n" + "\n".join(f"- {w}" for w in result.warnings), icon=":material/info:")

    n = len(result.candidates)
    if session.get(state.CANDIDATE, 0) not in range(n):
        session[state.CANDIDATE] = 0
    left, right = st.columns([1, 2], vertical_alignment="center")
    index = left.selectbox("Picked candidate", list(range(n)), key=state.CANDIDATE,
                           format_func=lambda i: _label(i, result.candidates[i]))
    with right:
        st.latex(_latex(result, result.candidates[index]))

    st.markdown("#### Data, re-simulation and residual")
    sim = _comparison(run_key, result, loaded, index)
    _forecast(run_key, result, loaded)

    st.markdown(f"#### All {n} candidates (ranked)")
    _candidates(run_key, result)
    with st.expander(f"All {n} candidates in LaTeX", expanded=False):
        for i, c in enumerate(result.candidates):
            st.markdown(_label(i, c))
            st.latex(_latex(result, c))

    st.markdown("#### Export")
    _downloads(run_key, result, index, sim)
