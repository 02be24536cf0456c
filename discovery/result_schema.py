"""Reading a result dict (a result JSON file) back: every field is checked before anything is built from it.

A result file may come from anywhere, so :meth:`DiscoveryResult.from_dict` trusts nothing in it: names must be
valid variable names, methods registered names or short plain words, equations must parse with the grammar's safe
parser (never ``sympify``), numbers must be numbers. The first problem raises one
:class:`~discovery.errors.DiscoveryError` line starting with ``result``, naming the field.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from discovery.errors import DataError, DiscoveryError
from grammar.errors import GrammarError

__all__ = ["SAFE_METHOD", "result_fields"]

SAFE_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_.:+-]{0,39}")
"""A method name a result may carry besides the registered ones (a plug-in's): one short word, no spaces or quotes."""

_MAX_DEPTH = 20
"""Deepest nesting accepted in the free-form ``metrics`` and ``info`` of a candidate."""


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(where: str, message: str) -> DiscoveryError:
    return DiscoveryError(f"result {where}: {message}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_value(value: Any, where: str, depth: int = 0) -> Any:
    """``value`` if it is plain JSON data (dicts with string keys, lists, strings, numbers, booleans, ``None``)."""
    if depth > _MAX_DEPTH:
        raise _fail(where, f"nested more than {_MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list):
        return [_json_value(v, where, depth + 1) for v in value]
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise _fail(where, f"expected text keys, found {_shown(bad[0])}")
        return {k: _json_value(v, where, depth + 1) for k, v in value.items()}
    raise _fail(where, f"expected JSON data, found a {type(value).__name__}")


def _text(value: Any, where: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _fail(where, f"expected text, found {_shown(value)}")
    return value


def _method(value: Any, where: str) -> str:
    from discovery.methods import method_names

    name = _text(value, where)
    if name in method_names() or SAFE_METHOD.fullmatch(name):
        return name
    raise _fail(where, f"method name {_shown(name)} is not a registered method ({', '.join(method_names())}) nor "
                       "a short plain name (letters, digits, _ . : + -)")


def _variables(value: Any) -> list[str]:
    from discovery.data.names import MAX_STATE_VARS, check_variable_names

    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail("'variables'", f"expected a non-empty list of names, found {_shown(value)}")
    if len(value) > MAX_STATE_VARS:
        raise _fail("'variables'", f"{len(value)} names; expected at most {MAX_STATE_VARS}")
    if len(set(value)) != len(value):
        twice = next(v for v in value if value.count(v) > 1)
        raise _fail("'variables'", f"{_shown(twice)} appears twice; expected unique names")
    try:
        check_variable_names(value, file=None, row=None)
    except DataError as exc:
        raise _fail("'variables'", exc.reason) from None
    return list(value)


def _external(d: dict[str, Any], variables: list[str]) -> tuple[list[str], list[str]]:
    """The result's ``inputs`` and ``parameters`` (absent in results of autonomous data): valid, distinct names."""
    from discovery.data.names import check_variable_names

    out = []
    for key in ("inputs", "parameters"):
        value = d.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(f"{key!r}", f"expected a list of names, found {_shown(value)}")
        try:
            check_variable_names(value, file=None, row=None)
        except DataError as exc:
            raise _fail(f"{key!r}", exc.reason) from None
        out.append(list(value))
    names = variables + out[0] + out[1]
    if len(set(names)) != len(names):
        twice = next(v for v in names if names.count(v) > 1)
        raise _fail("'inputs'", f"{_shown(twice)} is named twice among the variables, inputs and parameters")
    return out[0], out[1]


def _candidate(value: Any, k: int, variables: list[str], external: list[str] = ()) -> Any:
    from discovery.methods.base import Candidate
    from discovery.result import parse_equation_strings

    where = f"candidate {k}"
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object with 'method' and 'equations', found {_shown(value)}")
    method = _method(value.get("method"), f"{where} 'method'")
    equations = value.get("equations")
    if not isinstance(equations, dict) or set(equations) != set(variables):
        raise _fail(f"{where} 'equations'", f"expected one formula for each of {', '.join(variables)}, found "
                                            f"{_shown(equations)}")
    for v in variables:
        _text(equations[v], f"{where} equation for {v!r}")
    try:
        parsed = parse_equation_strings(equations, variables, external)
    except GrammarError as exc:
        raise _fail(f"{where} 'equations'", " ".join(str(exc).split())) from None
    metrics = _json_value(value.get("metrics", {}), f"{where} 'metrics'")
    info = _json_value(value.get("info", {}), f"{where} 'info'")
    for name, field in (("metrics", metrics), ("info", info)):
        if not isinstance(field, dict):
            raise _fail(f"{where} {name!r}", f"expected an object, found {_shown(field)}")
    return Candidate(method=method, equations=parsed, info=info, metrics=metrics)


def _numbers(value: Any, where: str) -> np.ndarray:
    """A nested list of numbers (``None`` for a non-finite one) as a float array."""
    def ok(v: Any) -> bool:
        return v is None or _is_number(v) or (isinstance(v, list) and all(ok(u) for u in v))

    if not isinstance(value, list) or not ok(value):
        raise _fail(where, "expected a list of numbers")
    try:
        return np.array(value, dtype=float)
    except ValueError:
        raise _fail(where, "expected rows of equal length") from None


def _prediction(value: Any, k: int, variables: list[str]) -> Any:
    from discovery.prediction import OperatorPrediction

    where = f"operator prediction {k}"
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object, found {_shown(value)}")
    model = _method(value.get("model"), f"{where} 'model'")
    names = value.get("variables")
    if names != variables:
        raise _fail(f"{where} 'variables'", f"expected the result's variables {variables}, found {_shown(names)}")
    t = _numbers(value.get("t"), f"{where} 't'")
    x = _numbers(value.get("x"), f"{where} 'x'")
    if t.ndim != 1 or x.shape != (t.size, len(variables)):
        raise _fail(where, f"'t' has shape {t.shape} and 'x' {x.shape}; expected (M,) and (M, {len(variables)})")
    trajectory = value.get("trajectory", 0)
    if not isinstance(trajectory, int) or isinstance(trajectory, bool) or trajectory < 0:
        raise _fail(f"{where} 'trajectory'", f"expected an index >= 0, found {_shown(trajectory)}")
    rel_l2 = value.get("rel_l2")
    if rel_l2 is not None and not _is_number(rel_l2):
        raise _fail(f"{where} 'rel_l2'", f"expected a number or null, found {_shown(rel_l2)}")
    info = _json_value(value.get("info", {}), f"{where} 'info'")
    if not isinstance(info, dict):
        raise _fail(f"{where} 'info'", f"expected an object, found {_shown(info)}")
    return OperatorPrediction(model=model, variables=tuple(variables), t=t, x=x, trajectory=trajectory,
                              rel_l2=None if rel_l2 is None else float(rel_l2), info=info)


def result_fields(d: Any) -> dict[str, Any]:
    """Check a result dict and return the keyword arguments of :class:`~discovery.result.DiscoveryResult`.

    Raises
    ------
    DiscoveryError
        At the first field that :meth:`DiscoveryResult.to_dict` could not have written.
    """
    if not isinstance(d, dict):
        raise DiscoveryError(f"result: expected a JSON object (a dict), found {type(d).__name__}")
    variables = _variables(d.get("variables"))
    raw = d.get("candidates")
    if not isinstance(raw, list) or not raw:
        raise _fail("'candidates'", f"expected a non-empty list, found {_shown(raw)}")
    inputs, parameters = _external(d, variables)
    candidates = [_candidate(c, k, variables, inputs + parameters) for k, c in enumerate(raw)]
    front_raw = d.get("front", [])
    if not isinstance(front_raw, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(candidates) for i in front_raw
    ):
        raise _fail("'front'", f"expected candidate indices 0..{len(candidates) - 1}, found {_shown(front_raw)}")
    preds_raw = d.get("operator_predictions", [])
    if not isinstance(preds_raw, list):
        raise _fail("'operator_predictions'", f"expected a list, found {_shown(preds_raw)}")
    elapsed = d.get("elapsed_s", 0.0)
    if not _is_number(elapsed) or not math.isfinite(elapsed):
        raise _fail("'elapsed_s'", f"expected a number of seconds, found {_shown(elapsed)}")
    warnings = d.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise _fail("'warnings'", f"expected a list of text lines, found {_shown(warnings)}")
    return {
        "variables": tuple(variables),
        "candidates": candidates,
        "front": [candidates[i] for i in front_raw],
        "operator_predictions": [_prediction(p, k, variables) for k, p in enumerate(preds_raw)],
        "source": _text(d.get("source"), "'source'", optional=True),
        "elapsed_s": float(elapsed),
        "warnings": list(warnings),
        "inputs": tuple(inputs),
        "parameters": tuple(parameters),
    }
