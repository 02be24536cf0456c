"""A PROSE checkpoint trained on normalized data serves any unit, time span and sampling rate (issue 16 item 2).

A tiny model is fitted to one Lotka-Volterra trajectory whose target equations are written in the trajectory's
normalized coordinates (what the ``scale`` training data hold); the same system measured in units 1000 times larger
and over a time axis 10 times longer must then reach the model as the same input, decode to the same skeleton, and
come back with every constant mapped to the new units exactly.
"""

import numpy as np
import pytest
import sympy
import torch

from discovery.simulation import integrate, lambdify_system
from discovery.terms import term_skeletons
from grammar.tokenizer import ExpressionTokenizer, canonical_symbols
from models.prose import ProseConfig, ProseModel, ProsePredictor

X0, X1 = canonical_symbols(2)
TRUTH = [1.0 * X0 - 0.5 * X0 * X1, 0.3 * X0 * X1 - 0.8 * X1]


def lotka_volterra(units: float = 1.0, time: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 6.0, 48)
    x = integrate(lambdify_system(TRUTH, ["x_0", "x_1"]), np.array([2.0, 1.0]), t, rtol=1e-10, atol=1e-12)
    return time * t, units * x


@pytest.fixture(scope="module")
def predictor() -> ProsePredictor:
    tok = ExpressionTokenizer()
    torch.manual_seed(0)
    config = ProseConfig(vocab_size=tok.vocab_size, pad_id=tok.pad_id, bos_id=tok.bos_id, eos_id=tok.eos_id,
                         d_model=32, n_heads=2, d_ff=64, max_symbol_len=48, n_time_frequencies=4)
    predictor = ProsePredictor(ProseModel(config), tok, device="cpu", n_input=48, max_len=40, normalization="scale")
    t, x = lotka_volterra()
    batch = predictor.make_batch([(t, x)])
    target = tok.encode_system(batch["scalings"][0].to_normalized(TRUTH))
    batch["target"] = torch.tensor([target])
    batch["t_query"] = batch["t_in"]
    batch["x_query"] = batch["x_in"]
    model = predictor.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        _, loss = model(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return predictor


def test_inputs_are_the_same_in_any_units_and_time_scale(predictor):
    from grammar.units import Scaling

    in_large_units = Scaling(0.0, 10.0, (0.0, 0.0), (1e3, 1e3)).to_user(TRUTH)  # the same guess, other units
    small = predictor.make_batch([lotka_volterra()], [TRUTH])
    large = predictor.make_batch([lotka_volterra(units=1e3, time=10.0)], [in_large_units])
    for key in ("t_in", "x_in", "in_pad", "dim_mask", "guess"):
        torch.testing.assert_close(small[key], large[key], rtol=1e-6, atol=1e-6)


def test_decoded_equations_are_mapped_back_exactly(predictor):
    small = predictor.decode(predictor.make_batch([lotka_volterra()]), beam_size=2)[0][0]
    large = predictor.decode(predictor.make_batch([lotka_volterra(units=1e3, time=10.0)]), beam_size=2)[0][0]
    assert small.valid and large.valid
    assert small.ids == large.ids  # the model read the same input and wrote the same normalized system
    for s_eq, l_eq, truth in zip(small.equations, large.equations, TRUTH):
        assert term_skeletons(s_eq) == term_skeletons(l_eq) == term_skeletons(truth)
    # In units u and time scale T: dx/dt = (u / T) f(x / u); compare at random states.
    points = np.random.default_rng(0).uniform(0.5, 3.0, (10, 2))
    f_small = sympy.lambdify([X0, X1], small.equations)
    f_large = sympy.lambdify([X0, X1], large.equations)
    for p in points:
        np.testing.assert_allclose(f_large(*(1e3 * p)), np.asarray(f_small(*p)) * 1e3 / 10.0, rtol=1e-5)
    # and the fitted model is close to the truth in the first units
    for p in points:
        np.testing.assert_allclose(f_small(*p), [float(e.subs({X0: p[0], X1: p[1]})) for e in TRUTH], rtol=0.05,
                                   atol=0.05)


def test_states_are_predicted_in_the_users_units(predictor):
    t, x = lotka_volterra()
    T, X = lotka_volterra(units=1e3, time=10.0)
    small = predictor.predict_states(predictor.make_batch([(t, x)]), [t])[0]
    large = predictor.predict_states(predictor.make_batch([(T, X)]), [T])[0]
    np.testing.assert_allclose(large, 1e3 * small, rtol=1e-4, atol=1e-3)
