"""Standalone Python source of a discovered PDE's right-hand side on a grid.

The generated ``rhs(state, spacing)`` needs numpy only: derivatives are spectral (FFT) along periodic axes and
repeated second-order ``numpy.gradient`` otherwise. Field and derivative names never become code: they are
renamed ``f0, f1, ...`` and ``d0, d1, ...`` and appear only in comments written with ``repr`` and in string
literals (:func:`discovery.python_export.python_literal`).

Examples
--------
>>> import sympy
>>> u, u_x, u_xx = sympy.symbols("u u_x u_xx")
>>> src = pde_source(("u",), ("x",), {"u": -u * u_x + 0.1 * u_xx}, [True])
>>> namespace = {}
>>> exec(src, namespace)
>>> import numpy as np
>>> x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
>>> out = namespace["rhs"](np.sin(x)[None], spacing=(x[1] - x[0],))
>>> bool(np.allclose(out[0], -np.sin(x) * np.cos(x) - 0.1 * np.sin(x)))
True
"""

from __future__ import annotations

from typing import Mapping, Sequence

import sympy
from sympy.printing.numpy import NumPyPrinter

from discovery.fields.compile import compile_rhs
from discovery.python_export import python_literal

_HELPER = '''
    def derivative(f, axis, order):
        if order == 0:
            return f
        if periodic[axis]:
            n = f.shape[axis]
            k = 2 * numpy.pi * numpy.fft.rfftfreq(n, d=spacing[axis])
            m = (1j * k) ** order
            if order % 2 == 1 and n % 2 == 0:
                m[-1] = 0.0
            shape = [1] * f.ndim
            shape[axis] = k.size
            return numpy.fft.irfft(numpy.fft.rfft(f, axis=axis) * m.reshape(shape), n=n, axis=axis)
        for _ in range(order):
            f = numpy.gradient(f, spacing[axis], axis=axis, edge_order=2)
        return f
'''


def pde_source(fields: Sequence[str], axes: Sequence[str], equations: Mapping[str, sympy.Expr],
               periodic: Sequence[bool], name: str = "rhs") -> str:
    """Python source of ``name(state, spacing, periodic=...)`` returning ``d state / dt`` ``(F, *N)``."""
    if not name.isidentifier():
        raise ValueError(f"function name {name!r} is not a Python identifier")
    compiled = compile_rhs(equations, fields, axes)
    fsyms = {f: sympy.Symbol(f"f{i}") for i, f in enumerate(fields)}
    dsyms = {}
    lines = ["import numpy", "", "", f"def {name}(state, spacing, periodic={tuple(bool(p) for p in periodic)!r}):"]
    doc = (f"Time derivatives of the fields {tuple(fields)!r} on a grid (axes {tuple(axes)!r}), discovered by "
           "eqdisco. state: (F, N_x[, N_y]); spacing: grid step per axis.")
    lines.append(f"    {python_literal(doc)}")
    lines.extend(_HELPER.strip("\n").splitlines())
    for i, f in enumerate(fields):
        lines.append(f"    f{i} = numpy.asarray(state[{i}], dtype=float)  # {f!r}")
    k = 0
    for term in compiled.terms:
        if not any(term.orders):
            dsyms[term.name] = fsyms[fields[term.field]]
            continue
        expr = f"f{term.field}"
        for axis, n in enumerate(term.orders):
            if n:
                expr = f"derivative({expr}, {axis}, {n})"
        lines.append(f"    d{k} = {expr}  # {term.name!r}")
        dsyms[term.name] = sympy.Symbol(f"d{k}")
        k += 1
    printer = NumPyPrinter({"fully_qualified_modules": True})
    outs = []
    for i, f in enumerate(fields):
        expr = sympy.sympify(equations[f]).xreplace({sympy.Symbol(n): s for n, s in dsyms.items()})
        code = printer.doprint(expr)
        lines.append(f"    g{i} = {code} + numpy.zeros_like(f0)  # d/dt of {f!r}")
        outs.append(f"g{i}")
    lines.append(f"    return numpy.stack([{', '.join(outs)}])")
    return "\n".join(lines) + "\n"
