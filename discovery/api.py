"""``discover``: trajectories in, ranked and re-simulated equations out."""

from __future__ import annotations

import math
import time
from typing import Any, Iterable, Sequence

import numpy as np
import sympy

from discovery.data import Trajectories, load_trajectories
from discovery.errors import DiscoveryError
from discovery.methods import REGISTRY, Candidate, MethodContext, get_method
from discovery.methods.base import ProgressFn
from discovery.pipeline.refine import POLISH, RefineConfig, polish_candidate, refine_candidate
from discovery.result import DiscoveryResult
from discovery.pipeline.scoring import (
    ScoringConfig,
    error_limits,
    noise_floor,
    pareto_front,
    rank,
    score_candidate,
    select_best,
    selection_error,
    trajectory_error,
)

OPERATOR_MODELS = ("deeponet",)
"""Operator models that run after selection, on the best equations (PROSE's runs as part of its method)."""


def auto_methods(data: Trajectories, *, known: Any = None) -> list[str]:
    """The methods ``method="auto"`` runs on ``data``: every available method that suits it.

    ``pinn`` joins only when a partly known model is given.
    """
    names = []
    for name, cls in REGISTRY.items():
        if name == "pinn":
            if known and cls.availability()[0]:
                names.append(name)
            continue
        if not cls.in_auto or not cls.availability()[0]:
            continue
        try:
            if cls().suits(data):
                names.append(name)
        except DiscoveryError:
            continue
    return names


def _resolve_methods(method: str | Sequence[str], data: Trajectories, known: Any) -> tuple[list[str], bool]:
    if isinstance(method, str):
        if method == "auto":
            return auto_methods(data, known=known), True
        names = [m.strip() for m in method.split(",") if m.strip()]
    else:
        names = list(method)
    if not names:
        raise DiscoveryError("no method given; valid methods: " + ", ".join(sorted(REGISTRY)) + ", or 'auto'")
    for name in names:
        if name == "auto":
            raise DiscoveryError("'auto' cannot be combined with other methods")
    return names, False


def _key(c: Candidate, variables: Iterable[str]) -> str:
    return "|".join(sympy.sstr(c.equations[v]) for v in variables)


def _unique(candidates: Iterable[Candidate], variables: Sequence[str]) -> list[Candidate]:
    """One candidate per distinct system (the first one), in order."""
    seen: dict[str, Candidate] = {}
    for c in candidates:
        seen.setdefault(_key(c, variables), c)
    return list(seen.values())


def _most_promising(candidates: Sequence[Candidate], n: int) -> list[Candidate]:
    """The ``n`` scored candidates to spend refinement on: stable first, then by selection error and size."""
    order = sorted(candidates, key=lambda c: (not c.metrics.get("stable"), selection_error(c), c.complexity))
    return [c for c in order if math.isfinite(selection_error(c))][:n]


POOR_FIT_R2 = 0.9
"""Below this short-window R^2 the selected model gets a warning: it does not reproduce the local flow."""


def _fit_warnings(best: Candidate, names: Sequence[str]) -> list[str]:
    """What a user should know about the selected model's fit: it does not reproduce the data, or it blows up."""
    out = []
    r2w = best.metrics.get("r2_window")
    if r2w is None or r2w < POOR_FIT_R2:
        shown = "not computable" if r2w is None else f"{r2w:.3f}"
        more = "" if "sr" in names else "try method='sr' for free-form terms, "
        out.append(f"the selected model fits the data poorly (R^2 on short windows {shown}, below {POOR_FIT_R2}): "
                   f"the dynamics may need terms outside the search space ({more}or a partly known model with "
                   "method='pinn'), or the data may be too noisy or too coarsely sampled")
    if not best.metrics.get("stable", True):
        reason = best.metrics.get("failure") or "its simulation did not finish"
        out.append(f"the selected model cannot be simulated over the whole observed window ({reason}); no stable "
                   "candidate was found")
    return out


MIN_POLISH_FLOOR = 1e-6
"""Noise floors below this (noise under about 0.1% of the spread) leave nothing for polishing to remove."""
MAX_POLISHED = 4
"""Most candidates polished per run: the selected one and the simplest rivals within the window-error limit."""


def _polish_finalists(
    candidates: list[Candidate],
    data: Trajectories,
    smoothed: list[np.ndarray],
    scoring: ScoringConfig,
    floor: float,
) -> Candidate:
    """Polish the selected model and its simpler rivals, then select again.

    On noisy data the window-refined constants are biased, and that bias can decide the whole-trajectory test
    (``E``) against a simpler, correct model. So the selected candidate and up to ``MAX_POLISHED - 1`` simpler ones
    that pass the window-error limit are polished (:func:`discovery.pipeline.refine.polish_candidate`); a polished model
    replaces its original when it stays stable, its window error stays within the rule's tolerance of the
    original's and (when the data can be followed over the whole window) its trajectory error too. Then the rule
    is applied again.
    """
    best = select_best(candidates, scoring, floor)
    _, e_limit, _ = error_limits(candidates, scoring, floor)
    rivals = sorted(
        (c for c in candidates
         if c.selection_complexity < best.selection_complexity and selection_error(c) <= e_limit),
        key=lambda c: (c.selection_complexity, selection_error(c)),
    )
    seen: set[str] = set()
    for c in [best, *rivals]:
        key = _key(c, data.variables)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > MAX_POLISHED:
            break
        polished = polish_candidate(c, data, smoothed, POLISH)
        if polished is c:
            continue
        score_candidate(polished, data, smoothed, scoring)
        _, e_own, E_own = error_limits([c], scoring, floor)  # the rule's limits with ``c`` as the best
        ok = bool(polished.metrics.get("stable")) and selection_error(polished) <= e_own
        if ok and E_own is not None:
            ok = trajectory_error(polished) <= E_own
        if ok:
            candidates[candidates.index(c)] = polished
        else:
            c.info.setdefault("polished", False)
    return select_best(candidates, scoring, floor)


def _add_pruned_variants(
    candidates: list[Candidate],
    data: Trajectories,
    smoothed: list,
    tolerances: Sequence[float],
    max_variants: int,
    refine: bool,
    refinement: RefineConfig,
    scoring: ScoringConfig,
) -> None:
    """Append pruned variants of the best candidates (terms negligible over the data removed), scored."""
    import numpy as np

    from discovery.symbolic import prune_small_terms

    states = {v: np.concatenate([x[:, i] for x in smoothed]) for i, v in enumerate(data.variables)}
    seen = {_key(c, data.variables) for c in candidates}
    for c in _most_promising(candidates, max_variants):
        for tol in tolerances:
            eqs = {v: prune_small_terms(e, rel_tol=tol, data=states) for v, e in c.equations.items()}
            variant = Candidate(c.method, eqs, info={**c.info, "pruned_below": tol})
            key = _key(variant, data.variables)
            if key in seen or any(e == 0 for e in eqs.values()):
                continue
            seen.add(key)
            if refine:
                variant = refine_candidate(variant, data, smoothed, refinement)
            candidates.append(score_candidate(variant, data, smoothed, scoring))


def discover(
    data: Any,
    method: str | Sequence[str] = "auto",
    *,
    variables: Sequence[str] | None = None,
    derivative: str = "auto",
    known: dict[str, str] | Sequence[str] | None = None,
    guess: dict[str, str] | None = None,
    refine: bool = True,
    max_refine: int = 6,
    polish: bool = True,
    prune_tolerances: Sequence[float] = (0.01, 0.05),
    operators: Sequence[str] = (),
    scoring: ScoringConfig = ScoringConfig(),
    refinement: RefineConfig = RefineConfig(),
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
    **method_options: dict[str, Any],
) -> DiscoveryResult:
    """Discover the differential equations behind ``data``.

    Parameters
    ----------
    data:
        A path (CSV, Parquet, NPZ), a pandas DataFrame, arrays ``(t, x)``, or :class:`~discovery.data.Trajectories`.
    method:
        ``"auto"`` (every method that suits the data, ranked together), one registered name (``"sindy"``,
        ``"sr"``, ``"prose"``, ``"pinn"``, ``"node"``), or several (a list or ``"sindy,sr"``).
    variables:
        State columns to use when ``data`` is a file or frame (default: every column except time).
    derivative:
        Derivative estimator for the methods that regress on derivatives (see :mod:`discovery.derivatives`).
    known:
        Partly known model for ``pinn``, e.g. ``{"x": "0.5*x - h1(x, y)", "y": "-0.3*y + h2(x, y)"}``.
    guess:
        Optional guessed equations for ``prose``, e.g. ``{"x": "10*(y - x)", ...}``.
    refine:
        Fit each of the ``max_refine`` most promising candidates' constants to the trajectories.
    polish:
        Fit the selected model and its simpler rivals once more by full multiple shooting (constants and window
        start states together, :func:`discovery.pipeline.refine.polish_candidate`), which removes the bias smoothing leaves
        in noisy data, then select again (see ``_polish_finalists``). Skipped on data without measurable noise.
    prune_tolerances:
        For each of the ``max_refine`` best candidates, also try variants without the terms whose RMS over the
        data is below each of these fractions of their equation's largest term (refined and scored like the
        rest; the selection rule keeps them only if they are about as good). ``()`` turns this off.
    operators:
        Neural operators to fit after selection, e.g. ``("deeponet",)``; predictions land in
        ``result.operator_predictions`` (PROSE's prediction is added whenever ``prose`` runs).
    scoring, refinement:
        Settings of scoring/selection and of the constant refinement.
    seed, device:
        Seed of every random choice; torch device for the neural methods (``"auto"`` = CUDA when present).
    progress:
        Callback ``progress(message, fraction)``.
    **method_options:
        Options per method, keyed by method name, e.g. ``sindy={"ensemble": True}``, ``sr={"backend": "pyoperon"}``.

    Returns
    -------
    DiscoveryResult

    Raises
    ------
    DataError
        If ``data`` breaks the data contract.
    DiscoveryError
        For an unknown method or option, or when no method produced a usable candidate.

    Examples
    --------
    >>> from discovery import discover, simulate
    >>> data = simulate("lotka_volterra", noise=0.01, seed=0)
    >>> result = discover(data, method="sindy")
    >>> sorted(result.equations)
    ['x', 'y']
    >>> result.metrics["r2"] > 0.9
    True
    """
    started = time.monotonic()
    if not isinstance(data, Trajectories):
        data = load_trajectories(data, variables=variables)
    names, is_auto = _resolve_methods(method, data, known)
    unknown_opts = sorted(set(method_options) - set(REGISTRY))
    if unknown_opts:
        raise DiscoveryError(
            f"unknown option(s) {', '.join(unknown_opts)}; per-method options are keyed by a method name: "
            + ", ".join(sorted(REGISTRY))
        )
    for name in operators:
        if name not in OPERATOR_MODELS:
            raise DiscoveryError(f"unknown operator model {name!r}; valid: {', '.join(OPERATOR_MODELS)}")
    if not is_auto:
        for name in names:
            get_method(name, **method_options.get(name, {}))  # validate names and options before any work
    context = MethodContext(
        derivative_method=derivative,
        seed=seed,
        device=device,
        progress=None,
        options={"known": known, "guess": guess},
    )

    def report(message: str, fraction: float) -> None:
        if progress is not None:
            progress(message, float(min(max(fraction, 0.0), 1.0)))

    warnings: list[str] = []
    candidates: list[Candidate] = []
    n = len(names)
    for i, name in enumerate(names):
        lo, hi = 0.6 * i / n, 0.6 * (i + 1) / n
        report(f"{name}: proposing candidates", lo)
        context.progress = (lambda msg, f, lo=lo, hi=hi, name=name: report(
            msg if msg.startswith(f"{name}:") else f"{name}: {msg}", lo + (hi - lo) * f))
        try:
            proposed = get_method(name, **method_options.get(name, {})).propose(data, context)
        except DiscoveryError as exc:
            if not is_auto and n == 1:
                raise
            text = str(exc)
            warnings.append(text if text.startswith(f"{name}") else f"{name}: {text}")
            continue
        except Exception as exc:  # noqa: BLE001 -- one method failing must not sink an 'auto' run
            if not is_auto and n == 1:
                raise
            first = (str(exc).splitlines() or [""])[0]
            warnings.append(f"{name} failed: {type(exc).__name__}: {first}")
            continue
        if not proposed:
            warnings.append(f"{name}: proposed no candidate equations")
        for c in proposed:
            missing = [v for v in data.variables if v not in c.equations]
            if missing:
                warnings.append(f"{name}: dropped a candidate without equations for {', '.join(missing)}")
                continue
            candidates.append(c)
    context.progress = None
    if not candidates:
        detail = ("; ".join(warnings)) if warnings else "the methods returned no candidates"
        raise DiscoveryError(f"no usable candidate equations ({detail})")

    # de-duplicate, then score everything once
    candidates = _unique(candidates, data.variables)
    smoothed = [x for x, _ in context.derivatives(data)]
    for j, c in enumerate(candidates):
        report(f"scoring candidate {j + 1}/{len(candidates)}", 0.6 + 0.1 * j / len(candidates))
        score_candidate(c, data, smoothed, scoring)

    if refine and max_refine > 0:
        chosen = _most_promising(candidates, max_refine)
        for j, c in enumerate(chosen):
            report(f"refining constants {j + 1}/{len(chosen)}", 0.7 + 0.2 * j / max(len(chosen), 1))
            refined = refine_candidate(c, data, smoothed, refinement)
            if refined is c:
                continue
            score_candidate(refined, data, smoothed, scoring)
            if selection_error(refined) <= selection_error(c):
                candidates[candidates.index(c)] = refined

    if prune_tolerances:
        _add_pruned_variants(candidates, data, smoothed, prune_tolerances, max_refine, refine, refinement, scoring)
    candidates = _unique(candidates, data.variables)  # refinement can turn different proposals into one model

    floor = noise_floor(data)
    if polish and refine and floor > MIN_POLISH_FLOOR:
        report("polishing the finalists", 0.9)
        best = _polish_finalists(candidates, data, smoothed, scoring, floor)
    else:
        best = select_best(candidates, scoring, floor)
    warnings.extend(_fit_warnings(best, names))
    ranked = rank(candidates, best)
    front = pareto_front(ranked)
    predictions = list(context.predictions)
    for name in operators:
        report(f"{name}: fitting the operator", 0.92)
        try:
            from discovery.deeponet import predict_with_deeponet

            predictions.extend(
                predict_with_deeponet(data, best.equations, device=device, seed=seed)
            )
        except Exception as exc:  # noqa: BLE001 -- an operator failing leaves the equations intact
            warnings.append(f"{name} failed: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}")
    report("done", 1.0)
    return DiscoveryResult(
        variables=tuple(data.variables),
        candidates=ranked,
        front=front,
        operator_predictions=predictions,
        source=data.source,
        elapsed_s=time.monotonic() - started,
        warnings=warnings,
        options={"method": method if isinstance(method, str) else list(method), "methods_run": names,
                 "noise_floor": floor},
    )
