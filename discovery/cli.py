"""The ``eqdisco`` command line.

Every user-facing failure is one line on stderr (``eqdisco: error: ...``) and a non-zero exit code, never a
traceback. Heavy modules are imported inside the sub-command that needs them, so ``eqdisco --help`` is instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from discovery import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    """A problem with the command line itself (exit code 2)."""


def _user_errors() -> tuple[type[BaseException], ...]:
    from discovery.errors import DataError, DiscoveryError, SimulationError
    from grammar.errors import GrammarError

    return (DataError, DiscoveryError, GrammarError, SimulationError, FileNotFoundError, ImportError)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise CLIError(f"{what} must be numbers separated by commas, got {text!r}") from None


def _assignments(text: str, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise CLIError(f"{what} must look like 'a=1.5,b=2', got {part.strip()!r}")
        key, value = part.split("=", 1)
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise CLIError(f"{what}: {key.strip()!r} must be a number, got {value.strip()!r}") from None
    return out


# --- systems ---------------------------------------------------------------------------------------------
def cmd_systems(args: argparse.Namespace) -> int:
    from grammar.zoo import ZOO

    if args.json:
        payload = {
            name: {
                "title": s.title,
                "variables": list(s.variables),
                "equations": {v: str(e) for v, e in zip(s.variables, s.equations)},
                "params": s.params,
                "t_span": list(s.t_span),
                "family": s.family,
            }
            for name, s in ZOO.items()
        }
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    width = max(len(n) for n in ZOO)
    for name, s in ZOO.items():
        print(f"{name:<{width}}  {len(s.variables)} vars ({', '.join(s.variables)})  {s.family:<7}  {s.description}")
    return EXIT_OK


# --- simulate --------------------------------------------------------------------------------------------
def cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from discovery.data import Trajectories
    from discovery.simulation import sample_initial_condition, simulate
    from grammar.zoo import get_system

    system = get_system(args.system)
    params = dict(system.params)
    if args.params:
        given = _assignments(args.params, "--params")
        unknown = sorted(set(given) - set(params))
        if unknown:
            raise CLIError(f"--params: unknown parameter(s) {', '.join(unknown)} for {system.name}; "
                           f"known: {', '.join(params)}")
        params.update(given)
    t0, t1 = system.t_span
    t0 = args.t0 if args.t0 is not None else t0
    t1 = args.t1 if args.t1 is not None else t1
    dt = args.dt if args.dt is not None else system.dt
    if not (t1 > t0) or dt <= 0:
        raise CLIError(f"need --t1 > --t0 and --dt > 0, got t0={t0}, t1={t1}, dt={dt}")
    t = np.arange(t0, t1 + 0.5 * dt, dt)
    rng = np.random.default_rng(args.seed)
    trajectories = []
    for k in range(args.trajectories):
        if args.x0 is not None and k == 0:
            x0 = _floats(args.x0, "--x0")
            if len(x0) != len(system.variables):
                raise CLIError(f"--x0 needs {len(system.variables)} values ({', '.join(system.variables)}), "
                               f"got {len(x0)}")
        elif k == 0:
            x0 = list(system.x0)
        else:
            x0 = list(sample_initial_condition(system, rng))
        seed = None if args.seed is None else args.seed + k
        trajectories.extend(simulate(system, params=params, x0=x0, t=t, noise=args.noise, seed=seed))
    data = Trajectories(system.variables, trajectories, source=Path(args.out).name)
    data.to_csv(args.out)
    print(f"wrote {args.out}: {data.summary()}")
    return EXIT_OK


# --- validate --------------------------------------------------------------------------------------------
def _expand_folders(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """Paths with each folder replaced by the data files directly inside it (sorted), and one error line per
    folder that holds none."""
    from discovery.data import SUPPORTED_EXTENSIONS

    files: list[str] = []
    errors: list[str] = []
    for p in paths:
        folder = Path(p)
        if not folder.is_dir():
            files.append(p)
            continue
        inside = sorted(str(f) for f in folder.iterdir() if f.is_file() and f.suffix.lower() in SUPPORTED_EXTENSIONS)
        if not inside:
            errors.append(f"error: {p}: folder holds no data files ({', '.join(SUPPORTED_EXTENSIONS)}); pass files "
                          "or a folder that has some")
        files.extend(inside)
    return files, errors


def cmd_validate(args: argparse.Namespace) -> int:
    from discovery.data import load_trajectories

    files, errors = _expand_folders(args.files)
    for line in errors:
        print(line, file=sys.stderr)
    failed = len(errors)
    for f in files:
        try:
            data = load_trajectories(f)
            print(f"ok: {data.summary()}")
        except _user_errors() as exc:
            failed += 1
            print(f"error: {_one_line(exc)}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


# --- discover --------------------------------------------------------------------------------------------
def _parse_known(items: Sequence[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    known: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise CLIError(f"--known must look like 'x=0.5*x - h1(x, y)', got {item!r}")
        var, formula = item.split("=", 1)
        known[var.strip()] = formula.strip()
    return known


def _parse_set(items: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    for item in items or []:
        if "=" not in item or "." not in item.split("=", 1)[0]:
            raise CLIError(f"--set must look like 'METHOD.OPTION=VALUE' (e.g. sindy.ensemble=true), got {item!r}")
        key, value = item.split("=", 1)
        method, option = key.split(".", 1)
        try:
            parsed: Any = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        options.setdefault(method.strip(), {})[option.strip()] = parsed
    return options


def cmd_discover(args: argparse.Namespace) -> int:
    from discovery.batch import run_batch
    from discovery.methods import REGISTRY

    names = [m.strip() for m in args.method.split(",") if m.strip()]
    for name in names:
        if name != "auto" and name not in REGISTRY:
            raise CLIError(f"unknown method {name!r}; valid methods: auto, {', '.join(sorted(REGISTRY))}")
    options: dict[str, Any] = dict(_parse_set(args.set))
    known = _parse_known(args.known)
    if known:
        options["known"] = known
    if args.guess:
        options["guess"] = _parse_known(args.guess)
    options.update(derivative=args.derivative, seed=args.seed, device=args.device, refine=not args.no_refine)
    if args.operators:
        options["operators"] = [o.strip() for o in args.operators.split(",") if o.strip()]
    if args.plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CLIError("--plots needs matplotlib; install it with: python3 -m pip install matplotlib "
                           "(or pip install 'eqdisco[app]')") from None
    given, empty = _expand_folders(args.files)
    missing = [f for f in given if not Path(f).exists()]
    unusable = empty + [f"error: {f}: file not found" for f in missing]  # one line each, counted as failed
    for line in unusable:
        print(line, file=sys.stderr)
    files = [f for f in given if Path(f).exists()]
    report = run_batch(
        files, args.out, method=args.method, options=options, workers=args.workers,
        scheduler=args.scheduler, overwrite=args.overwrite, show_progress=not args.quiet, plot=args.plots,
    )
    for item in report.items:
        if item.status == "ok" and not args.quiet:
            eqs = "; ".join(f"d{v}/dt = {e}" for v, e in (item.equations or {}).items())
            print(f"{item.source}: {eqs}")
    n_fail = len(report.failed) + len(unusable)
    print(
        f"{len(report.ok)} discovered, {n_fail} failed, {len(report.skipped)} skipped (output exists; "
        f"--overwrite to redo) -> {args.out}",
        file=sys.stderr,
    )
    return EXIT_FAILED if n_fail else EXIT_OK


# --- app, train, bench -----------------------------------------------------------------------------------
def cmd_app(args: argparse.Namespace) -> int:
    import importlib.util
    import subprocess

    if importlib.util.find_spec("streamlit") is None:
        raise ImportError("the app needs Streamlit; install it with pip install 'eqdisco[app]'")
    entry = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
    if not entry.exists():
        raise CLIError(f"the app's entry file is missing: {entry}")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(entry),
        "--server.port", str(args.port), "--server.address", args.host,
        "--server.headless", "true" if args.headless else "false",
        "--browser.gatherUsageStats", "false",
    ]
    print(f"eqdisco app on http://{args.host}:{args.port}", file=sys.stderr)
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return EXIT_OK


def _delegate(module: str, prog: str, argv: Sequence[str], **kwargs: Any) -> int:
    import importlib

    mod = importlib.import_module(module)
    parser = argparse.ArgumentParser(prog=prog)
    mod.add_arguments(parser, **kwargs)
    return int(mod.run(parser.parse_args(list(argv))) or 0)


def cmd_train(args: argparse.Namespace) -> int:
    return _delegate("discovery.prose.training", "eqdisco train prose", args.rest)


BENCH_TARGETS = {
    "discovery": ("discovery.benchmarks.core", {}),
    "prose": ("discovery.prose.evaluate", {}),
    "pinn": ("discovery.benchmarks.neural", {"which": "pinn"}),
    "node": ("discovery.benchmarks.neural", {"which": "node"}),
}


def cmd_bench(args: argparse.Namespace) -> int:
    module, kwargs = BENCH_TARGETS[args.target]
    return _delegate(module, f"eqdisco bench {args.target}", args.rest, **kwargs)


# --- parser ----------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eqdisco",
        description="Discover the differential equations behind measured trajectories.",
        epilog="Run 'eqdisco COMMAND --help' for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"eqdisco {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("discover", help="discover equations for one or many data files")
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="CSV, Parquet or NPZ files (see the data contract), or folders of them")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for one result JSON per input")
    p.add_argument("--method", default="auto", help="auto (default), or a method name / comma-separated names")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--overwrite", action="store_true", help="recompute files whose result already exists")
    p.add_argument("--plots", action="store_true",
                   help="also write NAME.png: the data, the model re-simulated and extrapolated by half the window, "
                        "and the operator predictions (needs matplotlib)")
    p.add_argument("--known", action="append", metavar="VAR=FORMULA",
                   help="partly known model for pinn, e.g. --known 'x=0.5*x - h1(x, y)' (repeat per variable)")
    p.add_argument("--guess", action="append", metavar="VAR=FORMULA", help="guessed equations for prose")
    p.add_argument("--derivative", default="auto", help="derivative estimator (default: auto)")
    p.add_argument("--operators", metavar="NAMES", help="neural operators fitted after selection: deeponet")
    p.add_argument("--set", action="append", metavar="METHOD.OPTION=VALUE",
                   help="a method option, e.g. --set sindy.ensemble=true --set sr.backend=pyoperon")
    p.add_argument("--no-refine", action="store_true", help="skip constant refinement against trajectories")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="torch device for neural methods (auto, cpu, cuda)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-file equations")
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("simulate", help="simulate a system of the zoo and write a CSV")
    p.add_argument("system", help="a zoo name (see 'eqdisco systems')")
    p.add_argument("--params", metavar="A=1,B=2", help="parameter values (default: nominal)")
    p.add_argument("--x0", metavar="X,Y,...", help="initial condition (default: nominal)")
    p.add_argument("--t0", type=float)
    p.add_argument("--t1", type=float)
    p.add_argument("--dt", type=float)
    p.add_argument("--noise", type=float, default=0.0, help="relative noise, e.g. 0.01 for 1%% (default 0)")
    p.add_argument("--trajectories", type=int, default=1,
                   help="number of trajectories (random initial conditions after the first)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, metavar="FILE.csv")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("validate", help="check data files against the data contract")
    p.add_argument("files", nargs="+", metavar="FILE", help="data files, or folders of them")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("systems", help="list the systems of the ODE zoo")
    p.add_argument("--json", action="store_true", help="print the zoo as JSON")
    p.set_defaults(func=cmd_systems)

    p = sub.add_parser("app", help="start the Streamlit app")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("train", help="train a model: 'eqdisco train prose --help'")
    p.add_argument("model", choices=["prose"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of the trainer")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("bench", help="benchmarks: 'eqdisco bench [discovery|prose|pinn|node] --help'")
    p.add_argument("target", nargs="?", default="discovery", choices=list(BENCH_TARGETS))
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"] and argv[1:2] not in (["-h"], ["--help"]):
        # 'eqdisco bench [TARGET] OPTIONS...': the options belong to the target's own parser
        has_target = argv[1:2] != [] and argv[1] in BENCH_TARGETS
        target = argv[1] if has_target else "discovery"
        args = argparse.Namespace(command="bench", target=target, rest=argv[2 if has_target else 1 :], func=cmd_bench)
    else:
        args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CLIError as exc:
        print(f"eqdisco {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"eqdisco {args.command}: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        print(f"eqdisco {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
