"""Extra candidate generators of the ``sindy`` method: rational and saturating per-variable libraries.

:func:`generated_libraries` runs the generators that :class:`~discovery.methods.sindy.SINDyConfig` turns on
(``rational``: implicit regression, :mod:`discovery.methods.rational`; ``saturating``: terms with searched inner
constants, :mod:`discovery.methods.saturating`, also on the weak form) on the rows the polynomial search used, and returns one library per
variable and generator; the ``sindy`` search runs its sparsity path on each and pools the supports with the
polynomial ones, so that the same score compares them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import sympy

from discovery.methods.rational import RationalConfig, rational_libraries
from discovery.methods.saturating import SaturatingConfig, saturating_libraries
from discovery.methods.sindy_library import Library, input_degree
from discovery.methods.sindy_terms import ExpressionColumns, expression_library, monomials

GENERATORS = ("rational", "saturating")
"""Names of the generators, each a boolean option of the ``sindy`` method and the prefix of its libraries."""
EXACT_FIT = 0.1
"""A variable whose best polynomial support has a block-CV error under this fraction of the ``sindy`` error floor
is fitted exactly (clean data of a polynomial law: the zoo's Lorenz-96 at 1e-5): no generator runs on it.
Saturating laws on clean data stay above (the toggle switch's best polynomial: 5e-3, Rosenzweig-MacArthur's 7e-3)."""
GENERATED_MARGIN = 0.5
"""How much worse (in :func:`~discovery.methods.sindy_path.support_score`) than a variable's best support a
generator's support may score and still make a system. On clean data of a toggle switch the exact
``-x + 3/(1 + y**2)`` scored -5.43 and ``-1.1*x + 3.7*exp(-0.86*y)``, far worse, still made a ``"kind:exp"``
system that the selection took (it is one node simpler and within its error tolerance); on a noisy Ivlev
predator-prey the exponential law scored 0.02 worse than a Holling look-alike."""
WEAK_MARGIN = 0.3
"""On the weak form a saturating term must beat the best polynomial support by this much (in
:func:`~discovery.methods.sindy_path.support_score`; on the samples by ``SaturatingConfig.margin``). The weak rows
are few and overlapping, so their block-CV error is a coarser judge: on the zoo's Lotka-Volterra at 5% noise
``x*y**4/(31.2 + y**4)`` beat the law's ``x - 0.1*x*y`` by 0.105 there, while the saturating laws that only the
weak form finds at 1% noise (Gompertz predation's ``x*log(x)``) beat their polynomial look-alikes by more than 1."""
KINDS = ("rational", "exp", "log")
"""Kinds of non-polynomial terms, by their form: a denominator, an exponential, a logarithm."""

Pick = TypeVar("Pick")


def generated_libraries(
    x: np.ndarray,
    dx: np.ndarray,
    names: Sequence[str],
    config: Any,
    reference: Sequence[float],
    targets: Sequence[int] | None = None,
    rows: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[tuple[Library, np.ndarray, int]]:
    """Libraries of the generators ``config`` turns on, each with its matrix and the variable it is for.

    Parameters
    ----------
    x, dx:
        States ``(N, D + M)`` and derivatives ``(N, D)`` (the rows of the polynomial search); the ``M`` columns of
        ``x`` after the states are inputs (no equation of their own; in a monomial at most once).
    names:
        The ``D + M`` column names of ``x``.
    config:
        A :class:`~discovery.methods.sindy.SINDyConfig` (its ``rational``, ``saturating``, ``degree``, path and
        score options are read).
    reference:
        Per variable, the score of its best polynomial support (what a saturating term must beat).
    targets:
        The variables to search (default: all); the ``sindy`` search leaves out those its polynomial libraries fit
        far below its error floor (:data:`EXACT_FIT`).
    rows:
        The weak form's map from library columns on the samples ``(N, P)`` to regression rows ``(K, P)``; ``dx``
        is then the weak targets ``(K, D)``. Only the saturating generator runs there: the implicit regression of
        the rational one multiplies the derivative itself by library terms, which has no weak form of this kind.
    """
    syms = [sympy.Symbol(n) for n in names]
    poly_features = [f for f in monomials(syms, config.degree) if input_degree(f, syms[dx.shape[1]:]) <= 1]
    poly_theta = ExpressionColumns(poly_features, syms).transform(x)  # (N, P)
    if rows is not None:
        poly_theta = rows(poly_theta)  # (K, P)
    lo, hi, count = config.thresholds
    score = {"penalty": config.penalty, "floor": config.floor}
    out: list[tuple[Library, np.ndarray, int]] = []
    if config.saturating:
        sat_config = SaturatingConfig() if rows is None else SaturatingConfig(margin=WEAK_MARGIN)
        out += saturating_libraries(x, dx, names, poly_theta, poly_features, sat_config,
                                    reference=reference, targets=targets, n_blocks=config.n_blocks,
                                    other_cost=config.other_cost, rows=rows, **score)
    if config.rational and rows is None:  # with four or more columns, numerators of degree 3 make the implicit library too large
        out += rational_libraries(x, dx, names, poly_theta, poly_features,
                                  RationalConfig(numerator_degree=max(config.degree, 2) if len(syms) <= 3 else 2),
                                  other_cost=config.other_cost, targets=targets,
                                  thresholds=tuple(np.geomspace(lo, hi, int(count))), alpha=config.alpha,
                                  n_blocks=config.n_blocks, **score)
    return out


SHARED_PREFIX = "saturating:shared:"
"""Name prefix of the libraries of :func:`shared_libraries` (a ``saturating`` generator's: it needs that option)."""
SHARED_MARGIN = 1.0
""":data:`GENERATED_MARGIN` of the ``"shared"`` system, on the in-sample score. A law with more terms than its
stand-in scores worse in the block cross-validation of a trajectory that settles (the held-out transient is
predicted from nearly collinear columns at the equilibrium): SIS with standard incidence, clean,
``1 - 0.1*S - S*I/(S + I) + 0.2*I`` fits to 4e-8 but scored 1.1 worse than ``I*S``, ``I**2`` and
``exp(-0.41*S)`` on block-CV error; the trajectories decide between them."""
SHARED_CV_MARGIN = 2.0
"""How much worse than the variable's best support a ``"shared"`` support may score on block-CV error (it is
ranked by its in-sample error, :func:`generated_systems`): on noisy data, supports that fit the rows a little better
than the best one but predict held-out blocks 30 to 1000 times worse (SIS at 1%) are left out."""
SHARED_MAX = 8
"""Most terms one equation is offered from the others' supports (:func:`shared_libraries`)."""


def shared_libraries(
    x: np.ndarray,
    names: Sequence[str],
    n_states: int,
    best: Sequence[Any],
    degree: int,
    other_cost: float,
    targets: Sequence[int],
    rows: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[tuple[Library, np.ndarray, int]]:
    """Libraries that offer each target variable the non-polynomial terms the other variables' best supports chose.

    In a reaction network a flux leaves one species and enters another: the pathway ``s -> i -> p`` has
    ``s/(0.5 + s)`` in the equations of ``s`` and ``i``, and ``i/(0.3 + i)`` in those of ``i`` and ``p``; an SIS
    model has ``S*I/(S + I)`` in both. The saturating screen adds one family (or a pair) per variable, so an
    equation with two fluxes of different species is out of its reach, while the other equations have found each
    flux alone, with its inner constant. A term of a species' own equation in that species alone (its saturating
    degradation ``p/(1 + p)``) is also offered to each other species in its own variable (``m/(1 + m)``): a
    Goodwin loop or a repressilator writes every species alike. Each library is the monomials (as
    :func:`generated_libraries` builds them), the target's own non-polynomial terms and the offered ones (at most
    :data:`SHARED_MAX`, those finite on the data), named :data:`SHARED_PREFIX` and the variable.

    Parameters
    ----------
    x:
        States and inputs ``(N, D + M)``, the columns named by ``names``.
    n_states:
        ``D``: the first ``D`` names are the variables.
    best:
        Per variable, its best support so far (objects with ``library`` and ``point``, as the ``sindy`` search pools
        them).
    targets:
        The variables to offer terms to.
    rows:
        The weak form's map from library columns on the samples to regression rows, or ``None``.
    """
    syms = [sympy.Symbol(n) for n in names]
    found: dict[str, tuple[int, sympy.Expr]] = {}  # term -> the variable whose equation chose it
    for d, q in enumerate(best):
        for j in q.point.support:
            f = q.library.features[j]
            if not f.is_polynomial(*syms):
                found.setdefault(sympy.sstr(f), (d, f))
    if not found:
        return []
    poly = [f for f in monomials(syms, degree) if input_degree(f, syms[n_states:]) <= 1]
    out: list[tuple[Library, np.ndarray, int]] = []
    for d in targets:
        own = {sympy.sstr(best[d].library.features[j]) for j in best[d].point.support}
        mine = [f for k, (_, f) in found.items() if k in own]
        offered = {k: f for k, (e, f) in found.items() if e != d and k not in own}
        for e, f in found.values():  # another species' self-term, for this one: p/(1 + p) -> m/(1 + m)
            if e != d and e < n_states and f.free_symbols == {syms[e]}:
                g = f.xreplace({syms[e]: syms[d]})
                if sympy.sstr(g) not in own:
                    offered.setdefault(sympy.sstr(g), g)
        if not offered:
            continue
        extra = list(offered.values())[:SHARED_MAX]
        features = poly + mine + extra
        theta = ExpressionColumns(features, syms).transform(x)
        keep = [j for j in range(len(features)) if np.all(np.isfinite(theta[:, j]))]  # log(x) where x <= 0, ...
        if len(keep) <= len(poly) + len(mine):
            continue
        lib = expression_library(f"{SHARED_PREFIX}{names[d]}", [features[j] for j in keep], names, other_cost)
        lib.offered = frozenset(str(f) for f in extra) & set(lib.labels)
        theta = theta[:, keep] if rows is None else rows(theta[:, keep])
        if np.all(np.isfinite(theta)):
            out.append((lib, theta, d))
    return out


def term_kinds(expr: sympy.Expr) -> set[str]:
    """The kinds (:data:`KINDS`) of the non-polynomial parts of a term: ``y*exp(-x)/(1 + x)`` -> rational, exp."""
    kinds = set()
    if expr.has(sympy.exp):
        kinds.add("exp")
    if expr.has(sympy.log):
        kinds.add("log")
    if any(p.exp.is_negative for p in expr.atoms(sympy.Pow)):
        kinds.add("rational")
    return kinds


def generated_systems(
    picks: Sequence[Sequence[Pick]], best: Sequence[Pick], score: Callable[[Pick], float],
    offered: Sequence[frozenset[str]] = (), fit_score: Callable[[Pick], float] | None = None,
) -> list[tuple[str, list[Pick]]]:
    """Whole systems made of the generators' supports, without combining alternatives across variables.

    ``picks[d]`` holds variable ``d``'s pooled supports from the generators' libraries that have a
    non-polynomial term (objects with ``library`` and ``point``, as the ``sindy`` search pools them). One system
    per generator (``"rational"``, ``"saturating"``): each variable's best support from that generator's
    libraries. And one per kind of term (``"kind:exp"``, ...): each variable's best support with a term of that
    kind. A law usually has one kind of saturation in all its equations (an Ivlev predator-prey has
    ``1 - exp(-k*x)`` in both), while per-variable bests may mix a Holling term into one equation and an Ivlev
    term into the other, which no textbook writes. And one (``"shared"``) of the supports that use a term found in
    another equation (``offered[d]``: the labels :func:`shared_libraries` offered variable ``d``, whichever library
    pooled the support: the same support found by a rational library counts), within :data:`SHARED_MARGIN` and
    ranked by ``fit_score`` (the in-sample error's score; ``score`` where not given): a flux the other equations
    vouch for is judged on how well it fits, since the block cross-validation of a trajectory that settles
    penalizes every term of the law (:data:`SHARED_MARGIN`). Only supports that score within
    :data:`GENERATED_MARGIN` of the variable's ``best`` one are taken; a variable without one keeps its ``best``
    support, and systems where no variable has one are left out.
    """
    def kinds(q: Any) -> set[str]:
        found: set[str] = set()
        for j in q.point.support:
            found |= term_kinds(q.library.features[j])
        return found

    def uses_offered(q: Any, d: int) -> bool:
        return (d < len(offered) and any(q.library.labels[j] in offered[d] for j in q.point.support)
                and score(q) <= score(best[d]) + SHARED_CV_MARGIN)

    groups: list[tuple[str, Callable[[Any, int], bool], float, Callable[[Pick], float]]] = [
        (g, lambda q, d, g=g: q.library.name.startswith(g + ":"), GENERATED_MARGIN, score) for g in GENERATORS]
    groups += [(f"kind:{k}", lambda q, d, k=k: k in kinds(q), GENERATED_MARGIN, score) for k in KINDS]
    groups.append(("shared", uses_offered, SHARED_MARGIN, fit_score or score))
    out = []
    for label, member, margin, rank in groups:
        choice, found = list(best), False
        for d, candidates in enumerate(picks):
            chosen = [q for q in candidates if member(q, d) and rank(q) <= rank(best[d]) + margin]
            if chosen:
                choice[d], found = min(chosen, key=rank), True
        if found:
            out.append((label, choice))
    return out
