"""The ``pinn`` method: complete a partly known model with hidden terms learned by a PINN, then distilled.

The user gives what is known and names what is not (``known={"x": "0.5*x - h1(x, y)", ...}``, see
:mod:`discovery.known`). :func:`models.pinn.fit_pinn` trains a surrogate of the trajectories together with one
network per hidden term; each learned ``h_k`` is sampled over the states the surrogate visits and distilled to
formulas by symbolic regression (:class:`discovery.methods.distill.DistilledMethod`); a few formulas from each
``h_k``'s Pareto front are substituted back into the known model. The pipeline then refines and scores the
candidates like any others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.base import MethodContext, register
from discovery.methods.distill import DistilledMethod, DistilledOptions, Target, subsample, trajectory_arrays
from models.progress import ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories
    from discovery.known import KnownModel
    from models.pinn import PINNFit


@dataclass(frozen=True)
class PINNOptions(DistilledOptions):
    """Options of the ``pinn`` method: those of :class:`~discovery.methods.distill.DistilledOptions` (each learned
    function is a hidden term) and

    Attributes
    ----------
    known:
        The partly known model (see :func:`discovery.known.parse_known`); default ``context.options["known"]``.
    model, training:
        :class:`models.pinn.PINNModelConfig` / :class:`models.pinn.PINNTrainConfig` or dicts of their fields.
    """

    owner = "pinn"
    model_config = "models.pinn:PINNModelConfig"
    train_config = "models.pinn:PINNTrainConfig"

    known: Any = None

    def validate(self) -> None:
        super().validate()
        if self.known:
            from discovery.known import formula_entries, parse_known

            entries = dict(formula_entries(self.known, "pinn.known"))
            parse_known(entries, list(entries))  # every formula, its names and its hidden terms, now


class _Trained(NamedTuple):
    known: "KnownModel"
    fit: "PINNFit"
    times: list[np.ndarray]


@register
class PINNMethod(DistilledMethod):
    """PINN with hidden-term networks for a partly known model; hidden terms distilled by symbolic regression.

    Options are the fields of :class:`PINNOptions`.

    Examples
    --------
    >>> from discovery.methods import get_method
    >>> method = get_method("pinn", known={"x": "x - h1(x, y)", "y": "-1.5*y + h2(x, y)"})
    """

    name = "pinn"
    description = "PINN with hidden-term networks for a partly known model, hidden terms distilled to formulas"
    requires = ("torch",)
    Options = PINNOptions
    network = "the PINN"
    train_share = 0.7
    distill_share = 0.25

    def train(self, data: "Trajectories", context: MethodContext, progress: ProgressFn) -> _Trained:
        from discovery.known import parse_known
        from models.pinn import fit_pinn

        known = parse_known(self.options.known if self.options.known else context.options.get("known"),
                            data.variables)
        times, states = trajectory_arrays(data)
        short = [i for i, t in enumerate(times) if t.size < 4]
        if short:
            raise DiscoveryError(
                f"method 'pinn' needs at least 4 points per trajectory; trajectory {short[0]} has fewer"
            )
        scales = [_typical_rate(times, states, [data.variables.index(v) for v in known.users(h)]) for h in known.hidden]
        fit = fit_pinn(
            times, states, known.torch_rhs(), known.hidden_indices(),
            hidden_scales=scales, model_config=self.options.config("model"),
            train_config=self.options.config("training"), device=context.device, seed=context.seed,
            progress=progress,
        )
        return _Trained(known, fit, times)

    def targets(self, trained: _Trained, data: "Trajectories", rng: np.random.Generator) -> list[Target]:
        # states the surrogate visits: a dense grid over each trajectory's window
        fit, index = trained.fit, trained.known.hidden_indices()
        visited = np.concatenate([fit.states(i, np.linspace(t[0], t[-1], 200)) for i, t in enumerate(trained.times)])
        out = []
        for k, (name, args) in enumerate(trained.known.hidden.items()):
            X = subsample(visited[:, list(index[k])], self.options.n_samples, rng)
            out.append(Target(name, f"{name}({', '.join(args)})", X, fit.hidden(k, X), tuple(args)))
        return out

    def system(self, formulas: dict[str, sympy.Expr], trained: _Trained) -> tuple[dict[str, sympy.Expr], dict]:
        from discovery.symbolic import to_candidate_system

        equations = to_candidate_system(trained.known.substitute(formulas))
        last = trained.fit.history[-1] if trained.fit.history else {}
        info = {
            "hidden": {h: str(e) for h, e in formulas.items()},
            "known": {v: str(e) for v, e in trained.known.equations.items()},
            "pinn_loss": {k: v for k, v in last.items() if k != "step"},
            "train_s": round(trained.fit.elapsed_s, 2),
        }
        return equations, info


def _typical_rate(times: list[np.ndarray], states: list[np.ndarray], columns: list[int]) -> float:
    """Root-mean-square finite-difference rate of the given columns (the size of a hidden term they use)."""
    if not columns:
        columns = list(range(states[0].shape[1]))
    rates = np.concatenate([np.diff(x[:, columns], axis=0) / np.diff(t)[:, None] for t, x in zip(times, states)])
    value = float(np.sqrt(np.mean(rates**2)))
    return value if math.isfinite(value) and value > 0 else 1.0
