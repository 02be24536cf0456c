"""``discover_field``: from a measured field to ranked, re-simulated PDEs.

The stages, in order:

1. **Load and check** the field (:func:`~discovery.fields.readers.load_field`); estimate each field's noise and
   keep a denoised copy for the starts of re-simulations (:mod:`discovery.fields.noise`).
2. **Regress** ``f_t`` on the library of :mod:`discovery.fields.library` (derivatives of monomials of the
   fields) in the weak form (:mod:`discovery.fields.weak`: integrals against test functions, robust to noise)
   and, on data without measurable noise, in the strong form as well (:mod:`discovery.fields.strong`); a
   sparsity path per field gives one least-squares model per number of terms
   (:mod:`discovery.fields.regression`).
3. **Shortlist** per field the models around the knee of the path (where more terms stop lowering the
   regression residual).
4. **Re-simulate** every shortlisted model from the observed field over a few time windows and score it
   (:mod:`discovery.fields.resimulate`); with several fields, each field's models are scored with the other
   fields following their current picks, one field after the other.
5. **Select** per field the model with the fewest terms whose score is within the tolerance of the best
   (``best * (1 + tau) + 1e-4``, ``tau = 0.1 + 2 * noise``, noise relative to the field's spread); its
   constants are the least-squares solution of the weak form on that support (or of the strong form where that
   re-simulates better).
6. **Reaction terms** that are not polynomials: when the selected model has two or more terms without a
   derivative, its reaction part is searched again (:mod:`discovery.fields.reaction`: saturating, repression,
   exponential and log families with searched inner constants, and symbolic regression on what the transport
   part leaves); proposals no longer than the sparse model are re-simulated and replace it under the rule of
   stage 5 (``settings.reaction_time_s = 0`` turns this off).
7. **Report**: the selected PDE re-simulated over the whole span from the first observed field, and every
   scored candidate, in a :class:`~discovery.fields.result.FieldResult`.

With ``method="pinn"`` and a partly known PDE (``known="h1(u, u_x) + 0.1*u_xx"``), stages 2-3 are replaced by
the PINN hidden-term method of :mod:`discovery.fields.pinn` (a surrogate of the field and a network per hidden
term, distilled to formulas); its candidates are re-simulated and selected by the same rule (``auto`` with
``known`` runs both methods and ranks their candidates together). With ``operators="fno"`` a Fourier neural
operator is trained on the field after selection (and on fields simulated from the selected PDE) and forecasts the
field beyond the observed window (:mod:`discovery.fields.operator`; ``result.forecast``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import sympy

from discovery.errors import DiscoveryError, SimulationError, one_line
from discovery.fields.field import Field
from discovery.fields.known import parse_field_known
from discovery.fields.library import LibraryTerm, build_library, rhs_expression
from discovery.fields.noise import CLEAN_NOISE, denoised_field
from discovery.fields.operator import check_operators, fno_options, forecast_field
from discovery.fields.pinn import pinn_options
from discovery.fields.readers import load_field
from discovery.fields.regression import SparseFit, fit_support, knee, sparsity_path
from discovery.fields.resimulate import SCORE_RTOL, WindowPlan, window_error
from discovery.fields.result import FieldCandidate, FieldResult
from discovery.fields.solvers import solve
from discovery.fields.strong import strong_system
from discovery.fields.weak import weak_system
from models.progress import ProgressFn

METHODS = ("auto", "sparse", "pinn")
"""PDE discovery methods: ``sparse`` (sparse regression on the weak/strong form), ``pinn`` (a partly known PDE
completed by the PINN hidden-term method); ``auto`` runs ``sparse``, and ``pinn`` too when ``known`` is given."""

SCORE_FLOOR = 1e-4
"""Scores closer than this to the best are ties: the re-simulation's own discretization error on a coarse grid is
of this order, and an extra tiny term (``2e-6 u_xxxx``) can buy that much without being part of the law."""


@dataclass(frozen=True)
class FieldSettings:
    """Options of :func:`discover_field`.

    Attributes
    ----------
    max_degree:
        Highest degree of the monomials in the library (``u^3``).
    max_order:
        Highest spatial derivative order (default 4 in 1-D, 2 in 2-D).
    max_terms:
        Most terms per field on the sparsity path.
    windows, window_fraction:
        Number of re-simulation windows and the fraction of the time span each covers.
    time_limit:
        Seconds one re-simulation may take before its candidate is dropped.
    reaction_time_s:
        Seconds of symbolic regression per field on a reaction part that is not a polynomial
        (:mod:`discovery.fields.reaction`); ``0`` turns the search off.
    """

    max_degree: int = 3
    max_order: int | None = None
    max_terms: int = 6
    windows: int = 3
    window_fraction: float = 0.4
    time_limit: float = 60.0
    reaction_time_s: float = 5.0

    def __post_init__(self) -> None:
        checks = {
            "max_degree": 1 <= self.max_degree <= 5,
            "max_order": self.max_order is None or 1 <= self.max_order <= 6,
            "max_terms": 1 <= self.max_terms <= 20,
            "windows": 1 <= self.windows <= 20,
            "window_fraction": 0.05 <= self.window_fraction <= 1.0,
            "time_limit": self.time_limit > 0,
            "reaction_time_s": 0 <= self.reaction_time_s <= 600,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise DiscoveryError(f"invalid field discovery option(s) {bad}: {self}")


@dataclass
class _Proposal:
    """One field's model on the path: its form, support and coefficients."""

    field: int
    form: str
    fit: SparseFit

    def expression(self, terms: Sequence[LibraryTerm], fields: Sequence[str], axes: Sequence[str]) -> sympy.Expr:
        return rhs_expression(terms, self.fit.coefficients, fields, axes)


def _shortlist(path: list[SparseFit], max_terms: int) -> list[SparseFit]:
    """Models around the knee (:func:`~discovery.fields.regression.knee`): sizes up to one past it."""
    if not path:
        return []
    size = len(knee(path).support)
    return [f for f in path if len(f.support) <= min(size + 1, max_terms)]


def _knee(proposals: Sequence[_Proposal]) -> int:
    """Index of the proposal at the knee of the proposals' fits (:func:`~discovery.fields.regression.knee`)."""
    fits = [p.fit for p in proposals]
    return fits.index(knee(fits))


def _select(scores: Sequence[float], sizes: Sequence[int], tau: float) -> int:
    """Index of the model with the fewest terms whose score is within ``(1 + tau)`` of the best (ties: lower score)."""
    finite = [s for s in scores if np.isfinite(s)]
    if not finite:
        return 0
    limit = min(finite) * (1.0 + tau) + SCORE_FLOOR
    ok = [i for i, s in enumerate(scores) if np.isfinite(s) and s <= limit]
    return min(ok, key=lambda i: (sizes[i], scores[i]))


def _full_rel_l2(equations: dict[str, sympy.Expr], start: Field, observed: Field, time_limit: float) -> float:
    """``||sim - observed|| / ||observed||`` over the whole span, from the denoised first field."""
    boundary = ["periodic" if start.periodic[a] else "dirichlet" for a in start.axes]
    ref = start.stack()
    try:
        sim = solve(equations, start.names, start.axes, ref[:, 0], [start.spacing(a) for a in start.axes],
                    start.t, boundary, boundary_data=None if all(start.periodic.values()) else ref,
                    rtol=SCORE_RTOL, time_limit=time_limit)
    except SimulationError:
        return float("inf")
    obs = observed.stack()
    return float(np.linalg.norm(sim - obs) / max(float(np.linalg.norm(obs)), 1e-300))


def discover_field(
    field: Any,
    *,
    method: str = "auto",
    noise_robust: bool | None = None,
    periodic: bool | dict[str, bool] | None = None,
    settings: FieldSettings | None = None,
    known: Any = None,
    operators: str | Sequence[str] | None = None,
    fno: Any = None,
    pinn: Any = None,
    seed: int = 0,
    device: str = "auto",
    progress: ProgressFn | None = None,
) -> FieldResult:
    """Discover the PDE ``f_t = F_f(fields, spatial derivatives)`` behind a sampled field.

    Parameters
    ----------
    field:
        A :class:`~discovery.fields.field.Field`, a path (NPZ, NetCDF, HDF5, long CSV), an xarray Dataset or a
        dict of arrays (see :func:`~discovery.fields.readers.load_field`).
    method:
        ``"sparse"`` (sparse regression on the weak and strong forms), ``"pinn"`` (the PINN hidden-term method on
        the partly known PDE ``known``) or ``"auto"`` (``sparse``, plus ``pinn`` when ``known`` is given).
    noise_robust:
        ``True``: the weak form only; ``False``: the strong form only; ``None``: the weak form, plus the strong
        form when the estimated noise is below :data:`CLEAN_NOISE`.
    periodic:
        Periodicity per axis when ``field`` is read here (``None``: stored flags or detection).
    settings:
        Library, path and re-simulation options (:class:`FieldSettings`).
    known:
        The partly known PDE for ``pinn``, hidden terms named ``h1(...)``, ``h2(...)``: ``"h1(u, u_x) + 0.1*u_xx"``
        for one field, or ``{"u": ..., "v": ...}`` / ``["u_t = ...", "v_t = ..."]`` (see
        :mod:`discovery.fields.known`).
    operators:
        Neural operators that forecast the field after selection: ``"fno"`` (or ``("fno",)``) or ``None``; the
        forecast is ``result.forecast`` (:class:`~discovery.fields.result.FieldForecast`).
    fno, pinn:
        Options of the FNO forecast (:class:`~discovery.fields.operator.FNOOptions`) and of the ``pinn`` method
        (:class:`~discovery.fields.pinn.FieldPINNOptions`), as instances or dicts of their fields.
    seed, device:
        Seed of the neural parts (the sparse method is deterministic); torch device (``"auto"`` = CUDA when
        present).
    progress:
        Callback ``progress(message, fraction)``.

    Returns
    -------
    FieldResult
        Candidates best first; ``result.equations["u"]`` is the right-hand side of ``u_t`` in ``u``, ``u_x``,
        ``u_xx``, ...

    Examples
    --------
    >>> from discovery.fields import simulate_zoo
    >>> result = discover_field(simulate_zoo("heat", grid=(48, 48)))
    >>> result.equations["u"].evalf(3)
    0.2*u_xx
    >>> burgers = simulate_zoo("burgers", grid=(64, 64))
    >>> result = discover_field(burgers, method="pinn", known="h1(u, u_x) + 0.1*u_xx",
    ...                         operators="fno")  # doctest: +SKIP
    >>> result.best.info["hidden"], result.forecast.rel_l2  # doctest: +SKIP
    ({'h1': '-1.0*u*u_x'}, 0.004)
    """
    started = time.perf_counter()
    if method not in METHODS:
        raise DiscoveryError(f"unknown PDE method {method!r}; valid: {', '.join(METHODS)}")
    settings = settings or FieldSettings()
    ops = check_operators(operators)
    fno_opts = fno_options(fno) if fno is not None or "fno" in ops else None  # torch only when a forecast is asked
    if fno is not None and "fno" not in ops:
        raise DiscoveryError("fno options were given but no FNO forecast was asked for; add operators='fno'")
    if method == "sparse" and (known is not None or pinn is not None):
        raise DiscoveryError("known= and pinn= are read by method 'pinn' only; use method='pinn' or 'auto'")
    run_pinn = method == "pinn" or (method == "auto" and (known is not None or pinn is not None))
    pinn_opts = pinn_options(pinn, known) if run_pinn else None
    if pinn_opts is not None and not pinn_opts.known:
        raise DiscoveryError("method 'pinn' needs a partly known PDE, e.g. known='h1(u, u_x) + 0.1*u_xx'; "
                             "none was given")
    data_field = load_field(field, periodic=periodic)
    fields, axes = data_field.names, data_field.axes
    if pinn_opts is not None:
        parse_field_known(pinn_opts.known, fields, axes)  # a bad formula is one line, before any work
    share = 0.7 if ops else 1.0
    report = _scaled(progress, 0.0, share)

    report("estimating noise", 0.02)
    reference, rel_noise = denoised_field(data_field, CLEAN_NOISE)
    plan = WindowPlan.for_length(data_field.shape[0], settings.windows, settings.window_fraction)
    tau = 0.1 + 2.0 * float(rel_noise.max())
    candidates: list[FieldCandidate] = []
    limit = settings.time_limit
    split = 0.0 if method == "pinn" else 0.45 if run_pinn else 0.95
    if method != "pinn":
        candidates, limit = _sparse_candidates(data_field, reference, rel_noise, settings, noise_robust, plan, tau, seed,
                                               _scaled(report, 0.0, split))
    if run_pinn:
        found = _pinn_candidates(reference, pinn_opts, plan, tau, limit, device, seed, _scaled(report, split, 0.95))
        candidates = _rank(candidates + found, tau)

    warnings: list[str] = []
    best = candidates[0]
    report("re-simulating the selected PDE", 0.95)
    best.metrics["rel_l2"] = _full_rel_l2(best.equations, reference, data_field, max(limit, 10.0))
    if not np.isfinite(best.metrics["score"]):
        warnings.append("no candidate PDE could be re-simulated over the scoring windows; the selected one is the "
                        "regression's, unchecked (try a finer grid or a shorter time span)")
    forecast = None
    if "fno" in ops:
        try:
            forecast = forecast_field(data_field, reference, best.equations, options=fno_opts, device=device,
                                      seed=seed, progress=_scaled(progress, share, 1.0))
        except Exception as exc:  # noqa: BLE001 -- a failed forecast leaves the discovered PDE intact
            warnings.append(f"fno forecast failed: {one_line(exc)}")
    if progress is not None:
        progress("done", 1.0)
    return FieldResult(
        fields=fields, axes=axes, periodic=dict(data_field.periodic),
        spacing={a: data_field.spacing(a) for a in axes}, candidates=candidates,
        noise={f: float(r) for f, r in zip(fields, rel_noise)}, source=data_field.source,
        elapsed_s=time.perf_counter() - started, warnings=warnings, forecast=forecast,
    )


def _sparse_candidates(data_field: Field, reference: Field, rel_noise: np.ndarray, settings: FieldSettings,
                       noise_robust: bool | None, plan: WindowPlan, tau: float, seed: int,
                       report: ProgressFn) -> tuple[list[FieldCandidate], float]:
    """Stages 2-5 of the module docstring: the scored candidates, the selected one first, and the time limit of
    one re-simulation that the scoring settled on."""
    fields, axes = data_field.names, data_field.axes
    data = data_field.stack()  # (F, Nt, *N)
    spacings = [data_field.spacing(a) for a in axes]
    flags = [data_field.periodic[a] for a in axes]
    forms = []
    if noise_robust is not False:
        forms.append("weak")
    if noise_robust is False or (noise_robust is None and float(rel_noise.max()) <= CLEAN_NOISE):
        forms.append("strong")
    library = build_library(fields, axes, settings.max_degree, settings.max_order)
    report("building the regression", 0.05)
    systems = {}
    for form in forms:
        build = weak_system if form == "weak" else strong_system
        systems[form] = build(data, data_field.dt, spacings, flags, library)

    proposals: list[list[_Proposal]] = []
    for k in range(len(fields)):
        mine: dict[tuple[int, ...], _Proposal] = {}
        for form, (theta, target) in systems.items():
            for fit in _shortlist(sparsity_path(theta, target[:, k], settings.max_terms), settings.max_terms):
                if fit.support not in mine:
                    mine[fit.support] = _Proposal(k, form, fit)
        if not mine:
            raise DiscoveryError(f"no candidate model for {fields[k]}_t: the regression found no usable term")
        proposals.append(sorted(mine.values(), key=lambda p: (len(p.fit.support), p.fit.residual)))

    expressions = [[p.expression(library, fields, axes) for p in props] for props in proposals]
    picks = [_knee(p) for p in proposals]  # every field starts at the knee of its regression path
    scored: dict[tuple[int, ...], float] = {}
    limit = settings.time_limit
    sweeps = 1 if len(fields) == 1 else 2
    total = sweeps * sum(len(p) for p in proposals)
    done = 0
    for _ in range(sweeps):  # coupled fields: each field's models scored with the others at their picks
        for k in range(len(fields)):
            scores = []
            for i in range(len(proposals[k])):
                choice = tuple(picks[:k] + [i] + picks[k + 1:])
                if choice not in scored:
                    eqs = {fields[j]: expressions[j][c] for j, c in enumerate(choice)}
                    tic = time.perf_counter()
                    scored[choice] = window_error(eqs, reference, reference, plan, time_limit=limit)
                    if np.isfinite(scored[choice]):
                        limit = min(settings.time_limit, max(5.0, 10.0 * (time.perf_counter() - tic)))
                scores.append(scored[choice])
                done += 1
                report(f"re-simulating {fields[k]} candidates {i + 1}/{len(proposals[k])}",
                       0.1 + 0.8 * done / total)
            if any(np.isfinite(scores)):
                picks[k] = _select(scores, [len(p.fit.support) for p in proposals[k]], tau)

    candidates = []
    for choice, score in scored.items():
        props = [proposals[j][c] for j, c in enumerate(choice)]
        candidates.append(_candidate(props, library, fields, axes, score, data_field))
    best_choice = tuple(picks)
    order = sorted(scored, key=lambda c: (c != best_choice, not np.isfinite(scored[c]), scored[c]))
    candidates = [candidates[list(scored).index(c)] for c in order]

    if "strong" in systems and "weak" in systems:
        candidates[0] = _better_constants(candidates[0], [proposals[j][c] for j, c in enumerate(best_choice)],
                                          systems, library, reference, plan, limit)
    if settings.reaction_time_s > 0:
        chosen = [proposals[j][c].fit for j, c in enumerate(best_choice)]
        candidates = _with_reactions(candidates, chosen, systems, data_field, library, reference, plan, limit, tau,
                                     settings, seed, report)
    return candidates, limit


def _with_reactions(candidates: list[FieldCandidate], chosen: Sequence[SparseFit], systems: dict,
                    data_field: Field, library: Sequence[LibraryTerm], reference: Field, plan: WindowPlan,
                    limit: float, tau: float, settings: FieldSettings, seed: int,
                    report: ProgressFn) -> list[FieldCandidate]:
    """Non-polynomial reaction parts (:mod:`discovery.fields.reaction`) proposed for the selected sparse model
    (``chosen``: its fit per field), fitted on the strong rows where the data is clean and on the weak rows
    otherwise, re-simulated and scored; one replaces the sparse model when the selection rule (fewest terms,
    counted by :func:`~discovery.fields.reaction.formula_size`, within the tolerance of the best score) prefers
    it."""
    from discovery.fields.reaction import MIN_REACTION_TERMS, reaction_proposals
    from discovery.fields.strong import strong_columns
    from discovery.fields.weak import weak_columns
    from grammar.operators import numpy_namespace

    supports = [fit.support for fit in chosen]
    if not any(sum(1 for j in s if library[j].order == 0) >= MIN_REACTION_TERMS for s in supports):
        return candidates
    fields, axes = reference.names, reference.axes
    spacings = [reference.spacing(a) for a in axes]
    flags = [reference.periodic[a] for a in axes]
    report("searching reaction terms", 0.92)
    clean = "strong" in systems
    values = data_field.stack()
    symbols = [sympy.Symbol(f) for f in fields]

    def column(expr: sympy.Expr) -> np.ndarray | None:
        fn = sympy.lambdify(symbols, expr, modules=[numpy_namespace(), "numpy"], dummify=True)
        with np.errstate(all="ignore"):
            grid = np.broadcast_to(np.asarray(fn(*values), dtype=float), values.shape[1:])[None]
        if not np.all(np.isfinite(grid)):
            return None
        if clean:
            return strong_columns(grid, flags)[:, 0]
        return weak_columns(grid, data_field.dt, spacings, flags, library)[:, 0]

    pointwise = strong_system(reference.stack(), reference.dt, spacings, flags, library)
    found = reaction_proposals(systems["strong" if clean else "weak"], column, pointwise, library, supports,
                               [fit.coefficients for fit in chosen], fields, axes, refit_transport=clean,
                               time_budget_s=settings.reaction_time_s, seed=seed)
    sizes = [len(s) for s in supports]
    found = [p for p in found if p.size <= sizes[p.field]]  # a shorter or equal law, never a longer fit
    if not found:
        return candidates
    best = candidates[0]
    new = []
    for i, p in enumerate(found):
        report(f"re-simulating reaction candidates {i + 1}/{len(found)}", 0.95)
        equations = dict(best.equations)
        equations[fields[p.field]] = p.expression
        score = window_error(equations, reference, reference, plan, time_limit=limit)
        terms = dict(best.terms)
        terms[fields[p.field]] = p.terms
        size = sum(sizes) - sizes[p.field] + p.size
        new.append(FieldCandidate(equations, terms, form=f"{best.form}+sr", method="pde-sr",
                                  metrics={"score": score, "n_terms": size},
                                  info={"reaction": {fields[p.field]: sympy.sstr(p.reaction)}}))
    pool = [best, *new]
    scores = [float(c.metrics.get("score", np.inf)) for c in pool]
    pick = _select(scores, [int(c.metrics.get("n_terms", c.n_terms)) for c in pool], tau)
    rest = sorted(candidates[1:] + [c for c in new if c is not pool[pick]],
                  key=lambda c: (not np.isfinite(c.metrics.get("score", np.inf)), c.metrics.get("score", np.inf)))
    return [pool[pick], *([best] if pick else []), *rest]


def _rank(candidates: list[FieldCandidate], tau: float) -> list[FieldCandidate]:
    """The candidates with the selected one (fewest terms within the tolerance of the best score) first, then by
    score."""
    scores = [float(c.metrics.get("score", np.inf)) for c in candidates]
    pick = _select(scores, [int(c.metrics.get("n_terms", c.n_terms)) for c in candidates], tau)
    rest = sorted((i for i in range(len(candidates)) if i != pick),
                  key=lambda i: (not np.isfinite(scores[i]), scores[i]))
    return [candidates[i] for i in [pick, *rest]]


def _pinn_candidates(reference: Field, options: Any, plan: WindowPlan, tau: float, limit: float, device: str,
                     seed: int, report: ProgressFn) -> list[FieldCandidate]:
    """The ``pinn`` method's candidates (:func:`discovery.fields.pinn.pinn_candidates`), re-simulated, scored and
    ranked (the selected one first)."""
    from discovery.fields.pinn import pinn_candidates

    found, info = pinn_candidates(reference, options, device=device, seed=seed,
                                  progress=_scaled(report, 0.0, 0.8))
    out = []
    for i, c in enumerate(found):
        report(f"re-simulating PINN candidates {i + 1}/{len(found)}", 0.8 + 0.2 * i / len(found))
        score = window_error(c.equations, reference, reference, plan, time_limit=limit)
        terms = {f: [(sympy.sstr(t.as_coeff_Mul()[1]), float(t.as_coeff_Mul()[0])) for t in sympy.Add.make_args(e)]
                 for f, e in c.equations.items()}
        out.append(FieldCandidate(c.equations, terms, form="pinn", metrics={"score": score, "n_terms": c.n_terms},
                                  method="pde-pinn",
                                  info={**info, "hidden": {h: sympy.sstr(e) for h, e in c.hidden.items()}}))
    return _rank(out, tau)


def _scaled(progress: ProgressFn | None, lo: float, hi: float) -> ProgressFn:
    """``progress`` with fractions mapped from [0, 1] to [lo, hi] (a no-op callback for ``None``)."""
    if progress is None:
        return lambda message, fraction: None
    return lambda message, fraction: progress(message, lo + (hi - lo) * fraction)


def _candidate(props: Sequence[_Proposal], library: Sequence[LibraryTerm], fields: Sequence[str],
               axes: Sequence[str], score: float, data_field: Field) -> FieldCandidate:
    equations, terms = {}, {}
    for p in props:
        f = fields[p.field]
        equations[f] = p.expression(library, fields, axes)
        terms[f] = [(library[j].label_for(fields, axes), float(p.fit.coefficients[j])) for j in p.fit.support]
    forms = sorted({p.form for p in props})
    return FieldCandidate(
        equations=equations, terms=terms, form="+".join(forms),
        metrics={"score": score, "n_terms": sum(len(p.fit.support) for p in props),
                 "residual": max(p.fit.residual for p in props)},
    )


def _better_constants(best: FieldCandidate, props: Sequence[_Proposal], systems: dict, library: Sequence[LibraryTerm],
                      reference: Field, plan: WindowPlan, limit: float) -> FieldCandidate:
    """The selected supports refitted in the other form; whichever re-simulates better is kept."""
    fields, axes = reference.names, reference.axes
    alt = []
    for p in props:
        other = "strong" if p.form == "weak" else "weak"
        theta, target = systems[other]
        alt.append(_Proposal(p.field, other, fit_support(theta, target[:, p.field], p.fit.support)))
    candidate = _candidate(alt, library, fields, axes, 0.0, reference)
    candidate.metrics["score"] = window_error(candidate.equations, reference, reference, plan, time_limit=limit)
    return candidate if candidate.metrics["score"] < best.metrics["score"] else best
