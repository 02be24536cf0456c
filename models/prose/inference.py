"""Inference with a trained PROSE model on numpy trajectories: operator predictions and decoded equations.

:class:`ProsePredictor` turns raw ``(t, x)`` arrays (any length, any spacing, 1 to 5 variables) and optional
equation guesses over the canonical variables ``x_0 ... x_{D-1}`` into model batches, and turns the model's
outputs back into numpy states and sympy systems. It knows nothing of the discovery pipeline.

Units: a checkpoint whose training data were normalized (``normalization="scale"`` in its ``training_info.json``;
see :mod:`grammar.units`) reads every trajectory in normalized coordinates -- its window mapped to ``tau`` in
[0, 1], each state divided by its root mean square -- and every decoded system and every predicted state is mapped
back to the user's units exactly (:meth:`grammar.units.Scaling.to_user`), so one model serves any time span,
sampling rate and scale. Checkpoints trained in the zoo's own units (``"none"``, the first ones) read the user's
numbers as they are (times relative to the first one).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import sympy
import torch

from grammar.units import NORMALIZATIONS, Scaling
from models.device import DeviceLike, resolve_device
from models.prose.generation import beam_search
from models.prose.model import ProseModel

if TYPE_CHECKING:  # pragma: no cover
    from grammar.tokenizer import ExpressionTokenizer


@dataclass
class DecodedSystem:
    """A decoded hypothesis: equations over ``x_0 ... x_{D-1}`` (``None`` when invalid) and its beam score."""

    ids: list[int]
    score: float
    equations: list[sympy.Expr] | None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.equations is not None


def _subsample(t: np.ndarray, x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    if t.size <= n:
        return t, x
    idx = np.unique(np.round(np.linspace(0, t.size - 1, n)).astype(int))
    return t[idx], x[idx]


class ProsePredictor:
    """A PROSE model and its tokenizer, ready for numpy inputs.

    Parameters
    ----------
    model, tokenizer:
        A trained :class:`ProseModel` and the :class:`grammar.ExpressionTokenizer` it was trained with.
    device:
        Torch device (``"auto"``: CUDA when present).
    n_input:
        Longer observed trajectories are subsampled (uniformly in index) to this many points, the length the
        model was trained on.
    max_len:
        Longest decoded token sequence (``None``: the model's ``max_symbol_len``).
    normalization:
        How the model's training data were expressed (:data:`grammar.units.NORMALIZATIONS`): ``"scale"`` reads
        normalized trajectories and maps equations and states back; ``"none"`` reads the user's units.

    Examples
    --------
    >>> predictor = ProsePredictor.from_pretrained("models/checkpoints/prose-small")  # doctest: +SKIP
    >>> batch = predictor.make_batch([(t, x)])  # doctest: +SKIP
    >>> states = predictor.predict_states(batch, [np.linspace(0, 3, 50)])  # (1, 50, D)  # doctest: +SKIP
    >>> systems = predictor.decode(batch, beam_size=5)[0]  # doctest: +SKIP
    """

    def __init__(
        self,
        model: ProseModel,
        tokenizer: "ExpressionTokenizer",
        device: DeviceLike = "cpu",
        n_input: int = 64,
        max_len: int | None = None,
        normalization: str = "none",
    ) -> None:
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"unknown normalization {normalization!r}; valid: {', '.join(NORMALIZATIONS)}")
        self.normalization = normalization
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.n_input = int(n_input)
        self.max_len = max_len

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, device: DeviceLike = "cpu", n_input: int | None = None
    ) -> "ProsePredictor":
        """Load a checkpoint folder; ``n_input`` and ``max_len`` follow the data the model was trained on."""
        import json

        from models.prose.io import METADATA_NAME, from_pretrained

        model, tokenizer = from_pretrained(folder, device)
        data_config = {}
        info_path = Path(folder) / METADATA_NAME
        if info_path.is_file():
            data_config = json.loads(info_path.read_text()).get("data_config", {})
        if n_input is None:
            n_input = int(data_config.get("n_input", 64))
        max_len = int(data_config["max_tokens"]) + 8 if "max_tokens" in data_config else None
        return cls(model, tokenizer, device, n_input, max_len, data_config.get("normalization", "none"))

    def scaling(self, t: np.ndarray, x: np.ndarray) -> Scaling:
        """The coordinates trajectory ``(t, x)`` is read in: :meth:`grammar.units.Scaling.of_data` under
        ``"scale"``, else the user's units with times counted from the first one."""
        if self.normalization == "scale":
            return Scaling.of_data(t, x)
        return Scaling(float(t[0]), 1.0, (0.0,) * x.shape[1], (1.0,) * x.shape[1])

    # ------------------------------------------------------------------ batches
    def make_batch(
        self,
        trajectories: Sequence[tuple[np.ndarray, np.ndarray]],
        guesses: Sequence[Sequence[sympy.Expr] | None] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Pad a list of ``(t (N,), x (N, D))`` and optional guesses (lists of ``D`` expressions) into a batch.

        Each trajectory is read in the coordinates of :meth:`scaling` (``batch["scalings"]``, one
        :class:`grammar.units.Scaling` each; ``batch["t_offset"]`` holds the first times, float64, on the CPU): the
        shift to the first time happens in float64, so absolute clocks such as Unix timestamps keep their resolution
        in float32. :meth:`predict_states` takes and returns the user's times and units, :meth:`decode` writes
        equations in the user's units.
        """
        cfg = self.model.config
        if guesses is None:
            guesses = [None] * len(trajectories)
        if len(guesses) != len(trajectories):
            raise ValueError(f"expected one guess (or None) per trajectory: {len(trajectories)} trajectories, "
                             f"{len(guesses)} guesses")
        items = []
        for k, (t, x) in enumerate(trajectories):
            t = np.asarray(t, dtype=np.float64)
            x = np.asarray(x, dtype=np.float64)
            if x.ndim == 1:
                x = x[:, None]
            if t.ndim != 1 or x.shape[0] != t.size:
                raise ValueError(f"trajectory {k}: expected t of shape (N,) and x of shape (N, D), found "
                                 f"{t.shape} and {x.shape}")
            if x.shape[1] > cfg.max_dim:
                raise ValueError(f"trajectory {k}: PROSE reads at most {cfg.max_dim} variables, found {x.shape[1]}")
            if t.size < 2:
                raise ValueError(f"trajectory {k}: needs at least 2 points, found {t.size}")
            items.append(_subsample(t, x, self.n_input))
        B = len(items)
        T = max(t.size for t, _ in items)
        scalings = [self.scaling(t, x) for t, x in items]
        guess_ids = [[] if g is None else list(self.tokenizer.encode_system(self._read_guess(g, s)))
                     for g, s in zip(guesses, scalings)]
        S = max([len(g) for g in guess_ids] + [1])
        batch = {
            "t_in": torch.zeros(B, T),
            "x_in": torch.zeros(B, T, cfg.max_dim),
            "in_pad": torch.ones(B, T, dtype=torch.bool),
            "dim_mask": torch.zeros(B, cfg.max_dim, dtype=torch.bool),
            "guess": torch.full((B, S), cfg.pad_id, dtype=torch.long),
        }
        offsets = torch.tensor([s.t0 for s in scalings], dtype=torch.float64)  # (B,)
        for b, ((t, x), scaling) in enumerate(zip(items, scalings)):
            n, d = x.shape
            batch["t_in"][b, :n] = torch.from_numpy(scaling.times(t)).float()
            batch["x_in"][b, :n, :d] = torch.from_numpy(scaling.states(x)).float()
            batch["in_pad"][b, :n] = False
            batch["dim_mask"][b, :d] = True
            if guess_ids[b]:
                batch["guess"][b, : len(guess_ids[b])] = torch.tensor(guess_ids[b])
        return {**{k: v.to(self.device) for k, v in batch.items()}, "t_offset": offsets, "scalings": scalings}

    @staticmethod
    def _read_guess(guess: Sequence[sympy.Expr], scaling: Scaling) -> list[sympy.Expr]:
        """A guess in the user's units, written in the coordinates the model reads (rounded by the tokenizer)."""
        guess = [sympy.sympify(g) for g in guess]
        if scaling.keeps_equations or len(guess) != scaling.n_vars:
            return guess  # nothing to map (or a guess of another length, passed on as it is)
        return [sympy.expand(g) for g in scaling.to_normalized(guess)]

    # ------------------------------------------------------------------ outputs
    @torch.no_grad()
    def predict_states(self, batch: dict[str, torch.Tensor], t_query: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The data decoder's states at each sample's query times (absolute, like the times given to
        :meth:`make_batch`): one ``(Q_b, D_b)`` array per sample."""
        memory, pad, scales = self.model.encode(batch)
        B = memory.shape[0]
        Q = max(len(q) for q in t_query)
        dims = batch["dim_mask"].sum(1).tolist()
        scalings = self._scalings(batch, dims)
        tq = torch.zeros(B, Q, device=self.device)
        for b, q in enumerate(t_query):
            tq[b, : len(q)] = torch.as_tensor(scalings[b].times(q), dtype=torch.float32)
        x, _ = self.model.decode_data(tq, memory, pad, scales)  # (B, Q, D)
        return [scalings[b].user_states(x[b, : len(q), : dims[b]].double().cpu().numpy())
                for b, q in enumerate(t_query)]

    @staticmethod
    def _scalings(batch: dict, dims: list[int]) -> list[Scaling]:
        """The batch's coordinates (a batch built elsewhere, without them, is in the model's own)."""
        if "scalings" in batch:
            return list(batch["scalings"])
        offsets = batch.get("t_offset", torch.zeros(len(dims), dtype=torch.float64)).tolist()
        return [Scaling(float(t0), 1.0, (0.0,) * int(d), (1.0,) * int(d)) for t0, d in zip(offsets, dims)]

    def _check(self, ids: list[int], n_vars: int) -> DecodedSystem:
        from grammar.errors import GrammarError

        try:
            exprs = list(self.tokenizer.decode_system(ids))
        except GrammarError as exc:
            return DecodedSystem(ids, 0.0, None, str(exc))
        if len(exprs) != n_vars:
            return DecodedSystem(ids, 0.0, None, f"expected {n_vars} equations, decoded {len(exprs)}")
        allowed = {sympy.Symbol(f"x_{i}") for i in range(n_vars)}
        for e in exprs:
            extra = sympy.sympify(e).free_symbols - allowed
            if extra:
                names = sorted(map(str, extra))
                return DecodedSystem(ids, 0.0, None, f"uses symbols {names} beyond x_0..x_{n_vars - 1}")
            if sympy.sympify(e).has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
                return DecodedSystem(ids, 0.0, None, "contains a non-finite number")
        return DecodedSystem(ids, 0.0, exprs)

    @torch.no_grad()
    def decode(
        self, batch: dict[str, torch.Tensor], beam_size: int = 5, max_len: int | None = None
    ) -> list[list[DecodedSystem]]:
        """Beam-search every sample; returns all hypotheses (valid or not), best score first, valid ones written in
        the user's units (see the module docstring)."""
        memory, pad, _ = self.model.encode(batch)
        hyps = beam_search(self.model, memory, pad, beam_size=beam_size, max_len=max_len or self.max_len)
        dims = batch["dim_mask"].sum(1).tolist()
        scalings = self._scalings(batch, dims)
        out = []
        for b, sample in enumerate(hyps):
            decoded = []
            for h in sample:
                d = self._check(h.ids, int(dims[b]))
                d.score = h.score
                if d.equations is not None and not scalings[b].keeps_equations:
                    d.equations = scalings[b].to_user(d.equations)  # the user's units, exactly
                decoded.append(d)
            out.append(decoded)
        return out
