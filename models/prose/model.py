"""The PROSE network: data + optional equation guess in; equations and an operator prediction out.

A batch is a dict of tensors (``B`` samples, ``T`` observed points, ``D = max_dim`` state channels, ``S`` guess
tokens, ``Q`` query times, ``L`` target tokens):

=============  ==============  ========================================================================
key            shape           meaning
=============  ==============  ========================================================================
``t_in``       (B, T) float    observed times (padding anywhere, its times ignored)
``x_in``       (B, T, D)       observed states (missing channels zero)
``in_pad``     (B, T) bool     ``True`` where a point is padding
``dim_mask``   (B, D) bool     ``True`` for the channels a sample has
``guess``      (B, S) long     tokenized equation guess, all ``pad_id`` when absent (optional)
``t_query``    (B, Q) float    times at which the data decoder is asked for the state
``x_query``    (B, Q, D)       targets at those times (training only)
``query_pad``  (B, Q) bool     ``True`` where a query is padding (optional)
``target``     (B, L) long     tokenized true equations ``bos ... eos pad ...`` (training only)
=============  ==============  ========================================================================

Times are normalized per sample so that the observed window maps to [0, 1] (input length and spacing may vary);
states are normalized per sample and channel to zero mean and unit std over the observed window, and the data
decoder's output is mapped back with the remembered mean and std.

:class:`ProseModel` is a :class:`transformers.PreTrainedModel` (config class :class:`ProseConfig`), registered with
``AutoConfig``/``AutoModel`` when this module is imported, so ``model.save_pretrained(folder)`` writes the library's
``config.json`` + ``model.safetensors`` and ``ProseModel.from_pretrained(folder)`` (or
``AutoModel.from_pretrained(folder)``) reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel, PreTrainedModel

from models.prose.config import MODEL_TYPE, ProseConfig
from models.prose.decoders import OperatorDecoder, SymbolDecoder
from models.prose.encoders import DataEncoder, FusionEncoder, SymbolEncoder
from models.prose.layers import TimeEmbedding


@dataclass
class SampleScales:
    """What per-sample normalization removed: ``t0 (B,)``, ``span (B,)``, ``mean (B, D)``, ``std (B, D)``."""

    t0: torch.Tensor
    span: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def times(self, t: torch.Tensor) -> torch.Tensor:
        return (t - self.t0[:, None]) / self.span[:, None]  # (B, T)

    def states(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean[:, None, :]) / self.std[:, None, :]  # (B, T, D)

    def unstates(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std[:, None, :] + self.mean[:, None, :]  # (B, T, D)


def _symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log10(1.0 + x.abs())


class ProseModel(PreTrainedModel):
    """PROSE: data encoder, symbol encoder, fusion, operator data decoder and symbol decoder.

    Examples
    --------
    >>> import torch
    >>> from models.prose import ProseConfig, ProseModel
    >>> model = ProseModel(ProseConfig(vocab_size=40, d_model=32, n_heads=2, d_ff=64))
    >>> B, T, D = 2, 20, 5
    >>> batch = {"t_in": torch.linspace(0, 1, T).repeat(B, 1), "x_in": torch.randn(B, T, D),
    ...          "in_pad": torch.zeros(B, T, dtype=torch.bool), "dim_mask": torch.ones(B, D, dtype=torch.bool),
    ...          "t_query": torch.linspace(1, 3, 7).repeat(B, 1)}
    >>> out, loss = model(batch)
    >>> tuple(out["x_query"].shape), loss is None
    ((2, 7, 5), True)
    """

    config_class = ProseConfig
    base_model_prefix = "prose"
    main_input_name = "batch"
    _tied_weights_keys = {"symbol_decoder.head.weight": "symbol_decoder.tok.weight"}

    def __init__(self, config: ProseConfig) -> None:
        if config.vocab_size < 4:
            raise ValueError(f"ProseConfig.vocab_size must come from the tokenizer (>= 4), got {config.vocab_size}")
        super().__init__(config)
        self.data_encoder = DataEncoder(config)
        self.symbol_encoder = SymbolEncoder(config)
        self.fusion = FusionEncoder(config)
        self.operator_decoder = OperatorDecoder(config)
        self.symbol_decoder = SymbolDecoder(config)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """Initial weights (called by the library's ``post_init`` on every sub-module)."""
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, TimeEmbedding):
            module.reset_frequencies()  # a non-persistent buffer: rebuilt, never read from a checkpoint

    # ------------------------------------------------------------------ normalization
    @staticmethod
    def sample_scales(
        t_in: torch.Tensor, x_in: torch.Tensor, in_pad: torch.Tensor, dim_mask: torch.Tensor
    ) -> SampleScales:
        """Per-sample time origin/span and per-channel mean/std over the valid observed points."""
        valid = (~in_pad).to(x_in.dtype)  # (B, T)
        n = valid.sum(1).clamp_min(1.0)  # (B,)
        t0 = t_in.masked_fill(in_pad, float("inf")).amin(1)  # (B,) first valid time
        t_last = t_in.masked_fill(in_pad, float("-inf")).amax(1)  # (B,) last valid time
        span = (t_last - t0).clamp_min(1e-8)  # (B,)
        w = valid[:, :, None]  # (B, T, 1)
        mean = (x_in * w).sum(1) / n[:, None]  # (B, D)
        var = (((x_in - mean[:, None, :]) ** 2) * w).sum(1) / n[:, None]
        std = torch.sqrt(var + (1e-3 * mean.abs()) ** 2 + 1e-12)  # (B, D), never zero
        mask = dim_mask.to(x_in.dtype)
        mean = mean * mask
        std = std * mask + (1.0 - mask)  # padded channels: identity normalization
        return SampleScales(t0=t0, span=span, mean=mean, std=std)

    @staticmethod
    def scale_features(scales: SampleScales, dim_mask: torch.Tensor) -> torch.Tensor:
        """The scale token's input ``(B, 3D+1)``: symlog(mean), log10(std), channel mask, log10(span)."""
        m = dim_mask.to(scales.mean.dtype)
        return torch.cat(
            [_symlog(scales.mean) * m, torch.log10(scales.std) * m, m, torch.log10(scales.span)[:, None]], dim=-1
        )

    # ------------------------------------------------------------------ parts
    def encode(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, SampleScales]:
        """Run the data encoder, the symbol encoder and the fusion encoder.

        Returns the fused features ``(B, 1+T+S, C)``, their padding mask and the sample scales.
        """
        t_in, x_in, in_pad, dim_mask = batch["t_in"], batch["x_in"], batch["in_pad"], batch["dim_mask"]
        scales = self.sample_scales(t_in.float(), x_in.float(), in_pad, dim_mask)
        t_n = scales.times(t_in.float())  # (B, T) in [0, 1]
        x_n = scales.states(x_in.float())  # (B, T, D)
        feats = self.scale_features(scales, dim_mask)  # (B, 3D+1)
        data, data_pad = self.data_encoder(t_n, x_n, dim_mask, in_pad, feats)  # (B, 1+T, C)
        guess = batch.get("guess")
        if guess is None:
            guess = torch.full((t_in.shape[0], 1), self.config.pad_id, dtype=torch.long, device=t_in.device)
        symbols, symbol_pad = self.symbol_encoder(guess)  # (B, S, C)
        memory, memory_pad = self.fusion(data, data_pad, symbols, symbol_pad)  # (B, 1+T+S, C)
        return memory, memory_pad, scales

    def decode_data(
        self, t_query: torch.Tensor, memory: torch.Tensor, memory_pad: torch.Tensor, scales: SampleScales
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """States at the (raw) query times ``(B, Q)``: ``(x, x_normalized)``, both ``(B, Q, D)``."""
        x_n = self.operator_decoder(scales.times(t_query.float()), memory, memory_pad)  # (B, Q, D)
        return scales.unstates(x_n.float()), x_n

    # ------------------------------------------------------------------ forward
    def forward(
        self, batch: dict[str, torch.Tensor]
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Run the whole network; returns ``(outputs, loss)``.

        ``outputs`` holds ``x_query (B, Q, D)`` (de-normalized); with ``x_query`` targets, ``data_loss`` (per sample
        ``sum err^2 / sum (target^2 + 1)`` in normalized units, averaged); with ``target`` tokens, ``logits
        (B, L-1, V)`` and ``symbol_loss`` (cross-entropy). ``loss`` is the weighted sum of the losses whose
        targets are present, else ``None``.
        """
        cfg = self.config
        memory, memory_pad, scales = self.encode(batch)
        outputs: dict[str, torch.Tensor] = {}
        losses = []
        if "t_query" in batch:
            x_q, x_q_n = self.decode_data(batch["t_query"], memory, memory_pad, scales)
            outputs["x_query"] = x_q
            if "x_query" in batch:
                target_n = scales.states(batch["x_query"].float())  # (B, Q, D)
                w = batch["dim_mask"][:, None, :].to(x_q_n.dtype).expand_as(x_q_n)  # (B, Q, D)
                if "query_pad" in batch:
                    w = w * (~batch["query_pad"])[:, :, None].to(w.dtype)
                # Per-sample squared error relative to (target^2 + 1) in normalized units: an MSE for states in
                # the observed range, a squared relative error for trajectories that leave it (growth, blow-up).
                err = ((x_q_n.float() - target_n) ** 2 * w).sum(dim=(1, 2))  # (B,)
                ref = ((target_n**2 + 1.0) * w).sum(dim=(1, 2)).clamp_min(1e-6)  # (B,)
                data_loss = (err / ref).mean()
                outputs["data_loss"] = data_loss.detach()
                losses.append(cfg.data_loss_weight * data_loss)
        if "target" in batch:
            target = batch["target"]
            logits = self.symbol_decoder(target[:, :-1], memory, memory_pad)  # (B, L-1, V)
            outputs["logits"] = logits
            symbol_loss = F.cross_entropy(
                logits.float().reshape(-1, logits.shape[-1]), target[:, 1:].reshape(-1), ignore_index=cfg.pad_id
            )
            outputs["symbol_loss"] = symbol_loss.detach()
            losses.append(cfg.symbol_loss_weight * symbol_loss)
        loss = torch.stack(losses).sum() if losses else None
        return outputs, loss


AutoConfig.register(MODEL_TYPE, ProseConfig, exist_ok=True)
AutoModel.register(ProseConfig, ProseModel, exist_ok=True)
