"""The ``node`` method: fit a neural ODE to the trajectories, then distill its vector field to formulas.

:func:`models.node.fit_node` trains an MLP vector field with torchdiffeq by multiple shooting over short windows
(normalized states and time), which stays stable on long or chaotic data. Each component of the learned field
is then sampled at the (denoised) states of the data and distilled by symbolic regression
(:class:`discovery.methods.distill.DistilledMethod`); a few formulas per component from the Pareto fronts are
combined into candidate systems, which the pipeline refines and scores like the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.base import MethodContext, register
from discovery.methods.distill import DistilledMethod, DistilledOptions, Target, subsample, trajectory_arrays
from discovery.options import option
from models.progress import ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories
    from models.node import NODEFit


@dataclass(frozen=True)
class NODEOptions(DistilledOptions):
    """Options of the ``node`` method: those of :class:`~discovery.methods.distill.DistilledOptions` (each learned
    function is a component of the vector field), with larger searches by default, and

    Attributes
    ----------
    model, training:
        :class:`models.node.NODEModelConfig` / :class:`models.node.NODETrainConfig` or dicts of their fields.
    """

    owner = "node"
    model_config = "models.node:NODEModelConfig"
    train_config = "models.node:NODETrainConfig"

    max_candidates: int = option(10, low=1)
    n_samples: int = option(500, low=3)
    max_complexity: int = option(20, low=3, high=200)
    sr_time_budget_s: float = option(15.0, low=0.0, low_open=True)
    prune_tolerance: float | None = option(0.1, low=0.0)


class _Trained(NamedTuple):
    fit: "NODEFit"
    states: list[np.ndarray]


@register
class NODEMethod(DistilledMethod):
    """Neural ODE (torchdiffeq, multiple shooting) whose vector field is distilled by symbolic regression.

    Options are the fields of :class:`NODEOptions`.

    Examples
    --------
    >>> from discovery.methods import get_method
    >>> method = get_method("node", training={"steps": 500})
    """

    name = "node"
    description = "neural ODE fitted with torchdiffeq, its vector field distilled to formulas by symbolic regression"
    requires = ("torch", "torchdiffeq")
    in_auto = False  # a minute or two of training: run on request
    Options = NODEOptions
    network = "the neural ODE"
    train_share = 0.6
    distill_share = 0.35

    def train(self, data: "Trajectories", context: MethodContext, progress: ProgressFn) -> _Trained:
        from models.node import fit_node

        times, states = trajectory_arrays(data)
        if max(t.size for t in times) < 3:
            raise DiscoveryError("method 'node' needs a trajectory with at least 3 points; found none")
        fit = fit_node(
            times, states, model_config=self.options.config("model"), train_config=self.options.config("training"),
            device=context.device, seed=context.seed, progress=progress,
        )
        return _Trained(fit, states)

    def targets(self, trained: _Trained, data: "Trajectories", rng: np.random.Generator) -> list[Target]:
        # where the field was trained: the fitted (denoised) window starts, and the observations
        X = subsample(np.concatenate([trained.fit.start_states, np.concatenate(trained.states)]),
                      self.options.n_samples, rng)
        F = trained.fit.vector_field(X)  # (N, D)
        variables = tuple(data.variables)
        return [Target(v, f"d{v}/dt", X, F[:, d], variables) for d, v in enumerate(variables)]

    def system(self, formulas: dict[str, sympy.Expr], trained: _Trained) -> tuple[dict[str, sympy.Expr], dict]:
        from discovery.symbolic import to_candidate_system

        fit = trained.fit
        info = {"node_loss": fit.history[-1]["loss"] if fit.history else float("nan"),
                "train_s": round(fit.elapsed_s, 2), "t_scale": fit.t_scale}
        return to_candidate_system(formulas), info
