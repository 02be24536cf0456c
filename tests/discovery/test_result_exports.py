"""Exports of a DiscoveryResult built by hand: generated Python quotes every text it embeds and keeps the user's
names away from its own identifiers; ``from_dict`` refuses what our own ``to_dict`` never writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from discovery.errors import DiscoveryError
from discovery.methods.base import Candidate
from discovery.result import DiscoveryResult


def _payload(sentinel: Path) -> str:
    """Python code that, if it ever runs, creates ``sentinel``."""
    return f'__import__("pathlib").Path({str(sentinel)!r}).touch()'


def _crafted(sentinel: Path) -> list[str]:
    code = _payload(sentinel)
    return [
        f'x"""; {code}; """',
        f"x'''; {code}; '''",
        f"x\n{code}\n",
        f'x\\"""\n{code}\n"""',
        f"x\r{code}\r",
        f"sindy\u2028{code}",
    ]


def _result(variables, equations, method="sindy", source=None) -> DiscoveryResult:
    symbols = {v: sympy.Symbol(v) for v in variables}
    eqs = {v: equations(symbols)[v] for v in variables}
    return DiscoveryResult(variables=tuple(variables), candidates=[Candidate(method, eqs)], source=source)


def _run_module(source: str, tmp_path: Path, state: list[float]) -> list[float]:
    """Run ``source`` in a fresh interpreter and call its ``rhs(0.0, state)``."""
    path = tmp_path / "generated_rhs.py"
    path.write_text(source, encoding="utf-8")
    call = (f"import importlib.util, json; spec = importlib.util.spec_from_file_location('m', {str(path)!r}); "
            f"m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            f"print(json.dumps([float(v) for v in m.rhs(0.0, {state!r})]))")
    out = subprocess.run([sys.executable, "-c", call], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- item 6: nothing injected -----------------------------------------------------------------------------------
def test_python_source_quotes_a_crafted_method(tmp_path: Path) -> None:
    sentinel = tmp_path / "ran"
    for method in _crafted(sentinel):
        result = _result(["x", "y"], lambda s: {"x": s["y"], "y": -s["x"]}, method=method)
        source = result.python_source()
        compile(source, "rhs.py", "exec")
        assert _run_module(source, tmp_path, [1.0, 2.0]) == [2.0, -1.0]
        namespace: dict = {}
        exec(compile(source, "rhs.py", "exec"), namespace)  # in-process too: the docstring holds the text verbatim
        assert method in namespace["rhs"].__doc__
        assert not sentinel.exists(), f"generated code ran the payload of method {method!r}"


def test_python_source_refuses_symbols_outside_the_variables() -> None:
    from grammar.errors import GrammarError

    evil = sympy.Symbol('__import__("os").system("echo hi")')
    result = _result(["x"], lambda s: {"x": s["x"] + evil})
    with pytest.raises(GrammarError, match="not a state variable"):
        result.python_source()
    with pytest.raises(ValueError, match="identifier"):
        _result(["x"], lambda s: {"x": -s["x"]}).python_source(name="rhs(t, s): pass\nimport os\ndef f")


def _good_dict() -> dict:
    result = _result(["x", "y"], lambda s: {"x": 1.5 * s["x"] - 0.5 * s["x"] * s["y"], "y": -s["y"]})
    result.candidates[0].metrics.update(r2=0.99)
    return json.loads(result.to_json())


def test_from_dict_reads_its_own_output() -> None:
    d = _good_dict()
    back = DiscoveryResult.from_dict(d)
    assert back.variables == ("x", "y") and back.method == "sindy"
    assert back.to_dict()["equations"] == d["equations"]


def _set(path: tuple, value):
    def edit(d: dict) -> dict:
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return d

    return edit


CRAFTED_DICTS = {
    "method with code": _set(("candidates", 0, "method"), 'x"""; __import__("os").system("id"); """'),
    "method not a string": _set(("candidates", 0, "method"), ["sindy"]),
    "equation calling import": _set(("candidates", 0, "equations", "x"), '__import__("os").system("id")'),
    "equation with attribute": _set(("candidates", 0, "equations", "x"), "x.__class__"),
    "equation with hidden term": _set(("candidates", 0, "equations", "x"), "h1(x)"),
    "equation not a string": _set(("candidates", 0, "equations", "x"), {"a": 1}),
    "equation for an unknown variable": _set(("candidates", 0, "equations"), {"x": "x", "z": "x"}),
    "variable with code": _set(("variables",), ["x", 'y"); import os; ("']),
    "variables a string": _set(("variables",), "xy"),
    "duplicate variables": _set(("variables",), ["x", "x"]),
    "no candidates": _set(("candidates",), []),
    "candidate not a dict": _set(("candidates", 0), "sindy"),
    "metrics not a dict": _set(("candidates", 0, "metrics"), "r2"),
    "front index not an integer": _set(("front",), ["0"]),
    "source not a string": _set(("source",), {"a": 1}),
    "elapsed not a number": _set(("elapsed_s",), "soon"),
    "warnings not strings": _set(("warnings",), [1]),
    "prediction with wrong shape": _set(("operator_predictions",),
                                        [{"model": "prose", "variables": ["x", "y"], "t": [0, 1], "x": [[1, 2]]}]),
    "prediction model with code": _set(("operator_predictions",),
                                       [{"model": "x\n__import__('os')", "variables": ["x", "y"], "t": [0.0],
                                         "x": [[1.0, 2.0]]}]),
}


@pytest.mark.parametrize("edit", list(CRAFTED_DICTS.values()), ids=list(CRAFTED_DICTS))
def test_from_dict_refuses_what_to_dict_never_writes(edit) -> None:
    with pytest.raises(DiscoveryError, match="^result") as info:
        DiscoveryResult.from_dict(edit(_good_dict()))
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_from_dict_refuses_a_non_dict() -> None:
    with pytest.raises(DiscoveryError, match="expected a JSON object"):
        DiscoveryResult.from_dict(["x"])  # type: ignore[arg-type]


# --- item 7: the user's names never collide with the generated code's ------------------------------------------
def _expected(result: DiscoveryResult, state: list[float]) -> list[float]:
    values = {sympy.Symbol(v): s for v, s in zip(result.variables, state)}
    return [float(result.equations[v].xreplace(values)) for v in result.variables]


def test_python_source_keeps_d_x_apart_from_the_derivative_of_x(tmp_path: Path) -> None:
    result = _result(["x", "d_x"], lambda s: {"x": sympy.Integer(2), "d_x": -s["x"] - s["d_x"]})
    assert np.allclose(result.rhs_numpy()(0.0, np.array([1.0, 1.0])), [2.0, -2.0])
    assert _run_module(result.python_source(), tmp_path, [1.0, 1.0]) == [2.0, -2.0]


@pytest.mark.parametrize("names", [("numpy", "np"), ("math", "t"), ("state", "rhs"), ("s0", "d0"), ("s1", "s0"),
                                   ("abs", "float"), ("lambda", "class"), ("S", "I")])
def test_python_source_with_names_the_generated_code_uses(names, tmp_path: Path) -> None:
    a, b = names
    result = _result(list(names), lambda s: {a: 0.5 * s[b] - abs(s[a]), b: sympy.sin(s[a]) * s[b] + 3})
    assert _run_module(result.python_source(), tmp_path, [0.25, -2.0]) == pytest.approx(_expected(result, [0.25, -2.0]))


_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True) | st.sampled_from(
    ["numpy", "np", "t", "state", "rhs", "s0", "s1", "d0", "d1", "d_s0", "abs", "float", "math", "x", "d_x"])


@settings(max_examples=60, deadline=None)
@given(names=st.lists(_NAME, min_size=1, max_size=4, unique=True),
       values=st.lists(st.floats(-3, 3, allow_nan=False), min_size=4, max_size=4))
def test_python_source_agrees_with_the_equations_for_any_names(names, values) -> None:
    def equations(s):
        syms = [s[n] for n in names]
        return {n: syms[(k + 1) % len(syms)] * (k + 1) - syms[k] * syms[-1] + sympy.cos(syms[0])
                for k, n in enumerate(names)}

    result = _result(names, equations)
    namespace: dict = {}
    exec(compile(result.python_source(), "rhs.py", "exec"), namespace)  # noqa: S102 -- code under test, no user text
    state = values[: len(names)]
    assert np.allclose(namespace["rhs"](0.0, np.array(state)), _expected(result, state))
