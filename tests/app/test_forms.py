"""The set-up form's pieces: method options from the registry, and user formulas through the safe parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from app.formulas import read_system
from app.options import method_catalog, option_specs
from discovery.methods import REGISTRY, Method
from discovery.options import Options


@dataclass(frozen=True)
class _ToyOptions(Options):
    """Options of a method used only to read them.

    Attributes
    ----------
    n_terms:
        Most terms per equation.
    threshold, tolerance:
        Coefficients under ``threshold`` are dropped (see :func:`somewhere`).
    backend:
        Engine.
    """

    owner = "toy"

    n_terms: int = 4
    threshold: float = 0.1
    tolerance: float = 1e-3
    ensemble: bool = False
    backend: str = "pyoperon"
    libraries: tuple[str, ...] = ("poly",)
    callback: Any = None


class _Toy(Method):
    name: ClassVar[str] = "toy"
    description: ClassVar[str] = "toy"
    Options = _ToyOptions

    def propose(self, data, context):  # pragma: no cover - never run
        return []


def test_option_specs_from_the_options_dataclass() -> None:
    specs = {s.name: s for s in option_specs(_Toy)}
    assert "callback" not in specs  # no widget for a callable
    assert specs["n_terms"].kind == "int" and specs["n_terms"].label == "Number of terms"
    assert specs["n_terms"].help == "Most terms per equation."
    assert specs["threshold"].kind == "float" and specs["tolerance"].help.startswith("Coefficients under `threshold`")
    assert "`somewhere`" in specs["threshold"].help
    assert specs["ensemble"].kind == "bool"
    assert specs["backend"].kind == "choice" and specs["backend"].choices[0] == "pyoperon"
    assert specs["libraries"].kind == "multi" and specs["libraries"].default == ("poly",)


def test_main_options_pick_and_order() -> None:
    class Picked(_Toy):
        main_options = ("ensemble", "n_terms")

    assert [s.name for s in option_specs(Picked)] == ["ensemble", "n_terms"]


def test_catalog_lists_every_registered_method() -> None:
    catalog = method_catalog()
    assert [m.name for m in catalog] == list(REGISTRY)
    sindy = {m.name: m for m in catalog}["sindy"]
    assert sindy.available and sindy.description


def test_unavailable_method_shows_its_reason() -> None:
    class Missing(_Toy):
        name = "missing_toy"
        requires = ("a_module_that_is_not_installed_anywhere",)
        install_hint = "pip install 'eqdisco[toy]'"

    REGISTRY["missing_toy"] = Missing
    try:
        info = {m.name: m for m in method_catalog()}["missing_toy"]
    finally:
        del REGISTRY["missing_toy"]
    assert not info.available and "eqdisco[toy]" in info.reason


def test_read_system_accepts_known_model_with_hidden_terms() -> None:
    s = read_system("dx/dt = 0.5*x - h1(x, y)\n# comment\n\ny' = -0.3*y + h2(x, y)", ["x", "y"], hidden=True)
    assert s.ok, s.errors
    assert set(s.formulas) == {"x", "y"} and str(s.expressions["x"]) == "0.5*x - h1(x, y)"


@pytest.mark.parametrize(
    ("text", "hidden", "expected"),
    [
        ("dx/dt = 0.5*x - foo(x)\ndy/dt = y", False, "line 1 (dx/dt): unknown function 'foo'"),
        ("dx/dt = h1(x)\ndy/dt = y", False, "line 1 (dx/dt)"),
        ("dx/dt = x\ndz/dt = y", False, "line 2: 'z' is not a variable"),
        ("dx/dt = x", False, "no equation for dy/dt"),
        ("dx/dt = x\ndx/dt = y\ndy/dt = y", False, "line 2: a second equation"),
        ("x + y", False, "line 1: expected 'dx/dt = formula'"),
        ("dx/dt = __import__('os').system('ls')\ndy/dt = y", False, "line 1 (dx/dt)"),
        ("dx/dt = h1(x)\ndy/dt = h1(x, y)", True, "hidden function h1"),
    ],
)
def test_read_system_reports_each_problem_by_line(text: str, hidden: bool, expected: str) -> None:
    s = read_system(text, ["x", "y"], hidden=hidden)
    assert not s.ok
    assert any(expected in e for e in s.errors), s.errors


@pytest.mark.timeout(60)
def test_read_system_refuses_text_over_the_size_limit_in_one_line() -> None:
    from grammar.parser import MAX_FORMULA_CHARS

    s = read_system("dx/dt = " + "x + " * 25_000 + "h1(x)\ndy/dt = y", ["x", "y"], hidden=True)
    assert len(s.errors) == 1 and f"at most {MAX_FORMULA_CHARS:,}" in s.errors[0] and len(s.errors[0]) < 300
