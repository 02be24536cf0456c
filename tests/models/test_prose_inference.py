"""ProsePredictor: numpy trajectories and guesses in, states and checked sympy systems out."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch

from grammar.tokenizer import ExpressionTokenizer
from models.prose import ProseConfig, ProseModel, ProsePredictor, save_pretrained

X0, X1 = sympy.symbols("x_0 x_1")


@pytest.fixture(scope="module")
def tok() -> ExpressionTokenizer:
    return ExpressionTokenizer()


@pytest.fixture(scope="module")
def predictor(tok) -> ProsePredictor:
    torch.manual_seed(0)
    config = ProseConfig(vocab_size=tok.vocab_size, pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
                         d_model=32, n_heads=2, d_ff=64, max_symbol_len=40, n_time_frequencies=4)
    return ProsePredictor(ProseModel(config), tok, device="cpu", n_input=16, max_len=12)


def test_make_batch_pads_subsamples_and_tokenizes(predictor, tok):
    t1 = np.linspace(0, 1, 100)
    t2 = np.linspace(0, 3, 7)
    batch = predictor.make_batch(
        [(t1, np.c_[np.sin(t1), np.cos(t1)]), (t2, np.exp(-t2))],
        [[X1, -X0], None],
    )
    assert batch["x_in"].shape == (2, 16, 5)  # 100 points subsampled to 16
    assert batch["t_in"][0, 0] == 0.0 and batch["t_in"][0, 15] == pytest.approx(1.0)
    assert (~batch["in_pad"]).sum(1).tolist() == [16, 7]
    assert batch["dim_mask"].sum(1).tolist() == [2, 1]
    assert batch["guess"][0].tolist()[: len(tok.encode_system([X1, -X0]))] == tok.encode_system([X1, -X0])
    assert torch.all(batch["guess"][1] == tok.pad_id)


@pytest.mark.parametrize(
    "trajectory, message",
    [
        ((np.linspace(0, 1, 5), np.zeros((5, 6))), "at most 5 variables"),
        ((np.linspace(0, 1, 5), np.zeros((4, 2))), "expected t of shape"),
        ((np.zeros(1), np.zeros((1, 2))), "at least 2 points"),
    ],
)
def test_make_batch_errors(predictor, trajectory, message):
    with pytest.raises(ValueError, match=message):
        predictor.make_batch([trajectory])


def test_predict_states_and_decode(predictor):
    t = np.linspace(0, 2, 30)
    batch = predictor.make_batch([(t, np.c_[np.sin(t), np.cos(t)]), (t, np.exp(-t))])
    states = predictor.predict_states(batch, [np.linspace(0, 3, 9), np.linspace(0, 3, 4)])
    assert states[0].shape == (9, 2) and states[1].shape == (4, 1)
    assert all(np.all(np.isfinite(s)) for s in states)
    decoded = predictor.decode(batch, beam_size=3)
    assert len(decoded) == 2 and all(1 <= len(d) <= 3 for d in decoded)
    for d in decoded[0]:
        assert len(d.ids) <= 12
        assert d.valid == (d.error is None)


def test_absolute_clocks_keep_their_resolution(predictor):
    # Unix-timestamp times: in float32, 1.7e9 + 0.05 k would collapse onto steps of 128 s
    t = np.linspace(0, 2, 30)
    x = np.c_[np.sin(t), np.cos(t)]
    queries = np.linspace(0, 3, 9)
    plain = predictor.make_batch([(t, x)])
    clock = predictor.make_batch([(t + 1.7e9, x)])
    assert clock["t_offset"].tolist() == [1.7e9]
    torch.testing.assert_close(plain["t_in"], clock["t_in"], rtol=0, atol=1e-6)  # float64 spacing at 1.7e9: 2e-7
    np.testing.assert_allclose(predictor.predict_states(plain, [queries])[0],
                               predictor.predict_states(clock, [queries + 1.7e9])[0], atol=1e-4)
    assert [h.ids for h in predictor.decode(plain, 2)[0]] == [h.ids for h in predictor.decode(clock, 2)[0]]


def test_invalid_systems_are_reported(predictor, tok):
    ok = predictor._check(tok.encode_system([X1, -X0]), 2)
    assert ok.valid and ok.equations == [X1, -X0]
    wrong_count = predictor._check(tok.encode_system([X1]), 2)
    assert not wrong_count.valid and "expected 2 equations" in wrong_count.error
    extra_var = predictor._check(tok.encode_system([X1, X0]), 1)
    assert not extra_var.valid
    broken = predictor._check([tok.bos_id, tok.vocab["add"], tok.eos_id], 1)
    assert not broken.valid and broken.error


def test_from_pretrained_reads_training_metadata(predictor, tok, tmp_path):
    save_pretrained(predictor.model, tmp_path, tok, metadata={"data_config": {"n_input": 24, "max_tokens": 30}})
    loaded = ProsePredictor.from_pretrained(tmp_path)
    assert loaded.n_input == 24 and loaded.max_len == 38
