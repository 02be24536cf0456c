"""The discovery pipeline as named stages over one run state.

:func:`run` is the whole of :func:`discovery.discover` after the data is loaded and the request checked: it builds
a :class:`RunState` and hands it to each function of :data:`STAGES` in turn. A stage reads what earlier stages
left in the state and adds its own part; adding a stage means writing one function ``stage(state) -> None`` and
putting it in :data:`STAGES`.

1. :func:`resolve_methods`: the method objects to run (``auto``: every available method that suits the data);
2. :func:`propose`: each method proposes candidate systems (under ``auto`` a failing method becomes a warning);
3. :func:`score`: every distinct candidate is re-simulated and scored (:mod:`discovery.pipeline.scoring`);
4. :func:`refine`: the most promising candidates get their constants fitted to the trajectories;
4b. :func:`propose_unexplained`: under ``auto``, symbolic regression, only when the best candidate so far leaves
    more window error than the noise explains (its candidates are scored and refined);
5. :func:`prune`: variants of those without negligible terms join the pool;
5b. :func:`drive`: with ``time_dependent=True``, or under ``auto`` when the best model's residual has a clear
    spectral peak, candidates with a periodic drive ``a*cos(w*t) + b*sin(w*t)`` join the pool
    (:mod:`discovery.pipeline.drive`);
6. :func:`select`: the selection rule picks the model, after polishing the finalists on noisy data;
7. :func:`stabilize`: the selection re-applied to resampled windows; a structure picked more often wins;
7b. :func:`fit_whole_record`: on noisy data, when the selected model follows the whole record, its constants fitted
    to whole trajectories;
8. :func:`quantify`: intervals of the constants, inclusion probabilities of the terms, identifiability;
9. :func:`predict_operators`: operator models fitted on the selected equations;
10. :func:`warn`: what a user should know about the selected model's fit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import sympy

from discovery.data.trajectories import gap_steps
from discovery.errors import DiscoveryError, one_line
from discovery.methods.base import REGISTRY, Candidate, Method, MethodContext, ProgressFn
from discovery.pipeline import diagnostics
from discovery.pipeline.refine import POLISH, RECORD, fit_record, polish_candidate, refine_candidate
from discovery.pipeline.scoring import (
    Support,
    corroborate,
    error_limits,
    noise_floor,
    pareto_front,
    rank,
    score_candidate,
    select_best,
    selection_error,
    trajectory_error,
    trajectory_error_spread,
)
from discovery.pipeline.settings import DiscoverySettings

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories
    from discovery.prediction import OperatorPrediction
    from discovery.result import DiscoveryResult

POOR_FIT_R2 = 0.9
"""Below this short-window R^2 the selected model gets a warning: it does not reproduce the local flow."""
MIN_POLISH_FLOOR = 1e-6
"""Noise floors below this (noise under about 0.1% of the spread) leave nothing for polishing to remove."""
RECORD_WARNING = "the selected model, re-simulated from the data's start, leaves the record"
"""How :func:`quantify`'s warning on a model the record contradicts begins (it then replaces the fit warning of
:func:`discovery.pipeline.diagnostics.fit_warnings`, which allows for chaos)."""
MAX_POLISHED = 4
"""Most candidates polished per run: the selected one and the simplest rivals within the window-error limit."""
UNEXPLAINED = 1.05
"""``auto`` runs the methods that wait for the others (``sr``) only when the best candidate's window error exceeds
this many times the noise floor. Chosen on the candidate pools of ``auto`` on the textbook and zoo benchmarks at 1
and 5% noise (saved with their per-window errors, the selection replayed without ``sr``'s candidates where the
rest fit within the limit): at 1.05 symbolic regression is left out of a third of the runs, two more laws are
selected (the Allee effect and Goodwin's oscillator at 5%) and none lost; at 1.1 the competitive Lotka-Volterra at
1% is lost (its best sparse model leaves 1.063 times the floor, and only ``sr`` has its law); at 1.2 two zoo laws
at 5% (Brusselator, Rossler). See ``benchmarks/NOTES.md``."""
STABILIZE_ROUNDS = 2
"""How many times :func:`stabilize` resamples the selection: a second time only when the first one changed it (then
with the new selection's drop-one variants in the pool, so that a term the new selection does not need can go too)."""
PROPOSE_SHARE = 0.6
"""Share of the progress bar that proposing takes (the methods' own progress is mapped into it)."""


class Progress:
    """The run's progress callback, clamped to [0, 1], with sub-ranges for the methods."""

    def __init__(self, callback: ProgressFn | None) -> None:
        self.callback = callback

    def __call__(self, message: str, fraction: float) -> None:
        if self.callback is not None:
            self.callback(message, float(min(max(fraction, 0.0), 1.0)))

    def within(self, lo: float, hi: float, prefix: str) -> ProgressFn:
        """A callback for one method: its fractions mapped to ``[lo, hi]``, its messages prefixed ``"name: "``."""

        def report(message: str, fraction: float) -> None:
            text = message if message.startswith(f"{prefix}:") else f"{prefix}: {message}"
            self(text, lo + (hi - lo) * min(max(fraction, 0.0), 1.0))

        return report


@dataclass
class RunState:
    """What the stages share during one run.

    Attributes
    ----------
    data, settings:
        The trajectories and the checked request.
    context:
        What every method gets besides the data (seed, device, derivative cache, operator predictions).
    methods, is_auto:
        The method objects to run; whether ``auto`` chose them (then one failing method is only a warning).
    candidates:
        Every candidate so far, scored from :func:`score` on.
    best:
        The selected candidate (from :func:`select` on).
    deferred:
        Under ``auto``, the methods :func:`propose` left for :func:`propose_unexplained`.
    """

    data: "Trajectories"
    settings: DiscoverySettings
    progress: Progress
    context: MethodContext
    methods: list[Method] = field(default_factory=list)
    is_auto: bool = False
    candidates: list[Candidate] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    best: Candidate | None = None
    predictions: list["OperatorPrediction"] = field(default_factory=list)
    uncertainty: dict[str, Any] | None = None
    bootstrap: Any = None
    bag_shares: dict[str, dict[sympy.Expr, float]] | None = None
    deferred: list[Method] = field(default_factory=list)
    _smoothed: list[np.ndarray] | None = None
    _floor: float | None = None

    @property
    def method_names(self) -> list[str]:
        return [m.name for m in self.methods]

    @property
    def smoothed(self) -> list[np.ndarray]:
        """The smoothed states, one ``(N, D)`` array per trajectory (the window starts of scoring and refinement)."""
        if self._smoothed is None:
            self._smoothed = [x for x, _ in self.context.derivatives(self.data)]
        return self._smoothed

    @property
    def floor(self) -> float:
        """The noise floor of the window error (:func:`discovery.pipeline.scoring.noise_floor`)."""
        if self._floor is None:
            self._floor = noise_floor(self.data)
        return self._floor

    def score(self, candidate: Candidate) -> Candidate:
        return score_candidate(candidate, self.data, self.smoothed, self.settings.scoring)

    def refine(self, candidate: Candidate) -> Candidate:
        return refine_candidate(candidate, self.data, self.smoothed, self.settings.refinement.windows)

    def columns(self) -> dict[str, np.ndarray]:
        """Every symbol a right-hand side may use, over all samples: the smoothed states, the inputs and
        parameters, and the time ``t``."""
        data = self.data
        out = {v: np.concatenate([x[:, i] for x in self.smoothed]) for i, v in enumerate(data.variables)}
        out.update({v: np.concatenate([tr.u[:, j] for tr in data]) for j, v in enumerate(data.external)})
        out["t"] = np.concatenate([tr.t for tr in data])
        return out

    def key(self, candidate: Candidate) -> str:
        """One string per distinct system, in the data's variable order."""
        return "|".join(sympy.sstr(candidate.equations[v]) for v in self.data.variables)

    def deduplicate(self) -> None:
        """Keep one candidate per distinct system (the first)."""
        seen: dict[str, Candidate] = {}
        for c in self.candidates:
            seen.setdefault(self.key(c), c)
        self.candidates = list(seen.values())

    def most_promising(self, n: int, among: Sequence[Candidate] | None = None) -> list[Candidate]:
        """The ``n`` candidates (of ``among``, default all) to spend refinement on: stable first, then by selection
        error and size."""
        order = sorted(self.candidates if among is None else among,
                       key=lambda c: (not c.metrics.get("stable"), selection_error(c), c.complexity))
        return [c for c in order if math.isfinite(selection_error(c))][:n]


# --- the stages ------------------------------------------------------------------------------------------
def resolve_methods(state: RunState) -> None:
    """The methods to run: those asked for, or under ``auto`` every available method that suits the data."""
    settings = state.settings
    if not settings.is_auto:
        state.methods = list(settings.methods)
        refused = [m.name for m in state.methods if not m.handles_inputs]
        if refused and state.data.external:
            raise DiscoveryError(f"method {refused[0]!r} cannot use inputs or parameters "
                                 f"({', '.join(state.data.external)}); use method='sindy', 'sr' or 'auto'")
        return
    state.is_auto = True
    state.methods = auto_methods(state.data, known=settings.known, configured=settings.configured)


def auto_methods(data: "Trajectories", *, known: Any = None, configured: Sequence[Method] = ()) -> list[Method]:
    """The methods ``auto`` runs on ``data``: every available registered method that suits it, in registry order.

    ``pinn`` joins only when a partly known model is given; ``configured`` instances replace default ones. On data
    with inputs or parameters only the methods that can use them run.
    """
    given = {m.name: m for m in configured}
    out = []
    for name, cls in REGISTRY.items():
        if not cls.availability()[0] or (data.external and not cls.handles_inputs):
            continue
        if name == "pinn":
            if known:
                out.append(given.get(name) or cls())
            continue
        if not cls.in_auto:
            continue
        method = given.get(name) or cls()
        try:
            if method.suits(data):
                out.append(method)
        except DiscoveryError:
            continue
    return out


def propose(state: RunState) -> None:
    """Each method proposes candidate systems; under ``auto`` (or with several methods) a failure is a warning.

    Under ``auto`` the methods that run only where the others leave something unexplained
    (:attr:`~discovery.methods.base.Method.auto_when_unexplained`) wait for :func:`propose_unexplained`, unless the
    others proposed nothing."""
    later = [m for m in state.methods if state.is_auto and m.auto_when_unexplained]
    now = [m for m in state.methods if m not in later]
    share = PROPOSE_SHARE * len(now) / max(len(state.methods), 1)
    _propose_with(state, now, 0.0, share)
    if later and not state.candidates:
        _propose_with(state, later, share, PROPOSE_SHARE)
        later = []
    state.deferred = later
    if not state.candidates:
        detail = "; ".join(state.warnings) if state.warnings else "the methods returned no candidates"
        raise DiscoveryError(f"no usable candidate equations ({detail})")


def _propose_with(state: RunState, methods: Sequence[Method], start: float, stop: float) -> None:
    """Run ``methods``' proposals into ``state.candidates``, their progress mapped into ``[start, stop]``."""
    alone = not state.is_auto and len(state.methods) == 1
    for i, method in enumerate(methods):
        lo, hi = start + (stop - start) * i / len(methods), start + (stop - start) * (i + 1) / len(methods)
        state.progress(f"{method.name}: proposing candidates", lo)
        state.context.progress = state.progress.within(lo, hi, method.name)
        try:
            proposed = method.propose(state.data, state.context)
        except DiscoveryError as exc:
            if alone:
                raise
            text = one_line(exc)
            state.warnings.append(text if text.startswith(method.name) else f"{method.name}: {text}")
            continue
        except Exception as exc:  # noqa: BLE001 -- one method failing must not sink an 'auto' run
            if alone:
                raise
            state.warnings.append(f"{method.name} failed: {one_line(exc)}")
            continue
        finally:
            state.context.progress = None
        if not proposed:
            state.warnings.append(f"{method.name}: proposed no candidate equations")
        for c in proposed:
            missing = [v for v in state.data.variables if v not in c.equations]
            if missing:
                state.warnings.append(f"{method.name}: dropped a candidate without equations for {', '.join(missing)}")
                continue
            state.candidates.append(c)


def score(state: RunState) -> None:
    """Re-simulate and score every distinct candidate once."""
    state.deduplicate()
    n = len(state.candidates)
    for j, c in enumerate(state.candidates):
        state.progress(f"scoring candidate {j + 1}/{n}", PROPOSE_SHARE + 0.1 * j / n)
        state.score(c)


def refine(state: RunState) -> None:
    """Fit the most promising candidates' constants to the trajectories; keep a fit that lowers the window error."""
    opts = state.settings.refinement
    if not opts.enabled or opts.max_candidates <= 0:
        return
    _refine_into(state, state.most_promising(opts.max_candidates), 0.7, 0.8)


def _refine_into(state: RunState, chosen: Sequence[Candidate], start: float, stop: float) -> None:
    """Refine each of ``chosen``, keeping a fit that lowers the window error in its place; progress in
    ``[start, stop)``."""
    for j, c in enumerate(chosen):
        state.progress(f"refining constants {j + 1}/{len(chosen)}", start + (stop - start) * j / len(chosen))
        refined = state.refine(c)
        if refined is c:
            continue
        state.score(refined)
        if selection_error(refined) <= selection_error(c):
            state.candidates[state.candidates.index(c)] = refined


def propose_unexplained(state: RunState) -> None:
    """Under ``auto``, the methods that wait for the others (``sr``): they run only when the best candidate so far
    (scored and refined) leaves more window error than the noise explains, :data:`UNEXPLAINED` times the noise floor
    (:func:`discovery.pipeline.scoring.noise_floor`); their candidates are then scored and the most promising of
    them refined. Where a sparse model already fits within the noise, symbolic regression mostly offers
    look-alikes with fewer nodes that the selection may take (a constant standing in for an Allee law's linear
    term at 5% noise), and it is the slowest method; where the sparse search leaves structure unexplained, it is
    what may find it. A method that does not run is left out of ``methods_run``."""
    later, state.deferred = state.deferred, []
    if not later:
        return
    best = min((selection_error(c) for c in state.candidates if c.metrics.get("stable")), default=math.inf)
    if math.isfinite(best) and best <= UNEXPLAINED * state.floor:
        state.methods = [m for m in state.methods if m not in later]
        return
    before = len(state.candidates)
    _propose_with(state, later, 0.8, 0.84)
    seen = {state.key(c) for c in state.candidates[:before]}
    new = []  # the proposals the pool has not got yet (the pool itself is deduplicated after pruning)
    for c in state.candidates[before:]:
        if state.key(c) not in seen:
            seen.add(state.key(c))
            new.append(c)
    state.candidates[before:] = new
    for j, c in enumerate(new):
        state.progress(f"scoring candidate {before + j + 1}/{before + len(new)}", 0.84)
        state.score(c)
    opts = state.settings.refinement
    if opts.enabled and opts.max_candidates > 0:
        _refine_into(state, state.most_promising(opts.max_candidates, among=new), 0.85, 0.87)


def prune(state: RunState) -> None:
    """Add variants of the most promising candidates without their negligible terms (refined and scored)."""
    from discovery.symbolic import prune_small_terms

    opts = state.settings.refinement
    if opts.prune_tolerances and opts.max_candidates > 0:
        states = state.columns()
        seen = {state.key(c) for c in state.candidates}
        for c in state.most_promising(opts.max_candidates):
            for tol in opts.prune_tolerances:
                eqs = {v: prune_small_terms(e, rel_tol=tol, data=states) for v, e in c.equations.items()}
                variant = Candidate(c.method, eqs, info={**c.info, "pruned_below": tol})
                key = state.key(variant)
                if key in seen or any(e == 0 for e in eqs.values()):
                    continue
                seen.add(key)
                if opts.enabled:
                    variant = state.refine(variant)
                state.candidates.append(state.score(variant))
    state.deduplicate()  # refinement can turn different proposals into one model


def drive(state: RunState) -> None:
    """Search a periodic drive ``a*cos(w*t) + b*sin(w*t)`` (:mod:`discovery.pipeline.drive`): always with
    ``time_dependent=True``, under ``auto`` only when the best model so far leaves a residual with a clear
    spectral peak. The frequencies tried are the residual's peak and the states' (a drive the autonomous model
    half absorbs leaves its harmonics in the residual; a driven oscillator follows its drive), see
    :func:`discovery.pipeline.drive.drive_frequencies`; the drive candidates are scored, the most promising refined
    (``w`` with every other constant) and pruned, and they join the pool for the selection."""
    from discovery.methods import get_method
    from discovery.pipeline import drive as drv
    from discovery.symbolic import prune_small_terms

    settings = state.settings
    if not (settings.time_dependent or settings.is_auto):
        return
    # The simplest acceptable autonomous model: a costlier one that fits the windows better absorbs part of a drive
    # into its polynomial terms and blurs the residual's peak (a Duffing oscillator driven at w = 1.3 left a peak at
    # 1.72, not clear, under the model the window test preferred).
    best = select_best(state.candidates, settings.scoring, state.floor, paired=False)
    peak = drv.residual_peak(best, state.data, state.context.derivatives(state.data))
    if not settings.time_dependent and (peak is None or not peak.clear
                                        or not drv.unexplained(selection_error(best), state.floor)):
        return
    omegas = drv.drive_frequencies(state.data, peak)
    if not omegas:
        state.warnings.append("time_dependent: no periodic component found in the data; no drive terms tried")
        return
    sindy = next((m for m in state.methods if m.name == "sindy"), None) or get_method("sindy")
    seen = {state.key(c) for c in state.candidates}
    new = []
    for omega in omegas:
        state.progress(f"trying a periodic drive at w={omega:.4g}", 0.88)
        try:
            found = drv.driven_candidates(sindy, state.data, state.context, omega)
        except DiscoveryError as exc:
            state.warnings.append(f"drive search at w={omega:.4g} failed: {one_line(exc)}")
            continue
        for c in found:
            if state.key(c) not in seen:
                seen.add(state.key(c))
                new.append(state.score(c))
    if not new:
        return
    state.candidates += new
    opts = settings.refinement
    if not opts.enabled:
        return
    columns = state.columns()
    order = sorted(new, key=lambda c: (not c.metrics.get("stable"), selection_error(c), c.complexity))
    for c in order[: max(opts.max_candidates // 2, 1)]:
        refined = state.refine(c)
        if refined is not c:
            state.score(refined)
            if selection_error(refined) <= selection_error(c):
                state.candidates[state.candidates.index(c)] = refined
                c = refined
        for tol in opts.prune_tolerances:
            eqs = {v: prune_small_terms(e, rel_tol=tol, data=columns) for v, e in c.equations.items()}
            variant = Candidate(c.method, eqs, info={**c.info, "pruned_below": tol})
            if state.key(variant) in {state.key(o) for o in state.candidates} or any(e == 0 for e in eqs.values()):
                continue
            state.candidates.append(state.score(state.refine(variant)))
    state.deduplicate()


def select(state: RunState) -> None:
    """Apply the selection rule (:func:`discovery.pipeline.scoring.select_best`); on noisy data measure the trajectory
    error's resolution first (:func:`resolve_trajectory_error`) and polish the finalists (:func:`polish_finalists`)."""
    resolve_trajectory_error(state)
    opts, scoring = state.settings.refinement, state.settings.scoring
    if opts.polish and opts.enabled and state.floor > MIN_POLISH_FLOOR:
        state.progress("polishing the finalists", 0.9)
        polish_finalists(state)
    state.best = select_best(state.candidates, scoring, state.floor)


def resolve_trajectory_error(state: RunState) -> None:
    """On noisy data, widen the run's ``full_abs_tol`` by the trajectory error's resolution
    (:func:`discovery.pipeline.scoring.trajectory_error_spread` of the stable candidate with the smallest window
    error), so that the selection rule does not tell models apart by differences of ``E`` that the start's noise
    alone makes. The widened value holds for the rest of the run (selection, polish, resampling). Not on driven data
    (inputs or parameters), where it has not been measured."""
    from dataclasses import replace

    pool = [c for c in state.candidates if c.metrics.get("stable") and math.isfinite(selection_error(c))]
    if not pool or state.floor <= MIN_POLISH_FLOOR or state.data.external:
        return
    best = min(pool, key=selection_error)
    spread = trajectory_error_spread(best, state.data, state.smoothed, state.settings.scoring, seed=state.settings.seed)
    if spread > 0:
        scoring = state.settings.scoring
        state.settings = replace(state.settings, scoring=replace(scoring, full_abs_tol=scoring.full_abs_tol + spread))


def polish_finalists(state: RunState) -> None:
    """Polish the selected model and its simpler rivals, keeping each polished model that still passes the rule.

    On noisy data the window-refined constants are biased, and that bias can decide the whole-trajectory test
    (``E``) against a simpler, correct model. So the selected candidate and up to ``MAX_POLISHED - 1`` simpler ones
    that pass the window-error limit are polished (:func:`discovery.pipeline.refine.polish_candidate`); a polished
    model replaces its original when it stays stable, its window error stays within the rule's tolerance of the
    original's and (when the data can be followed over the whole window) its trajectory error too.
    """
    scoring, candidates = state.settings.scoring, state.candidates
    best = select_best(candidates, scoring, state.floor)
    _, e_limit, _ = error_limits(candidates, scoring, state.floor)
    rivals = sorted(
        (c for c in candidates
         if c.selection_cost < best.selection_cost and selection_error(c) <= e_limit),
        key=lambda c: (c.selection_cost, selection_error(c)),
    )
    seen: set[str] = set()
    for c in [best, *rivals]:
        key = state.key(c)
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > MAX_POLISHED:
            break
        polished = polished_version(state, c)
        if polished is not None:
            candidates[candidates.index(c)] = polished


def polished_version(state: RunState, c: Candidate) -> Candidate | None:
    """``c`` polished (:func:`discovery.pipeline.refine.polish_candidate`) and scored, when the polished model stays
    stable, its window error within the rule's tolerance of ``c``'s and (when the data can be followed over the whole
    window) its trajectory error too; else ``None`` (and ``c.info["polished"] = False`` when it was tried)."""
    polished = polish_candidate(c, state.data, state.smoothed, POLISH)
    if polished is c:
        return None
    state.score(polished)
    ok = _refit_holds(state, c, polished)
    if not ok:
        c.info.setdefault("polished", False)
    return polished if ok else None


def _refit_holds(state: RunState, original: Candidate, refit: Candidate) -> bool:
    """Whether ``refit`` (``original`` with constants fitted again, scored) may replace it: stable, its window error
    and its trajectory error within the rule's limits taken with ``original`` as the best (where the data cannot be
    followed over the whole window, the ``E`` limit is the rule's ``drift_error``)."""
    _, e_own, E_own = error_limits([original], state.settings.scoring, state.floor)
    ok = bool(refit.metrics.get("stable")) and selection_error(refit) <= e_own
    return ok and (E_own is None or trajectory_error(refit, cap=math.inf) <= E_own)  # as the rule takes E


def stabilize(state: RunState) -> None:
    """Keep only terms that the data support when resampled. The sparse regression is bagged over the selected
    model's terms and its rivals' (:func:`discovery.pipeline.bagging.bagged_shares`), and the selection rule's last
    step (:func:`discovery.pipeline.scoring.corroborated`) may replace a model with a term the bags rarely choose.
    Then the rule is re-applied to bootstrap resamples of the scoring windows, over every candidate and each
    drop-one variant of the selected model; when another structure is picked more often than the selected one, the
    most accurate candidate of that structure becomes the selection (:mod:`discovery.pipeline.uncertainty`), and the
    whole is repeated once (:data:`STABILIZE_ROUNDS`) with that selection's own drop-one variants. Part of
    ``uncertainty=True``."""
    from discovery.pipeline import uncertainty as unc
    from discovery.pipeline.bagging import bagged_shares

    if not state.settings.uncertainty or state.best is None:
        return
    state.progress("resampling the selection", 0.9)
    scoring, variables = state.settings.scoring, state.data.variables
    _add_drop_one_variants(state)
    pool = _scored(state)
    state.bag_shares = bagged_shares(state.best, state.data, state.smoothed, seed=state.settings.seed,
                                     rivals=unc.rivals(pool, state.best, variables, POOR_FIT_R2))

    def support_of(pool: list[Candidate]) -> Support | None:
        return None if state.bag_shares is None else unc.support_of(pool, state.bag_shares, variables)

    for round_ in range(STABILIZE_ROUNDS):
        if round_:  # the selection changed: its own drop-one variants join the pool
            _add_drop_one_variants(state)
            pool = _scored(state)
        support = support_of(pool)
        if support is not None and any(c is state.best for c in pool):
            before = state.best
            _take(state, corroborate(pool, state.best, support, scoring, state.floor))
            if state.best is not before:
                _add_drop_one_variants(state)
                pool = _scored(state)
                support = support_of(pool)
        state.bootstrap = unc.bootstrap_selection(pool, state.data, state.smoothed, scoring, state.floor,
                                                  seed=state.settings.seed, support=support)
        if state.bootstrap is None:
            return
        chosen = unc.most_stable(state.bootstrap, state.best, variables)
        if chosen is state.best:
            return
        _take(state, chosen)


def fit_whole_record(state: RunState) -> None:
    """On noisy data, fit the selected model's constants to whole trajectories
    (:func:`discovery.pipeline.refine.fit_record`) and keep them when the fitted model passes the test of
    :func:`polished_version` (window error within the rule's tolerance, trajectory error within its limit). Windows
    use what the flow does over a few time scales; a rate off by a little shifts a cycle's phase a little more every
    period, which only the whole record shows (Ivlev's predator-prey at 5% noise: the window-polished
    ``exp(-1.59*x)`` becomes ``exp(-1.53*x)``, truth 1.5, and the held-out R^2 goes from 0.89 to 0.9998). Only when
    the model follows the record (trajectory error at most the scoring's ``chaotic_error``, 0.5: the simulation stays
    near the record, so the fit starts in the right valley): on chaotic data it drifts off, and the whole-record cost
    is rough with local minima. Not across a gap in the sampling (:func:`discovery.data.trajectories.gap_steps`),
    which one RK4 step cannot integrate. Runs with the polishing (``refinement.polish``)."""
    best, opts = state.best, state.settings.refinement
    if (best is None or state.floor <= MIN_POLISH_FLOOR or not (opts.polish and opts.enabled)
            or not best.metrics.get("stable")
            or not trajectory_error(best) <= state.settings.scoring.chaotic_error
            or any(gap_steps(tr.t).any() for tr in state.data)):
        return
    state.progress("fitting the constants to the whole record", 0.905)
    fitted = fit_record(best, state.data, state.smoothed, RECORD)
    if fitted is best:
        return
    state.score(fitted)
    if _refit_holds(state, best, fitted):
        state.candidates[state.candidates.index(best)] = fitted
        state.best = fitted
    else:
        best.info.setdefault("record_fit", False)


def _scored(state: RunState) -> list[Candidate]:
    """The candidates with a window score (those the selection rule can take)."""
    return [c for c in state.candidates if c.metrics.get("r2_window") is not None]


def _add_drop_one_variants(state: RunState) -> None:
    """Add to the pool each variant of the selected model without one of its terms (briefly refined and scored), so
    that the resampled selection can drop a term that the data do not need."""
    from discovery.pipeline import uncertainty as unc

    variants = [v for v in unc.drop_one_variants(state.best, state.data, state.smoothed, state.settings.scoring)
                if v.metrics.get("r2_window") is not None]
    seen = {state.key(c) for c in state.candidates}
    for v in variants:
        if state.key(v) not in seen:
            seen.add(state.key(v))
            state.candidates.append(v)


def _take(state: RunState, chosen: Candidate) -> None:
    """Make ``chosen`` the selection, polished where the noise calls for it and the polished model passes the test
    of :func:`polish_finalists`."""
    if chosen is state.best:
        return
    polished = polished_version(state, chosen) if state.floor > MIN_POLISH_FLOOR else None
    if polished is not None:
        state.candidates[state.candidates.index(chosen)] = polished
        chosen = polished
    state.best = chosen


def quantify(state: RunState) -> None:
    """The selected model's uncertainty (:mod:`discovery.pipeline.uncertainty`): an interval per constant from the
    trajectory fit, an inclusion probability per term from the resampled selections of :func:`stabilize` and the
    bagged regression (:mod:`discovery.pipeline.bagging`), and identifiability warnings."""
    from discovery.pipeline import uncertainty as unc

    if not state.settings.uncertainty or state.best is None:
        return
    state.progress("quantifying uncertainty", 0.91)
    best, variables, boot = state.best, state.data.variables, state.bootstrap
    fit = unc.constants_fit(best, state.data, state.smoothed)
    included = None
    if boot is not None:
        bagged = unc.own_shares(best, state.bag_shares, variables) if state.bag_shares is not None else None
        if bagged is None:  # the selection changed to a model with terms the bags did not see
            from discovery.pipeline.bagging import bagged_inclusion

            bagged = bagged_inclusion(best, state.data, state.smoothed, seed=state.settings.seed,
                                      rivals=unc.rivals(boot.pool, best, variables, POOR_FIT_R2))
        e = selection_error(best)
        support = unc.fit_support(e, state.floor)
        record = unc.record_support(best, state.data, state.smoothed, state.settings.scoring, state.settings.seed)
        included = unc.inclusion(boot, variables, bagged, support * record)
        if support < 1.0 and (best.metrics.get("r2_window") or -math.inf) >= POOR_FIT_R2:  # else :func:`warn` speaks
            excess = (f"{e / state.floor:.3g} times the short-window error that the measurement noise explains"
                      if state.floor > 0 else f"a short-window error of {e:.2g} on data without measurable noise")
            state.warnings.append(f"the selected model leaves {excess}: the law has terms it lacks, so its terms' "
                                  f"inclusion probabilities are scaled by {support:.2f} (try method='sr' for "
                                  "free-form terms, or a partly known model with method='pinn')")
        if record < 1.0 and (best.metrics.get("r2_window") or -math.inf) >= POOR_FIT_R2:  # else :func:`warn` speaks
            state.warnings.append(f"{RECORD_WARNING} (R^2 "
                                  f"{best.metrics.get('r2', float('nan')):.3g}) while its own simulations from nearby "
                                  "starts stay together, so it is not chaos that carries it off: the record contradicts "
                                  f"it, and its terms' inclusion probabilities are scaled by {record:.2f} (a constant "
                                  "may be off or a slow term missing; compare the re-simulated trajectories with "
                                  "--plots)")
    table = unc.term_table(best, variables, fit, included)
    state.uncertainty = {"terms": table, "constants": None if fit is None else {
        "values": fit.values.tolist(), "covariance": fit.covariance.tolist(), "noise_std": fit.noise_std,
        "level": unc.LEVEL}}
    loose = unc.undetermined(table)
    if loose:
        state.warnings.append("not determined by the data: " + "; ".join(loose[:4])
                              + ("; ..." if len(loose) > 4 else "") + " (a longer span, another initial condition or "
                              "less noise would pin them down)")
    fits = (best.metrics.get("r2_window") or -math.inf) >= POOR_FIT_R2  # else :func:`warn` says it fits poorly
    unsure = unc.unsure_terms(table)
    if unsure and fits:
        state.warnings.append("terms the resampled data does not choose reliably (inclusion probability): "
                              + "; ".join(unsure[:4]) + ("; ..." if len(unsure) > 4 else "")
                              + " (such a term may stand in for a law the model misses; more data, a wider range "
                              "of the states or less noise would decide)")
    if boot is not None and fits:
        others = unc.alternatives(boot, best, variables)
        if others:
            shown = " | ".join("; ".join(f"d{v}/dt = {sympy.sstr(c.equations[v])}" for v in variables)
                               for c in others[:2])
            state.warnings.append(f"other equations fit these data about as well (chosen in at least "
                                  f"{unc.ALTERNATIVE_SHARE:.0%} of resamples): {shown}")


def predict_operators(state: RunState) -> None:
    """Operator predictions: those the methods made (PROSE's forecast), then each asked-for operator model."""
    state.predictions = list(state.context.predictions)
    for name in state.settings.operators:
        state.progress(f"{name}: fitting the operator", 0.92)
        try:
            from discovery.deeponet import predict_with_deeponet

            state.predictions.extend(predict_with_deeponet(state.data, state.best.equations,
                                                           device=state.settings.device, seed=state.settings.seed))
        except Exception as exc:  # noqa: BLE001 -- an operator failing leaves the equations intact
            state.warnings.append(f"{name} failed: {one_line(exc)}")


def warn(state: RunState) -> None:
    """What a user should know about the selected model: it does not reproduce the data, or it blows up."""
    best = state.best
    r2w = best.metrics.get("r2_window")
    if r2w is None or r2w < POOR_FIT_R2:
        shown = "not computable" if r2w is None else f"{r2w:.3f}"
        more = "" if "sr" in state.method_names else "try method='sr' for free-form terms, "
        state.warnings.append(
            f"the selected model fits the data poorly (R^2 on short windows {shown}, below {POOR_FIT_R2}): the "
            f"dynamics may need terms outside the search space ({more}or a partly known model with method='pinn'), "
            "or the data may be too noisy or too coarsely sampled")
    if not best.metrics.get("stable", True):
        reason = best.metrics.get("failure") or "its simulation did not finish"
        state.warnings.append(f"the selected model cannot be simulated over the whole observed window ({reason}); "
                              "no stable candidate was found")
    drift = [] if any(w.startswith(RECORD_WARNING) for w in state.warnings) else diagnostics.fit_warnings(best)
    state.warnings.extend(diagnostics.data_warnings(state.data) + drift)


STAGES: tuple[Callable[[RunState], None], ...] = (
    resolve_methods, propose, score, refine, propose_unexplained, prune, drive, select, stabilize, fit_whole_record,
    quantify, predict_operators, warn,
)
"""The pipeline, in order."""


def run(data: "Trajectories", settings: DiscoverySettings, progress: ProgressFn | None = None) -> "DiscoveryResult":
    """Run every stage of :data:`STAGES` on ``data`` and return the result."""
    from discovery.result import DiscoveryResult

    started = time.monotonic()
    state = RunState(
        data=data, settings=settings, progress=Progress(progress),
        context=MethodContext(derivative_method=settings.derivative, seed=settings.seed, device=settings.device,
                              options={"known": settings.known, "guess": settings.guess}),
    )
    for stage in STAGES:
        stage(state)
    state.progress("done", 1.0)
    ranked = rank(state.candidates, state.best)
    return DiscoveryResult(
        variables=tuple(data.variables),
        candidates=ranked,
        front=pareto_front(ranked),
        operator_predictions=state.predictions,
        source=data.source,
        elapsed_s=time.monotonic() - started,
        warnings=state.warnings,
        uncertainty=state.uncertainty,
        inputs=tuple(data.inputs),
        parameters=tuple(data.parameters),
        options={"method": settings.method_label(), "methods_run": state.method_names, "noise_floor": state.floor},
    )

