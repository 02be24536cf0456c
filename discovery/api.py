"""``discover``: trajectories in, ranked and re-simulated equations out.

:func:`discover` checks the request (:func:`discovery.pipeline.settings.build_settings`), loads the data, and runs
the pipeline's named stages (:mod:`discovery.pipeline.stages`).
"""

from __future__ import annotations

from typing import Any, Sequence

from discovery.data import Trajectories, load_trajectories
from discovery.errors import DiscoveryError
from discovery.methods.base import Method, ProgressFn
from discovery.pipeline import stages
from discovery.pipeline.refine import RefineConfig
from discovery.pipeline.scoring import ScoringConfig
from discovery.pipeline.settings import OPERATOR_MODELS, DiscoverySettings, build_settings
from discovery.pipeline.stages import auto_methods
from discovery.quiet import quiet_libraries
from discovery.result import DiscoveryResult

__all__ = ["OPERATOR_MODELS", "auto_methods", "discover"]


def discover(
    data: Any,
    method: str | Method | Sequence[str | Method] = "auto",
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
    scoring: ScoringConfig | None = None,
    refinement: RefineConfig | None = None,
    uncertainty: bool = True,
    seed: int = 0,
    device: str = "auto",
    inputs: Sequence[str] | str | None = None,
    parameters: Sequence[str] | str | None = None,
    time_dependent: bool = False,
    progress: ProgressFn | None = None,
    settings: DiscoverySettings | None = None,
    **method_options: dict[str, Any],
) -> DiscoveryResult:
    """Discover the differential equations behind ``data``.

    Parameters
    ----------
    data:
        A path (CSV, Parquet, NPZ), a pandas DataFrame, arrays ``(t, x)``, or :class:`~discovery.data.Trajectories`.
    method:
        ``"auto"`` (every method that suits the data, ranked together), one registered name (``"sindy"``,
        ``"sr"``, ``"prose"``, ``"pinn"``, ``"node"``), several (a list or ``"sindy,sr"``), or configured method
        objects (``SINDy(ensemble=True)``, see :mod:`discovery.methods`).
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
        ``result.operator_predictions`` (PROSE's prediction is added whenever ``prose`` runs). For a field:
        ``("fno",)``, a Fourier neural operator forecast in ``result.forecast``; ``known``, ``device``, ``seed``
        and the ``fno={...}`` / ``pinn={...}`` options go to :func:`discovery.fields.discover_field` as well.
    scoring, refinement:
        Settings of scoring/selection and of the constant refinement.
    uncertainty:
        Quantify the selected model's uncertainty: a confidence interval for every constant, an inclusion
        probability for every term, identifiability warnings (``result.uncertainty``; see
        :mod:`discovery.pipeline.uncertainty`). ``False`` skips it.
    seed, device:
        Seed of every random choice; torch device for the neural methods (``"auto"`` = CUDA when present).
    inputs:
        Columns that are measured input signals (a drive, a control; ``["u"]`` or ``"u1,u2"``): symbols of the
        equations, interpolated linearly between samples, without an equation of their own.
    parameters:
        Columns constant within each trajectory (``["mu"]``): symbols of the equations, so that one model across
        experiments says how the dynamics depend on them.
    time_dependent:
        Also search terms in the time ``t``: a periodic drive ``a*cos(w*t) + b*sin(w*t)`` with its frequency ``w``
        found from the data and fitted. Without it, ``auto`` still tries the drive when the best autonomous model
        leaves a residual with a clear spectral peak.
    progress:
        Callback ``progress(message, fraction)``.
    settings:
        A request already checked by :func:`~discovery.pipeline.settings.build_settings` (what the command line,
        the batch runner and the app pass); then no other option may be given.
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
        For an unknown method or option or a bad value (before any work), or when no method produced a usable
        candidate.

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
    from discovery.fields import is_field

    if settings is None and not isinstance(data, Trajectories) and is_field(data):  # a field: the PDE path
        from discovery.fields import discover_field

        return discover_field(data, method=method if isinstance(method, str) else "auto", known=known,
                              operators=operators or None, fno=method_options.get("fno"),
                              pinn=method_options.get("pinn"), seed=seed, device=device, progress=progress)
    if settings is None:
        settings = build_settings(
            method, derivative=derivative, known=known, guess=guess, refine=refine, max_refine=max_refine,
            polish=polish, prune_tolerances=prune_tolerances, operators=operators, scoring=scoring,
            refinement=refinement, uncertainty=uncertainty, seed=seed, device=device, inputs=inputs,
            parameters=parameters, time_dependent=time_dependent, **method_options,
        )
    elif not isinstance(settings, DiscoverySettings):
        raise DiscoveryError(f"settings: expected DiscoverySettings (from build_settings), found "
                             f"{type(settings).__name__}")
    elif method_options or method != "auto":
        raise DiscoveryError("settings: give either a DiscoverySettings or the options, not both")
    if not isinstance(data, Trajectories) or variables or settings.inputs or settings.parameters:
        data = load_trajectories(data, variables=variables, inputs=settings.inputs or None,
                                 parameters=settings.parameters or None)
    with quiet_libraries():  # the libraries' warnings about failed candidates are reported as results instead
        return stages.run(data, settings, progress)
