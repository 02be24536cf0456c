"""Section 2 of the page: the methods and their main options, the pinn known model, the prose guess."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.compute import preload_models
from app.formulas import read_system
from app.loading import LoadedData
from app.options import MethodInfo, OptionSpec, method_catalog
from discovery.errors import one_line
from grammar.parser import MAX_FORMULA_CHARS

__all__ = ["render_setup_section"]

AUTO = "auto"

KNOWN_HELP = """One line per variable, `dx/dt = formula`, in the data's variable names.
Write the part you know and add hidden terms `h1(...)`, `h2(...)` (small networks that `pinn` learns and
turns into formulas) for the part you do not. Allowed: + - * / ^ (or **), numbers, sin, cos, exp, log,
sqrt, tanh, abs. Example for Lotka–Volterra with unknown interactions:

    dx/dt = 1.0*x + h1(x, y)
    dy/dt = -1.5*y + h2(x, y)
"""

GUESS_HELP = """Optional. One line per variable, `dx/dt = formula`, e.g. `dx/dt = 10*(y - x)`. PROSE reads
your guess next to the data; a rough guess with wrong constants still helps."""


@st.cache_resource(show_spinner=False)
def _catalog() -> list[MethodInfo]:
    return method_catalog()


@st.cache_resource(show_spinner=False)
def _advanced_choices() -> tuple[list[str], list[str]]:
    derivatives: list[str] = ["auto"]
    try:
        from discovery.derivatives import DERIVATIVE_METHODS

        derivatives += [str(d) for d in DERIVATIVE_METHODS if str(d) != "auto"]
    except ImportError:
        pass
    try:
        from discovery.api import OPERATOR_MODELS

        operators = [str(o) for o in OPERATOR_MODELS]
    except ImportError:
        operators = []
    return derivatives, operators


def _auto_names(loaded: LoadedData) -> list[str]:
    from discovery.api import auto_methods

    try:
        return [m.name for m in auto_methods(loaded.trajectories)]
    except Exception:  # noqa: BLE001 -- the caption is a hint; the run itself reports real problems
        return []


def _option_widget(method: str, spec: OptionSpec) -> Any:
    key = f"opt:{method}:{spec.name}"
    help_text = spec.help or None
    if spec.kind == "bool":
        return st.checkbox(spec.label, value=spec.default, key=key, help=help_text)
    if spec.kind == "int":
        return int(st.number_input(spec.label, value=int(spec.default), step=1, key=key, help=help_text))
    if spec.kind == "float":
        return float(st.number_input(spec.label, value=float(spec.default), format="%g", key=key, help=help_text))
    if spec.kind == "choice":
        return st.selectbox(spec.label, list(spec.choices), index=list(spec.choices).index(spec.default), key=key,
                            help=help_text)
    if spec.kind == "multi":
        chosen = st.multiselect(spec.label, list(spec.choices), default=list(spec.default), key=key, help=help_text)
        return tuple(chosen)
    return st.text_input(spec.label, value=str(spec.default), key=key, help=help_text)


def _options_for(info: MethodInfo) -> dict[str, Any]:
    """Widgets of a method's options; returns those the user changed from the method's defaults."""
    if not info.options:
        return {}
    changed: dict[str, Any] = {}
    with st.expander(f"Options of `{info.name}`", expanded=False):
        cols = st.columns(2)
        for i, spec in enumerate(info.options):
            with cols[i % 2]:
                value = _option_widget(info.name, spec)
            default = tuple(spec.default) if spec.kind == "multi" else spec.default
            if value != default:
                changed[spec.name] = list(value) if spec.kind == "multi" else value
    return changed


def _known_model_problems(formulas: dict[str, str], variables: tuple[str, ...]) -> list[str]:
    """What ``pinn`` itself would refuse in a partly known model (:func:`discovery.known.parse_known`)."""
    from discovery.errors import DiscoveryError
    from discovery.known import parse_known

    try:
        parse_known(formulas, variables)
    except DiscoveryError as exc:
        return [one_line(exc)]
    return []


def _system_box(label: str, key: str, help_text: str, placeholder: str, variables: tuple[str, ...], *, hidden: bool,
                required: bool) -> tuple[dict[str, str], list[str]]:
    text = st.text_area(label, key=key, help=help_text, placeholder=placeholder, height=100,
                        max_chars=MAX_FORMULA_CHARS)  # the parser's limit: the box never holds a refused text
    what = label.split(" (")[0].lower()
    if not text.strip():
        return {}, ([f"write the {what} (one line per variable; see the ? help)"] if required else [])
    parsed = read_system(text, variables, hidden=hidden)
    if parsed.ok and hidden:
        parsed.errors += _known_model_problems(parsed.formulas, variables)
    if parsed.ok:
        import sympy

        lines = [rf"\dot{{{sympy.latex(sympy.Symbol(v))}}} &= {sympy.latex(parsed.expressions[v])}"
                 for v in variables if v in parsed.expressions]
        st.latex("\\begin{aligned}" + r" \\ ".join(lines) + "\\end{aligned}")
        return parsed.formulas, []
    if len(parsed.errors) == 1:
        st.error(parsed.errors[0], icon=":material/edit_note:")
    else:
        st.error("\n".join(f"- {e}" for e in parsed.errors), icon=":material/edit_note:")
    n = len(parsed.errors)
    return {}, [f"the {what} has {n} problem{'s' * (n != 1)} (shown under it)"]


def render_setup_section(loaded: LoadedData) -> tuple[Any | None, list[str]]:
    """Draw section 2; returns the checked request (a ``DiscoverySettings``, ``None`` while the form has a problem)
    and the problems."""
    st.subheader("2 · Methods")
    catalog = _catalog()
    available = [m for m in catalog if m.available]
    by_name = {m.name: m for m in catalog}
    variables = tuple(loaded.trajectories.variables)
    problems: list[str] = []
    if not available:
        st.error("No discovery method can run here; see the list below for what each one needs.")

    names = [m.name for m in available]
    default = ["sindy"] if "sindy" in names else names[:1]
    auto = st.toggle("Let eqdisco choose the methods (auto: every method that suits the data)", key="auto_methods")
    if auto:
        chosen = [AUTO]
        st.caption("Auto runs: " + (", ".join(f"`{n}`" for n in _auto_names(loaded)) or "no method suits this data")
                   + " (`pinn` joins when you give a partly known model).")
    else:
        chosen = st.multiselect(
            "Methods to run (their candidates are scored and ranked together)", names, default=default,
            key="methods", format_func=lambda n: f"{n} — {by_name[n].description}" if by_name[n].description else n,
        )
        if not chosen:
            problems.append("pick at least one method")

    with st.expander("About the methods", expanded=False):
        for m in catalog:
            mark = ":green[available]" if m.available else f":red[unavailable] — {m.reason}"
            st.markdown(f"**`{m.name}`** · {m.description or '(no description)'}  \n{mark}")

    preload_models(names if auto else chosen)
    options: dict[str, dict[str, Any]] = {}
    for name in names if auto else chosen:
        changed = _options_for(by_name[name])
        if changed:
            options[name] = changed

    known: dict[str, str] = {}
    guess: dict[str, str] = {}
    if "pinn" in chosen or (auto and "pinn" in names):
        example = "\n".join(f"d{v}/dt = h{i + 1}({', '.join(variables)})" for i, v in enumerate(variables))
        known, errs = _system_box("Known part of the model (pinn)", "pinn_known", KNOWN_HELP, example, variables,
                                  hidden=True, required="pinn" in chosen)
        problems += errs
    if "prose" in chosen or (auto and "prose" in names):
        example = "\n".join(f"d{v}/dt = ..." for v in variables)
        guess, errs = _system_box("Your guess of the equations (prose, optional)", "prose_guess", GUESS_HELP,
                                  example, variables, hidden=False, required=False)
        problems += errs

    derivatives, operators = _advanced_choices()
    with st.expander("Advanced", expanded=False):
        c1, c2, c3 = st.columns(3)
        derivative = c1.selectbox("Derivative estimator", derivatives, key="derivative",
                                  help="How time derivatives are estimated from noisy samples (auto picks by noise).")
        seed = int(c2.number_input("Random seed", value=0, step=1, min_value=0, key="seed"))
        refine = c3.checkbox("Refine constants against the trajectories", value=True, key="refine",
                             help="Fit each promising candidate's constants by re-simulating it (slower, more exact).")
        ops = st.multiselect("Neural operators to fit after selection (shown beside the equations)", operators,
                             default=[], key="operators") if operators else []
        quantify = st.toggle("Quantify uncertainty", value=True, key="uncertainty",
                             help="An interval for every constant, an inclusion probability for every term, a "
                                  "prediction band and warnings when the data cannot tell models apart (slower).")
        timed = st.checkbox("Search terms in time t (a periodic drive a·cos(w·t) + b·sin(w·t))", value=False,
                            key="time_dependent",
                            help="For a system driven by a signal that was not measured: the drive's frequency is "
                                 "found from the data and fitted. Auto tries it by itself when the best model's "
                                 "residual is periodic.")

    if problems:
        return None, problems
    from discovery.errors import DiscoveryError
    from discovery.pipeline.settings import build_settings

    try:
        settings = build_settings(
            "auto" if chosen == [AUTO] else list(chosen), known=known or None, guess=guess or None,
            operators=tuple(ops), derivative=derivative, refine=bool(refine), uncertainty=bool(quantify), seed=seed,
            inputs=loaded.trajectories.inputs, parameters=loaded.trajectories.parameters, time_dependent=bool(timed),
            **options,
        )
    except DiscoveryError as exc:
        return None, [one_line(exc)]
    return settings, []
