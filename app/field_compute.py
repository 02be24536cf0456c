"""Cached computations behind the field pages: PDE discovery runs (with the FNO forecast when asked) and
re-simulations of candidate PDEs.

A run is keyed by the field's bytes hash and the request (:class:`FieldRequest`), so a widget change after a run,
or the same request again, never recomputes discovery; a re-simulation by the run key and the candidate. Both
use ``st.cache_resource`` (shared, never copied): the page only reads results and fields.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:  # pragma: no cover
    from discovery.methods.base import ProgressFn

__all__ = ["FieldRequest", "cached_discover_field", "cached_resimulation", "field_run_key"]

FORMS = {"auto": None, "weak": True, "strong": False}
"""The regression form a user picks -> ``discover_field``'s ``noise_robust``."""


@dataclass(frozen=True)
class FieldRequest:
    """What the PDE form asks for: the regression form, the library and path sizes, periodicity per axis, and the
    neural-operator forecast.

    ``settings`` are :class:`~discovery.fields.FieldSettings` (checked on construction); ``form`` is one of
    :data:`FORMS`; ``periodic`` holds ``(axis, flag)`` pairs; ``operators`` the forecasting operators (``("fno",)``
    or none) and ``fno`` their options (``discover_field``'s ``fno``: a dict of
    :class:`~discovery.fields.operator.FNOOptions` fields).
    """

    form: str = "auto"
    settings: Any = None
    periodic: tuple[tuple[str, bool], ...] = field(default_factory=tuple)
    operators: tuple[str, ...] = ()
    fno: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): equal requests give equal text."""
        settings = asdict(self.settings) if self.settings is not None else {}
        return json.dumps({"form": self.form, "settings": settings, "periodic": [list(p) for p in self.periodic],
                           "operators": list(self.operators), "fno": self.fno if self.operators else {}},
                          sort_keys=True)


def field_run_key(request: FieldRequest, data_digest: str) -> str:
    """Cache key of a run of ``request`` on the field whose bytes hash to ``data_digest``."""
    return hashlib.sha256(("field\n" + data_digest + "\n" + request.to_json()).encode()).hexdigest()


@st.cache_resource(show_spinner=False, max_entries=16)
def cached_discover_field(data_digest: str, request_json: str, _field: Any, _request: FieldRequest,
                          _progress: ProgressFn | None = None) -> Any:
    """:func:`discovery.fields.discover_field` on ``_field`` (the data hashed to ``data_digest``) as
    ``_request`` asks; only the first two arguments key the cache."""
    from discovery.fields import FieldSettings, discover_field

    return discover_field(_field, noise_robust=FORMS[_request.form], periodic=dict(_request.periodic) or None,
                          settings=_request.settings or FieldSettings(), operators=_request.operators or None,
                          fno=(_request.fno or None) if _request.operators else None, progress=_progress)


@st.cache_resource(show_spinner=False, max_entries=64)
def cached_resimulation(run_key: str, candidate_index: int, _result: Any, _field: Any) -> tuple[Any, str]:
    """Candidate ``candidate_index`` of ``_result`` re-simulated over ``_field``'s span
    (:func:`discovery.fields.resimulate.resimulate_field`, with the periodicity the run used).

    Returns
    -------
    tuple
        ``(Field or None, problem)``: ``None`` and a one-line reason when the candidate cannot be integrated.
    """
    from discovery.errors import one_line
    from discovery.fields.resimulate import resimulate_field

    observed = _field.replace(periodic=dict(_result.periodic))
    try:
        return resimulate_field(_result.candidates[candidate_index].equations, observed, time_limit=60.0), ""
    except Exception as exc:  # noqa: BLE001 -- a model that cannot be integrated is shown as such
        return None, one_line(exc)
