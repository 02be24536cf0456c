"""LAW_SAMPLER: random systems shaped like real laws (PROSE's broad training distribution)."""

from __future__ import annotations

import numpy as np
import sympy

from grammar.operators import function_operator
from grammar.prefix import from_prefix, to_prefix
from grammar.sampler import LAW_SAMPLER, SamplerConfig, sample_system
from grammar.tokenizer import canonical_symbols


def draw(n: int, seed: int = 0) -> list[list[sympy.Expr]]:
    rng = np.random.default_rng(seed)
    return [sample_system(int(rng.integers(1, 5)), rng, LAW_SAMPLER) for _ in range(n)]


def test_law_systems_stay_in_the_grammar_and_have_the_asked_shape():
    functions, saturating, repression = set(), 0, 0
    for system in draw(120):
        variables = set(canonical_symbols(len(system)))
        for expr in system:
            assert expr.free_symbols <= variables
            assert from_prefix(to_prefix(expr, LAW_SAMPLER.precision)) == expr
            terms = sympy.Add.make_args(expr)
            assert 1 <= len(terms) <= LAW_SAMPLER.max_terms + 1  # + an optional constant
            for term in terms:
                for f in term.atoms(sympy.Function):
                    name = function_operator(f).name
                    functions.add(name)
                    if name in ("sin", "cos", "exp"):  # linear arguments
                        assert sympy.Poly(f.args[0], *f.args[0].free_symbols).total_degree() == 1
                if term.is_polynomial(*variables):
                    assert sympy.Poly(term, *variables).total_degree() <= 3
                plain = not term.atoms(sympy.Function)  # sympy writes exp(-a*x) over exp(a*x): not a rational term
                denominators = [sympy.denom(term)] if plain and sympy.denom(term) != 1 else []
                for d in denominators:
                    saturating += int(sympy.Poly(d, *d.free_symbols).total_degree() == 1)
                    repression += int(sympy.Poly(d, *d.free_symbols).total_degree() == 2)
    assert {"sin", "cos", "exp", "log"} <= functions
    assert saturating > 10 and repression > 3


def test_constants_span_decades():
    magnitudes = [abs(float(c)) for system in draw(60, seed=1) for e in system for c in e.atoms(sympy.Float)]
    assert min(magnitudes) < 0.05 and max(magnitudes) > 20


def test_argument_degree_and_saturating_probability_are_checked():
    import pytest

    from grammar.errors import GrammarError

    with pytest.raises(GrammarError, match="argument_degree"):
        SamplerConfig(argument_degree=0)
    with pytest.raises(GrammarError, match="saturating_probability"):
        SamplerConfig(saturating_probability=1.5)
