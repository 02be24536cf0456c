"""The ``node`` method: fit a neural ODE to the trajectories, then distill its vector field to formulas.

:func:`models.node.fit_node` trains an MLP vector field with torchdiffeq by multiple shooting over short windows
(normalized states and time), which stays stable on long or chaotic data. Each component of the learned field
is then sampled at the (denoised) states of the data and distilled by symbolic regression
(:func:`discovery.methods.sr.fit_symbolic`); a few formulas per component from the Pareto fronts are combined into
candidate systems, which the pipeline refines and scores like the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from discovery.errors import DiscoveryError
from discovery.methods.base import Candidate, Method, MethodContext, register
from discovery.methods.pinn import combine, distill, make_config

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories


@register
class NODEMethod(Method):
    """Neural ODE (torchdiffeq, multiple shooting) whose vector field is distilled by symbolic regression.

    Parameters
    ----------
    n_formulas:
        Formulas kept from each component's Pareto front.
    max_candidates:
        Candidate systems returned (combinations of the components' formulas).
    n_samples:
        (state, learned vector field) pairs per component handed to symbolic regression.
    sr_backend, max_complexity, sr_time_budget_s:
        Symbolic-regression settings per component (see :func:`discovery.methods.sr.fit_symbolic`).
    prune_tolerance:
        Also offer each formula pruned while its error on the learned field stays within this fraction of the
        field's RMS (see :func:`discovery.methods.pinn.distill`); ``None`` to skip.
    model, training:
        :class:`models.node.NODEModelConfig` / :class:`models.node.NODETrainConfig` or dicts of their fields.

    Examples
    --------
    >>> from discovery.methods import get_method
    >>> method = get_method("node", training={"steps": 500})
    """

    name = "node"
    description = "neural ODE fitted with torchdiffeq, its vector field distilled to formulas by symbolic regression"
    requires = ("torch", "torchdiffeq")
    in_auto = False  # a minute or two of training: run on request

    def __init__(
        self,
        n_formulas: int = 3,
        max_candidates: int = 10,
        n_samples: int = 500,
        sr_backend: str = "auto",
        max_complexity: int = 20,
        sr_time_budget_s: float = 15.0,
        prune_tolerance: float | None = 0.1,
        model: Any = None,
        training: Any = None,
    ) -> None:
        self.prune_tolerance = prune_tolerance
        self.n_formulas = n_formulas
        self.max_candidates = max_candidates
        self.n_samples = n_samples
        self.sr_backend = sr_backend
        self.max_complexity = max_complexity
        self.sr_time_budget_s = sr_time_budget_s
        self.model = model
        self.training = training

    def propose(self, data: "Trajectories", context: MethodContext) -> list[Candidate]:
        from discovery.symbolic import to_candidate_system
        from models.node import NODEModelConfig, NODETrainConfig, fit_node

        model_cfg = make_config(NODEModelConfig, self.model, "model")
        train_cfg = make_config(NODETrainConfig, self.training, "training")
        times = [np.asarray(tr.t, dtype=float) for tr in data]
        states = [np.asarray(tr.x, dtype=float) for tr in data]
        if max(t.size for t in times) < 3:
            raise DiscoveryError("method 'node' needs a trajectory with at least 3 points; found none")

        context.report("training the neural ODE", 0.0)
        fit = fit_node(
            times, states, model_config=model_cfg, train_config=train_cfg,
            device=context.device, seed=context.seed,
            progress=lambda msg, f: context.report(msg, 0.6 * f),
        )
        # where the field was trained: the fitted (denoised) window starts, and the observations
        X = np.concatenate([fit.start_states, np.concatenate(states)])
        rng = np.random.default_rng(context.seed)
        if X.shape[0] > self.n_samples:
            X = X[rng.choice(X.shape[0], self.n_samples, replace=False)]
        F = fit.vector_field(X)  # (N, D)
        variables = list(data.variables)
        formulas = []
        for d, var in enumerate(variables):
            context.report(f"distilling d{var}/dt by symbolic regression", 0.6 + 0.35 * d / len(variables))
            found = distill(
                X, F[:, d], variables, n_formulas=self.n_formulas, backend=self.sr_backend,
                max_complexity=self.max_complexity, time_budget_s=self.sr_time_budget_s, seed=context.seed,
                loose_tolerance=self.prune_tolerance,
            )
            if not found:
                raise DiscoveryError(f"method 'node': symbolic regression found no formula for d{var}/dt")
            formulas.append([(var, e) for e in found])

        candidates = []
        last = fit.history[-1]["loss"] if fit.history else float("nan")
        for combo in combine(formulas, self.max_candidates):
            try:
                equations = to_candidate_system(dict(combo))
            except ValueError:
                continue
            info = {"node_loss": last, "train_s": round(fit.elapsed_s, 2), "t_scale": fit.t_scale}
            candidates.append(Candidate(method=self.name, equations=equations, info=info))
        context.report("done", 1.0)
        return candidates
