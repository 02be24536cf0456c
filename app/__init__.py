"""eqdisco's Streamlit app: upload trajectories (or a field), run discovery, compare and export the equations.

The entry file is ``app/streamlit_app.py`` (``eqdisco app`` or ``streamlit run app/streamlit_app.py``). The
app holds no science code: it calls :func:`discovery.discover` and the result's own exports. Modules:

- :mod:`app.loading`: uploaded bytes or a bundled example -> validated trajectories (size limit, in memory);
- :mod:`app.options`: the registry's methods and their main options in plain words;
- :mod:`app.formulas`: the ``pinn`` known model and the ``prose`` guess, read through the grammar's safe parser;
- :mod:`app.settings`: the form's choices as one hashable value (the result cache's key);
- :mod:`app.runner`: a discovery run in a background thread, with progress and a cancel flag;
- :mod:`app.compute`: the Streamlit caches (results, simulations, figures, pretrained models);
- :mod:`app.plots`: plotly figures (data, phase portrait, Pareto front, overlays, residuals);
- :mod:`app.exports`: JSON, CSV, Python and LaTeX downloads;
- :mod:`app.state`: the names of the values kept in ``st.session_state``;
- :mod:`app.field_loading`, :mod:`app.field_compute`, :mod:`app.field_plots`, :mod:`app.field_exports`: the same
  for fields ``u(t, x[, y])`` (told from trajectories by the data; PDE runs and re-simulations; space-time
  images, data / re-simulation / residual, forecasts; JSON, LaTeX, Python and NPZ downloads);
- :mod:`app.views`: the Streamlit sections of the page.

``import app`` imports neither streamlit nor the discovery layer.
"""
