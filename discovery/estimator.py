"""``EquationDiscovery``: :func:`discovery.discover` as a scikit-learn estimator, for users coming from pysindy.

``EquationDiscovery(method="sindy").fit(x, t=0.01).print()`` reads as ``ps.SINDy().fit(x, t=0.01).print()`` does:
``__init__`` only stores the parameters, ``fit`` checks them (one :class:`~discovery.errors.DiscoveryError` line for a
bad one), runs discovery and returns ``self``; what was learned ends in ``_`` (``equations_``, ``result_``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from discovery.errors import DataError, DiscoveryError

__all__ = ["EquationDiscovery"]


def _as_list(x: Any) -> list[np.ndarray]:
    """``x`` as a list of trajectories ``(N_k, D)``: an array is one trajectory, a list of arrays several (as in
    pysindy 2); nested lists of numbers are one trajectory."""
    if isinstance(x, (list, tuple)) and x and all(isinstance(a, np.ndarray) for a in x):
        items = list(x)
    else:
        try:
            items = [np.asarray(x, dtype=float)]
        except (TypeError, ValueError):
            raise DataError(f"x: expected an array (N, D) or a list of such arrays, found {type(x).__name__}") from None
    out = []
    for a in items:
        a = np.asarray(a, dtype=float)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[0] < 2:
            raise DataError(f"x: expected an array (N, D) with N >= 2 samples, found shape {a.shape}")
        out.append(a)
    return out


def _times(t: Any, xs: list[np.ndarray]) -> list[np.ndarray]:
    """Sample times per trajectory: ``t`` a step (float), one time array, or one array per trajectory."""
    if t is None:
        t = 1.0
    if np.isscalar(t):
        dt = float(t)  # type: ignore[arg-type]
        if not np.isfinite(dt) or dt <= 0:
            raise DataError(f"t: expected a positive time step or an array of times, found {t!r}")
        return [dt * np.arange(len(x)) for x in xs]
    if isinstance(t, Sequence) and len(t) == len(xs) and not np.isscalar(t[0]):
        return [np.asarray(tk, dtype=float) for tk in t]
    if len(xs) == 1:
        return [np.asarray(t, dtype=float)]
    raise DataError("t: with several trajectories give a time step or one time array per trajectory")


class EquationDiscovery:
    """Discover the equations of ``dx/dt = f(x)`` from samples of ``x``, in the scikit-learn manner.

    Parameters
    ----------
    method:
        ``"auto"``, a method name, several (``"sindy,sr"`` or a list), or configured method objects
        (``SINDy(ensemble=True)``), as in :func:`discovery.discover`.
    derivative, refine, max_refine, polish, seed, device:
        As in :func:`discovery.discover`.
    method_options:
        Options per method, ``{"sindy": {"degree": 2}}``.
    known, guess:
        A partly known model for ``pinn``, a guessed system for ``prose``.

    Attributes
    ----------
    result_:
        The :class:`~discovery.result.DiscoveryResult` of the last fit (every candidate, metrics, exports).
    equations_:
        ``{variable: sympy expression}`` of the selected model.
    feature_names_in_, n_features_in_:
        The state variables' names and count.

    Examples
    --------
    >>> import numpy as np
    >>> from discovery import EquationDiscovery, simulate
    >>> tr = simulate("lotka_volterra")[0]
    >>> model = EquationDiscovery(method="sindy").fit(tr.x, t=tr.t, feature_names=["x", "y"])
    >>> model.print()  # doctest: +SKIP
    (x)' = -0.100 x y + 1.000 x
    (y)' = 0.075 x y + -1.500 y
    >>> model.score(tr.x, t=tr.t) > 0.99
    True
    """

    def __init__(
        self,
        method: Any = "auto",
        *,
        derivative: str = "auto",
        refine: bool = True,
        max_refine: int = 6,
        polish: bool = True,
        seed: int = 0,
        device: str = "auto",
        method_options: Mapping[str, Mapping[str, Any]] | None = None,
        known: Any = None,
        guess: Any = None,
    ) -> None:
        self.method = method
        self.derivative = derivative
        self.refine = refine
        self.max_refine = max_refine
        self.polish = polish
        self.seed = seed
        self.device = device
        self.method_options = method_options
        self.known = known
        self.guess = guess

    # --- scikit-learn's parameter protocol -------------------------------------------------------------
    _PARAMS = ("method", "derivative", "refine", "max_refine", "polish", "seed", "device", "method_options", "known",
               "guess")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> "EquationDiscovery":
        unknown = sorted(set(params) - set(self._PARAMS))
        if unknown:
            raise ValueError(f"EquationDiscovery: unknown parameter(s) {', '.join(unknown)}; valid: "
                             f"{', '.join(self._PARAMS)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = EquationDiscovery().get_params()
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != defaults[k])
        return f"EquationDiscovery({shown})"

    def settings(self) -> Any:
        """The checked request these parameters make (:func:`discovery.pipeline.settings.build_settings`)."""
        from discovery.pipeline.settings import build_settings

        options = self.method_options or {}
        if not isinstance(options, Mapping):
            raise DiscoveryError(f"method_options: expected a mapping {{method: {{option: value}}}}, found "
                                 f"{type(options).__name__}")
        return build_settings(self.method, derivative=self.derivative, refine=self.refine, max_refine=self.max_refine,
                              polish=self.polish, seed=self.seed, device=self.device, known=self.known,
                              guess=self.guess, **options)

    # --- learning ----------------------------------------------------------------------------------------
    def fit(self, x: Any, t: Any = None, feature_names: Sequence[str] | None = None,
            progress: Any = None, u: Any = None) -> "EquationDiscovery":
        """Discover the equations behind ``x``.

        Parameters
        ----------
        x:
            States ``(N, D)``, or a list of such arrays (several trajectories of the same system).
        t:
            A time step (default 1), the sample times ``(N,)``, or one time array per trajectory.
        feature_names:
            The variables' names (default ``x0, x1, ...``).
        progress:
            Optional callback ``progress(message, fraction)``.
        u:
            Measured control inputs, as pysindy's ``fit(x, t, u=u)``: ``(N, M)`` (or ``(N,)``) per trajectory, on
            the same times as ``x``; named ``u0, u1, ...`` in the equations.

        Returns
        -------
        self
        """
        from discovery.api import discover
        from discovery.data import Trajectories, Trajectory

        settings = self.settings()  # a bad parameter fails before the data is touched
        xs = _as_list(x)
        D = xs[0].shape[1]
        if any(a.ndim != 2 or a.shape[1] != D for a in xs):
            raise DataError("x: every trajectory needs the same number of variables (columns)")
        names = [f"x{i}" for i in range(D)] if feature_names is None else [str(n) for n in feature_names]
        if len(names) != D:
            raise DataError(f"feature_names: expected {D} names (one per column of x), found {len(names)}")
        us = [None] * len(xs) if u is None else [a.reshape(len(a), -1) for a in _as_list(u)]
        if len(us) != len(xs) or any(a is not None and len(a) != len(xk) for a, xk in zip(us, xs)):
            raise DataError("u: expected one input array per trajectory, with one row per sample of x")
        inputs = [] if u is None else [f"u{j}" for j in range(us[0].shape[1])]
        trajectories = [Trajectory(tk, xk, uk) for tk, xk, uk in zip(_times(t, xs), xs, us)]
        data = Trajectories(names, trajectories, source="array", inputs=inputs)
        self.result_ = discover(data, settings=settings, progress=progress)
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = D
        self.equations_ = dict(self.result_.equations)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "result_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("this EquationDiscovery is not fitted yet; call fit(x, t) first")

    # --- using the model -------------------------------------------------------------------------------
    def predict(self, x: Any, u: Any = None) -> np.ndarray:
        """The selected model's right-hand side ``dx/dt`` at the states ``x`` ``(N, D)`` (and inputs ``u`` ``(N, M)``
        when it was fitted with inputs); returns ``(N, D)``."""
        self._check_fitted()
        arr = np.atleast_2d(np.asarray(x, dtype=float))
        if arr.shape[1] != self.n_features_in_:
            raise DataError(f"x: expected {self.n_features_in_} columns ({', '.join(self.feature_names_in_)}), "
                            f"found {arr.shape[1]}")
        f = self.result_.rhs_numpy()
        if not self.result_.external:
            return np.stack([np.asarray(f(0.0, row), dtype=float) for row in arr])
        if u is None:
            raise DataError(f"u: the model has inputs ({', '.join(self.result_.external)}); pass u (N, M)")
        us = np.asarray(u, dtype=float).reshape(len(arr), -1)
        return np.stack([np.asarray(f(0.0, row, ur), dtype=float) for row, ur in zip(arr, us)])

    def simulate(self, x0: Any, t: Any, u: Any = None) -> np.ndarray:
        """The selected model integrated from ``x0`` over the times ``t``; returns ``(N, D)``. A model fitted with
        inputs needs ``u``: an array ``(N, M)`` on ``t`` (interpolated linearly in between) or a callable ``u(t)``."""
        self._check_fitted()
        return self.result_.simulate(np.asarray(x0, dtype=float), np.asarray(t, dtype=float), inputs=u)

    def score(self, x: Any, t: Any = None, u: Any = None) -> float:
        """R^2 of the selected model re-simulated from each trajectory's first state against ``x`` (variance
        weighted over variables, averaged over trajectories), with the inputs ``u`` when it has some."""
        from discovery.pipeline.scoring import trajectory_r2

        self._check_fitted()
        xs = _as_list(x)
        us = [None] * len(xs) if u is None else _as_list(u)
        return float(np.mean([trajectory_r2(self.simulate(xk[0], tk, uk), xk)
                              for tk, xk, uk in zip(_times(t, xs), xs, us)]))

    def equations(self, precision: int = 3) -> list[str]:
        """The selected right-hand sides as strings, in variable order (pysindy's ``equations()``)."""
        self._check_fitted()
        import sympy

        return [sympy.sstr(self.equations_[v].evalf(precision)) for v in self.feature_names_in_]

    def print(self, precision: int = 3) -> None:
        """Print ``(v)' = ...`` for each variable, as pysindy does."""
        for name, eq in zip(self.feature_names_in_, self.equations(precision)):
            print(f"({name})' = {eq}")
