"""Distilling learned functions to formulas (discovery/methods/distill.py), shared by ``pinn`` and ``node``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.distill import (
    combine,
    near_best,
    pick_from_front,
    prune_terms,
    snap_inner_constants,
    subsample,
)
from discovery.options import config_from

x, y, theta = sympy.symbols("x y theta")


def test_pick_from_front_prefers_knee_then_simplest_eligible() -> None:
    front = [
        SimpleNamespace(expr="a", complexity=1, mse=1.0),
        SimpleNamespace(expr="b", complexity=3, mse=0.012),
        SimpleNamespace(expr="c", complexity=9, mse=0.010),
        SimpleNamespace(expr="d", complexity=15, mse=0.003),
    ]
    assert [f.expr for f in pick_from_front(front, 3, scale=1.0, knee=2)] == ["c", "b", "d"]
    assert [f.expr for f in pick_from_front(front, 2, scale=1.0, knee=None)] == ["b", "c"]
    # with a small target scale only fits within 4x the best error are eligible; an ineligible knee is skipped
    front[1].mse, front[2].mse = 0.02, 0.015
    assert [f.expr for f in pick_from_front(front, 3, scale=0.01, knee=1)] == ["d"]
    assert pick_from_front([], 3, scale=1.0) == []


def test_snap_inner_constants_only_touches_function_arguments() -> None:
    assert snap_inner_constants(-5.02 * sympy.sin(0.9952 * theta)) == -5.02 * sympy.sin(theta)
    assert snap_inner_constants(sympy.sin(0.7 * theta)) == sympy.sin(0.7 * theta)
    assert snap_inner_constants(0.99 * theta) == 0.99 * theta


def test_prune_terms_drops_what_the_data_do_not_need() -> None:
    X = np.random.default_rng(0).uniform(0.5, 3.0, size=(80, 2))  # (N, 2)
    target = 0.1 * X[:, 0] * X[:, 1]
    pruned = prune_terms(0.1003 * x * y - 0.0375 + 2e-4 * x**3, X, target, ["x", "y"], limit=1e-8)
    assert pruned.free_symbols == {x, y} and len(sympy.Add.make_args(pruned)) == 1
    assert float(pruned.coeff(x * y)) == pytest.approx(0.1, rel=1e-6)
    # a term the data need stays
    kept = prune_terms(0.1 * x * y - 0.5 * x, X, 0.1 * X[:, 0] * X[:, 1] - 0.5 * X[:, 0], ["x", "y"], limit=1e-8)
    assert len(sympy.Add.make_args(kept)) == 2


def test_combine_orders_by_rank_sum() -> None:
    assert combine([["a0", "a1"], ["b0", "b1", "b2"]], 4) == [("a0", "b0"), ("a0", "b1"), ("a1", "b0"),
                                                               ("a0", "b2")]


def test_near_best_is_relative_or_absolute_whichever_is_looser() -> None:
    assert near_best(0.01, scale=0.01) == pytest.approx(0.04)
    assert near_best(1e-6, scale=1.0) == pytest.approx(1e-6 + 9e-4)


def test_subsample_keeps_small_sets_whole_and_draws_without_replacement() -> None:
    X = np.arange(20.0).reshape(10, 2)
    assert subsample(X, 10, np.random.default_rng(0)) is X
    rows = subsample(X, 4, np.random.default_rng(0))
    assert rows.shape == (4, 2) and len({tuple(r) for r in rows}) == 4


def test_config_from_takes_none_an_instance_or_a_mapping() -> None:
    from models.node import NODETrainConfig

    assert config_from(NODETrainConfig, None, "node.training") == NODETrainConfig()
    cfg = NODETrainConfig(steps=5)
    assert config_from(NODETrainConfig, cfg, "node.training") is cfg
    assert config_from(NODETrainConfig, {"steps": 5}, "node.training") == cfg
    with pytest.raises(DiscoveryError, match=r"node.training: unknown option\(s\) 'stepz'; valid: .*steps"):
        config_from(NODETrainConfig, {"stepz": 5}, "node.training")
    with pytest.raises(DiscoveryError, match="node.training: expected a NODETrainConfig or a mapping"):
        config_from(NODETrainConfig, 3, "node.training")

