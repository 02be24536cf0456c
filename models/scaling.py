"""Scales of observed trajectories that the models normalize by."""

from __future__ import annotations

from typing import Sequence

import torch


def rms_rate(times: Sequence[torch.Tensor], states: Sequence[torch.Tensor], floor: float = 1e-8) -> torch.Tensor:
    """Root-mean-square finite-difference rate of each variable over all trajectories, at least ``floor``: ``(D,)``.

    ``times[i]`` is ``(N_i,)`` and ``states[i]`` ``(N_i, D)``.

    Examples
    --------
    >>> t = torch.linspace(0, 1, 5); x = torch.stack([2 * t, -t], dim=1)
    >>> rms_rate([t], [x])
    tensor([2., 1.])
    """
    rates = [torch.diff(x, dim=0) / torch.diff(t)[:, None] for t, x in zip(times, states)]
    r = torch.cat(rates, dim=0)
    return torch.sqrt(torch.mean(r**2, dim=0)).clamp_min(floor)


__all__ = ["rms_rate"]
