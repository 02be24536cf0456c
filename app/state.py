"""Names of the values the page keeps in ``st.session_state``, and small helpers around them.

Kept in one place so that the views, the tests (which inject state through ``AppTest.session_state``) and the
entry file agree on them.
"""

from __future__ import annotations

from typing import Any, MutableMapping

__all__ = [
    "CANDIDATE",
    "COLUMNS",
    "ROLE_PREFIX",
    "DATA",
    "DATA_ERROR",
    "DATA_ORIGIN",
    "JOB",
    "RESULT",
    "RESULT_KEY",
    "RUN_ERROR",
    "clear_run",
]

DATA = "eqdisco_data"
"""The loaded :class:`app.loading.LoadedData` (or absent)."""
DATA_ERROR = "eqdisco_data_error"
"""One-line message of the last data problem (or absent)."""
DATA_ORIGIN = "eqdisco_data_origin"
"""What the loaded data came from (``("upload", name, size, id)`` or ``("example", name)``), to load once."""
JOB = "eqdisco_job"
"""The current :class:`app.runner.DiscoveryJob` (or absent)."""
RESULT = "eqdisco_result"
"""The :class:`discovery.result.DiscoveryResult` on show (or absent)."""
RESULT_KEY = "eqdisco_result_key"
"""Cache key (data hash + settings) of the result on show."""
RUN_ERROR = "eqdisco_run_error"
"""One-line message of the last failed or stopped run (or absent)."""
CANDIDATE = "eqdisco_candidate"
"""Index of the picked candidate (the candidate selectbox's key)."""
COLUMNS = "eqdisco_columns"
"""``(origin, columns)``: the data columns (besides time and trajectory) of the input last read, for the role
widgets, which stay on the page when a choice of roles makes the file unusable."""
ROLE_PREFIX = "eqdisco_role::"
"""Prefix of the keys of the per-column role widgets (state, input or parameter)."""


def clear_run(state: MutableMapping[str, Any]) -> None:
    """Forget the run, its result and its errors (new data); a run still working is asked to stop."""
    job = state.get(JOB)
    if job is not None and not job.finished:
        job.cancel()
    for key in (JOB, RESULT, RESULT_KEY, RUN_ERROR, CANDIDATE):
        if key in state:
            del state[key]
