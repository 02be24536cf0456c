"""Transformer building blocks shared by the PROSE encoders and decoders (pre-norm, nanoGPT style).

Masks follow one convention throughout: a boolean ``key_padding`` tensor of shape ``(B, S)`` is ``True`` where a
key is padding and must be ignored.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    """Multi-head attention of queries ``(B, T, C)`` over keys/values ``(B, S, C)``."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.q = nn.Linear(d_model, d_model)
        self.kv = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = dropout

    def keys_values(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Project ``memory (B, S, C)`` to keys and values, each ``(B, h, S, C/h)``."""
        B, S, C = memory.shape
        h = self.n_heads
        k, v = self.kv(memory).split(C, dim=-1)
        return k.view(B, S, h, C // h).transpose(1, 2), v.view(B, S, h, C // h).transpose(1, 2)

    def attend(
        self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Queries from ``x (B, T, C)`` over given keys/values ``(B, h, S, C/h)``; ``mask`` True = may attend."""
        B, T, C = x.shape
        h = self.n_heads
        q = self.q(x).view(B, T, h, C // h).transpose(1, 2)  # (B, h, T, C/h)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )  # (B, h, T, C/h)
        return self.out(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        key_padding: torch.Tensor | None = None,
        causal: bool = False,
    ) -> torch.Tensor:
        T, S = x.shape[1], memory.shape[1]
        k, v = self.keys_values(memory)  # (B, h, S, C/h)
        mask = None
        if key_padding is not None:
            mask = ~key_padding[:, None, None, :]  # (B, 1, 1, S), True = may attend
        if causal:
            tri = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)  # (T, S)
            mask = tri if mask is None else mask & tri
        return self.attend(x, k, v, mask)


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EncoderBlock(nn.Module):
    """Self-attention + feed-forward, pre-norm residual."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads, dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout)

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor | None = None) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, key_padding)  # (B, T, C)
        return x + self.ff(self.ln2(x))


class CrossBlock(nn.Module):
    """Cross-attention to a memory + feed-forward (the operator decoder's layer: queries never see each other)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.ln_mem = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads, dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, memory_padding: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), self.ln_mem(memory), memory_padding)  # (B, Q, C)
        return x + self.ff(self.ln2(x))


class DecoderBlock(nn.Module):
    """Causal self-attention, cross-attention to a memory, feed-forward (the symbol decoder's layer)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.self_attn = Attention(d_model, n_heads, dropout)
        self.ln2 = nn.LayerNorm(d_model)
        self.ln_mem = nn.LayerNorm(d_model)
        self.cross_attn = Attention(d_model, n_heads, dropout)
        self.ln3 = nn.LayerNorm(d_model)
        self.ff = FeedForward(d_model, d_ff, dropout)

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        memory_padding: torch.Tensor | None,
        self_padding: torch.Tensor | None = None,
    ) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.self_attn(h, h, self_padding, causal=True)  # (B, L, C)
        x = x + self.cross_attn(self.ln2(x), self.ln_mem(memory), memory_padding)
        return x + self.ff(self.ln3(x))

    def start(self, memory: torch.Tensor, memory_padding: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The cache of incremental decoding: cross-attention keys/values of the memory, no past tokens yet."""
        mem_k, mem_v = self.cross_attn.keys_values(self.ln_mem(memory))  # (B, h, M, C/h)
        B, h, _, hd = mem_k.shape
        empty = mem_k.new_zeros(B, h, 0, hd)
        cache = {"mem_k": mem_k, "mem_v": mem_v, "k": empty, "v": empty}
        if memory_padding is not None:
            cache["mem_mask"] = ~memory_padding[:, None, None, :]  # (B, 1, 1, M)
        return cache

    def step(self, x: torch.Tensor, cache: dict[str, torch.Tensor]) -> torch.Tensor:
        """One new position ``x (B, 1, C)`` given the cache of the previous ones (updated in place)."""
        h = self.ln1(x)
        k, v = self.self_attn.keys_values(h)  # (B, h, 1, C/h)
        cache["k"] = torch.cat([cache["k"], k], dim=2)
        cache["v"] = torch.cat([cache["v"], v], dim=2)
        x = x + self.self_attn.attend(h, cache["k"], cache["v"])  # attends to every past position and itself
        x = x + self.cross_attn.attend(self.ln2(x), cache["mem_k"], cache["mem_v"], cache.get("mem_mask"))
        return x + self.ff(self.ln3(x))


class TimeEmbedding(nn.Module):
    """Fourier features of a scalar time ``(B, T)`` -> ``(B, T, C)``.

    Frequencies are geometric between 1/4 and 64 cycles per unit of normalized time, so both the slow trend
    over the input window and fast oscillations are representable.
    """

    def __init__(self, d_model: int, n_frequencies: int) -> None:
        super().__init__()
        self.register_buffer("freqs", self.frequencies(n_frequencies), persistent=False)  # (F,)
        self.proj = nn.Linear(2 * n_frequencies + 1, d_model)

    @staticmethod
    def frequencies(n_frequencies: int) -> torch.Tensor:
        """Angular frequencies ``(F,)``, geometric between 1/4 and 64 cycles per unit of time."""
        return 2 * math.pi * torch.logspace(math.log10(0.25), math.log10(64.0), n_frequencies)

    @torch.no_grad()
    def reset_frequencies(self) -> None:
        """Recompute the buffer (models built on the ``meta`` device by ``from_pretrained`` need it)."""
        fresh = self.frequencies(self.freqs.numel())
        if self.freqs.is_meta:
            self.freqs = fresh
        else:
            self.freqs.copy_(fresh.to(self.freqs.device, self.freqs.dtype))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angles = t[..., None] * self.freqs  # (B, T, F)
        feats = torch.cat([angles.sin(), angles.cos(), t[..., None]], dim=-1)  # (B, T, 2F+1)
        return self.proj(feats)  # (B, T, C)
