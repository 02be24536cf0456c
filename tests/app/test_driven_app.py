"""The app's side of driven systems: a role per column, the inputs drawn beside the states, the model simulated
with the measured inputs."""

from __future__ import annotations

import numpy as np

from app import state
from app.plots import data_figure
from app.views.data_view import column_roles, load_into_state

ORIGIN = ("upload", "driven.csv", 1, "id")


def _driven_csv() -> bytes:
    t = np.linspace(0, 10, 201)
    rows = [f"{a:.6g},{np.sin(a):.6g},{np.cos(a):.6g},{np.cos(2 * a):.6g}" for a in t]
    return ("t,x,y,u\n" + "\n".join(rows) + "\n").encode()


def test_column_roles_read_the_file_again_with_its_inputs() -> None:
    session: dict = {}
    reads = []

    def read() -> tuple[str, bytes]:
        reads.append(1)
        return "driven.csv", _driven_csv()

    first = load_into_state(session, ORIGIN, read, column_roles(session, ORIGIN))
    assert first.trajectories.variables == ("x", "y", "u") and session[state.COLUMNS] == (ORIGIN, ("x", "y", "u"))
    widget = next(k for k in _role_keys(session, first.columns) if k.endswith("::u"))
    session[widget] = "input"  # the user marks u as an input
    roles = column_roles(session, ORIGIN)
    assert roles == (("u",), ())
    second = load_into_state(session, ORIGIN, read, roles)
    assert second.trajectories.variables == ("x", "y") and second.trajectories.inputs == ("u",)
    assert len(reads) == 1 and second.digest != first.digest  # the same bytes, other data
    figure = data_figure(second.trajectories, second.trajectories.variables, second.trajectories.inputs)
    assert [tr.yaxis for tr in figure.data] == ["y", "y2", "y3"]  # a panel for the input below the states


def test_a_role_that_breaks_the_file_is_one_line_and_can_be_undone() -> None:
    session: dict = {}
    load_into_state(session, ORIGIN, lambda: ("driven.csv", _driven_csv()))
    assert load_into_state(session, ORIGIN, lambda: ("driven.csv", _driven_csv()), ((), ("u",))) is None
    assert "parameter 'u' changes" in session[state.DATA_ERROR] and "\n" not in session[state.DATA_ERROR]
    assert session[state.COLUMNS][1] == ("x", "y", "u")  # the role widgets stay, to undo the choice
    assert load_into_state(session, ORIGIN, lambda: ("driven.csv", _driven_csv())) is not None


def test_the_model_is_simulated_with_the_measured_inputs() -> None:
    import sympy

    from discovery.data import Trajectories, Trajectory
    from discovery.methods.base import Candidate
    from discovery.plotting import simulate_over
    from discovery.result import DiscoveryResult

    t = np.linspace(0, 5, 101)
    u = np.cos(t)
    x = np.sin(t)[:, None]  # x' = u with x(0) = 0
    data = Trajectories(["x"], [Trajectory(t, x, u[:, None])], inputs=["u"])
    result = DiscoveryResult(variables=("x",), candidates=[Candidate("sindy", {"x": sympy.Symbol("u")})],
                             inputs=("u",))
    times, sim, problem = simulate_over(result, data, 0, 0.0)
    assert problem == "" and np.max(np.abs(sim[:, 0] - np.sin(times))) < 1e-3


def _role_keys(session: dict, columns: tuple[str, ...]) -> list[str]:
    from app.views.data_view import _role_key

    return [_role_key(ORIGIN, c) for c in columns]
