"""PROSE synthetic data: zoo and random samples, corruption of the guess, padding, cache, noise, augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from discovery.training.data import (
    DataConfig,
    collate,
    concat_datasets,
    corrupt_system,
    generate_dataset,
    make_sample,
    standard_form,
    with_noise,
)
from grammar.tokenizer import ExpressionTokenizer
from grammar.zoo import get_system

X0, X1, X2 = sympy.symbols("x_0 x_1 x_2")


@pytest.fixture(scope="module")
def tok() -> ExpressionTokenizer:
    return ExpressionTokenizer()


def test_zoo_sample_windows_and_parameters(tok):
    cfg = DataConfig(systems=("lorenz",), random_fraction=0.0, n_input=20, n_query=12, seed=3, window_rule="span")
    s = make_sample(0, cfg)
    system = get_system("lorenz")
    window = 0.25 * (system.t_span[1] - system.t_span[0])
    assert s["t_in"].shape == (20,) and s["x_in"].shape == (20, 3)
    assert s["t_query"].shape == (12,) and s["x_query"].shape == (12, 3)
    assert s["t_in"][0] == 0.0 and s["t_in"][-1] == pytest.approx(window / 3)
    assert s["t_query"][-1] == pytest.approx(window)
    assert np.all(np.diff(s["t_in"]) > 0)
    for name, value in s["meta"]["params"].items():
        lo, hi = system.param_ranges[name]
        assert lo <= value <= hi
    # The target is the true system (3 significant digits) in canonical variables, expanded.
    decoded = tok.decode_system(s["target"])
    sigma = s["meta"]["params"]["sigma"]
    assert float(decoded[0].coeff(X1)) == pytest.approx(sigma, rel=5e-3)
    # Observed states start at the recorded initial state.
    np.testing.assert_allclose(s["x_in"][0], s["meta"]["x0"])


def test_predictable_windows_shorten_chaotic_systems_only():
    cfg = DataConfig(systems=("lorenz", "van_der_pol"), random_fraction=0.0, n_input=20, n_query=12, seed=3)
    assert cfg.window_rule == "predictable"
    windows = {}
    for i in range(2):
        s = make_sample(i, cfg)
        windows[s["meta"]["system"]] = s["meta"]["window"]
        assert s["t_query"][-1] == pytest.approx(s["meta"]["window"])
        assert s["t_in"][-1] == pytest.approx(s["meta"]["window"] / 3)
    assert windows["van_der_pol"] == pytest.approx(7.5)  # a quarter of its span, as under "span"
    assert 0.5 < windows["lorenz"] < 5.0  # a few Lyapunov times instead of a quarter of 20
    with pytest.raises(ValueError, match="window_rule"):
        DataConfig(window_rule="longest")


def test_predictable_window_keeps_the_oracle_within_tolerance():
    from discovery.training.windows import predictable_window, zoo_window

    short, loose = predictable_window("lorenz", tolerance=0.03), predictable_window("lorenz", tolerance=0.3)
    assert short < loose <= 5.0
    assert predictable_window("lorenz", tolerance=0.03) == short  # cached, deterministic
    assert zoo_window("lorenz", "span", 0.25, 1 / 3) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="predictable, span"):
        zoo_window("lorenz", "longest", 0.25, 1 / 3)


def test_samples_are_deterministic_and_differ_by_index():
    cfg = DataConfig(n_input=10, n_query=6, random_fraction=0.5, seed=1)
    a, b, c = make_sample(4, cfg), make_sample(4, cfg), make_sample(5, cfg)
    np.testing.assert_array_equal(a["x_in"], b["x_in"])
    assert a["target"] == b["target"] and a["guess"] == b["guess"]
    assert not np.array_equal(a["t_query"], c["t_query"]) or a["target"] != c["target"]


def test_random_samples_use_the_sampler_and_stay_bounded():
    cfg = DataConfig(random_fraction=1.0, n_input=16, n_query=8, max_random_vars=2, seed=2)
    for i in range(3):
        s = make_sample(i, cfg)
        assert s["meta"]["source"] == "random"
        assert 1 <= s["x_in"].shape[1] <= 2
        assert np.all(np.isfinite(s["x_query"])) and np.abs(s["x_query"]).max() <= 1e3
        assert s["t_query"][-1] == pytest.approx(6.0) and s["t_in"][-1] == pytest.approx(2.0)


def test_corruption_drops_adds_and_perturbs():
    system = [X1 - 2.0 * X0 + 0.5 * X2, 3.0 * X0 * X1, -X2 + 1.5]
    rng = np.random.default_rng(0)
    changed_terms = perturbed = 0
    for _ in range(40):
        guess = corrupt_system(system, rng, term_prob=0.3, coef_noise=0.1)
        assert len(guess) == 3 and all(g != 0 for g in guess)
        for g, e in zip(guess, system):
            terms_g = {t.as_coeff_Mul()[1] for t in sympy.Add.make_args(g)}
            terms_e = {t.as_coeff_Mul()[1] for t in sympy.Add.make_args(e)}
            changed_terms += terms_g != terms_e
            perturbed += g != e
    assert changed_terms > 5 and perturbed > changed_terms
    same = corrupt_system(system, np.random.default_rng(1), term_prob=0.0, coef_noise=0.0)
    assert [sympy.simplify(a - b) for a, b in zip(same, system)] == [0, 0, 0]


def test_standard_form_expands_unless_much_longer(tok):
    exprs = [10.0 * (X1 - X0)]
    assert standard_form(exprs, tok)[0] == sympy.expand(exprs[0])
    fraction = [(X0 + X1 + X2) ** 3 / (2 + sympy.cos(X0))]
    assert standard_form(fraction, tok)[0] == fraction[0]


def test_collate_pads_and_masks(tok):
    cfg = DataConfig(random_fraction=0.0, systems=("logistic", "lorenz"), n_input=8, n_query=4, seed=0)
    samples = [make_sample(i, cfg) for i in range(2)]
    arrays = collate(samples, tok.pad_id)
    dims = [s["x_in"].shape[1] for s in samples]
    assert arrays["x_in"].shape == (2, 8, 5)
    assert arrays["dim_mask"].sum(1).tolist() == dims
    assert not arrays["in_pad"].any()
    for i, s in enumerate(samples):
        assert arrays["target"][i, : len(s["target"])].tolist() == s["target"]
        assert np.all(arrays["target"][i, len(s["target"]) :] == tok.pad_id)
        assert np.all(arrays["x_in"][i, :, dims[i] :] == 0)
    both, meta = concat_datasets([(arrays, [{}, {}]), (collate(samples[:1], tok.pad_id), [{}])], tok.pad_id)
    assert both["x_in"].shape[0] == 3 and len(meta) == 3


def test_generate_dataset_caches_and_matches_serial(tmp_path):
    cfg = DataConfig(n_samples=6, random_fraction=0.0, systems=("van_der_pol", "sir"), n_input=8, n_query=4)
    arrays, meta = generate_dataset(cfg, workers=2, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
    again, meta2 = generate_dataset(cfg, workers=1, cache_dir=tmp_path)  # from the cache
    serial, meta3 = generate_dataset(cfg, workers=1, cache_dir=None)
    for k in arrays:
        np.testing.assert_array_equal(arrays[k], again[k])
        np.testing.assert_array_equal(arrays[k], serial[k])
    assert meta == meta2 == meta3
    assert [m["system"] for m in meta] == ["van_der_pol", "sir"] * 3


def test_with_noise_is_relative_and_seeded(tok):
    cfg = DataConfig(random_fraction=0.0, systems=("lotka_volterra",), n_input=200, n_query=4)
    arrays = collate([make_sample(0, cfg)], tok.pad_id)
    noisy = with_noise(arrays, 0.05, seed=1)
    resid = noisy["x_in"][0, :, :2] - arrays["x_in"][0, :, :2]
    ratio = resid.std(0) / arrays["x_in"][0, :, :2].std(0)
    np.testing.assert_allclose(ratio, 0.05, rtol=0.25)
    assert np.all(noisy["x_in"][0, :, 2:] == 0)
    np.testing.assert_array_equal(with_noise(arrays, 0.05, seed=1)["x_in"], noisy["x_in"])
    assert with_noise(arrays, 0.0)["x_in"] is arrays["x_in"]


def test_training_augmentation(tok):
    import torch

    from discovery.training.training import AugmentConfig, make_augment

    cfg = DataConfig(random_fraction=0.0, systems=("lorenz",), n_input=32, n_query=4)
    arrays = collate([make_sample(i, cfg) for i in range(8)], tok.pad_id)
    batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
    augment = make_augment(AugmentConfig(noise_max=0.05, drop_prob=1.0, keep_min=0.5, no_guess_prob=0.5), tok.pad_id)
    out = augment(batch, torch.Generator().manual_seed(0))
    kept = (~out["in_pad"]).sum(1)
    assert torch.all(kept >= 4) and torch.all(kept < 32)
    assert out["x_in"].shape[1] == int(kept.max())  # compacted
    assert torch.all(out["x_in"][out["in_pad"]] == 0)
    for b in range(8):  # kept points come first, in time order, and are noisy copies of original points
        n = int(kept[b])
        assert not out["in_pad"][b, :n].any()
        t = out["t_in"][b, :n]
        assert torch.all(t[1:] > t[:-1])
        idx = torch.searchsorted(batch["t_in"][b].contiguous(), t.contiguous())
        assert torch.allclose(batch["t_in"][b, idx], t)
        rel = (out["x_in"][b, :n, :3] - batch["x_in"][b, idx, :3]).std(0) / batch["x_in"][b, :, :3].std(0)
        assert torch.all(rel < 0.1)
    blank = (out["guess"] == tok.pad_id).all(1)
    assert 0 < int(blank.sum()) < 8
    assert out["t_query"].shape == (8, 4)  # fewer queries than `queries`: all kept
    assert torch.equal(batch["in_pad"], torch.zeros_like(batch["in_pad"]))  # the input batch is not modified
    few = make_augment(AugmentConfig(queries=2), tok.pad_id)(batch, torch.Generator().manual_seed(1))
    assert few["t_query"].shape == (8, 2) and few["x_query"].shape == (8, 2, 5)
    for b in range(8):
        idx = torch.searchsorted(batch["t_query"][b].contiguous(), few["t_query"][b].contiguous())
        torch.testing.assert_close(batch["x_query"][b, idx], few["x_query"][b])
