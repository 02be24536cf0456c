"""The field's doors besides the API: ``eqdisco discover FIELD --out DIR`` takes the PDE path from the data, and the
whole-span re-simulation the app draws is the one a result's ``rel_l2`` measures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from discovery.fields import discover_field, simulate_zoo
from discovery.fields.resimulate import resimulate_field
from discovery.terms import term_set


def test_the_command_line_discovers_a_field_beside_trajectories(tmp_path, capsys) -> None:
    from discovery.cli import main

    field = tmp_path / "rod.npz"
    simulate_zoo("heat", grid=(24, 32)).save(field)
    trajectories = tmp_path / "lv.csv"
    assert main(["simulate", "lotka_volterra", "--noise", "0.01", "--out", str(trajectories)]) == 0
    out = tmp_path / "results"
    assert main(["discover", str(field), str(trajectories), "--out", str(out), "--quiet", "--workers", "1",
                 "--no-uncertainty"]) == 0
    payload = json.loads((out / "rod.json").read_text())
    assert payload["kind"] == "field" and payload["source"] == "rod.npz" and payload["axes"] == ["x"]
    assert term_set(sympy.sympify(payload["equations"]["u"])) == {sympy.Symbol("u_xx")}
    assert set(json.loads((out / "lv.json").read_text())["equations"]) == {"x", "y"}


def test_an_ode_method_on_a_field_is_one_line(tmp_path, capsys) -> None:
    from discovery.cli import main

    field = tmp_path / "rod.npz"
    simulate_zoo("heat", grid=(24, 32)).save(field)
    assert main(["discover", str(field), "--out", str(tmp_path / "r"), "--method", "sindy", "--quiet"]) != 0
    payload = json.loads((tmp_path / "r" / "rod.json").read_text())
    assert payload["error"].startswith("unknown PDE method 'sindy'; valid: auto, sparse")


def test_the_resimulated_field_is_what_rel_l2_measures() -> None:
    observed = simulate_zoo("burgers", grid=(48, 48), seed=1, noise=0.01)
    result = discover_field(observed)
    sim = resimulate_field(result.equations, observed)
    assert sim.shape == observed.shape and sim.periodic == observed.periodic
    rel = np.linalg.norm(sim.stack() - observed.stack()) / np.linalg.norm(observed.stack())
    assert rel == result.metrics["rel_l2"] and rel < 0.05


# toy sizes for the field options through the command line: an FNO with a few training steps and no simulated fields,
# a PINN with a few hundred steps and sparse distillation only
FNO_TOY = ["--set", "fno.training.steps=5", "--set", "fno.n_simulated=0", "--set", 'fno.model={"hidden_channels": 8}']
PINN_TOY = ["--set", "pinn.sr_time_budget_s=0", "--set", "pinn.training.warmup_steps=100",
            "--set", "pinn.training.hidden_steps=50", "--set", "pinn.training.adam_steps=100",
            "--set", "pinn.training.batch_data=256", "--set", "pinn.training.n_collocation=256"]


def _errors(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("error:")]


def test_the_command_line_asks_a_field_for_an_fno_forecast_with_its_options(tmp_path, capsys) -> None:
    from discovery.cli import main

    field = tmp_path / "rod.npz"
    simulate_zoo("heat", grid=(32, 64)).save(field)
    out = tmp_path / "r"
    assert main(["discover", str(field), "--out", str(out), "--quiet", "--operators", "fno", "--device", "cpu",
                 "--set", "fno.horizon=0.5", *FNO_TOY]) == 0
    forecast = json.loads((out / "rod.json").read_text())["forecast"]
    assert forecast["model"] == "fno" and forecast["info"]["n_simulated"] == 0
    assert len(forecast["t"]) == 16  # half the 32-sample window ahead (the default quarter would be 8)
    assert np.asarray(forecast["values"]["u"]).shape == (16, 64)
    assert _errors(capsys.readouterr().err) == []


def test_a_mixed_batch_with_a_field_operator_fails_the_trajectories_in_one_line(tmp_path, lv_csv, capsys) -> None:
    from discovery.cli import main

    field = tmp_path / "rod.npz"
    simulate_zoo("heat", grid=(32, 64)).save(field)
    out = tmp_path / "r"
    assert main(["discover", str(field), str(lv_csv), "--out", str(out), "--quiet", "--operators", "fno",
                 "--device", "cpu", *FNO_TOY]) == 1
    assert "forecast" in json.loads((out / "rod.json").read_text())
    line = ("error: lv.csv: operator 'fno' forecasts fields, and this file holds trajectories; ask for deeponet as "
            "well (operators deeponet,fno) or drop it")
    assert _errors(capsys.readouterr().err) == [line]
    assert json.loads((out / "lv.json").read_text())["error"] == line.removeprefix("error: lv.csv: ")


def test_a_known_pde_through_the_command_line_gives_pinn_candidates(tmp_path, capsys) -> None:
    from discovery.cli import main

    field = tmp_path / "burgers.npz"
    simulate_zoo("burgers", grid=(32, 64), t_span=(0.0, 4.0), seed=0).save(field)
    out = tmp_path / "r"
    assert main(["discover", str(field), "--out", str(out), "--quiet", "--method", "pinn", "--known",
                 "u=h1(u, u_x) + 0.1*u_xx", "--device", "cpu", "--derivative", "spline", *PINN_TOY]) == 0
    payload = json.loads((out / "burgers.json").read_text())
    assert payload["method"] == "pde-pinn" and {c["method"] for c in payload["candidates"]} == {"pde-pinn"}
    best = payload["candidates"][0]
    assert set(best["info"]["hidden"]) == {"h1"}
    assert sympy.sympify(best["info"]["known"]["u"]).has(sympy.Function("h1")(*sympy.symbols("u u_x")))
    err = capsys.readouterr().err
    assert _errors(err) == []
    assert "warning: burgers.npz: not used for a field: derivative (it is for trajectories)" in err


def test_a_field_given_what_only_trajectories_read_fails_in_one_line(tmp_path, capsys) -> None:
    from discovery.cli import main

    field = tmp_path / "rod.npz"
    simulate_zoo("heat", grid=(24, 32)).save(field)
    assert main(["discover", str(field), "--out", str(tmp_path / "a"), "--quiet", "--operators", "deeponet"]) == 1
    assert _errors(capsys.readouterr().err) == [
        ("error: rod.npz: operator 'deeponet' is for trajectories, and this file is a field; ask for fno as well "
         "(operators deeponet,fno) or drop it")]
    assert main(["discover", str(field), "--out", str(tmp_path / "b"), "--quiet", "--known", "u=0.5*u - h1(u)"]) == 1
    assert _errors(capsys.readouterr().err)[0].startswith(
        "error: rod.npz: the known model names no spatial derivative (such as u_x), so it was read as one of "
        "trajectories")


@pytest.mark.parametrize("options, message", [
    (["--method", "sindy", "--operators", "fno"], "this request fits no file: for trajectories, operator 'fno'"),
    (["--set", "fno.horizon=1"], "fno options were given but no FNO forecast was asked for"),
    (["--method", "pinn", "--known", "u=h1(u, u_x) + u_xq"], "known PDE, equation for u_t: unknown name 'u_xq'"),
    (["--operators", "fno", "--set", "fno.training=3", "--set", "fno.training.steps=3"],
     "--set fno.training.steps: fno.training was given a value ('3')"),
])
def test_a_field_option_wrong_whatever_the_file_is_a_usage_error(tmp_path, capsys, options, message) -> None:
    from discovery.cli import main

    field = tmp_path / "rod.npz"
    simulate_zoo("heat", grid=(24, 32)).save(field)
    assert main(["discover", str(field), "--out", str(tmp_path / "r"), "--quiet", *options]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"eqdisco discover: error: {message}"), err
    assert not (tmp_path / "r").exists()


def test_the_api_door_takes_the_same_field_options() -> None:
    from discovery import discover

    burgers = simulate_zoo("burgers", grid=(32, 64), t_span=(0.0, 4.0), seed=0)
    result = discover(burgers, method="pinn", known="h1(u, u_x) + 0.1*u_xx", operators="fno", device="cpu",
                      fno={"training": {"steps": 5}, "n_simulated": 0, "model": {"hidden_channels": 8}},
                      pinn={"sr_time_budget_s": 0, "training": {"warmup_steps": 100, "hidden_steps": 50,
                                                                  "adam_steps": 100}})
    assert result.method == "pde-pinn" and result.forecast is not None and result.forecast.model == "fno"
