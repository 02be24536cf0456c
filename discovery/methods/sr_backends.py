"""Symbolic-regression engines behind :func:`discovery.methods.sr.fit_symbolic`.

Each backend takes ``X (N, k)``, ``y (N,)`` and the variable names, runs its search and returns the raw
expressions of its accuracy/complexity Pareto front as sympy expressions in ``sympy.Symbol(names[i])``;
cleaning (simplify, prune, round) and scoring are done by the caller, the same way for every backend.

- ``pyoperon``: Operon's NSGA-II genetic programming (pip-installable, runs everywhere). Its models are read
  back with ``get_model_string`` and parsed by the grammar's safe parser, never by ``eval`` or ``sympify``.
- ``pysr``: PySR (SymbolicRegression.jl). Needs a working Julia; :func:`pysr_available` checks that once, in a
  subprocess with a time limit and offline, so that a missing Julia never hangs or downloads anything.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from discovery.errors import DiscoveryError

DEFAULT_OPERATORS = ("add", "sub", "mul", "div", "pow", "sin", "cos")
"""Grammar operators symbolic regression searches with by default (the zoo needs no more). ``pow`` is Operon's
``square`` (one node for ``x**2``, which made Van der Pol's ``x**2*y`` term easy to find) and PySR's ``^``."""

_OPERON_SYMBOLS = {
    "add": "add",
    "sub": "sub",
    "mul": "mul",
    "div": "div",
    "pow": "square",  # only integer squares: Operon's real power is NaN for negative bases
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "exp": "exp",
    "log": "log",
    "sqrt": "sqrt",
    "tanh": "tanh",
    "abs": "abs",
}
"""Grammar operator -> Operon symbol. ``neg`` and ``inv`` need none: Operon writes them with ``sub``/``div``
and with the weights it puts on variables."""

PYOPERON_DEFAULTS: dict[str, Any] = {
    "objectives": ["r2", "length"],  # two objectives: NSGA-II, whose front is accuracy vs length
    "population_size": 300,
    "generations": 60,
    "optimizer": "lm",
    "optimizer_iterations": 3,
    "max_depth": 10,
    "max_evaluations": 10**7,
    "n_threads": 1,
}
"""pyoperon settings tuned on the zoo (``max_length`` and ``max_time`` come from ``max_complexity`` and the
time budget): Lotka-Volterra and Lorenz right-hand sides are found from clean data in 1-3 s per variable."""


def _check_operators(operators: Sequence[str]) -> list[str]:
    from grammar.operators import OPERATORS

    unknown = [op for op in operators if op not in OPERATORS]
    if unknown:
        raise DiscoveryError(
            f"unknown operator(s) {', '.join(map(repr, unknown))}; grammar operators are: {', '.join(OPERATORS)}"
        )
    return list(operators)


def _rename(expr: sympy.Expr, internal: Sequence[str], names: Sequence[str]) -> sympy.Expr:
    """Replace the backend's variable names (``X1``, ``x0``, ...) by the caller's, all at once."""
    return expr.xreplace({sympy.Symbol(a): sympy.Symbol(b) for a, b in zip(internal, names)})


def operon_symbols(operators: Sequence[str]) -> str:
    """Operon's ``allowed_symbols`` string for grammar ``operators`` (those Operon lacks are left out).

    Examples
    --------
    >>> operon_symbols(["add", "mul", "sin", "neg"])
    'add,mul,sin,constant,variable'
    """
    symbols = [_OPERON_SYMBOLS[op] for op in _check_operators(operators) if op in _OPERON_SYMBOLS]
    return ",".join(dict.fromkeys(symbols + ["constant", "variable"]))


def run_pyoperon(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    operators: Sequence[str] = DEFAULT_OPERATORS,
    max_complexity: int = 25,
    time_budget_s: float = 3.0,
    seed: int = 0,
    **options: Any,
) -> list[sympy.Expr]:
    """Pareto front of pyoperon's ``SymbolicRegressor`` on ``y ~ f(X)``, as sympy expressions in ``names``.

    Parameters
    ----------
    X, y:
        Inputs ``(N, k)`` and target ``(N,)``.
    names:
        The ``k`` variable names.
    operators:
        Grammar operators allowed in the search.
    max_complexity:
        Operon's ``max_length`` (tree nodes, its scaling terms included).
    time_budget_s:
        Operon's ``max_time`` (whole seconds, at least 1).
    seed:
        Operon's ``random_state``.
    **options:
        Any other ``SymbolicRegressor`` parameter; overrides :data:`PYOPERON_DEFAULTS`.
    """
    from pyoperon.sklearn import SymbolicRegressor

    from grammar.errors import GrammarError
    from grammar.parser import parse

    params = dict(PYOPERON_DEFAULTS)
    params.update(
        allowed_symbols=operon_symbols(operators),
        max_length=int(max_complexity),
        max_time=max(1, int(round(time_budget_s))),
        random_state=int(seed),
    )
    params.update(options)
    try:
        reg = SymbolicRegressor(**params)
    except TypeError as exc:
        raise DiscoveryError(f"pyoperon backend: {exc}") from None
    reg.fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float))
    internal = [f"X{i + 1}" for i in range(X.shape[1])]  # Operon's own names for the columns
    out = []
    for entry in reg.pareto_front_:
        text = reg.get_model_string(entry["tree"], precision=12, names=internal)
        try:
            expr = parse(text, internal, hidden=False)
        except GrammarError:  # nan or inf constants from a degenerate model: not a formula
            continue
        out.append(_rename(expr, internal, names))
    return out


@lru_cache(maxsize=1)
def pysr_available() -> tuple[bool, str]:
    """``(True, "")`` when PySR is installed and its Julia starts, else ``(False, reason)``. Cached.

    Julia is started in a subprocess, offline (``PYTHON_JULIAPKG_OFFLINE=yes``) and with a time limit, so the
    check never downloads Julia or its packages and never hangs the caller.

    Examples
    --------
    >>> ok, reason = pysr_available()
    >>> ok or bool(reason)
    True
    """
    if importlib.util.find_spec("pysr") is None:
        return False, "PySR is not installed (pip install 'eqdisco[pysr]', which also needs Julia)"
    env = dict(os.environ, PYTHON_JULIAPKG_OFFLINE="yes")
    code = "import pysr; from pysr.julia_import import jl; print(int(jl.seval('1 + 1')))"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180
        )
    except subprocess.TimeoutExpired:
        return False, "PySR is installed but Julia did not start within 180 s"
    if done.returncode != 0 or done.stdout.strip().splitlines()[-1:] != ["2"]:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"PySR is installed but Julia cannot start: {last}"
    return True, ""


def run_pysr(
    X: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    operators: Sequence[str] = DEFAULT_OPERATORS,
    max_complexity: int = 25,
    time_budget_s: float = 3.0,
    seed: int = 0,
    **options: Any,
) -> list[sympy.Expr]:
    """Pareto front (``equations_``) of ``pysr.PySRRegressor`` on ``y ~ f(X)``, as sympy expressions in ``names``.

    Deterministic for a given seed (``parallelism="serial"``, ``deterministic=True``, ``random_state``).
    ``max_complexity`` is PySR's ``maxsize``; ``time_budget_s`` its ``timeout_in_seconds`` (``niterations`` stays
    high so that the time limit is what stops the search). ``**options`` override any ``PySRRegressor`` option.
    """
    ok, reason = pysr_available()
    if not ok:
        raise DiscoveryError(f"backend 'pysr' cannot run here: {reason}")
    from pysr import PySRRegressor

    from grammar.operators import pysr_operators

    binary, unary = pysr_operators(_check_operators(operators))
    internal = [f"x{i}" for i in range(X.shape[1])]
    params: dict[str, Any] = dict(
        binary_operators=binary,
        unary_operators=unary,
        maxsize=int(max_complexity),
        niterations=1000,
        populations=8,
        population_size=33,
        timeout_in_seconds=float(time_budget_s),
        parallelism="serial",
        deterministic=True,
        random_state=int(seed),
        model_selection="best",
        progress=False,
        verbosity=0,
        temp_equation_file=True,
        delete_tempfiles=True,
        tempdir=tempfile.gettempdir(),
    )
    params.update(options)
    reg = PySRRegressor(**params)
    reg.fit(np.asarray(X, dtype=float), np.asarray(y, dtype=float), variable_names=internal)
    table = reg.equations_
    out = []
    for _, row in table.iterrows():
        expr = row.get("sympy_format")
        if not isinstance(expr, sympy.Basic):  # older tables: parse the equation text safely
            from grammar.errors import GrammarError
            from grammar.parser import parse

            try:
                expr = parse(str(row["equation"]), internal, hidden=False)
            except GrammarError:
                continue
        out.append(_rename(sympy.sympify(expr), internal, names))
    return out


BACKENDS: dict[str, Callable[..., list[sympy.Expr]]] = {"pyoperon": run_pyoperon, "pysr": run_pysr}
"""Symbolic-regression engines by name."""


def resolve_backend(backend: str) -> str:
    """``"auto"`` -> ``"pysr"`` where PySR and Julia run, else ``"pyoperon"``; other names are checked.

    Raises
    ------
    DiscoveryError
        For an unknown name (the message lists the valid ones), or ``"pysr"`` where it cannot run.
    """
    if backend == "auto":
        return "pysr" if pysr_available()[0] else "pyoperon"
    if backend not in BACKENDS:
        raise DiscoveryError(f"unknown SR backend {backend!r}; valid backends: {', '.join(BACKENDS)}, or 'auto'")
    if backend == "pysr":
        ok, reason = pysr_available()
        if not ok:
            raise DiscoveryError(f"backend 'pysr' cannot run here: {reason}")
    return backend
