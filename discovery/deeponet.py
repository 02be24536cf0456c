"""DeepONet operator predictions for a discovery result.

A DeepONet (:mod:`models.deeponet`) is trained per dataset on the observed trajectories plus trajectories
simulated from the best discovered model near the observed initial conditions. It then predicts whole
trajectories for any initial condition in one forward pass, over the observed window and beyond
(``horizon`` times the observed span), shown next to the symbolic model's simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import sympy

from discovery.errors import DiscoveryError, SimulationError
from discovery.prediction import OperatorPrediction, relative_l2
from models.progress import ProgressFn

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories
    from models.deeponet import DeepONetFit


@dataclass
class DeepONetOperator:
    """A DeepONet fitted to one dataset: initial state in, trajectory out.

    Attributes
    ----------
    variables:
        State variable names, in column order.
    fit:
        The trained network and its normalization (:class:`models.deeponet.DeepONetFit`).
    horizon:
        Time span after the initial time that the operator was trained on.
    info:
        Training details (number of simulated trajectories, loss, seconds).
    """

    variables: tuple[str, ...]
    fit: "DeepONetFit"
    horizon: float
    info: dict[str, Any] = field(default_factory=dict)

    def predict(self, x0: np.ndarray, t: np.ndarray) -> np.ndarray:
        """States at times ``t`` ``(M,)`` after the initial time, from ``x0`` ``(D,)`` -> ``(M, D)`` or
        ``(B, D)`` -> ``(B, M, D)``; one forward pass. Times past :attr:`horizon` are extrapolation.

        Examples
        --------
        >>> op = fit_operator(data, equations)                             # doctest: +SKIP
        >>> op.predict(np.array([10.0, 5.0]), np.linspace(0, 20, 101)).shape  # doctest: +SKIP
        (101, 2)
        """
        x0 = np.asarray(x0, dtype=float)
        if x0.shape[-1] != len(self.variables) or x0.ndim not in (1, 2):
            raise DiscoveryError(
                f"expected an initial state of shape ({len(self.variables)},) or (B, {len(self.variables)}) for "
                f"variables {list(self.variables)}, found shape {x0.shape}"
            )
        out = self.fit.predict(x0.reshape(-1, len(self.variables)), np.asarray(t, dtype=float))
        return out[0] if x0.ndim == 1 else out


def _initial_conditions(data: "Trajectories", n: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` initial states ``(n, D)`` near the observed ones, inside the observed state range.

    Half are the observed initial states plus Gaussian perturbations (``spread`` times each variable's standard
    deviation), half are uniform in the box spanned by the observed initial states (widened by the same amount).
    """
    ics = np.stack([np.asarray(tr.x[0], dtype=float) for tr in data])  # (T, D)
    allx = np.concatenate([np.asarray(tr.x, dtype=float) for tr in data])
    scale = spread * allx.std(axis=0)  # (D,)
    lo, hi = allx.min(axis=0), allx.max(axis=0)
    n_near = n // 2
    near = ics[rng.integers(0, len(ics), n_near)] + scale * rng.standard_normal((n_near, ics.shape[1]))
    box = rng.uniform(ics.min(axis=0) - scale, ics.max(axis=0) + scale, size=(n - n_near, ics.shape[1]))
    return np.clip(np.concatenate([near, box]), lo, hi)


def fit_operator(
    data: "Trajectories",
    equations: Mapping[str, sympy.Expr],
    *,
    horizon: float = 1.5,
    n_simulated: int = 256,
    n_times: int = 128,
    spread: float = 0.2,
    model: Any = None,
    training: Any = None,
    device: str = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> DeepONetOperator:
    """Train a DeepONet on ``data`` plus trajectories simulated from ``equations``.

    Parameters
    ----------
    data:
        Observed trajectories.
    equations:
        The discovered model, variable name -> sympy right-hand side.
    horizon:
        Span of the operator as a multiple of the longest observed trajectory's span.
    n_simulated:
        Trajectories simulated from ``equations`` at initial states near the observed ones.
    n_times:
        Time points per simulated trajectory (uniform over the horizon).
    spread:
        Size of the initial-state perturbations, in standard deviations of each variable.
    model, training:
        :class:`models.deeponet.DeepONetModelConfig` / :class:`models.deeponet.DeepONetTrainConfig` or dicts.
    device, seed, progress:
        Torch device (``"auto"`` = CUDA when present), seed, ``progress(message, fraction)`` callback.

    Returns
    -------
    DeepONetOperator
    """
    from discovery.options import config_from
    from discovery.simulation import integrate, lambdify_system
    from models.deeponet import DeepONetModelConfig, DeepONetTrainConfig, fit_deeponet

    if not horizon >= 1.0:
        raise DiscoveryError(f"horizon must be >= 1 (a multiple of the observed span), found {horizon!r}")
    variables = tuple(data.variables)
    spans = [float(tr.t[-1] - tr.t[0]) for tr in data]
    horizon_t = horizon * max(spans)
    rng = np.random.default_rng(seed)
    f = lambdify_system({v: sympy.sympify(equations[v]) for v in variables}, variables)
    grid = np.linspace(0.0, horizon_t, n_times)
    x0s, times, states = [], [], []
    for tr in data:  # the observations themselves
        x0s.append(np.asarray(tr.x[0], dtype=float))
        times.append(np.asarray(tr.t, dtype=float) - float(tr.t[0]))
        states.append(np.asarray(tr.x, dtype=float))
    failed = 0
    candidates = _initial_conditions(data, n_simulated, spread, rng)
    for j, x0 in enumerate(candidates):
        if progress is not None and j % 32 == 0:
            progress(f"simulating the discovered model {j}/{n_simulated}", 0.2 * j / max(n_simulated, 1))
        try:
            x = integrate(f, x0, grid, time_limit=2.0)
        except SimulationError:
            failed += 1
            continue
        x0s.append(x0)
        times.append(grid)
        states.append(x)
    fit = fit_deeponet(
        np.stack(x0s), times, states, horizon=horizon_t,
        model_config=config_from(DeepONetModelConfig, model, "deeponet.model"),
        train_config=config_from(DeepONetTrainConfig, training, "deeponet.training"),
        device=device, seed=seed,
        progress=None if progress is None else (lambda msg, fr: progress(msg, 0.2 + 0.8 * fr)),
    )
    info = {
        "n_simulated": len(x0s) - len(data),
        "n_failed_simulations": failed,
        "horizon": horizon_t,
        "train_loss": fit.history[-1]["loss"] if fit.history else None,
        "train_s": round(fit.elapsed_s, 2),
    }
    return DeepONetOperator(variables, fit, horizon_t, info)


def predict_with_deeponet(
    data: "Trajectories",
    equations: Mapping[str, sympy.Expr],
    *,
    horizon: float = 1.5,
    device: str = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
    n_points: int = 200,
    **options: Any,
) -> list[OperatorPrediction]:
    """DeepONet predictions of every observed trajectory, over its window and ``horizon`` times its span.

    Parameters
    ----------
    data:
        Observed trajectories.
    equations:
        The best discovered model (variable name -> sympy expression), used to simulate training data.
    horizon:
        Prediction window as a multiple of the longest observed span (the operator is trained that far).
    device, seed, progress:
        Torch device (``"auto"`` = CUDA when present), seed, ``progress(message, fraction)`` callback.
    n_points:
        Points of each predicted trajectory.
    **options:
        Passed to :func:`fit_operator` (``n_simulated``, ``spread``, ``model``, ``training``, ...).

    Returns
    -------
    list[OperatorPrediction]
        One per observed trajectory, ``model="deeponet"``, with ``rel_l2`` against the observations.

    Examples
    --------
    >>> from discovery import simulate
    >>> from grammar.zoo import get_system
    >>> data = simulate("lotka_volterra", x0=[[10, 5], [12, 4]], t=np.linspace(0, 10, 40))
    >>> preds = predict_with_deeponet(data, get_system("lotka_volterra").rhs(), training={"steps": 50},
    ...                               n_simulated=16, device="cpu")
    >>> [p.model for p in preds]
    ['deeponet', 'deeponet']
    """
    op = fit_operator(data, equations, horizon=horizon, device=device, seed=seed, progress=progress, **options)
    out = []
    for i, tr in enumerate(data):
        t_obs = np.asarray(tr.t, dtype=float)
        x0 = np.asarray(tr.x[0], dtype=float)
        rel = np.linspace(0.0, op.horizon, n_points)
        x_pred = op.predict(x0, rel)  # (M, D)
        x_obs_pred = op.predict(x0, t_obs - t_obs[0])  # (N, D)
        out.append(
            OperatorPrediction(
                model="deeponet",
                variables=op.variables,
                t=t_obs[0] + rel,
                x=x_pred,
                trajectory=i,
                rel_l2=relative_l2(x_obs_pred, tr.x),
                info=dict(op.info),
            )
        )
    return out
