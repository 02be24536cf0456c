"""eqdisco's Streamlit app: upload trajectories (or a field), discover their equations (or PDE), compare, export.

Run with ``eqdisco app`` or ``streamlit run app/streamlit_app.py``. The page calls the discovery API only
(:func:`discovery.discover` and the result's exports); see :mod:`app` for the modules behind it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run app/streamlit_app.py` puts app/ on sys.path, not the repository root: add the root so that
# `app`, `discovery` and `grammar` import the same way as from an installed package.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import logging  # noqa: E402

import streamlit as st  # noqa: E402

from app.field_loading import is_loaded_field  # noqa: E402
from app.views.data_view import render_data_section  # noqa: E402
from app.views.field_results_view import render_field_results  # noqa: E402
from app.views.field_setup_view import render_field_run, render_field_setup  # noqa: E402
from app.views.results_view import render_results_section  # noqa: E402
from app.views.run_view import render_run_section  # noqa: E402
from app.views.setup_view import render_setup_section  # noqa: E402


def _page() -> None:
    st.title("eqdisco")
    st.markdown("Find the differential equations behind measured trajectories (or the PDE behind a field "
                "u(t, x)): upload the data, pick the methods, and compare the ranked equations against the data and "
                "neural-operator predictions.")
    loaded = render_data_section()
    if loaded is None:
        return
    if is_loaded_field(loaded):  # a field: the PDE path
        request, problems = render_field_setup(loaded)
        render_field_run(loaded, request, problems)
        render_field_results(loaded)
        return
    settings, problems = render_setup_section(loaded)
    render_run_section(loaded, settings, problems)
    render_results_section(loaded)


def main() -> None:
    """Draw the page: data, methods, run, results. An unexpected failure is one line, its details in the log."""
    st.set_page_config(page_title="eqdisco: equations from data", page_icon=":material/functions:", layout="wide")
    st.set_option("client.toolbarMode", "minimal")
    try:
        _page()
    except Exception as exc:  # noqa: BLE001 -- the page shows one line, never a traceback
        logging.getLogger("eqdisco.app").exception("the page failed")
        from discovery.errors import one_line

        st.error(f"Something went wrong: {one_line(exc)}. The details are in the server's log; "
                 "please report them with the data file if you can.", icon=":material/bug_report:")


main()
