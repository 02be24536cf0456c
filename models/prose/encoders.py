"""PROSE encoders: data encoder, symbol encoder and the fusion encoder over both."""

from __future__ import annotations

import torch
import torch.nn as nn

from models.prose.config import ProseConfig
from models.prose.layers import EncoderBlock, TimeEmbedding

N_SCALE_FEATURES_PER_DIM = 3  # symlog(mean), log10(std), channel present


def scale_feature_size(max_dim: int) -> int:
    """Length of the per-sample scale vector: 3 per state channel + log10 of the observed time span."""
    return N_SCALE_FEATURES_PER_DIM * max_dim + 1


class DataEncoder(nn.Module):
    """Self-attention over the observed samples, with one leading token that carries the sample's scales.

    The states reach it normalized per sample (zero mean, unit std per channel) and the time mapped to [0, 1]
    over the observed window; the scales removed by that normalization (means, stds, time span) are embedded
    as the leading "scale token", so the symbol decoder can still write coefficients in the original units.
    """

    def __init__(self, config: ProseConfig) -> None:
        super().__init__()
        C, D = config.d_model, config.max_dim
        self.time = TimeEmbedding(C, config.n_time_frequencies)
        self.value = nn.Linear(2 * D, C)  # normalized states and the channel mask
        self.scale = nn.Sequential(nn.Linear(scale_feature_size(D), C), nn.GELU(), nn.Linear(C, C))
        self.blocks = nn.ModuleList(
            EncoderBlock(C, config.n_heads, config.d_ff, config.dropout) for _ in range(config.n_data_layers)
        )
        self.ln = nn.LayerNorm(C)

    def forward(
        self,
        t: torch.Tensor,
        x: torch.Tensor,
        dim_mask: torch.Tensor,
        padding: torch.Tensor,
        scales: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``t (B, T)``, ``x (B, T, D)``, ``dim_mask (B, D)``, ``padding (B, T)``, ``scales (B, 3D+1)``.

        Returns the features ``(B, 1 + T, C)`` and their padding mask ``(B, 1 + T)``.
        """
        B, T, D = x.shape
        m = dim_mask[:, None, :].to(x.dtype).expand(B, T, D)  # (B, T, D)
        h = self.value(torch.cat([x * m, m], dim=-1)) + self.time(t)  # (B, T, C)
        h = torch.cat([self.scale(scales)[:, None, :], h], dim=1)  # (B, 1+T, C)
        pad = torch.cat([torch.zeros(B, 1, dtype=torch.bool, device=x.device), padding], dim=1)  # (B, 1+T)
        for block in self.blocks:
            h = block(h, pad)
        return self.ln(h), pad


class SymbolEncoder(nn.Module):
    """Self-attention over the tokens of an equation guess ``(B, S)`` (all ``pad`` when there is no guess)."""

    def __init__(self, config: ProseConfig) -> None:
        super().__init__()
        C = config.d_model
        self.pad_id = config.pad_id
        self.tok = nn.Embedding(config.vocab_size, C)
        self.pos = nn.Embedding(config.max_symbol_len, C)
        self.blocks = nn.ModuleList(
            EncoderBlock(C, config.n_heads, config.d_ff, config.dropout) for _ in range(config.n_symbol_layers)
        )
        self.ln = nn.LayerNorm(C)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the features ``(B, S, C)`` and the padding mask ``(B, S)`` (``True`` = pad)."""
        B, S = ids.shape
        pos = torch.arange(S, device=ids.device)
        h = self.tok(ids) + self.pos(pos)[None]  # (B, S, C)
        pad = ids == self.pad_id  # (B, S)
        # Keep position 0 visible inside this encoder so that an absent guess (all pad) gives finite features;
        # the fusion encoder then masks every position of an absent guess.
        inner = pad.clone()
        inner[:, 0] = False
        for block in self.blocks:
            h = block(h, inner)
        return self.ln(h), pad


class FusionEncoder(nn.Module):
    """Self-attention over the concatenated data and symbol features, each tagged with a modality embedding."""

    def __init__(self, config: ProseConfig) -> None:
        super().__init__()
        C = config.d_model
        self.modality = nn.Embedding(2, C)
        self.blocks = nn.ModuleList(
            EncoderBlock(C, config.n_heads, config.d_ff, config.dropout) for _ in range(config.n_fusion_layers)
        )
        self.ln = nn.LayerNorm(C)

    def forward(
        self,
        data: torch.Tensor,
        data_pad: torch.Tensor,
        symbols: torch.Tensor,
        symbol_pad: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fuse ``data (B, T', C)`` and ``symbols (B, S, C)`` into ``(B, T'+S, C)`` with padding ``(B, T'+S)``."""
        h = torch.cat([data + self.modality.weight[0], symbols + self.modality.weight[1]], dim=1)  # (B, T'+S, C)
        pad = torch.cat([data_pad, symbol_pad], dim=1)
        for block in self.blocks:
            h = block(h, pad)
        return self.ln(h), pad
