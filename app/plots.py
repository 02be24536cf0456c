"""Plotly figures of the page: the data, a phase portrait, the Pareto front, overlays and residuals.

Pure functions of arrays and results; no streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = [
    "Band",
    "Curve",
    "data_figure",
    "overlay_figure",
    "pareto_figure",
    "phase_figure",
    "residual_figure",
]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
DATA_COLOR = "#4a4a4a"
MODEL_COLOR = "#d62728"
OPERATOR_COLORS = {"prose": "#2ca02c", "deeponet": "#9467bd"}
MAX_POINTS = 2000
"""Line traces are thinned to at most this many points (the data stays whole in the tables and exports)."""
MAX_MARKERS = 600
"""Marker traces (data under a model) are thinned further: each marker is a node the browser must draw."""


def _layout(fig: Any, height: int) -> Any:
    fig.update_layout(
        template={},  # the page's theme styles the charts; plotly's own templates cost ~0.1 s per figure
        height=height,
        margin=dict(l=60, r=20, t=40, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0.0),
        hovermode="closest",
    )
    return fig


def _thin(n: int, most: int = MAX_POINTS) -> slice:
    return slice(None, None, max(1, int(np.ceil(n / most))))


@dataclass(frozen=True)
class Curve:
    """A named trajectory to draw: times ``t`` (M,), states ``x`` (M, D), and how to draw it."""

    name: str
    t: np.ndarray
    x: np.ndarray
    color: str
    dash: str = "solid"
    mode: str = "lines"


@dataclass(frozen=True)
class Band:
    """A shaded range to draw behind the curves: times ``t`` (M,), lower and upper states ``lo``, ``hi`` (M, D)."""

    name: str
    t: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    color: str


def _translucent(color: str, alpha: float) -> str:
    """``"#rrggbb"`` as ``"rgba(r, g, b, alpha)"``."""
    r, g, b = (int(color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def data_figure(trajectories: Any, variables: Sequence[str], inputs: Sequence[str] = ()) -> Any:
    """Every variable against time, one panel per variable, one colour per trajectory; the input signals (the
    first columns of each trajectory's ``u``) in panels of their own below the states (dotted)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    d = len(variables) + len(inputs)
    fig = make_subplots(rows=d, cols=1, shared_xaxes=True, vertical_spacing=0.04)
    for k, tr in enumerate(trajectories):
        s = _thin(len(tr.t))
        color = PALETTE[k % len(PALETTE)]
        columns = [(v, tr.x[s, j], "solid") for j, v in enumerate(variables)]
        columns += [(f"{v} (input)", tr.u[s, j], "dot") for j, v in enumerate(inputs)]
        for j, (v, values, dash) in enumerate(columns):
            fig.add_trace(
                go.Scatter(
                    x=tr.t[s], y=values, mode="lines", line=dict(color=color, width=1.5, dash=dash),
                    name=f"trajectory {k}", legendgroup=f"tr{k}", showlegend=(j == 0 and len(trajectories) > 1),
                    hovertemplate=f"t=%{{x:.4g}}<br>{v}=%{{y:.4g}}<extra>trajectory {k}</extra>",
                ),
                row=j + 1, col=1,
            )
            fig.update_yaxes(title_text=v, row=j + 1, col=1)
    fig.update_xaxes(title_text="t", row=d, col=1)
    return _layout(fig, 120 + 170 * d)


def phase_figure(trajectories: Any, variables: Sequence[str]) -> Any | None:
    """Phase portrait for 2 or 3 variables (``None`` otherwise)."""
    import plotly.graph_objects as go

    d = len(variables)
    if d not in (2, 3):
        return None
    fig = go.Figure()
    for k, tr in enumerate(trajectories):
        s = _thin(len(tr.t))
        color = PALETTE[k % len(PALETTE)]
        if d == 2:
            fig.add_trace(go.Scatter(x=tr.x[s, 0], y=tr.x[s, 1], mode="lines", line=dict(color=color, width=1.5),
                                       name=f"trajectory {k}"))
        else:
            fig.add_trace(go.Scatter3d(x=tr.x[s, 0], y=tr.x[s, 1], z=tr.x[s, 2], mode="lines",
                                       line=dict(color=color, width=3), name=f"trajectory {k}"))
    if d == 2:
        fig.update_xaxes(title_text=variables[0])
        fig.update_yaxes(title_text=variables[1])
    else:
        fig.update_layout(scene=dict(xaxis_title=variables[0], yaxis_title=variables[1], zaxis_title=variables[2]))
    fig.update_layout(showlegend=len(trajectories) > 1)
    return _layout(fig, 420)


def pareto_figure(candidates: Sequence[Any], front: Sequence[Any], selected: int | None = None) -> Any:
    """Complexity vs error of every candidate, the Pareto front joined, ``selected`` ringed.

    The error is the one the front and the selection use (:func:`discovery.pipeline.scoring.selection_error`,
    ``1 - R^2`` of the re-simulation on short windows); candidates without one are drawn at the top. Each point
    carries its candidate's index (into ``candidates``) as ``customdata``, for selection events.
    """
    import plotly.graph_objects as go

    from discovery.pipeline.scoring import selection_error

    err = np.array([selection_error(c) for c in candidates], dtype=float)
    finite = err[np.isfinite(err)]
    floor = max(float(finite[finite > 0].min()) / 3 if np.any(finite > 0) else 1e-12, 1e-12)
    top = float(finite.max()) * 3 if finite.size else 1.0
    shown = np.where(np.isfinite(err), np.maximum(err, floor), max(top, 1.0))
    cx = np.array([c.complexity for c in candidates], dtype=float)
    idx = np.arange(len(candidates))
    methods = [c.method for c in candidates]
    on_front = {id(c) for c in front}
    front_idx = [i for i, c in enumerate(candidates) if id(c) in on_front]
    front_idx.sort(key=lambda i: (cx[i], shown[i]))
    hover = "#%{customdata[1]} %{customdata[2]}<br>complexity %{x}<br>error %{y:.3g}<extra></extra>"
    fig = go.Figure()
    unique = list(dict.fromkeys(methods))
    for m_i, m in enumerate(unique):
        sel = [i for i in idx if methods[i] == m]
        fig.add_trace(go.Scatter(
            x=cx[sel], y=shown[sel], mode="markers", name=m,
            marker=dict(size=10, color=PALETTE[m_i % len(PALETTE)], opacity=0.75, line=dict(width=1, color="white")),
            customdata=[[int(i), int(i) + 1, m] for i in sel], hovertemplate=hover,
        ))
    if front_idx:
        fig.add_trace(go.Scatter(
            x=cx[front_idx], y=shown[front_idx], mode="lines+markers", name="Pareto front",
            line=dict(color="#333", width=1.5, dash="dot"), marker=dict(size=6, color="#333"),
            customdata=[[int(i), int(i) + 1, methods[i]] for i in front_idx], hovertemplate=hover,
        ))
    if selected is not None and 0 <= selected < len(candidates):
        fig.add_trace(go.Scatter(
            x=[cx[selected]], y=[shown[selected]], mode="markers", name=f"picked (#{selected + 1})",
            marker=dict(size=20, color="rgba(0,0,0,0)", line=dict(width=3, color=MODEL_COLOR)),
            customdata=[[int(selected), int(selected) + 1, methods[selected]]], hovertemplate=hover,
        ))
    fig.update_xaxes(title_text="complexity (expression nodes)")
    decades = np.log10(max(float(shown.max()), floor) / floor) if shown.size else 0.0
    fig.update_yaxes(title_text="error (1 − windowed R²)", type="log", exponentformat="power",
                     dtick=1 if decades > 3 else None)  # whole decades only when the range is wide
    return _layout(fig, 420)


def overlay_figure(
    variables: Sequence[str], data_t: np.ndarray, data_x: np.ndarray, curves: Sequence[Curve], t_observed_end: float,
    bands: Sequence[Band] = (),
) -> Any:
    """Data (markers) against model and operator curves, one panel per variable; extrapolation shaded.

    Each of ``bands`` (a prediction band) is filled between its lower and upper edge, behind the curves; one
    legend entry shows or hides it whole.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    d = len(variables)
    fig = make_subplots(rows=d, cols=1, shared_xaxes=True, vertical_spacing=0.04)
    s = _thin(len(data_t), MAX_MARKERS)
    t_max = max([float(data_t[-1])] + [float(np.max(c.t)) for c in (*curves, *bands) if len(c.t)])
    for j, v in enumerate(variables):
        fig.add_trace(go.Scatter(
            x=data_t[s], y=data_x[s, j], mode="markers", name="data", legendgroup="data", showlegend=(j == 0),
            marker=dict(size=4, color=DATA_COLOR, opacity=0.55),
        ), row=j + 1, col=1)
        for b in bands:
            bs = _thin(len(b.t))
            edge = dict(color=_translucent(b.color, 0.0), width=0)
            fig.add_trace(go.Scatter(
                x=b.t[bs], y=b.lo[bs, j], mode="lines", line=edge, name=b.name, legendgroup=b.name, showlegend=False,
                hoverinfo="skip",
            ), row=j + 1, col=1)
            fig.add_trace(go.Scatter(
                x=b.t[bs], y=b.hi[bs, j], mode="lines", line=edge, fill="tonexty",
                fillcolor=_translucent(b.color, 0.18), name=b.name, legendgroup=b.name, showlegend=(j == 0),
                hoverinfo="skip",
            ), row=j + 1, col=1)
        for c in curves:
            cs = _thin(len(c.t))
            fig.add_trace(go.Scatter(
                x=c.t[cs], y=c.x[cs, j], mode=c.mode, name=c.name, legendgroup=c.name, showlegend=(j == 0),
                line=dict(color=c.color, width=2, dash=c.dash),
            ), row=j + 1, col=1)
        fig.update_yaxes(title_text=v, row=j + 1, col=1)
    if t_max > t_observed_end:
        fig.add_vrect(x0=t_observed_end, x1=t_max, fillcolor="#f2f2f2", opacity=0.6, line_width=0, layer="below",
                      annotation_text="extrapolation", annotation_position="top left")
    fig.update_xaxes(title_text="t", row=d, col=1)
    return _layout(fig, 140 + 190 * d)


def residual_figure(variables: Sequence[str], t: np.ndarray, residuals: Sequence[tuple[str, np.ndarray, str]]) -> Any:
    """Residuals (data − prediction) on the observed times, one panel per variable.

    ``residuals`` holds ``(name, r (N, D), colour)`` for each model.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    d = len(variables)
    fig = make_subplots(rows=d, cols=1, shared_xaxes=True, vertical_spacing=0.04)
    s = _thin(len(t))
    for j, v in enumerate(variables):
        for name, r, color in residuals:
            fig.add_trace(go.Scatter(
                x=t[s], y=r[s, j], mode="lines", name=name, legendgroup=name, showlegend=(j == 0),
                line=dict(color=color, width=1.5),
            ), row=j + 1, col=1)
        fig.update_yaxes(title_text=f"{v} residual", zeroline=True, zerolinecolor="#999", zerolinewidth=1,
                         row=j + 1, col=1)
    fig.update_xaxes(title_text="t", row=d, col=1)
    return _layout(fig, 120 + 150 * d)
