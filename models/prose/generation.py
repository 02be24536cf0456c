"""Autoregressive decoding of the symbol decoder: greedy and beam search.

Both take the fused features that :meth:`ProseModel.encode` returns, so the encoders run once per input and the
data decoder can be queried from the same features.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.prose.decoders import reorder_caches
from models.prose.model import ProseModel


@dataclass
class Hypothesis:
    """One decoded token sequence (``bos ... eos``), its summed log-probability and its length-normalized score."""

    ids: list[int]
    log_prob: float
    score: float


def _strip(ids: list[int], pad_id: int) -> list[int]:
    return [i for i in ids if i != pad_id]


@torch.no_grad()
def greedy_decode(
    model: ProseModel,
    memory: torch.Tensor,
    memory_pad: torch.Tensor,
    max_len: int | None = None,
) -> list[list[int]]:
    """Pick the most probable next token until ``eos`` (or ``max_len`` tokens).

    Parameters
    ----------
    memory, memory_pad:
        Fused features ``(B, M, C)`` and their padding mask ``(B, M)``.

    Returns
    -------
    list of list of int
        One sequence per sample, starting with ``bos`` and ending with ``eos`` (unless cut at ``max_len``).

    Examples
    --------
    >>> memory, pad, _ = model.encode(batch)  # doctest: +SKIP
    >>> ids = greedy_decode(model, memory, pad)  # doctest: +SKIP
    """
    cfg = model.config
    max_len = min(max_len or cfg.max_symbol_len, cfg.max_symbol_len)
    B = memory.shape[0]
    decoder = model.symbol_decoder
    caches = decoder.start(memory, memory_pad)  # incremental decoding: each step costs one position
    seqs = torch.full((B, 1), cfg.bos_id, dtype=torch.long, device=memory.device)  # (B, 1)
    done = torch.zeros(B, dtype=torch.bool, device=memory.device)
    while seqs.shape[1] < max_len and not bool(done.all()):
        logits = decoder.step(seqs[:, -1], seqs.shape[1] - 1, caches).float()  # (B, V)
        logits[:, [cfg.pad_id, cfg.bos_id]] = float("-inf")  # never emitted inside a sequence
        nxt = logits.argmax(-1)  # (B,)
        nxt = torch.where(done, torch.full_like(nxt, cfg.pad_id), nxt)
        seqs = torch.cat([seqs, nxt[:, None]], dim=1)
        done = done | (nxt == cfg.eos_id)
    return [_strip(row, cfg.pad_id) for row in seqs.tolist()]


@torch.no_grad()
def beam_search(
    model: ProseModel,
    memory: torch.Tensor,
    memory_pad: torch.Tensor,
    beam_size: int = 5,
    max_len: int | None = None,
    length_penalty: float = 1.0,
) -> list[list[Hypothesis]]:
    """Keep the ``beam_size`` most probable prefixes at each step.

    Scores are ``log_prob / length ** length_penalty``. Returns, per sample, the finished hypotheses (plus the
    unfinished ones if ``max_len`` was hit), best first.

    Examples
    --------
    >>> memory, pad, _ = model.encode(batch)  # doctest: +SKIP
    >>> best = beam_search(model, memory, pad, beam_size=5)[0][0].ids  # doctest: +SKIP
    """
    cfg = model.config
    if beam_size < 1:
        raise ValueError(f"beam_search: beam_size must be >= 1, got {beam_size}")
    max_len = min(max_len or cfg.max_symbol_len, cfg.max_symbol_len)
    B, M, C = memory.shape
    K = beam_size
    dev = memory.device
    mem = memory.repeat_interleave(K, dim=0)  # (B*K, M, C)
    mem_pad = memory_pad.repeat_interleave(K, dim=0)  # (B*K, M)
    decoder = model.symbol_decoder
    caches = decoder.start(mem, mem_pad)  # incremental decoding, caches follow the surviving beams
    seqs = torch.full((B * K, 1), cfg.bos_id, dtype=torch.long, device=dev)  # (B*K, 1)
    scores = torch.full((B, K), float("-inf"), device=dev)
    scores[:, 0] = 0.0  # only the first beam is live at the start
    finished = torch.zeros(B * K, dtype=torch.bool, device=dev)
    while seqs.shape[1] < max_len and not bool(finished.all()):
        logits = decoder.step(seqs[:, -1], seqs.shape[1] - 1, caches).float()  # (B*K, V)
        logits[:, [cfg.pad_id, cfg.bos_id]] = float("-inf")  # never emitted inside a sequence
        logp = torch.log_softmax(logits, dim=-1)
        V = logp.shape[-1]
        # A finished beam may only be extended by pad, at no cost.
        frozen = torch.full_like(logp, float("-inf"))
        frozen[:, cfg.pad_id] = 0.0
        logp = torch.where(finished[:, None], frozen, logp)
        cand = (scores.view(B * K, 1) + logp).view(B, K * V)  # (B, K*V)
        top, idx = cand.topk(K, dim=-1)  # (B, K)
        beam = idx // V
        token = idx % V
        src = (beam + torch.arange(B, device=dev)[:, None] * K).view(-1)  # (B*K,)
        seqs = torch.cat([seqs[src], token.view(-1, 1)], dim=1)
        caches = reorder_caches(caches, src)
        finished = finished[src] | (token.view(-1) == cfg.eos_id)
        scores = top
    results: list[list[Hypothesis]] = []
    flat_scores = scores.view(-1).tolist()
    rows = seqs.tolist()
    for b in range(B):
        hyps = []
        for k in range(K):
            lp = flat_scores[b * K + k]
            if lp == float("-inf"):
                continue
            ids = _strip(rows[b * K + k], cfg.pad_id)
            hyps.append(Hypothesis(ids=ids, log_prob=lp, score=lp / max(len(ids) - 1, 1) ** length_penalty))
        hyps.sort(key=lambda h: h.score, reverse=True)
        results.append(hyps)
    return results
