"""The progress callback that every long-running step accepts (torch-free, so that any layer can import it)."""

from __future__ import annotations

from typing import Callable

ProgressFn = Callable[[str, float], None]
"""``progress(message, fraction)``: what is being done, and the fraction of the work done, in [0, 1]."""

__all__ = ["ProgressFn"]
