"""The textbook benchmark set (benchmarks/textbook.py): its files match its catalogue, integrate, and are new laws."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "benchmarks" / "textbook"


@pytest.fixture(scope="module")
def textbook():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield importlib.import_module("textbook")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_catalogue_is_large_varied_and_mostly_non_polynomial(textbook):
    from textbook_systems import KINDS, NON_POLYNOMIAL, TEXTBOOK

    names = [s.name for s in TEXTBOOK]
    assert len(names) >= 32 and len(set(names)) == len(names)
    assert all(1 <= len(s.variables) <= 4 for s in TEXTBOOK)
    assert all(s.kind in KINDS and s.dynamics in ("cycle", "transient") for s in TEXTBOOK)
    assert 2 * sum(s.kind in NON_POLYNOMIAL for s in TEXTBOOK) >= len(TEXTBOOK)
    assert all(not set(s.params) & set(s.variables) for s in TEXTBOOK)
    assert {"S", "I", "R"} <= {v for s in TEXTBOOK for v in s.variables}  # epidemics keep their real names
    written = {p.name.split(".")[0] for p in FOLDER.iterdir()}
    assert written == set(names), "regenerate with: python benchmarks/textbook.py"


def test_files_match_the_catalogue_and_a_short_resimulation(textbook):
    from textbook_systems import TEXTBOOK

    for system in TEXTBOOK:
        payload = json.loads((FOLDER / f"{system.name}.truth.json").read_text())
        assert payload["equations"] == system.equations(), system.name
        assert {"title", "description", "source", "kind"} <= set(payload)
        frame = pd.read_csv(FOLDER / f"{system.name}.csv")  # not load_trajectories: S, I, N ... (issue 14.10)
        assert list(frame.columns) == ["trajectory", "t", *system.variables]
        for k, start in enumerate((system.x0, system.held_x0)):
            part = frame[frame["trajectory"] == k]
            t, x = part["t"].to_numpy(), part[list(system.variables)].to_numpy()
            assert 200 <= len(t) <= 1000, system.name
            np.testing.assert_allclose(x[0], start, err_msg=f"{system.name} start {k}")
            piece = textbook.simulate_system(system, x[0], t[:30])
            np.testing.assert_allclose(piece, x[:30], rtol=1e-6, atol=1e-8, err_msg=f"{system.name} trajectory {k}")


def test_no_law_repeats_the_zoo_or_the_unseen_set(textbook):
    from textbook_systems import TEXTBOOK

    laws = textbook.known_laws()
    assert any(name.startswith("zoo/") for name in laws) and any(name.startswith("unseen/") for name in laws)
    assert [s.name for s in TEXTBOOK if textbook.duplicate_of(s, laws)] == []


def test_the_checks_refuse_flat_dying_and_split_trajectories(textbook):
    from dataclasses import replace

    from textbook_systems import TEXTBOOK

    cycle = next(s for s in TEXTBOOK if s.dynamics == "cycle" and len(s.variables) == 2)
    t = textbook.time_grid(cycle)
    alive = np.column_stack([np.sin(t), np.cos(t)])
    assert textbook.check(cycle, t, alive, 1.2 * alive) == []
    flat = np.vstack([alive[:20], np.repeat(alive[20:21], len(t) - 20, axis=0)])
    assert any("flat after 10%" in p for p in textbook.check(cycle, t, alive, flat))
    dying = alive * np.exp(-20.0 * t / t[-1])[:, None]
    assert any("dies out" in p for p in textbook.check(cycle, t, dying, alive))
    transient = replace(cycle, dynamics="transient")
    decay = np.exp(-t / t[-1] * 5.0)[:, None] * np.array([[1.0, 2.0]])
    assert textbook.check(transient, t, decay, 2 * decay) == []
    assert any("different states" in p for p in textbook.check(transient, t, decay, 2 * decay + 1.0))
    assert textbook.check_truth_text(cycle) == []
