"""Plotly figures of fields: the data as a space-time image (a frame of a 2-D field), data, re-simulation and
residual side by side, and a forecast beyond the observed window.

Pure functions of :class:`~discovery.fields.Field` objects; no streamlit here. A 1-D field ``u(t, x)`` is drawn
with ``x`` across and ``t`` upwards; a 2-D field ``u(t, x, y)`` as the frame at one time index. Data and model
share one colour scale (``Viridis``); a residual is drawn on a diverging scale centred on zero (``RdBu``, red where
the data lie above the model). Large grids are thinned to at most :data:`MAX_CELLS` samples per axis for the
browser (never for the fit).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from app.plots import _layout

__all__ = ["MAX_CELLS", "comparison_figure", "field_figure", "forecast_figure", "frame_of", "image_of"]

MAX_CELLS = 400
"""Samples per axis drawn in a heatmap; finer grids are strided."""

FIELD_SCALE = "Viridis"
RESIDUAL_SCALE = "RdBu_r"


def _stride(n: int) -> slice:
    return slice(None, None, max(1, int(np.ceil(n / MAX_CELLS))))


def image_of(field: Any, name: str, frame: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """What a heatmap of field ``name`` shows: ``(across (A,), up (B,), z (B, A), across label, up label)``.

    1-D fields: ``x`` across, ``t`` up (``z`` is ``(Nt, Nx)``). 2-D fields: the frame at time index ``frame``,
    ``x`` across and ``y`` up (``z`` is ``(Ny, Nx)``).
    """
    values = field.values[name]
    if len(field.axes) == 1:
        st, sx = _stride(values.shape[0]), _stride(values.shape[1])
        return field.x[sx], field.t[st], values[st, sx], "x", "t"
    k = frame_of(field, frame)
    sx, sy = _stride(values.shape[1]), _stride(values.shape[2])
    return field.x[sx], field.y[sy], values[k][sx, sy].T, "x", "y"


def frame_of(field: Any, frame: int | None) -> int:
    """A valid time index of ``field`` (``None``: the last frame)."""
    n = field.shape[0]
    return n - 1 if frame is None else int(min(max(frame, 0), n - 1))


def _heatmap(across: np.ndarray, up: np.ndarray, z: np.ndarray, name: str, coloraxis: str, hover: tuple[str, str],
             ) -> Any:
    import plotly.graph_objects as go

    template = f"{hover[0]}=%{{x:.4g}}<br>{hover[1]}=%{{y:.4g}}<br>{name}=%{{z:.4g}}<extra></extra>"
    return go.Heatmap(x=across, y=up, z=z, name=name, coloraxis=coloraxis, hovertemplate=template)


def field_figure(field: Any, names: Sequence[str] | None = None, frame: int | None = None) -> Any:
    """The measured field(s): one space-time image per field (or, for 2-D, the frame at index ``frame``)."""
    from plotly.subplots import make_subplots

    names = list(names or field.names)
    title = (lambda n: n) if len(field.axes) == 1 else (lambda n: f"{n} at t = {field.t[frame_of(field, frame)]:.4g}")
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[title(n) for n in names], horizontal_spacing=0.08)
    for j, n in enumerate(names):
        across, up, z, a, b = image_of(field, n, frame)
        axis = "coloraxis" if j == 0 else f"coloraxis{j + 1}"
        fig.add_trace(_heatmap(across, up, z, n, axis, (a, b)), row=1, col=j + 1)
        fig.update_xaxes(title_text=a, row=1, col=j + 1)
        fig.update_yaxes(title_text=b, row=1, col=j + 1)
        domain = fig.get_subplot(1, j + 1).xaxis.domain
        fig.update_layout({axis: dict(colorscale=FIELD_SCALE, colorbar=dict(x=domain[1] + 0.005, len=0.9,
                                                                                   thickness=12, title=n))})
    return _layout(fig, 420)


def comparison_figure(observed: Any, simulated: Any | None, name: str, frame: int | None = None,
                      model: str = "re-simulated") -> Any:
    """Field ``name``: the data, the model re-simulated from the first observed field, and their difference.

    Data and model share a colour scale; the residual (data − model) has its own, symmetric about zero. Without a
    simulation (``None``: the model could not be integrated) only the data panel is drawn.
    """
    from plotly.subplots import make_subplots

    panels = [("data", observed)] + ([] if simulated is None else [(model, simulated)])
    titles = [p for p, _ in panels] + ([] if simulated is None else ["residual (data − model)"])
    if len(observed.axes) == 2:
        titles = [f"{s} at t = {observed.t[frame_of(observed, frame)]:.4g}" for s in titles]
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles, horizontal_spacing=0.09,
                        shared_yaxes=True)
    lo = min(float(np.min(f.values[name])) for _, f in panels)
    hi = max(float(np.max(f.values[name])) for _, f in panels)
    a = b = ""
    for j, (label, f) in enumerate(panels):
        across, up, z, a, b = image_of(f, name, frame)
        fig.add_trace(_heatmap(across, up, z, f"{name} ({label})", "coloraxis", (a, b)), row=1, col=j + 1)
    fig.update_layout(coloraxis=dict(colorscale=FIELD_SCALE, cmin=lo, cmax=hi,
                                     colorbar=dict(title=name, thickness=12, len=0.9, x=1.0 if simulated is None
                                                   else fig.get_subplot(1, 2).xaxis.domain[1] + 0.005)))
    if simulated is not None:
        residual = observed.replace(values={name: observed.values[name] - simulated.values[name]})
        across, up, z, a, b = image_of(residual, name, frame)
        top = max(float(np.max(np.abs(residual.values[name]))), 1e-300)
        fig.add_trace(_heatmap(across, up, z, f"{name} residual", "coloraxis2", (a, b)), row=1, col=3)
        fig.update_layout(coloraxis2=dict(colorscale=RESIDUAL_SCALE, cmin=-top, cmax=top,
                                          colorbar=dict(title="residual", thickness=12, len=0.9, x=1.0,
                                                        exponentformat="e")))
    for j in range(len(titles)):
        fig.update_xaxes(title_text=a, row=1, col=j + 1)
    fig.update_yaxes(title_text=b, row=1, col=1)
    return _layout(fig, 420)


def forecast_figure(observed: Any, forecast: Any, name: str) -> Any:
    """Field ``name`` observed, then forecast beyond the observed window (a neural operator's prediction).

    ``forecast`` is a field on the same spatial grid (``t`` (M,), ``values[name]`` (M, Nx[, Ny])). 1-D: one
    space-time image, the forecast above a dashed line at the end of the observed window. 2-D: the last observed
    frame beside the last forecast frame. Both on one colour scale.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    lo = min(float(np.min(observed.values[name])), float(np.min(forecast.values[name])))
    hi = max(float(np.max(observed.values[name])), float(np.max(forecast.values[name])))
    t_end = float(observed.t[-1])
    if len(observed.axes) == 1:
        after = np.asarray(forecast.t) > t_end
        t = np.concatenate([observed.t, np.asarray(forecast.t)[after]])
        z = np.concatenate([observed.values[name], np.asarray(forecast.values[name])[after]])
        sx, stt = _stride(z.shape[1]), _stride(z.shape[0])
        fig = go.Figure(_heatmap(observed.x[sx], t[stt], z[stt, sx], f"{name} (observed, then forecast)",
                                 "coloraxis", ("x", "t")))
        fig.add_hline(y=t_end, line_dash="dash", line_color="white", annotation_text="forecast ↑",
                      annotation_position="top left", annotation_font_color="white")
        fig.update_xaxes(title_text="x")
        fig.update_yaxes(title_text="t")
    else:
        panels = [("observed", observed), ("forecast", forecast)]
        fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.07,
                            subplot_titles=[f"{label} at t = {f.t[-1]:.4g}" for label, f in panels])
        for j, (label, f) in enumerate(panels):
            across, up, z, a, b = image_of(f, name)
            fig.add_trace(_heatmap(across, up, z, f"{name} ({label})", "coloraxis", (a, b)), row=1, col=j + 1)
            fig.update_xaxes(title_text=a, row=1, col=j + 1)
        fig.update_yaxes(title_text="y", row=1, col=1)
    fig.update_layout(coloraxis=dict(colorscale=FIELD_SCALE, cmin=lo, cmax=hi,
                                     colorbar=dict(title=name, thickness=12, len=0.9)))
    return _layout(fig, 420)
