"""The app's side of the one request object: the form builds a :class:`~discovery.pipeline.settings.DiscoverySettings`
with the same :func:`~discovery.pipeline.settings.build_settings` as the API and the command line; here only its
cache key is made."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["run_key", "settings_json"]


def settings_json(settings: Any) -> str:
    """Canonical JSON of a request (sorted keys): equal settings give equal text.

    Examples
    --------
    >>> from discovery.pipeline.settings import build_settings
    >>> settings_json(build_settings("sindy")) == settings_json(build_settings(["sindy"]))
    True
    """
    return json.dumps(settings.to_dict(), sort_keys=True)


def run_key(settings: Any, data_digest: str) -> str:
    """Cache key of a run of ``settings`` on the data whose bytes hash to ``data_digest``."""
    return hashlib.sha256((data_digest + "\n" + settings_json(settings)).encode()).hexdigest()
