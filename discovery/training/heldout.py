"""Systems PROSE is evaluated on and must never be trained on, held out by skeleton.

A system's **skeleton** is the form of its equations with every fitted constant a placeholder: per equation the
multiset of :func:`discovery.terms.term_skeletons` (the rule ``eqdisco bench`` uses for *exact terms*), over the
canonical variables ``x_0 .. x_{D-1}``. Two systems with the same skeleton differ only in their constants, so a
model trained on one has seen the other's form. Skeletons are compared up to a renaming of the variables (the
model's ``x_0`` is whichever column comes first), so every evaluation system enters the held-out set under every
permutation of its variables.

Evaluation systems: ``benchmarks/unseen`` and ``benchmarks/textbook`` (each ``NAME.truth.json``), the held-out zoo
families (:data:`discovery.training.data.DEFAULT_HOLDOUT`) and :func:`heldout_random_systems`, random law-shaped
systems drawn from a seed reserved for evaluation (none with the skeleton of a zoo system). The ``broad`` training distribution redraws every system
whose skeleton is in :func:`heldout_skeletons`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import sympy

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
EVALUATION_FOLDERS = ("unseen", "textbook")
HELDOUT_RANDOM_SEED = 31_337
"""Seed of the random held-out systems (never used to draw training systems)."""
HELDOUT_RANDOM_COUNT = 96

Skeleton = tuple[tuple[tuple[str, int], ...], ...]
"""One entry per equation: the sorted ``(srepr(term skeleton), count)`` pairs."""


def system_skeleton(exprs: Sequence[sympy.Expr]) -> Skeleton:
    """The skeleton of a system over ``x_0 .. x_{D-1}`` (equation order kept; see the module docstring).

    Examples
    --------
    >>> x0, x1 = sympy.symbols("x_0 x_1")
    >>> system_skeleton([2.0 * x0 - x0 * x1, 0.5 * x0 * x1]) == system_skeleton([3 * x0 - 7 * x0 * x1, x0 * x1])
    True
    """
    from discovery.terms import term_skeletons

    return tuple(_counted(term_skeletons(e)) for e in exprs)


def _counted(counter) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((sympy.srepr(k), int(v)) for k, v in counter.items()))


def skeleton_variants(exprs: Sequence[sympy.Expr]) -> set[Skeleton]:
    """The skeletons of a system under every renaming of its variables (``D!`` of them)."""
    from discovery.terms import term_skeletons

    n = len(exprs)
    symbols = [sympy.Symbol(f"x_{i}") for i in range(n)]
    per_equation = [term_skeletons(e) for e in exprs]
    variants = set()
    for perm in itertools.permutations(range(n)):
        rename = {symbols[i]: symbols[perm[i]] for i in range(n)}
        renamed = [None] * n
        for i, counter in enumerate(per_equation):  # equation i becomes equation perm[i]
            renamed[perm[i]] = _counted({k.xreplace(rename): v for k, v in counter.items()})
        variants.add(tuple(renamed))
    return variants


def _canonical(equations: dict[str, str], variables: Sequence[str]) -> list[sympy.Expr]:
    from grammar.parser import parse
    from grammar.tokenizer import canonicalize

    exprs = {v: parse(equations[v], list(variables), hidden=False) for v in variables}
    canonical, _ = canonicalize(exprs)
    return list(canonical)


def _csv_variables(csv: Path) -> list[str]:
    header = csv.read_text(encoding="utf-8").splitlines()[0].split(",")
    return [c.strip() for c in header if c.strip() not in ("t", "time", "trajectory")]


def benchmark_systems(folders: Sequence[str] = EVALUATION_FOLDERS) -> dict[str, list[sympy.Expr]]:
    """``folder/name`` -> canonical equations of every ``NAME.truth.json`` in ``benchmarks/<folder>``."""
    out = {}
    for folder in folders:
        for truth in sorted((BENCHMARKS / folder).glob("*.truth.json")):
            spec = json.loads(truth.read_text(encoding="utf-8"))
            name = truth.name[: -len(".truth.json")]
            variables = spec.get("variables") or _csv_variables(truth.with_name(f"{name}.csv"))
            out[f"{folder}/{name}"] = _canonical(spec["equations"], variables)
    return out


def zoo_systems(names: Sequence[str]) -> dict[str, list[sympy.Expr]]:
    """``zoo/name`` -> canonical equations (nominal parameters) of the zoo systems ``names``."""
    from grammar.tokenizer import canonicalize
    from grammar.zoo import get_system

    out = {}
    for name in names:
        system = get_system(name)
        canonical, _ = canonicalize(system.rhs(system.params))
        out[f"zoo/{name}"] = list(canonical)
    return out


def heldout_random_systems(count: int = HELDOUT_RANDOM_COUNT, seed: int = HELDOUT_RANDOM_SEED,
                           max_vars: int = 4) -> dict[str, list[sympy.Expr]]:
    """``random/k`` -> the ``k``-th law-shaped system drawn from the evaluation seed (1 to ``max_vars`` variables),
    ``count`` of them; draws with the skeleton of a zoo system are skipped (a zoo family stays trainable, and a
    model trained on the zoo is not credited for recognizing it here)."""
    from grammar.sampler import LAW_SAMPLER, sample_system
    from grammar.zoo import ZOO

    zoo = set()
    for exprs in zoo_systems(sorted(ZOO)).values():
        zoo |= skeleton_variants(exprs)
    out: dict[str, list[sympy.Expr]] = {}
    k = 0
    while len(out) < count:
        rng = np.random.default_rng([seed, k])
        exprs = sample_system(int(rng.integers(1, max_vars + 1)), rng, LAW_SAMPLER)
        if system_skeleton(exprs) not in zoo:
            out[f"random/{k}"] = exprs
        k += 1
    return out


def evaluation_systems(holdout: Sequence[str] = ()) -> dict[str, list[sympy.Expr]]:
    """Every evaluation system: the two benchmark folders, the zoo families ``holdout`` and the random ones."""
    return {**benchmark_systems(), **zoo_systems(holdout), **heldout_random_systems()}


@lru_cache(maxsize=8)
def heldout_skeletons(holdout: tuple[str, ...] = ()) -> frozenset[Skeleton]:
    """The skeletons (every variable renaming) of :func:`evaluation_systems` (cached per process)."""
    out: set[Skeleton] = set()
    for exprs in evaluation_systems(holdout).values():
        out |= skeleton_variants(exprs)
    return frozenset(out)
