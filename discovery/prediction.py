"""Operator predictions: trajectories predicted by a neural operator (PROSE's data decoder, DeepONet)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class OperatorPrediction:
    """A neural operator's prediction of one trajectory.

    Attributes
    ----------
    model:
        Which operator made it: ``"prose"`` or ``"deeponet"``.
    variables:
        State variable names, in column order of ``x``.
    t:
        Query times, shape ``(M,)``; may extend past the observed window (extrapolation).
    x:
        Predicted states, shape ``(M, D)``.
    trajectory:
        Index of the observed trajectory whose initial condition (or window) the prediction starts from.
    rel_l2:
        Relative L2 error against observed data: for ``prose`` its backtest (the same read length, one read earlier,
        on data the model had not read; see :mod:`discovery.methods.prose`), otherwise where the prediction and
        the data overlap (``None`` when they do not).
    info:
        Model-specific details (checkpoint, training loss, ...), JSON-serializable.
    """

    model: str
    variables: tuple[str, ...]
    t: np.ndarray
    x: np.ndarray
    trajectory: int = 0
    rel_l2: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def times(self) -> np.ndarray:
        """The query times (``t``)."""
        return self.t

    @property
    def values(self) -> np.ndarray:
        """The predicted states (``x``), one column per variable."""
        return self.x

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "variables": list(self.variables),
            "trajectory": int(self.trajectory),
            "rel_l2": None if self.rel_l2 is None else float(self.rel_l2),
            "t": np.asarray(self.t, dtype=float).tolist(),
            "x": np.asarray(self.x, dtype=float).tolist(),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OperatorPrediction":
        return cls(
            model=d["model"],
            variables=tuple(d["variables"]),
            t=np.asarray(d["t"], dtype=float),
            x=np.asarray(d["x"], dtype=float),
            trajectory=int(d.get("trajectory", 0)),
            rel_l2=d.get("rel_l2"),
            info=dict(d.get("info", {})),
        )


def relative_l2(pred: np.ndarray, true: np.ndarray) -> float:
    """``||pred - true|| / ||true||`` over all entries (``inf`` if ``true`` is all zeros and they differ)."""
    pred = np.asarray(pred, dtype=float)
    true = np.asarray(true, dtype=float)
    den = float(np.linalg.norm(true))
    num = float(np.linalg.norm(pred - true))
    if den == 0.0:
        return 0.0 if num == 0.0 else float("inf")
    return num / den
