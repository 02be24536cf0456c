"""Parsimony: the one Pareto front and the one accuracy-versus-size score that every method and the pipeline use.

Each method ranks its own fits (``sindy`` supports by block cross-validated error, ``sr`` formulas by their error on
the derivatives, the pipeline candidates by re-simulation error), but by the same two rules:

- the **Pareto front**: the items no other item beats on both cost (size) and error, cheapest first;
- the **parsimony score** ``log(max(error, ERROR_FLOOR)) + penalty * cost``: an extra unit of cost must cut the
  relative error by the factor ``exp(penalty)`` to pay for itself, and relative errors under :data:`ERROR_FLOOR`
  count as equal (below it, differences are noise and rounding, not model quality).
"""

from __future__ import annotations

import math
from typing import Callable, Hashable, Iterable, Sequence, TypeVar

T = TypeVar("T")

ERROR_FLOOR = 3e-3
"""Relative errors (error over the target's scale) below this count as equal in :func:`parsimony_score`."""


def parsimony_score(error: float, cost: float, penalty: float, floor: float = ERROR_FLOOR) -> float:
    """``log(max(error, floor)) + penalty * cost`` (lower is better); ``error`` relative to the target's scale."""
    return float(math.log(max(float(error), floor)) + penalty * float(cost))


def pareto_front(
    items: Iterable[T],
    cost: Callable[[T], float],
    error: Callable[[T], float],
    key: Callable[[T], Hashable] | None = None,
) -> list[T]:
    """The items no other item beats on both ``cost`` and ``error``, cheapest first.

    Items with a non-finite error are left out; of items with the same ``key`` (e.g. the same formula) only the
    first in (cost, error) order counts; at equal cost only the most accurate item can be on the front.

    Examples
    --------
    >>> pareto_front([(1, 0.5), (2, 0.1), (3, 0.2), (2, 0.3)], cost=lambda i: i[0], error=lambda i: i[1])
    [(1, 0.5), (2, 0.1)]
    """
    front: list[T] = []
    seen: set[Hashable] = set()
    best = math.inf
    for item in sorted(items, key=lambda i: (cost(i), error(i))):
        e = error(item)
        if not math.isfinite(e):
            continue
        if key is not None:
            k = key(item)
            if k in seen:
                continue
            seen.add(k)
        if e < best:
            front.append(item)
            best = e
    return front


def best_by_score(items: Sequence[T], error: Callable[[T], float], cost: Callable[[T], float], penalty: float,
                  floor: float = ERROR_FLOOR) -> int:
    """Index of the item with the lowest :func:`parsimony_score`."""
    scores = [parsimony_score(error(i), cost(i), penalty, floor) for i in items]
    return min(range(len(scores)), key=scores.__getitem__)
