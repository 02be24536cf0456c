"""PROSE on CUDA: mixed-precision training steps, the library's save/load, inference back on the GPU (``-m gpu``)."""

from __future__ import annotations

import pytest
import torch

from models.prose import ProseConfig, ProseModel, TrainConfig, load_model, save_pretrained, train

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def toy_dataset(n: int = 64) -> dict[str, torch.Tensor]:
    """Oscillations cos(w t) whose target 'equation' is the token 3 + w (a symbol the data decide)."""
    g = torch.Generator().manual_seed(0)
    T, Q, D = 16, 8, 5
    w = torch.randint(1, 4, (n,), generator=g)
    t_in, t_q = torch.linspace(0.0, 2.0, T).repeat(n, 1), torch.linspace(0.0, 6.0, Q).repeat(n, 1)
    x_in, x_q = torch.zeros(n, T, D), torch.zeros(n, Q, D)
    x_in[:, :, 0], x_q[:, :, 0] = torch.cos(w[:, None] * t_in), torch.cos(w[:, None] * t_q)
    dim_mask = torch.zeros(n, D, dtype=torch.bool)
    dim_mask[:, 0] = True
    target = torch.stack([torch.ones(n, dtype=torch.long), 3 + w, torch.full((n,), 2)], dim=1)
    return {"t_in": t_in, "x_in": x_in, "in_pad": torch.zeros(n, T, dtype=torch.bool), "dim_mask": dim_mask,
            "guess": torch.zeros(n, 3, dtype=torch.long), "t_query": t_q, "x_query": x_q, "target": target}


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_training_on_cuda_learns_and_round_trips(tmp_path, amp):
    torch.manual_seed(0)
    model = ProseModel(ProseConfig(vocab_size=20, d_model=64, n_heads=4, d_ff=128, max_symbol_len=16))
    data = toy_dataset(64)
    cfg = TrainConfig(steps=120, batch_size=32, lr=3e-3, warmup_steps=10, eval_every=60, save_every=60,
                      log_every=20, amp=amp)
    summary = train(model, data, cfg, tmp_path, eval_data=data, device="cuda", progress=False)
    assert summary["step"] == 120 and summary["eval_symbol_loss"] < 0.5
    assert next(model.parameters()).is_cuda and next(model.parameters()).dtype == torch.float32
    save_pretrained(model, tmp_path / "half", half=True)
    for folder in (tmp_path, tmp_path / "half"):
        loaded = load_model(folder, device="cuda")
        batch = {k: v[:4].cuda() for k, v in data.items()}
        with torch.no_grad():
            out, _ = loaded(batch)
        assert out["logits"].argmax(-1)[:, 0].tolist() == batch["target"][:, 1].tolist()
