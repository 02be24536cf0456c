"""PROSE network: shapes, masking, normalization, the operator decoder's query independence, decoding."""

from __future__ import annotations

import pytest
import torch

from models.prose import ProseConfig, ProseModel, beam_search, greedy_decode, preset

V = 24  # toy vocabulary: 0 pad, 1 bos, 2 eos, 3.. symbols


def tiny_config(**overrides) -> ProseConfig:
    values = dict(vocab_size=V, d_model=32, n_heads=2, d_ff=64, max_symbol_len=32, n_time_frequencies=4)
    values.update(overrides)
    return ProseConfig(**values)


def toy_batch(B: int = 3, T: int = 12, Q: int = 5, D: int = 5, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t = torch.sort(torch.rand(B, T, generator=g) * 2.0, dim=1).values
    dim_mask = torch.zeros(B, D, dtype=torch.bool)
    for b in range(B):
        dim_mask[b, : 1 + b % D] = True
    x = torch.randn(B, T, D, generator=g) * 3.0 + 1.0
    x = x * dim_mask[:, None, :]
    target = torch.randint(3, V, (B, 9), generator=g)
    target[:, 0] = 1
    target[:, -1] = 2
    target[0, 5:] = 0  # a shorter target, padded
    target[0, 4] = 2
    return {
        "t_in": t,
        "x_in": x,
        "in_pad": torch.zeros(B, T, dtype=torch.bool),
        "dim_mask": dim_mask,
        "guess": torch.randint(3, V, (B, 7), generator=g),
        "t_query": torch.linspace(0.0, 6.0, Q).repeat(B, 1),
        "x_query": torch.randn(B, Q, D, generator=g) * dim_mask[:, None, :],
        "target": target,
    }


@pytest.fixture
def model() -> ProseModel:
    torch.manual_seed(0)
    return ProseModel(tiny_config()).eval()


def test_forward_shapes_and_losses(model):
    batch = toy_batch()
    out, loss = model(batch)
    assert out["x_query"].shape == (3, 5, 5)
    assert out["logits"].shape == (3, 8, V)
    assert torch.isfinite(loss) and loss.item() > 0
    assert torch.isclose(loss, out["data_loss"] + out["symbol_loss"])
    loss.backward()
    assert all(p.grad is not None for p in model.operator_decoder.parameters())


def test_no_targets_no_loss(model):
    batch = {k: v for k, v in toy_batch().items() if k not in ("x_query", "target")}
    out, loss = model(batch)
    assert loss is None and set(out) == {"x_query"}


def test_operator_queries_do_not_see_each_other(model):
    batch = toy_batch()
    memory, pad, scales = model.encode(batch)
    t_a = torch.tensor([[0.5, 3.0, 4.0]]).repeat(3, 1)
    t_b = torch.tensor([[3.0, 0.1, 0.2, 5.5, 6.5, 7.0]]).repeat(3, 1)
    x_a, _ = model.decode_data(t_a, memory, pad, scales)
    x_b, _ = model.decode_data(t_b, memory, pad, scales)
    torch.testing.assert_close(x_a[:, 1], x_b[:, 0], rtol=1e-5, atol=1e-5)  # same time, different company
    x_one, _ = model.decode_data(t_a[:, 1:2], memory, pad, scales)
    torch.testing.assert_close(x_one[:, 0], x_a[:, 1], rtol=1e-5, atol=1e-5)


def test_padding_of_points_and_channels_is_ignored(model):
    batch = toy_batch()
    out, _ = model(batch)
    # Append padded points with garbage values and change the values of absent channels.
    B, T, D = batch["x_in"].shape
    padded = dict(batch)
    padded["t_in"] = torch.cat([batch["t_in"], torch.full((B, 4), 123.0)], dim=1)
    padded["x_in"] = torch.cat([batch["x_in"], torch.randn(B, 4, D) * 100], dim=1)
    padded["in_pad"] = torch.cat([batch["in_pad"], torch.ones(B, 4, dtype=torch.bool)], dim=1)
    padded["x_in"] = torch.where(batch["dim_mask"][:, None, :].expand(B, T + 4, D), padded["x_in"], 7.0)
    out2, _ = model(padded)
    valid = batch["dim_mask"][:, None, :].expand_as(out["x_query"])
    torch.testing.assert_close(out2["x_query"][valid], out["x_query"][valid], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out2["logits"], out["logits"], rtol=1e-4, atol=1e-4)


def test_time_origin_does_not_matter(model):
    batch = toy_batch()
    shifted = dict(batch, t_in=batch["t_in"] + 10.0, t_query=batch["t_query"] + 10.0)
    out, _ = model(batch)
    out2, _ = model(shifted)
    torch.testing.assert_close(out2["x_query"], out["x_query"], rtol=1e-3, atol=1e-3)


def test_states_are_denormalized(model):
    batch = toy_batch()
    scales = model.sample_scales(batch["t_in"], batch["x_in"], batch["in_pad"], batch["dim_mask"])
    m = batch["dim_mask"]
    torch.testing.assert_close(scales.mean[m], batch["x_in"].mean(1)[m], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(scales.std[m], batch["x_in"].std(1, unbiased=False)[m], rtol=1e-3, atol=1e-4)
    assert torch.all(scales.std[~m] == 1.0) and torch.all(scales.mean[~m] == 0.0)
    x = torch.randn(3, 4, 5)
    torch.testing.assert_close(scales.unstates(scales.states(x)), x, rtol=1e-5, atol=1e-5)


def test_absent_guess_is_masked(model):
    batch = toy_batch()
    no_guess = {k: v for k, v in batch.items() if k != "guess"}
    blank = dict(batch, guess=torch.zeros(3, 7, dtype=torch.long))
    out_none, _ = model(no_guess)
    out_blank, _ = model(blank)
    out_guess, _ = model(batch)
    assert torch.isfinite(out_blank["logits"]).all()
    torch.testing.assert_close(out_blank["logits"], out_none["logits"], rtol=1e-5, atol=1e-5)
    assert not torch.allclose(out_guess["logits"], out_none["logits"], atol=1e-4)


def test_greedy_and_beam_decoding(model):
    batch = toy_batch()
    memory, pad, _ = model.encode(batch)
    greedy = greedy_decode(model, memory, pad, max_len=12)
    assert len(greedy) == 3 and all(seq[0] == 1 for seq in greedy)
    beams = beam_search(model, memory, pad, beam_size=1, max_len=12)
    assert [h[0].ids for h in beams] == greedy
    beams5 = beam_search(model, memory, pad, beam_size=5, max_len=12)
    for hyps in beams5:
        assert 1 <= len(hyps) <= 5
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        assert all(0 not in h.ids and h.ids[0] == 1 for h in hyps)


def test_overfits_two_samples():
    torch.manual_seed(0)
    model = ProseModel(tiny_config())
    batch = toy_batch(B=2)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        _, loss = model(batch)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    _, final = model(batch)
    assert final.item() < 0.1 * first
    memory, pad, _ = model.encode(batch)
    decoded = beam_search(model, memory, pad, beam_size=3, max_len=12)
    for b in range(2):
        want = [i for i in batch["target"][b].tolist() if i != 0]
        assert decoded[b][0].ids == want


def test_config_presets_and_errors():
    small, base = preset("small", vocab_size=V), preset("base", vocab_size=V)
    assert small.d_model < base.d_model
    assert ProseConfig.from_dict(small.to_dict()) == small
    with pytest.raises(ValueError, match="unknown PROSE preset"):
        preset("huge")
    with pytest.raises(ValueError, match="multiple of n_heads"):
        ProseConfig(vocab_size=V, d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="vocab_size"):
        ProseModel(ProseConfig())
    with pytest.raises(ValueError, match="unknown keys"):
        ProseConfig.from_dict({"vocab_size": V, "width": 3})


def test_incremental_decoding_matches_full_forward(model):
    batch = toy_batch()
    memory, pad, _ = model.encode(batch)
    ids = batch["target"][:, :6]
    full = model.symbol_decoder(ids, memory, pad)  # (B, 6, V)
    caches = model.symbol_decoder.start(memory, pad)
    for i in range(6):
        step = model.symbol_decoder.step(ids[:, i], i, caches)
        real = ids[:, i] != 0  # padded positions are masked in the full forward only; never decoded
        torch.testing.assert_close(step[real], full[real, i], rtol=1e-4, atol=1e-5)
