"""Section 1 of the page: upload a file or pick a bundled example; validate it; preview and plot it."""

from __future__ import annotations

import math
from typing import Any, Callable, MutableMapping

import streamlit as st

from app import state
from app.compute import cached_build
from app.field_loading import UPLOAD_SUFFIXES, LoadedField, is_loaded_field, load_upload
from app.loading import LoadedData, example_bytes, example_names, max_upload_mb
from app.plots import data_figure, phase_figure
from app.views.field_setup_view import render_field_preview
from discovery.errors import one_line

__all__ = ["load_into_state", "render_data_section"]

UPLOAD = "Upload a file"
EXAMPLE = "Bundled example"

CONTRACT_HELP = """
- a header row, then one row per time point;
- a time column named `t` (or `time`), strictly increasing within each trajectory (spacing may be irregular);
- one numeric column per state variable, the column name being the variable's name (`x`, `prey`, `theta`, ...);
- optionally an integer `trajectory` column when the file holds several runs;
- columns that are measured input signals (a drive, a control) or parameters constant within each run (`mu`, a
  dilution rate) are marked as such below the preview: they enter the equations without an equation of their own.

```
t,x,y
0.00,10.0,5.0
0.01,10.05,4.98
...
```
CSV, Parquet (`.parquet`) or NPZ files are accepted.

**Fields** `u(t, x)` or `u(t, x, y)` (a PDE is discovered instead): an NPZ, NetCDF (`.nc`) or HDF5 (`.h5`) file
with 1-D coordinates `t`, `x` (and `y`), evenly spaced, and one array per field shaped `(Nt, Nx[, Ny])`; or a long
CSV with columns `t, x[, y], u, ...` and one row per grid point of the full grid. The page tells a field from
trajectories by the data (a long CSV repeats each time once per grid point).
"""


ROLES = ("state", "input", "parameter")
"""What a data column can be (besides time and trajectory)."""


def column_roles(session: MutableMapping[str, Any], origin: tuple[Any, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(inputs, parameters)`` as the role widgets of ``origin``'s columns say (none for a new input)."""
    known = session.get(state.COLUMNS)
    if not known or known[0] != origin:
        return (), ()
    roles = {c: session.get(_role_key(origin, c), ROLES[0]) for c in known[1]}
    return (tuple(c for c, r in roles.items() if r == "input"), tuple(c for c, r in roles.items() if r == "parameter"))


def _role_key(origin: tuple[Any, ...], column: str) -> str:
    import hashlib

    return f"{state.ROLE_PREFIX}{hashlib.sha1(repr(origin).encode()).hexdigest()[:10]}::{column}"


def load_into_state(
    session: MutableMapping[str, Any], origin: tuple[Any, ...], read: Callable[[], tuple[str, bytes]],
    roles: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
) -> LoadedData | LoadedField | None:
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
    roles:
        ``(inputs, parameters)``: the columns marked as input signals and as parameters; other roles read again.

    Returns
    -------
    LoadedData or LoadedField or None
        The loaded trajectories or field (told apart by the data), or ``None`` when the input has a problem (its message is under :data:`state.DATA_ERROR`).
    """
    keyed = origin if roles == ((), ()) else (*origin, roles)  # the input itself, or with the roles marked
    if session.get(state.DATA_ORIGIN) == keyed:
        return session.get(state.DATA)
    state.clear_run(session)
    previous = session.get(state.DATA)
    session[state.DATA_ORIGIN] = keyed
    session.pop(state.DATA, None)
    session.pop(state.DATA_ERROR, None)
    try:
        if previous is not None and previous.payload and (session.get(state.COLUMNS) or (None,))[0] == origin:
            name, payload = previous.name, previous.payload  # other column roles: the same bytes again
        else:
            name, payload = read()
        loaded = load_upload(name, payload, inputs=roles[0], parameters=roles[1])
    except ValueError as exc:  # DataError and other input problems: one line, never a traceback
        session[state.DATA_ERROR] = one_line(exc)
        return None
    except Exception as exc:  # noqa: BLE001 -- an unexpected reader failure is still one line on the page
        session[state.DATA_ERROR] = f"the file could not be read ({one_line(exc)})"
        return None
    session[state.DATA] = loaded
    session[state.COLUMNS] = (origin, loaded.columns)
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
            f"CSV, Parquet or NPZ file of trajectories (a time column `t`, one column per variable), or a field "
            f"(NPZ, NetCDF, HDF5 or long CSV: `t`, `x`[, `y`], `u`, ...), up to {limit:g} MB",
            type=[s.lstrip(".") for s in UPLOAD_SUFFIXES],
            key="upload",
            max_upload_size=max(1, int(math.ceil(limit))),
        )
        if upload is not None:
            origin = ("upload", upload.name, upload.size, getattr(upload, "file_id", ""))
            load_into_state(session, origin, lambda: (upload.name, upload.getvalue()), column_roles(session, origin))
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
        origin = ("example", name)
        load_into_state(session, origin, lambda: (name, example_bytes(name)), column_roles(session, origin))


def _roles_editor() -> None:
    """One choice per data column: a state variable (it gets an equation), an input signal, or a parameter."""
    session = st.session_state
    known = session.get(state.COLUMNS)
    if not known or len(known[1]) < 2:
        return
    origin, columns = known
    marked = column_roles(session, origin) != ((), ())
    with st.expander("Column roles: states, inputs, parameters", expanded=marked):
        st.caption("A state gets an equation. An **input** is a measured drive or control signal (interpolated between "
                   "samples); a **parameter** is constant within each trajectory (e.g. one value per experiment). "
                   "Both enter the equations without an equation of their own.")
        cells = st.columns(min(len(columns), 4))
        for i, c in enumerate(columns):
            cells[i % len(cells)].radio(f"`{c}`", ROLES, key=_role_key(origin, c), horizontal=True)


def _preview(loaded: LoadedData) -> None:
    data = loaded.trajectories
    t0, t1 = data.t_range
    cols = st.columns(4)
    cols[0].metric("Variables", ", ".join(data.variables))
    cols[1].metric("Trajectories", len(data))
    cols[2].metric("Time points", f"{data.n_points:,}")
    cols[3].metric("Time span", f"{t0:.4g} – {t1:.4g}")
    st.caption(data.summary())
    series = cached_build("data", loaded.digest, lambda: data_figure(data, data.variables, data.inputs))
    phase = cached_build("phase", loaded.digest, lambda: phase_figure(data, data.variables))
    if phase is not None:
        left, right = st.columns([3, 2])
        left.plotly_chart(series, key="data_plot", width="stretch")
        right.plotly_chart(phase, key="phase_plot", width="stretch")
    else:
        st.plotly_chart(series, key="data_plot", width="stretch")
    with st.expander("Data table", expanded=False):
        st.dataframe(data.to_frame().head(1000), hide_index=True, height=260)


def render_data_section() -> LoadedData | LoadedField | None:
    """Draw section 1; returns the loaded trajectories or field, or ``None`` until a valid file is given."""
    st.subheader("1 · Data")
    _choose_input()
    session = st.session_state
    error = session.get(state.DATA_ERROR)
    if error:
        st.error(f"**This file cannot be used.** {error}", icon=":material/error:")
        _roles_editor()  # a choice of roles can be what makes the file unusable
        with st.expander("What the file should look like", expanded=True):
            st.markdown(CONTRACT_HELP)
        return None
    loaded = session.get(state.DATA)
    if loaded is None:
        st.caption("Upload a file or pick a bundled example to start.")
        with st.expander("What the file should look like"):
            st.markdown(CONTRACT_HELP)
        return None
    if is_loaded_field(loaded):
        render_field_preview(loaded)
        return loaded
    _roles_editor()
    _preview(loaded)
    return loaded
