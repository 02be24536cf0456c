"""What a discovery run is asked to do: the form's choices as one frozen, hashable value."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["RunSettings"]


@dataclass(frozen=True)
class RunSettings:
    """Arguments of :func:`discovery.discover` chosen in the form.

    Attributes
    ----------
    methods:
        Method names, or ``("auto",)``.
    options:
        Per-method options that differ from the method's defaults, ``{method: {option: value}}``.
    known, guess:
        The ``pinn`` partly known model and the ``prose`` guess, ``{variable: formula}`` (empty when unused).
    operators:
        Neural operators fitted after selection (``("deeponet",)``).
    derivative, refine, seed:
        As in :func:`discovery.discover`.

    Examples
    --------
    >>> s = RunSettings(methods=("sindy",))
    >>> s.discover_kwargs()["method"]
    ['sindy']
    """

    methods: tuple[str, ...] = ("auto",)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    known: dict[str, str] = field(default_factory=dict)
    guess: dict[str, str] = field(default_factory=dict)
    operators: tuple[str, ...] = ()
    derivative: str = "auto"
    refine: bool = True
    seed: int = 0

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): equal settings give equal text."""
        return json.dumps(asdict(self), sort_keys=True, default=list)

    def key(self, data_digest: str) -> str:
        """Cache key of a run of these settings on the data whose bytes hash to ``data_digest``."""
        return hashlib.sha256((data_digest + "\n" + self.to_json()).encode()).hexdigest()

    def discover_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`discovery.discover` (besides ``data`` and ``progress``)."""
        method: str | list[str] = "auto" if self.methods == ("auto",) else list(self.methods)
        kwargs: dict[str, Any] = {
            "method": method,
            "derivative": self.derivative,
            "refine": self.refine,
            "operators": tuple(self.operators),
            "seed": int(self.seed),
            "known": dict(self.known) or None,
            "guess": dict(self.guess) or None,
        }
        for name, opts in self.options.items():
            if opts:
                kwargs[name] = dict(opts)
        return kwargs
