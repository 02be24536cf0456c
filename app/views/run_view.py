"""Section 3 of the page: start a run in the background, show its progress per method, stop it."""

from __future__ import annotations

from typing import Any, MutableMapping

import streamlit as st

from app import state
from app.compute import cached_discover, warm_simulations
from app.loading import LoadedData
from app.runner import DiscoveryJob
from app.settings import run_key, settings_json

__all__ = ["collect_finished_job", "render_run_section", "start_job"]

POLL_S = 0.5
"""Seconds between progress redraws while a run works."""


def start_job(session: MutableMapping[str, Any], loaded: LoadedData, settings: Any) -> DiscoveryJob:
    """Start discovery of ``loaded`` with ``settings`` in a background thread and keep it in the session."""
    old = session.get(state.JOB)
    if old is not None and not old.finished:
        old.cancel()
    key = run_key(settings, loaded.digest)
    text = settings_json(settings)
    data = loaded.trajectories

    def work(progress: Any) -> Any:
        return cached_discover(loaded.digest, text, data, settings, progress)

    job = DiscoveryJob(work, key=key).start()
    session[state.JOB] = job
    session.pop(state.RUN_ERROR, None)
    return job


def collect_finished_job(session: MutableMapping[str, Any], data: Any = None) -> None:
    """Move a finished job's result (or its one-line error) into the session.

    With ``data`` (the trajectories run on), the simulations of the likeliest picks are warmed in the background.
    """
    job = session.get(state.JOB)
    if job is None or not job.finished:
        return
    del session[state.JOB]
    if job.state == "done":
        session[state.RESULT] = job.result
        session[state.RESULT_KEY] = job.key
        session[state.CANDIDATE] = 0
        session.pop(state.RUN_ERROR, None)
        if data is not None:
            warm_simulations(job.key, job.result, data)
    elif job.state == "cancelled":
        session[state.RUN_ERROR] = f"Stopped after {job.elapsed_s:.1f} s; the previous results (if any) are kept."
    else:
        session[state.RUN_ERROR] = f"The run failed: {job.error}"


def _without_prefix(message: str, method: str) -> str:
    """``"sindy: sindy: done"`` -> ``"done"``."""
    text = message
    while text.startswith(f"{method}:"):
        text = text[len(method) + 1:].strip()
    return text or message


@st.fragment(run_every=POLL_S)
def _progress_panel() -> None:
    job = st.session_state.get(state.JOB)
    if job is None or job.finished:
        st.rerun()  # draw the results with a full run
        return
    bar, stop = st.columns([6, 1], vertical_alignment="bottom")
    if stop.button("Stop", key="stop_run", width="stretch", icon=":material/stop_circle:",
                   disabled=job.cancel_requested,
                   help="Stop at the next checkpoint of the run (results of an earlier run stay on the page)."):
        job.cancel()
    ev = job.latest()
    fraction = ev.fraction if ev else 0.0
    message = ev.message if ev else "starting"
    label = "stopping at the next checkpoint…" if job.cancel_requested else message
    bar.progress(fraction, text=f"**{label}** · {job.elapsed_s:.0f} s")
    per_method = job.per_method()
    if per_method:
        lines = [f"- `{m}`: {_without_prefix(ev.message, m)}" for m, ev in per_method.items()]
        st.markdown("\n".join(lines))


def render_run_section(loaded: LoadedData, settings: Any | None, problems: list[str]) -> None:
    """Draw the Run button, and the progress panel while a run works."""
    session = st.session_state
    collect_finished_job(session, loaded.trajectories)
    job = session.get(state.JOB)
    running = job is not None and not job.finished
    key = run_key(settings, loaded.digest) if settings is not None else None
    have_it = key is not None and session.get(state.RESULT_KEY) == key

    col_button, col_note = st.columns([1, 3], vertical_alignment="center")
    clicked = col_button.button(
        "Discover equations", type="primary", key="run", icon=":material/play_arrow:",
        disabled=settings is None or running, width="stretch",
    )
    if problems:
        col_note.warning("Fix the set-up first: " + "; ".join(problems), icon=":material/edit_note:")
    elif have_it and not running:
        col_note.caption("The results below are for these settings. Change a setting to run again.")
    if clicked and settings is not None and not running:
        job = start_job(session, loaded, settings)
        job.wait(0.3)  # a cached or very quick run shows its results at once
        if job.finished:
            collect_finished_job(session, loaded.trajectories)
            st.rerun()
        running = True
    if running:
        _progress_panel()
    error = session.get(state.RUN_ERROR)
    if error and not running:
        st.error(error, icon=":material/error:")
