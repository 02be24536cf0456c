"""The field's sections of the page before the results: its preview (a space-time image, frames for 2-D), the PDE
search options, and the run (in the background, with progress and a Stop button)."""

from __future__ import annotations

from typing import Any, MutableMapping

import streamlit as st

from app import state
from app.compute import cached_build
from app.field_compute import FORMS, FieldRequest, cached_discover_field, field_run_key
from app.field_loading import LoadedField
from app.field_plots import field_figure
from app.runner import DiscoveryJob
from app.views.run_view import POLL_S, collect_finished_job
from discovery.errors import one_line

__all__ = ["field_key", "frame_slider", "render_field_preview", "render_field_run", "render_field_setup",
           "start_field_job"]

FORM_LABELS = {
    "auto": "auto (weak form; the strong form too on clean data)",
    "weak": "weak form only (robust to noise)",
    "strong": "strong form only (pointwise derivatives; clean data)",
}


def field_key(name: str, loaded: LoadedField) -> str:
    """The key of a widget whose choices depend on the field (its frames, its axes): one per data, so that a new
    upload starts from its own defaults (its detected periodicity, its last frame), never from the last file's."""
    return f"{name}:{loaded.digest[:12]}"


def frame_slider(field: Any, key: str) -> int | None:
    """A time slider for a 2-D field (``None`` for 1-D): the index of the frame to draw."""
    if len(field.axes) == 1:
        return None
    n = field.shape[0]
    return st.select_slider("Time (frame)", options=list(range(n)), value=n - 1, key=key,
                            format_func=lambda i: f"t = {field.t[i]:.4g}")


def render_field_preview(loaded: LoadedField) -> None:
    """Section 1's preview of a field: its grid, periodicity, and the field as an image."""
    field = loaded.field
    cols = st.columns(4)
    cols[0].metric("Fields", ", ".join(field.names))
    cols[1].metric("Grid", " × ".join(str(n) for n in field.shape),
                   help="Samples along " + ", ".join(("t",) + field.axes))
    cols[2].metric("Time span", f"{field.t[0]:.4g} – {field.t[-1]:.4g}")
    cols[3].metric("Periodic", ", ".join(a for a in field.axes if field.periodic[a]) or "none",
                   help="Axes along which the field is periodic: stored in the file, or detected (both ends agree).")
    st.caption(field.summary())
    frame = frame_slider(field, field_key("field_preview_frame", loaded))
    figure = cached_build("field", f"{loaded.digest}:{frame}", lambda: field_figure(field, frame=frame))
    st.plotly_chart(figure, key="field_plot", width="stretch")
    with st.expander("Data table (long format)", expanded=False):
        st.dataframe(field.to_frame().head(1000), hide_index=True, height=260)


def render_field_setup(loaded: LoadedField) -> tuple[FieldRequest | None, list[str]]:
    """Section 2 for a field: the regression form, library and path sizes, periodic axes.

    Returns the request (``None`` while the form has a problem) and the problems.
    """
    from discovery.errors import DiscoveryError
    from discovery.fields import FieldSettings

    st.subheader("2 · PDE search")
    field = loaded.field
    dim = len(field.axes)
    st.caption(f"eqdisco fits {', '.join(f'{n}_t' for n in field.names)} = F(fields, spatial derivatives) by sparse "
               "regression over derivatives of monomials of the fields (the PDE-FIND library), in the weak "
               "(integral) form and, on clean data, the strong form; every candidate is re-simulated from the "
               "observed field and the simplest one that fits within the noise is selected.")
    defaults = FieldSettings()
    c1, c2, c3, c4 = st.columns(4)
    form = c1.selectbox("Regression form", list(FORMS), format_func=FORM_LABELS.get, key="field_form")
    degree = int(c2.number_input("Highest degree of the monomials", 1, 5, defaults.max_degree, key="field_degree",
                                 help="u, u², u³, ... (and products of the fields) inside and outside derivatives."))
    orders = ["auto"] + list(range(1, 7))
    order = c3.selectbox("Highest derivative order", orders, key="field_order",
                         format_func=lambda o: f"auto ({4 if dim == 1 else 2})" if o == "auto" else str(o))
    terms = int(c4.number_input("Most terms per field", 1, 20, defaults.max_terms, key="field_terms"))
    periodic = st.multiselect("Periodic axes (boundary conditions of the re-simulations)", list(field.axes),
                              default=[a for a in field.axes if field.periodic[a]],
                              key=field_key("field_periodic", loaded),
                              help="Detected from the data (or stored in the file); a non-periodic axis is "
                                   "re-simulated with the observed boundary values.")
    operators, fno = _forecast_options()
    try:
        settings = FieldSettings(max_degree=degree, max_order=None if order == "auto" else int(order),
                                 max_terms=terms)
    except DiscoveryError as exc:
        return None, [one_line(exc)]
    return FieldRequest(form=form, settings=settings, periodic=tuple((a, a in periodic) for a in field.axes),
                        operators=operators, fno=fno), []


def _forecast_options() -> tuple[tuple[str, ...], dict[str, Any]]:
    """The FNO forecast toggle and its horizon and training steps: ``(operators, fno options)``."""
    on = st.toggle("Forecast the field beyond the observed window with a Fourier neural operator (FNO)",
                   key="field_fno", help="After selection, an FNO (the neuraloperator library) is trained on the field "
                                         "and on fields simulated from the discovered PDE near its start, backtested "
                                         "on the last quarter of the window, and rolled out past its end. Tens of "
                                         "seconds on a CPU.")
    if not on:
        return (), {}
    from discovery.fields.operator import FNOOptions
    from models.fno import FNOTrainConfig  # torch: only once the forecast is asked for

    c1, c2 = st.columns(2)
    horizon = c1.slider("Forecast horizon (% of the observed span)", 5, 100, int(round(FNOOptions().horizon * 100)),
                        step=5, key="field_fno_horizon")
    steps = int(c2.number_input("FNO training steps", 10, 20_000, FNOTrainConfig().steps, step=100,
                                key="field_fno_steps", help="More steps: a closer fit, a longer run."))
    return ("fno",), {"horizon": horizon / 100.0, "training": {"steps": steps}}


def start_field_job(session: MutableMapping[str, Any], loaded: LoadedField, request: FieldRequest) -> DiscoveryJob:
    """Start PDE discovery of ``loaded`` as ``request`` asks in a background thread; keep it in the session."""
    old = session.get(state.JOB)
    if old is not None and not old.finished:
        old.cancel()
    text = request.to_json()
    field = loaded.field

    def work(progress: Any) -> Any:
        return cached_discover_field(loaded.digest, text, field, request, progress)

    job = DiscoveryJob(work, key=field_run_key(request, loaded.digest)).start()
    session[state.JOB] = job
    session.pop(state.RUN_ERROR, None)
    return job


@st.fragment(run_every=POLL_S)
def _progress_panel() -> None:
    job = st.session_state.get(state.JOB)
    if job is None or job.finished:
        st.rerun()  # draw the results with a full run
        return
    bar, stop = st.columns([6, 1], vertical_alignment="bottom")
    if stop.button("Stop", key="stop_run", width="stretch", icon=":material/stop_circle:",
                   disabled=job.cancel_requested, help="Stop at the next checkpoint of the run."):
        job.cancel()
    ev = job.latest()
    label = "stopping at the next checkpoint…" if job.cancel_requested else (ev.message if ev else "starting")
    bar.progress(ev.fraction if ev else 0.0, text=f"**{label}** · {job.elapsed_s:.0f} s")


def render_field_run(loaded: LoadedField, request: FieldRequest | None, problems: list[str]) -> None:
    """The Discover button for a field, and the progress panel while a run works."""
    session = st.session_state
    collect_finished_job(session)
    job = session.get(state.JOB)
    running = job is not None and not job.finished
    have_it = request is not None and session.get(state.RESULT_KEY) == field_run_key(request, loaded.digest)
    col_button, col_note = st.columns([1, 3], vertical_alignment="center")
    clicked = col_button.button("Discover the PDE", type="primary", key="field_run", icon=":material/play_arrow:",
                                disabled=request is None or running, width="stretch")
    if problems:
        col_note.warning("Fix the set-up first: " + "; ".join(problems), icon=":material/edit_note:")
    elif have_it and not running:
        col_note.caption("The results below are for these settings. Change a setting to run again.")
    if clicked and request is not None and not running:
        job = start_field_job(session, loaded, request)
        job.wait(0.3)  # a cached run shows its results at once
        if job.finished:
            collect_finished_job(session)
            st.rerun()
        running = True
    if running:
        _progress_panel()
    error = session.get(state.RUN_ERROR)
    if error and not running:
        st.error(error, icon=":material/error:")
