"""Neural-operator forecasts of a field beyond its observed window: a Fourier neural operator trained per dataset.

:func:`forecast_field` trains the FNO stepper of :mod:`models.fno` (the ``neuraloperator`` library's ``FNO``)
on the observed field, one time step at a time, and rolls it out past the last observed frame:

1. **Training data**: the (denoised) observed field, plus ``n_simulated`` fields simulated from the discovered
   PDE over the observed times, each from the first observed frame plus a smooth random perturbation of
   ``spread`` times each field's standard deviation (zero on the boundary of a non-periodic axis, whose boundary
   values follow the observed ones). The simulated fields show the operator states near the observed ones that
   the single observed run does not visit.
2. **Backtest**: with ``holdout > 0`` the operator is first trained on the window without its last ``holdout``
   part (the simulated fields cut at the same time), then forecasts that part from the frames before it. Its
   relative L2 error against the observed field is :attr:`FieldForecast.rel_l2`, the error of repeating the
   last frame (persistence) is reported beside it (``info["persistence_rel_l2"]``).
3. **Forecast**: training continues on the whole window (``finetune`` times the training steps; afresh when
   nothing was held out), and the operator forecasts ``horizon`` times the observed span past the last frame.

Examples
--------
>>> from discovery.fields import simulate_zoo
>>> heat = simulate_zoo("heat", grid=(48, 32))
>>> fc = forecast_field(heat, options={"training": {"steps": 30}, "n_simulated": 0}, device="cpu")
>>> fc.model, fc.array.shape, fc.rel_l2 is not None
('fno', (1, 12, 32), True)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np
import sympy

from discovery.errors import DiscoveryError, SimulationError
from discovery.fields.field import Field
from discovery.fields.result import FieldForecast
from discovery.options import Options, build_options, config_from, option
from models.progress import ProgressFn

OPERATORS = ("fno",)
"""Neural operators that forecast a field (``discover_field(..., operators=...)``)."""


@dataclass(frozen=True)
class FNOOptions(Options):
    """Options of the FNO forecast (``discover_field(..., fno={...})``).

    Attributes
    ----------
    holdout:
        Fraction of the observed window held out for the backtest (``0``: no backtest, ``rel_l2`` is ``None``).
    horizon:
        Length of the forecast past the observed window, as a fraction of the observed span (at least 2 steps).
    n_simulated:
        Fields simulated from the discovered PDE near the observed initial field, added to the training data.
    spread:
        Size of their initial perturbations, in standard deviations of each field.
    finetune:
        Training steps on the whole window after the backtest, as a fraction of ``training.steps``.
    model, training:
        :class:`models.fno.FNOModelConfig` / :class:`models.fno.FNOTrainConfig` or dicts of their fields.
    """

    owner = "fno"

    holdout: float = option(0.25, low=0.0, high=0.5)
    horizon: float = option(0.25, low=0.0, high=4.0, low_open=True)
    n_simulated: int = option(4, low=0, high=256)
    spread: float = option(0.1, low=0.0, high=1.0)
    finetune: float = option(0.3, low=0.0, high=2.0)
    model: Any = None
    training: Any = None

    def validate(self) -> None:
        from models.fno import FNOModelConfig, FNOTrainConfig

        object.__setattr__(self, "model", config_from(FNOModelConfig, self.model, "fno.model"))
        object.__setattr__(self, "training", config_from(FNOTrainConfig, self.training, "fno.training"))


def fno_options(value: Any) -> FNOOptions:
    """:class:`FNOOptions` from ``None``, an instance or a mapping of its fields (checked, one-line errors)."""
    if isinstance(value, FNOOptions):
        return value
    return build_options(FNOOptions, value, owner="fno")


def check_operators(operators: Any) -> tuple[str, ...]:
    """``None``, ``"fno"``, ``"fno,..."`` or a sequence of names as a tuple of known operator names."""
    if operators is None:
        return ()
    names = [s.strip() for s in operators.split(",")] if isinstance(operators, str) else list(operators)
    names = [n for n in names if n]
    bad = [n for n in names if n not in OPERATORS]
    if bad or not all(isinstance(n, str) for n in names):
        raise DiscoveryError(f"unknown field operator(s) {bad or names}; valid: {', '.join(OPERATORS)} (or None)")
    return tuple(dict.fromkeys(names))


def _perturbation(field: Field, rng: np.random.Generator, modes: int = 4) -> np.ndarray:
    """A smooth random field ``(*N,)`` of unit peak: a few sine modes along non-periodic axes (zero at both ends),
    Fourier modes with random phases along periodic ones, multiplied over the axes."""
    out = np.ones(field.shape[1:])
    for a, axis in enumerate(field.axes):
        n = field.shape[1 + a]
        s = np.arange(n) / (n if field.periodic[axis] else n - 1)
        k = np.arange(1, modes + 1)[:, None]
        amps = rng.standard_normal((modes, 1)) / k
        if field.periodic[axis]:
            series = np.sum(amps * np.cos(2 * np.pi * k * s + rng.uniform(0, 2 * np.pi, (modes, 1))), axis=0)
            series = series + rng.standard_normal() * 0.5  # the mean may move too
        else:
            series = np.sum(amps * np.sin(np.pi * k * s), axis=0)
        shape = [1] * len(field.axes)
        shape[a] = n
        out = out * series.reshape(shape)
    return out / max(float(np.abs(out).max()), 1e-12)


def simulate_near(field: Field, equations: Mapping[str, sympy.Expr], n: int, spread: float, seed: int,
                  time_limit: float = 30.0) -> list[np.ndarray]:
    """Up to ``n`` fields ``(F, Nt, *N)`` simulated from ``equations`` over ``field``'s times, each from its first
    frame plus a perturbation (:func:`_perturbation`, ``spread`` times each field's standard deviation).

    Non-periodic axes keep the observed boundary values over time (Dirichlet data, as in the re-simulations of
    :mod:`discovery.fields.resimulate`). Runs that fail (blow up, time out) are left out.
    """
    from discovery.fields.solvers import solve

    rng = np.random.default_rng(seed)
    ref = field.stack()  # (F, Nt, *N)
    boundary = ["periodic" if field.periodic[a] else "dirichlet" for a in field.axes]
    spacings = [field.spacing(a) for a in field.axes]
    scale = np.array([float(v.std()) for v in ref])
    out = []
    for _ in range(n):
        u0 = ref[:, 0] + np.stack([spread * s * _perturbation(field, rng) for s in scale])
        try:
            sim = solve(equations, field.names, field.axes, u0, spacings, field.t, boundary,
                        boundary_data=None if all(field.periodic.values()) else ref, rtol=1e-5,
                        time_limit=time_limit)
        except (SimulationError, DiscoveryError):
            continue
        out.append(sim)
    return out


def _rel_l2(pred: np.ndarray, true: np.ndarray) -> float:
    return float(np.linalg.norm(pred - true) / max(float(np.linalg.norm(true)), 1e-300))


def forecast_field(
    observed: Field,
    reference: Field | None = None,
    equations: Mapping[str, sympy.Expr] | None = None,
    *,
    options: FNOOptions | Mapping[str, Any] | None = None,
    device: str = "auto",
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> FieldForecast:
    """Train an FNO on ``observed`` (and on fields simulated from ``equations``) and forecast past its window.

    Parameters
    ----------
    observed:
        The measured field; the backtest error is measured against it.
    reference:
        The field the operator is trained on and started from (the denoised ``observed``; default ``observed``).
    equations:
        The discovered PDE (field -> right-hand side in derivative symbols) that simulates extra training fields;
        ``None`` trains on the observed field alone.
    options:
        :class:`FNOOptions` or a mapping of its fields.
    device, seed, progress:
        Torch device (``"auto"`` = CUDA when present), seed, ``progress(message, fraction)`` callback.

    Returns
    -------
    FieldForecast
    """
    from models.fno import fit_fno

    o = fno_options(options)
    reference = reference if reference is not None else observed
    report = progress or (lambda message, fraction: None)
    ref, obs = reference.stack(), observed.stack()  # (F, Nt, *N)
    nt = ref.shape[1]
    hist = o.model.history
    n_hold = round(o.holdout * (nt - 1))
    n_ahead = max(2, round(o.horizon * (nt - 1)))
    if n_hold and nt - n_hold < hist + o.training.unroll + 1:
        raise DiscoveryError(f"fno: {nt} frames leave too few to train on before the held-out {n_hold}; "
                             "use a longer record or fno={'holdout': 0}")
    flags = [reference.periodic[a] for a in reference.axes]
    simulated: list[np.ndarray] = []
    if equations is not None and o.n_simulated:
        report(f"fno: simulating {o.n_simulated} fields from the discovered PDE", 0.0)
        simulated = simulate_near(reference, equations, o.n_simulated, o.spread, seed)
    common = {"periodic": flags, "model_config": o.model, "device": device, "seed": seed}
    info: dict[str, Any] = {"n_simulated": len(simulated), "holdout": o.holdout, "history": hist}
    rel = backtest = None
    fit = None
    if n_hold:
        cut = nt - n_hold
        fit = fit_fno([ref[:, :cut]] + [s[:, :cut] for s in simulated], train_config=o.training, **common,
                      progress=lambda m, f: report(f"{m} (backtest)", 0.15 + 0.5 * f))
        pred = fit.rollout(ref[:, :cut], n_hold)
        truth = obs[:, cut:]
        info["persistence_rel_l2"] = _rel_l2(np.repeat(ref[:, cut - 1:cut], n_hold, axis=1), truth)
        if np.all(np.isfinite(pred)):
            rel = _rel_l2(pred, truth)
            backtest = reference.time_slice(cut, nt).replace(values=dict(zip(reference.names, pred)), source=None)
        else:  # the rollout blew up: an infinite error, no backtest field
            rel = float("inf")
    steps = o.training.steps if fit is None else round(o.finetune * o.training.steps)
    if fit is None or steps > 0:
        fit = fit_fno([ref] + simulated, train_config=replace(o.training, steps=max(steps, 1)), init=fit,
                      **common, progress=lambda m, f: report(m, 0.65 + 0.3 * f))
    report("fno: forecasting", 0.97)
    ahead = fit.rollout(ref, n_ahead)
    if not np.all(np.isfinite(ahead)):
        raise DiscoveryError("fno: the forecast blew up (non-finite values); try a shorter horizon or more "
                             "training steps")
    dt = reference.dt
    times = reference.t[-1] + dt * np.arange(1, n_ahead + 1)
    forecast = Field(times, dict(reference.coords), dict(zip(reference.names, ahead)),
                     periodic=dict(reference.periodic), source=None)
    last = fit.history[-1] if fit.history else {}
    info.update(train_loss=last.get("loss"), train_s=round(fit.elapsed_s, 2), steps_ahead=n_ahead)
    report("fno: done", 1.0)
    return FieldForecast("fno", forecast, rel_l2=rel, backtest=backtest, info=info)


__all__ = ["OPERATORS", "FNOOptions", "check_operators", "fno_options", "forecast_field", "simulate_near"]
