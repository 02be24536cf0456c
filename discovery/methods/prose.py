"""The ``prose`` method: the pretrained PROSE transformer reads the data (and an optional equation guess) and
writes candidate equations and an operator prediction of the trajectory.

The shipped checkpoint (``models/checkpoints/prose-small``) is loaded once per process and cached. The user's
variables are mapped to the canonical ``x_0 .. x_{D-1}`` the model knows (at most 5), every trajectory is read
(subsampled to the model's input length), the symbol decoder runs a beam search, and each hypothesis that decodes
to a valid system becomes a candidate in the user's variable names. The data decoder's forecast of each trajectory
is appended to ``context.predictions`` (see "Operator prediction" below).

PROSE reads the time scale of its input: it was trained on windows covering a few characteristic times of each
system, and a user's file may span many more. So the symbol decoder reads several leading windows of each
trajectory (``windows``: fractions of the observed span, by default the whole, 1/2, 1/4, ..., 1/256, each read
when it holds at least ``min_window_points`` points: chaotic systems were trained on windows of a few Lyapunov
times) and the candidates of all windows are pooled, taking the best of every window first; re-simulation against
the data, downstream, decides among them.

Operator prediction: the data decoder was trained to read the first third of a window and predict the other two
thirds, so it forecasts well only from a read of the right length, which depends on the system and the sampling.
Read over a whole file it reconstructs and extrapolates poorly (relative L2 0.5-1.4 half a span ahead on
Lotka-Volterra, the damped pendulum, Van der Pol and FitzHugh-Nagumo at 1% noise). So the read length is chosen by
a backtest on the data itself: for each candidate length ``R`` (``forecast_reads``: fractions of the span, from a
third down), the decoder reads ``[T - 3R, T - 2R]`` and predicts ``(T - 2R, T]``, which it has not seen; the length
with the smallest error is used to read ``[T - R, T]`` and forecast up to ``T + horizon * R``. On the same
systems the forecast error is then 0.003-0.16 (Lorenz 0.27), and the backtest error, the prediction's ``rel_l2``,
is a fair estimate of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.methods.base import Candidate, Method, MethodContext, register
from discovery.options import Options, option

if TYPE_CHECKING:  # pragma: no cover
    from discovery.data import Trajectories, Trajectory
    from discovery.prediction import OperatorPrediction
    from models.prose.inference import ProsePredictor

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "checkpoints" / "prose-small"
MAX_VARS = 5
_PREDICTORS: dict[tuple[str, str], "ProsePredictor"] = {}


def load_predictor(checkpoint: str | Path | None = None, device: str = "auto") -> "ProsePredictor":
    """The PROSE predictor of ``checkpoint`` (default: the shipped one) on ``device``, cached per process.

    Raises
    ------
    DiscoveryError
        When the folder holds no checkpoint.
    """
    from models.device import resolve_device
    from models.prose.inference import ProsePredictor

    folder = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
    dev = resolve_device(device)
    key = (str(folder.resolve()), str(dev))
    if key not in _PREDICTORS:
        if not (folder / "model.safetensors").is_file() or not (folder / "config.json").is_file():
            raise DiscoveryError(
                f"prose: no PROSE checkpoint in {str(folder)!r} (expected config.json and model.safetensors); "
                f"train one with 'eqdisco train prose --out {folder}'"
            )
        _PREDICTORS[key] = ProsePredictor.from_pretrained(folder, device=dev)
    return _PREDICTORS[key]


def clear_cache() -> None:
    """Forget the loaded checkpoints (tests, or after retraining in the same process)."""
    _PREDICTORS.clear()


@dataclass(frozen=True)
class ProseOptions(Options):
    """Options of the ``prose`` method.

    Attributes
    ----------
    checkpoint:
        Checkpoint folder; ``None`` uses the shipped ``models/checkpoints/prose-small``.
    beam_size:
        Beam width of the symbol decoder.
    max_candidates:
        Most candidate systems returned (best beam scores first, duplicates removed).
    horizon:
        The forecast reaches ``horizon`` times the chosen read length beyond the data (2: the two thirds of a window
        the model was trained to predict from one third).
    forecast_reads:
        Read lengths tried by the backtest, as fractions of each trajectory's span (at most a third, so that the
        backtest's read and prediction fit in the data); lengths with fewer than ``min_window_points`` points are
        skipped, and a trajectory too short for any is read whole.
    max_trajectories:
        Most trajectories read (the first ones).
    windows:
        Leading windows read by the symbol decoder, as fractions of each trajectory's observed span (windows
        with fewer than ``min_window_points`` points are skipped; the whole span is always read).
    min_window_points:
        Fewest observed points in a window.

    """

    owner = "prose"

    checkpoint: Path | None = None
    beam_size: int = option(5, low=1, high=64)
    max_candidates: int = option(10, low=1)
    horizon: float = option(2.0, low=0.0, low_open=True)
    max_trajectories: int = option(8, low=1)
    windows: tuple[float, ...] = option(tuple(0.5**k for k in range(9)), low=0.0, high=1.0, low_open=True, each=True)
    min_window_points: int = option(16, low=2)
    forecast_reads: tuple[float, ...] = option((1 / 3, 1 / 4, 1 / 6, 1 / 8, 1 / 12, 1 / 16, 1 / 24, 1 / 32, 1 / 48, 1 / 64),
                                               low=0.0, high=1 / 3 + 1e-12, low_open=True, each=True)

    def validate(self) -> None:
        for name in ("windows", "forecast_reads"):
            if not getattr(self, name):
                raise DiscoveryError(f"prose.{name}: expected at least one fraction, found none")


@register
class ProseMethod(Method):
    """PROSE: a multimodal transformer that reads trajectories and an optional guess and writes equations.

    Options are the fields of :class:`ProseOptions` (``ProseMethod(beam_size=8)``).

    The equation guess, if any, comes from ``context.options["guess"]``: a mapping variable -> formula text
    (parsed safely with :func:`grammar.parser.parse`) or sympy expression, for every state variable.

    Examples
    --------
    >>> from discovery.simulation import simulate
    >>> data = simulate("lotka_volterra")
    >>> context = MethodContext(options={"guess": {"x": "x - 0.1*x*y", "y": "0.07*x*y - 1.5*y"}})
    >>> candidates = ProseMethod().propose(data, context)  # doctest: +SKIP
    >>> context.predictions[0].model  # doctest: +SKIP
    'prose'
    """

    name = "prose"
    description = "pretrained PROSE transformer: data and an optional guess in, equations and a trajectory out"
    requires = ("torch",)
    install_hint = "pip install torch"

    Options = ProseOptions
    main_options = ("beam_size", "max_candidates", "horizon")
    """The options the app's set-up form shows."""

    def suits(self, data: "Trajectories") -> bool:
        folder = Path(self.options.checkpoint) if self.options.checkpoint is not None else DEFAULT_CHECKPOINT
        return len(data.variables) <= MAX_VARS and (folder / "model.safetensors").is_file()

    def _guess(self, data: "Trajectories", context: MethodContext) -> list[sympy.Expr] | None:
        from discovery.known import parse_guess
        from grammar.errors import GrammarError
        from grammar.tokenizer import canonicalize

        guess = context.options.get("guess")
        if guess is None:
            return None
        exprs = parse_guess(guess, data.variables)
        try:
            canonical, _ = canonicalize(exprs)
        except GrammarError as exc:
            raise DiscoveryError(f"prose: {exc}") from None
        return canonical

    def _forecast(
        self,
        predictor: "ProsePredictor",
        tr: "Trajectory",
        k: int,
        variables: list[str],
        guess: list[sympy.Expr] | None,
        checkpoint_name: str,
    ) -> "OperatorPrediction":
        """The data decoder's forecast of trajectory ``tr`` from a read length chosen by backtest (module docstring)."""
        from discovery.prediction import OperatorPrediction, relative_l2

        t, x = tr.t, tr.x
        end, span = float(t[-1]), float(t[-1] - t[0])
        trials = []  # (fraction, read mask, unseen mask)
        for fraction in sorted({float(f) for f in self.options.forecast_reads}, reverse=True):
            r = fraction * span
            read = (t >= end - 3.0 * r - 1e-12 * span) & (t <= end - 2.0 * r)
            unseen = t > end - 2.0 * r
            if read.sum() >= self.options.min_window_points and unseen.sum() >= 2:
                trials.append((fraction, read, unseen))
        backtest = None
        fraction = None
        if trials:
            batch = predictor.make_batch([(t[read], x[read]) for _, read, _ in trials], [guess] * len(trials))
            predicted = predictor.predict_states(batch, [t[unseen] for _, _, unseen in trials])
            errors = [relative_l2(p, x[unseen]) for p, (_, _, unseen) in zip(predicted, trials)]
            best = int(np.argmin(errors))
            fraction, backtest = trials[best][0], float(errors[best])
        r = span if fraction is None else fraction * span
        read = t >= end - r - 1e-12 * span
        step = float(np.median(np.diff(t[read]))) if read.sum() > 1 else r
        n_ahead = max(int(np.ceil(self.options.horizon * r / step)), 1)
        t_query = np.concatenate([t[read], end + self.options.horizon * r * np.arange(1, n_ahead + 1) / n_ahead])
        batch = predictor.make_batch([(t[read], x[read])], [guess])
        values = predictor.predict_states(batch, [t_query])[0]
        return OperatorPrediction(
            model="prose",
            variables=tuple(variables),
            t=t_query,
            x=values,
            trajectory=k,
            rel_l2=backtest if backtest is not None else relative_l2(values[: int(read.sum())], x[read]),
            info={"checkpoint": checkpoint_name, "guess": guess is not None, "read": [float(t[read][0]), end],
                  "read_fraction": fraction, "horizon": float(self.options.horizon), "backtest_rel_l2": backtest},
        )

    def propose(self, data: "Trajectories", context: MethodContext) -> list[Candidate]:
        from grammar.errors import GrammarError
        from grammar.tokenizer import canonical_name, decanonicalize

        variables = list(data.variables)
        if len(variables) > MAX_VARS:
            raise DiscoveryError(
                f"prose: the PROSE model reads at most {MAX_VARS} state variables, the data has {len(variables)} "
                f"({', '.join(variables)}); use another method or fewer variables"
            )
        start = time.perf_counter()
        context.report("prose: loading the model", 0.0)
        predictor = load_predictor(self.options.checkpoint, context.device)
        guess = self._guess(data, context)
        trajectories = list(data)[: self.options.max_trajectories]
        mapping = {v: canonical_name(i) for i, v in enumerate(variables)}
        context.report("prose: reading the data", 0.2)
        # The whole span of every trajectory first, then shorter leading windows.
        reads: list[tuple[int, float, np.ndarray, np.ndarray]] = [
            (k, 1.0, tr.t, tr.x) for k, tr in enumerate(trajectories)
        ]
        for fraction in sorted({float(w) for w in self.options.windows if w < 1.0}, reverse=True):
            for k, tr in enumerate(trajectories):
                n = int(np.searchsorted(tr.t, tr.t[0] + fraction * tr.duration, side="right"))
                if n >= self.options.min_window_points:
                    reads.append((k, fraction, tr.t[:n], tr.x[:n]))
        try:
            batch = predictor.make_batch([(t, x) for _, _, t, x in reads], [guess] * len(reads))
        except GrammarError as exc:
            raise DiscoveryError(f"prose: the guess cannot be tokenized: {exc}") from None
        context.report("prose: beam search", 0.4)
        decoded = predictor.decode(batch, beam_size=self.options.beam_size)

        context.report("prose: operator prediction", 0.8)
        checkpoint_name = Path(self.options.checkpoint).name if self.options.checkpoint is not None else DEFAULT_CHECKPOINT.name
        for k, tr in enumerate(trajectories):
            context.predictions.append(self._forecast(predictor, tr, k, variables, guess, checkpoint_name))

        # Candidates: the valid hypotheses of every read, round-robin over the reads (the best of each first).
        valid = [[(rank, h) for rank, h in enumerate(hyps) if h.valid] for hyps in decoded]
        n_valid = sum(len(v) for v in valid)
        candidates: list[Candidate] = []
        seen: set[str] = set()
        depth = 0
        while len(candidates) < self.options.max_candidates and any(depth < len(v) for v in valid):
            layer = [(reads[i], v[depth]) for i, v in enumerate(valid) if depth < len(v)]
            layer.sort(key=lambda item: -item[1][1].score)
            for (k, fraction, t_read, _), (rank, h) in layer:
                equations = decanonicalize(h.equations, mapping)
                key = repr(sorted((v, sympy.srepr(e)) for v, e in equations.items()))
                if key in seen:
                    continue
                seen.add(key)
                candidates.append(
                    Candidate(
                        method="prose",
                        equations=equations,
                        info={"beam_score": float(h.score), "beam_rank": rank, "trajectory": k,
                              "window": [float(t_read[0]), float(t_read[-1])], "checkpoint": checkpoint_name,
                              "guess": guess is not None},
                    )
                )
                if len(candidates) >= self.options.max_candidates:
                    break
            depth += 1
        elapsed = time.perf_counter() - start
        for c in candidates:
            c.info["valid_hypotheses"] = n_valid
            c.info["hypotheses"] = sum(len(h) for h in decoded)
            c.info["reads"] = len(reads)
            c.info["elapsed_s"] = round(elapsed, 3)
        context.report("prose: done", 1.0)
        return candidates

