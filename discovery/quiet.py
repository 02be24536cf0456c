"""Keep the numerical libraries' warnings off the user's screen while eqdisco works.

Discovery tries many candidate models on purpose: some overflow, divide by zero or fail to converge, and every
such case is caught and reported in the result (a score, a failure reason, a warning line). The libraries'
own warnings about the same events (numpy ``RuntimeWarning``, scikit-learn's ``ConvergenceWarning``, pysindy,
pyoperon, matplotlib, torch) say nothing a user can act on, so :func:`quiet_libraries` silences them for the
duration of the work only: the filters are set with :func:`warnings.catch_warnings` (restored on exit) and numpy's
floating-point handling with :func:`numpy.errstate` (thread-local), never at import.
"""

from __future__ import annotations

import warnings
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

LIBRARIES = ("numpy", "scipy", "sklearn", "pysindy", "pyoperon", "matplotlib", "torch", "torchdiffeq",
             "transformers", "sympy", "pandas", "threadpoolctl")
"""Packages whose warnings are silenced during the work."""

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """A context in which numerical libraries do not warn (eqdisco's own warnings still show).

    Examples
    --------
    >>> with quiet_libraries():
    ...     _ = np.log(np.zeros(1))  # no RuntimeWarning
    """
    pattern = r"^(" + "|".join(LIBRARIES) + r")(\.|$)"
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow, invalid value, empty slice: caught downstream
        warnings.filterwarnings("ignore", module=pattern)  # scikit-learn's ConvergenceWarning among them
        yield


def quietly(fn: F) -> F:
    """Decorator: run ``fn`` under :func:`quiet_libraries` (for entry points such as the figure writers)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with quiet_libraries():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
