"""Plain and ensembled MLPs (models/mlp.py)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from models.mlp import EnsembleMLP, activation_class, mlp

torch.set_num_threads(1)


def test_mlp_shapes_and_layers() -> None:
    net = mlp(3, 2, 16, 2)
    assert net(torch.zeros(7, 3)).shape == (7, 2)
    assert [type(m) for m in net] == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    assert isinstance(mlp(1, 1, 4, 1, "silu")[1], nn.SiLU)
    assert isinstance(mlp(1, 1, 4, 1, nn.Softplus)[1], nn.Softplus)
    assert len(mlp(2, 1, 4, 0)) == 1  # no hidden layer: one linear map


def test_unknown_activation_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown activation 'relu6'; expected one of silu, softplus, tanh"):
        activation_class("relu6")


def test_ensemble_members_are_independent() -> None:
    torch.manual_seed(0)
    net = EnsembleMLP(3, 1, 2, width=8, depth=2)
    x = torch.randn(3, 5, 1)
    y = net(x)
    assert y.shape == (3, 5, 2)
    x2 = x.clone()
    x2[0] += 1.0
    y2 = net(x2)
    assert not torch.allclose(y2[0], y[0])
    assert torch.equal(y2[1:], y[1:])
