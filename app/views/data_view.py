"""Section 1 of the page: upload a file or pick a bundled example; validate it; preview and plot it."""

from __future__ import annotations

import math
from typing import Any, Callable, MutableMapping

import streamlit as st

from app import state
from app.compute import cached_build
from app.loading import ALLOWED_SUFFIXES, LoadedData, example_bytes, example_names, load_bytes, max_upload_mb
from app.plots import data_figure, phase_figure
from discovery.errors import one_line

__all__ = ["load_into_state", "render_data_section"]

UPLOAD = "Upload a file"
EXAMPLE = "Bundled example"

CONTRACT_HELP = """
- a header row, then one row per time point;
- a time column named `t` (or `time`), strictly increasing within each trajectory (spacing may be irregular);
- one numeric column per state variable, the column name being the variable's name (`x`, `prey`, `theta`, ...);
- optionally an integer `trajectory` column when the file holds several runs.

```
t,x,y
0.00,10.0,5.0
0.01,10.05,4.98
...
```
CSV, Parquet (`.parquet`) or NPZ files are accepted.
"""


def load_into_state(
    session: MutableMapping[str, Any], origin: tuple[Any, ...], read: Callable[[], tuple[str, bytes]]
) -> LoadedData | None:
    """Load the bytes ``read()`` returns into the session (once per ``origin``); problems become one line.

    Parameters
    ----------
    session:
        ``st.session_state`` (or any mapping, in tests).
    origin:
        Identifies the input (``("upload", name, size, id)`` or ``("example", name)``); unchanged input is not
        read again.
    read:
        Returns ``(file name, bytes)``.

    Returns
    -------
    LoadedData or None
        The loaded data, or ``None`` when the input has a problem (its message is under :data:`state.DATA_ERROR`).
    """
    if session.get(state.DATA_ORIGIN) == origin:
        return session.get(state.DATA)
    state.clear_run(session)
    session[state.DATA_ORIGIN] = origin
    session.pop(state.DATA, None)
    session.pop(state.DATA_ERROR, None)
    try:
        name, payload = read()
        loaded = load_bytes(name, payload)
    except ValueError as exc:  # DataError and other input problems: one line, never a traceback
        session[state.DATA_ERROR] = one_line(exc)
        return None
    except Exception as exc:  # noqa: BLE001 -- an unexpected reader failure is still one line on the page
        session[state.DATA_ERROR] = f"the file could not be read ({one_line(exc)})"
        return None
    session[state.DATA] = loaded
    return loaded


def _pretty_example(name: str) -> str:
    return name.rsplit(".", 1)[0].replace("_", "–" if name.count("_") == 1 else " ").title()


def _choose_input() -> None:
    session = st.session_state
    source = st.radio("Data source", [UPLOAD, EXAMPLE], horizontal=True, key="data_source",
                      label_visibility="collapsed")
    if source == UPLOAD:
        limit = max_upload_mb()
        upload = st.file_uploader(
            f"CSV, Parquet or NPZ file (up to {limit:g} MB): a time column `t`, one column per variable",
            type=[s.lstrip(".") for s in ALLOWED_SUFFIXES],
            key="upload",
            max_upload_size=max(1, int(math.ceil(limit))),
        )
        if upload is not None:
            origin = ("upload", upload.name, upload.size, getattr(upload, "file_id", ""))
            load_into_state(session, origin, lambda: (upload.name, upload.getvalue()))
        elif (session.get(state.DATA_ORIGIN) or ("",))[0] == "upload":
            state.clear_run(session)
            for key in (state.DATA, state.DATA_ERROR, state.DATA_ORIGIN):
                session.pop(key, None)
    else:
        names = example_names()
        if not names:
            st.info("No bundled examples found in the examples/ folder; upload a file instead.")
            return
        name = st.selectbox("Example", names, format_func=_pretty_example, key="example")
        load_into_state(session, ("example", name), lambda: (name, example_bytes(name)))


def _preview(loaded: LoadedData) -> None:
    data = loaded.trajectories
    t0, t1 = data.t_range
    cols = st.columns(4)
    cols[0].metric("Variables", ", ".join(data.variables))
    cols[1].metric("Trajectories", len(data))
    cols[2].metric("Time points", f"{data.n_points:,}")
    cols[3].metric("Time span", f"{t0:.4g} – {t1:.4g}")
    st.caption(data.summary())
    series = cached_build("data", loaded.digest, lambda: data_figure(data, data.variables))
    phase = cached_build("phase", loaded.digest, lambda: phase_figure(data, data.variables))
    if phase is not None:
        left, right = st.columns([3, 2])
        left.plotly_chart(series, key="data_plot", width="stretch")
        right.plotly_chart(phase, key="phase_plot", width="stretch")
    else:
        st.plotly_chart(series, key="data_plot", width="stretch")
    with st.expander("Data table", expanded=False):
        st.dataframe(data.to_frame().head(1000), hide_index=True, height=260)


def render_data_section() -> LoadedData | None:
    """Draw section 1; returns the loaded data, or ``None`` until a valid file is given."""
    st.subheader("1 · Data")
    _choose_input()
    session = st.session_state
    error = session.get(state.DATA_ERROR)
    if error:
        st.error(f"**This file cannot be used.** {error}", icon=":material/error:")
        with st.expander("What the file should look like", expanded=True):
            st.markdown(CONTRACT_HELP)
        return None
    loaded = session.get(state.DATA)
    if loaded is None:
        st.caption("Upload a file or pick a bundled example to start.")
        with st.expander("What the file should look like"):
            st.markdown(CONTRACT_HELP)
        return None
    _preview(loaded)
    return loaded
