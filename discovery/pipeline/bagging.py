"""Library bagging of the selected model's terms (E-SINDy's inclusion probabilities, on the weak form).

The window bootstrap of :mod:`discovery.pipeline.uncertainty` re-applies the selection to resampled scoring windows,
but only among candidates already found: a term that makes up for a law the candidates miss (``N/(N + K)``
standing in for ``N*exp(-N)``) fits every window better than the same model without it, so every resample keeps it.
Whether the *search* would propose the term again from other data is the question E-SINDy asks (Fasel et al.
2022): bag the rows of the sparse regression and count how often the term is chosen. Here, for each variable:

- the rows are the weak form of the measurements (:func:`discovery.methods.weak_form.weak_system`: integrals
  against smooth test functions, no derivative estimates, robust to noise), the library evaluated on the smoothed
  states;
- the library is the selected model's own terms (its inner constants fixed at their fitted values) beside the
  terms of the best other candidates the search found (at most :data:`MAX_RIVAL_TERMS`, from
  :func:`discovery.pipeline.uncertainty.rivals`) and the monomials of the states (degree :data:`DEGREE`,
  lower for many variables, at most :data:`MAX_MONOMIALS`), so a term competes with the alternatives the search saw;
- each bag draws contiguous blocks of rows with replacement (neighbouring rows overlap and are nearly copies), the
  supports of every size are found (:func:`discovery.methods.sindy_path.sparsity_path`, stepwise) and the one with
  the best :func:`~discovery.methods.sindy_path.support_score` is kept, a term that is not a monomial costing
  :data:`OTHER_COST` (the ``sindy`` method's rule).

A term's bagged inclusion is the share of bags whose support has it.
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from math import comb, prod
from typing import TYPE_CHECKING, Sequence

import numpy as np
import sympy

from discovery.methods.base import Candidate
from discovery.pipeline.uncertainty import own_shares, skeletons, terms_of

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories

N_BAGS = 40
"""Bags of rows per variable."""
N_CHUNKS = 20
"""Contiguous blocks the weak rows are cut into; a bag draws this many with replacement."""
DEGREE = 3
"""Highest degree of the monomials beside the model's terms."""
MAX_MONOMIALS = 24
"""The degree is lowered until the monomials of the states are at most this many."""
OTHER_COST = 1.5
"""Cost of a term that is not a monomial in the support score (a monomial costs 1), as in the ``sindy`` method."""
MAX_RIVAL_TERMS = 12
"""Most terms per variable taken from the other candidates."""
PENALTY = 0.15
"""Support-score penalty per unit of cost (the ``sindy`` method's default)."""


def monomials(symbols: Sequence[sympy.Symbol], degree: int = DEGREE, most: int = MAX_MONOMIALS) -> list[sympy.Expr]:
    """The monomials of ``symbols`` up to ``degree`` (1 included), the degree lowered until at most ``most``.

    Examples
    --------
    >>> x, y = sympy.symbols("x y")
    >>> [str(m) for m in monomials([x, y], 2)]
    ['1', 'x', 'y', 'x**2', 'x*y', 'y**2']
    """
    n = len(symbols)
    while degree > 1 and comb(n + degree, degree) > most:
        degree -= 1
    return [sympy.Integer(1)] + [prod(c, start=sympy.Integer(1)) for d in range(1, degree + 1)
                                 for c in combinations_with_replacement(symbols, d)]


def _values(data: "Trajectories", smoothed: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Every name a term may use (states, smoothed; inputs, parameters; ``t``) -> its values over all samples."""
    out = {v: np.concatenate([x[:, j] for x in smoothed]) for j, v in enumerate(data.variables)}
    for j, name in enumerate((*data.inputs, *data.parameters)):
        out[name] = np.concatenate([tr.u[:, j] for tr in data])
    out["t"] = np.concatenate([tr.t for tr in data])
    return out


def _column(expr: sympy.Expr, values: dict[str, np.ndarray], n: int) -> np.ndarray | None:
    """``expr`` evaluated on the samples, ``(n,)``; ``None`` when it is not finite everywhere or is constant zero."""
    symbols = sorted(expr.free_symbols, key=str)
    if any(str(s) not in values for s in symbols):
        return None
    with np.errstate(all="ignore"):
        column = np.broadcast_to(np.asarray(sympy.lambdify(symbols, expr, "numpy")(
            *(values[str(s)] for s in symbols)), dtype=float), (n,)).copy()
    if not np.all(np.isfinite(column)) or not np.any(column):
        return None
    return column


def _rival_terms(rivals: Sequence[Candidate], v: str, taken: set) -> list[sympy.Expr]:
    """Terms of ``v``'s right-hand side in ``rivals`` (in order) whose skeletons are not ``taken``, constants dropped."""
    out: list[sympy.Expr] = []
    for c in rivals:
        for t in sympy.Add.make_args(sympy.expand(c.equations.get(v, sympy.Integer(0)))):
            rest = t.as_coeff_Mul()[1]
            keys = set(skeletons(rest))
            if t != 0 and keys and not keys & taken:
                taken |= keys
                out.append(rest)
                if len(out) >= MAX_RIVAL_TERMS:
                    return out
    return out


def bagged_inclusion(best: Candidate, data: "Trajectories", smoothed: Sequence[np.ndarray], *,
                     rivals: Sequence[Candidate] = (), n_bags: int = N_BAGS, seed: int = 0) -> dict[str, dict[sympy.Expr, float]] | None:
    """Per variable, each skeleton of the selected model's terms -> its share of bags (see the module docstring);
    ``None`` when the weak system cannot be built (trajectories too short). A variable whose terms cannot be
    evaluated on the samples is left out. ``rivals``: other candidates, best first, whose terms join the library."""
    shares = bagged_shares(best, data, smoothed, rivals=rivals, n_bags=n_bags, seed=seed)
    return None if shares is None else own_shares(best, shares, data.variables)


def bagged_shares(best: Candidate, data: "Trajectories", smoothed: Sequence[np.ndarray], *,
                  rivals: Sequence[Candidate] = (), n_bags: int = N_BAGS,
                  seed: int = 0) -> dict[str, dict[sympy.Expr, float]] | None:
    """As :func:`bagged_inclusion`, for every term of each variable's library (the model's terms, the rivals' and
    the monomials): its skeleton -> its share of bags."""
    from discovery.errors import DiscoveryError
    from discovery.methods.sindy_path import sparsity_path, support_score
    from discovery.methods.weak_form import weak_system

    try:
        system = weak_system([tr.t for tr in data], [tr.x for tr in data], library_states=smoothed)
    except DiscoveryError:
        return None
    values = _values(data, smoothed)
    n = len(values["t"])
    states = [sympy.Symbol(v) for v in data.variables]
    basis = monomials(states)
    rng = np.random.default_rng(seed)
    chunks = np.array_split(np.arange(system.n_rows), min(N_CHUNKS, system.n_rows))
    out: dict[str, dict[sympy.Expr, float]] = {}
    for d, v in enumerate(data.variables):
        terms = terms_of(best.equations[v])
        columns = [_column(t, values, n) for t in terms]
        if not terms or any(c is None for c in columns):
            continue
        taken = set().union(*(skeletons(t) for t in terms))
        extra = _rival_terms(rivals, v, taken) + [m for m in basis if not skeletons(m) & taken]
        pairs = [(m, np.ones(n) if m == 1 else _column(m, values, n)) for m in extra]
        pairs = [(m, c) for m, c in pairs if c is not None]
        library = terms + [m for m, _ in pairs]
        theta = system.rows(np.column_stack(columns + [c for _, c in pairs]))  # (K, P): model terms first
        costs = np.array([1.0 if t.is_polynomial(*states) else OTHER_COST for t in library])
        y = system.b[:, [d]]
        counts = np.zeros(len(library))
        for _ in range(n_bags):
            rows = np.concatenate([chunks[i] for i in rng.integers(0, len(chunks), len(chunks))])
            try:
                points = sparsity_path(theta[rows], y[rows], (), subset_terms=4)[0]
            except DiscoveryError:
                continue
            if not points:
                continue
            pick = min(points, key=lambda p: support_score(p, PENALTY, cost=float(costs[list(p.support)].sum())))
            counts[list(pick.support)] += 1
        shares: dict[sympy.Expr, float] = {}
        for term, c in zip(library, counts / n_bags):
            for k in skeletons(term):
                shares[k] = max(shares.get(k, 0.0), float(c))
        out[v] = shares
    return out
