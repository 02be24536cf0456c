"""Shared fixtures: small simulated datasets, example files and one tolerance helper."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _one_torch_thread() -> None:
    """Keep torch on one thread per test process (the CI machine has 2 cores), if torch is imported.

    The app's background threads (model preloading, warm-up) may be importing torch at this moment: the module is
    then in ``sys.modules`` but only partly initialized, without ``set_num_threads`` yet; leave it alone then.
    """
    setter = getattr(sys.modules.get("torch"), "set_num_threads", None)
    if callable(setter):
        setter(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _one_torch_thread()


@pytest.fixture(autouse=True)
def _torch_threads() -> None:
    _one_torch_thread()


def assert_close(actual, expected, *, rtol: float = 1e-6, atol: float = 1e-9, what: str = "") -> None:
    """The one tolerance helper for numerics: ``|actual - expected| <= atol + rtol * |expected|`` elementwise."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    assert a.shape == e.shape, f"{what} shape {a.shape} != {e.shape}"
    bad = ~(np.abs(a - e) <= atol + rtol * np.abs(e))
    if bad.any():
        i = np.unravel_index(np.argmax(np.abs(a - e) - rtol * np.abs(e)), a.shape)
        raise AssertionError(f"{what} not close: at {i} got {a[i]!r}, expected {e[i]!r} (rtol={rtol}, atol={atol})")


@pytest.fixture
def close():
    """``close(actual, expected, rtol=..., atol=...)`` -- see :func:`assert_close`."""
    return assert_close


@pytest.fixture(scope="session")
def lotka_volterra():
    """Clean Lotka-Volterra trajectory on 300 points (nominal parameters)."""
    from discovery.simulation import simulate
    from grammar.zoo import get_system

    system = get_system("lotka_volterra")
    t = np.linspace(system.t_span[0], system.t_span[1], 300)
    return simulate(system, t=t, noise=0.0)


@pytest.fixture(scope="session")
def lotka_volterra_truth():
    from grammar.zoo import get_system

    return get_system("lotka_volterra").rhs()


@pytest.fixture
def lv_csv(tmp_path: Path, lotka_volterra) -> Path:
    path = tmp_path / "lv.csv"
    lotka_volterra.to_csv(path)
    return path
