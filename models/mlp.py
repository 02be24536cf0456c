"""Multilayer perceptrons: the building block of the PINN, the neural ODE and DeepONet.

Examples
--------
>>> import torch
>>> mlp(3, 2, width=16, depth=2, activation="silu")(torch.zeros(7, 3)).shape
torch.Size([7, 2])
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "softplus": nn.Softplus, "silu": nn.SiLU}
"""Hidden-layer activations by name."""


def activation_class(name: str) -> type[nn.Module]:
    """The activation module class called ``name`` (a key of :data:`ACTIVATIONS`).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]


def mlp(n_in: int, n_out: int, width: int, depth: int, activation: str | type[nn.Module] = "tanh") -> nn.Sequential:
    """A plain MLP with ``depth`` hidden layers of ``width`` units: ``(B, n_in) -> (B, n_out)``.

    ``activation`` is a name of :data:`ACTIVATIONS` or a module class (``nn.Tanh``); the output layer is linear.
    """
    act = activation_class(activation) if isinstance(activation, str) else activation
    layers: list[nn.Module] = []
    d = n_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), act()]
        d = width
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)



class EnsembleMLP(nn.Module):
    """``M`` independent tanh MLPs evaluated together with batched matmuls: ``(M, B, n_in) -> (M, B, n_out)``."""

    def __init__(self, members: int, n_in: int, n_out: int, width: int, depth: int) -> None:
        super().__init__()
        dims = [n_in] + [width] * depth + [n_out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(dims[:-1], dims[1:]):
            w = torch.empty(members, a, b)
            for m in range(members):
                nn.init.xavier_normal_(w[m])
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(members, 1, b)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)  # (M, B, out)
            if i < n - 1:
                x = torch.tanh(x)
        return x


__all__ = ["ACTIVATIONS", "EnsembleMLP", "activation_class", "mlp"]
