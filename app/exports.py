"""The page's downloads: result JSON, simulated trajectories as CSV, a Python right-hand side, LaTeX.

Each is built from the result's own exports (:meth:`DiscoveryResult.to_json`, ``python_source``, ``latex``).
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

__all__ = ["figure_png", "file_stem", "latex_document", "python_module", "result_json", "simulation_csv"]


def file_stem(source: str | None) -> str:
    """A safe file-name stem from the data's source name (``"lorenz.csv"`` -> ``"lorenz"``)."""
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", str(source or "data").replace("\\", "/").rsplit("/", 1)[-1])
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem) or "data"


def result_json(result: Any) -> str:
    """The result contract of DESIGN.md, as JSON text (``result.to_json()``)."""
    return result.to_json()


def simulation_csv(
    variables: Sequence[str],
    simulations: Sequence[tuple[int, np.ndarray, np.ndarray | None]],
    t_observed_end: Sequence[float],
) -> str:
    """CSV of simulated trajectories: ``trajectory, t, extrapolated, <variables...>``.

    Parameters
    ----------
    variables:
        Column names of the states.
    simulations:
        ``(trajectory index, t (M,), x (M, D) or None)`` per trajectory; ``None`` (failed) ones are left out.
    t_observed_end:
        Last observed time of each trajectory (rows after it are flagged ``extrapolated = 1``).
    """
    import pandas as pd

    frames = []
    for k, t, x in simulations:
        if x is None:
            continue
        frame = pd.DataFrame(np.asarray(x, dtype=float), columns=list(variables))
        frame.insert(0, "extrapolated", (np.asarray(t) > t_observed_end[k] + 1e-12).astype(int))
        frame.insert(0, "t", np.asarray(t, dtype=float))
        frame.insert(0, "trajectory", int(k))
        frames.append(frame)
    if not frames:
        return "trajectory,t,extrapolated," + ",".join(variables) + "\n"
    return pd.concat(frames, ignore_index=True).to_csv(index=False, float_format="%.10g")


def figure_png(result: Any, data: Any, candidate: Any, horizon: float) -> bytes:
    """The static figure of ``eqdisco discover --plots`` for ``candidate`` (:mod:`discovery.plotting`), as PNG."""
    from discovery.plotting import png_bytes, result_figure

    return png_bytes(result_figure(result, data, horizon=horizon, candidate=candidate))


def python_module(result: Any, candidate: Any) -> str:
    """A runnable Python module: the right-hand side (``result.python_source``) and how it was found."""
    header = (
        f'"""Right-hand side discovered by eqdisco ({candidate.method}) from {result.source or "the data"}.\n\n'
        f"Use it with scipy: solve_ivp(rhs, (t0, t1), x0).\n"
        '"""\n'
    )
    return header + result.python_source(candidate)


def latex_document(result: Any, candidate: Any) -> str:
    """A standalone LaTeX document with the system (``result.latex``) and its scores."""
    r2 = candidate.metrics.get("r2")
    score = f"R$^2$ = {float(r2):.4f}, " if isinstance(r2, (int, float)) and np.isfinite(r2) else ""
    return (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"
        f"% discovered by eqdisco ({candidate.method}) from {result.source or 'the data'}\n"
        "\\[\n" + result.latex(candidate) + "\n\\]\n"
        f"Method: {_tex_text(candidate.method)}; {score}complexity {candidate.complexity}.\n"
        "\\end{document}\n"
    )


def _tex_text(text: str) -> str:
    return re.sub(r"([_%&#$])", r"\\\1", str(text))
