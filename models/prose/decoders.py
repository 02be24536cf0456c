"""PROSE decoders: the operator data decoder and the autoregressive symbol decoder."""

from __future__ import annotations

import torch
import torch.nn as nn

from models.prose.config import ProseConfig
from models.prose.layers import CrossBlock, DecoderBlock, TimeEmbedding


class OperatorDecoder(nn.Module):
    """Evaluate the learned solution operator at arbitrary query times.

    Each query time is embedded on its own and only cross-attends to the fused features: there is no attention
    between queries, so the output at one time does not depend on which other times were asked for, and any
    number of query times can be evaluated.
    """

    def __init__(self, config: ProseConfig) -> None:
        super().__init__()
        C = config.d_model
        self.time = TimeEmbedding(C, config.n_time_frequencies)
        self.blocks = nn.ModuleList(
            CrossBlock(C, config.n_heads, config.d_ff, config.dropout) for _ in range(config.n_operator_layers)
        )
        self.ln = nn.LayerNorm(C)
        self.head = nn.Linear(C, config.max_dim)

    def forward(self, t_query: torch.Tensor, memory: torch.Tensor, memory_pad: torch.Tensor) -> torch.Tensor:
        """Map normalized query times ``(B, Q)`` to normalized states ``(B, Q, D)``."""
        h = self.time(t_query)  # (B, Q, C)
        for block in self.blocks:
            h = block(h, memory, memory_pad)
        return self.head(self.ln(h))  # (B, Q, D)


class SymbolDecoder(nn.Module):
    """Causal transformer decoder over expression tokens, cross-attending to the fused features."""

    def __init__(self, config: ProseConfig) -> None:
        super().__init__()
        C = config.d_model
        self.pad_id = config.pad_id
        self.max_len = config.max_symbol_len
        self.tok = nn.Embedding(config.vocab_size, C)
        self.pos = nn.Embedding(config.max_symbol_len, C)
        self.blocks = nn.ModuleList(
            DecoderBlock(C, config.n_heads, config.d_ff, config.dropout) for _ in range(config.n_decoder_layers)
        )
        self.ln = nn.LayerNorm(C)
        self.head = nn.Linear(C, config.vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying

    def forward(self, ids: torch.Tensor, memory: torch.Tensor, memory_pad: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(B, L, V)`` for the prefix tokens ``ids (B, L)``."""
        B, L = ids.shape
        if L > self.max_len:
            raise ValueError(f"symbol decoder: sequence of {L} tokens exceeds max_symbol_len={self.max_len}")
        h = self.tok(ids) + self.pos(torch.arange(L, device=ids.device))[None]  # (B, L, C)
        pad = ids == self.pad_id  # (B, L)
        for block in self.blocks:
            h = block(h, memory, memory_pad, pad)
        return self.head(self.ln(h))  # (B, L, V)

    def start(self, memory: torch.Tensor, memory_pad: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """Per-layer caches for :meth:`step` (incremental decoding, same result as :meth:`forward`)."""
        return [block.start(memory, memory_pad) for block in self.blocks]

    def step(self, ids: torch.Tensor, position: int, caches: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        """Next-token logits ``(B, V)`` after the token ``ids (B,)`` at ``position``; updates ``caches``."""
        if position >= self.max_len:
            raise ValueError(f"symbol decoder: position {position} exceeds max_symbol_len={self.max_len}")
        h = self.tok(ids)[:, None, :] + self.pos.weight[position]  # (B, 1, C)
        for block, cache in zip(self.blocks, caches):
            h = block.step(h, cache)
        return self.head(self.ln(h))[:, 0]  # (B, V)


def reorder_caches(caches: list[dict[str, torch.Tensor]], index: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """Select rows ``index`` of every cached tensor (beam search keeps the caches of the surviving beams)."""
    return [{k: v.index_select(0, index) for k, v in cache.items()} for cache in caches]
